"""Retrieval modes, filters and fusion against a real embedded Chroma store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.pipeline import Pipeline
from rag.search.hints import DateRange, QueryHints, parse_dates, parse_query_hints, source_aliases
from rag.search.retrieval import Candidate, Fusion, Retriever, weighted_rrf
from rag.text.dates import QueryFilters
from tests.conftest import make_settings

STORIES = [
    (
        "harbour",
        "2023-09-05",
        "Gazette",
        "The harbour of Portvale reopened after the storm; fishing boats returned on Monday.",
    ),
    (
        "election",
        "2023-10-12",
        "Herald",
        "Voters in Northshire elected a new mayor, Dana Whitfield, by a narrow margin.",
    ),
    (
        "vaccine",
        "2023-11-20",
        "Gazette",
        "Health officials approved a new influenza vaccine for adults over sixty-five.",
    ),
    (
        "bridge",
        "2023-11-28",
        "Herald",
        "Engineers closed the Kestrel Bridge after inspectors found cracks in two supports.",
    ),
]


def stories_pipeline(folder: Path, embedder, stories: list[tuple[str, str, str, str]]) -> Pipeline:
    """A store holding (title, date, source, body) stories, one JSONL record each."""
    path = folder / "stories.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"title": t, "published_at": d, "source": s, "url": f"https://e.com/{i}-{t}", "body": b})
            for i, (t, d, s, b) in enumerate(stories)
        ),
        encoding="utf-8",
    )
    pipeline = Pipeline.open(make_settings(folder / "store"), embedder)
    pipeline.ingest([path], progress=False)
    return pipeline


@pytest.fixture
def news_pipeline(tmp_path: Path, embedder) -> Pipeline:
    return stories_pipeline(tmp_path, embedder, STORIES)


def test_rrf_rewards_agreement() -> None:
    fused = weighted_rrf([(["a", "b", "c"], 1.0), (["b", "c", "d"], 1.0)], k=60)
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_right_story(news_pipeline: Pipeline, mode: str) -> None:
    news_pipeline.retriever.mode = mode
    passages = news_pipeline.retriever.retrieve("Which bridge was closed because of cracks?", k=2)
    assert passages[0].title == "bridge"
    assert passages[0].date == "2023-11-28" and passages[0].source == "Herald"
    assert passages[0].url == "https://e.com/3-bridge"
    assert -1.0 <= passages[0].similarity <= 1.0


def test_paraphrase_needs_dense(news_pipeline: Pipeline) -> None:
    news_pipeline.retriever.mode = "dense"
    assert news_pipeline.retriever.retrieve("flu shot for older people", k=1)[0].title == "vaccine"


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_apply_in_every_mode(news_pipeline: Pipeline, mode: str) -> None:
    news_pipeline.retriever.mode = mode
    query = "harbour bridge vaccine election"
    november = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(date_from="2023-11"))
    assert {p.title for p in november} == {"vaccine", "bridge"}
    gazette = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(sources=("Gazette",)))
    assert {p.title for p in gazette} == {"harbour", "vaccine"}
    until_october = news_pipeline.retriever.retrieve(query, k=4, filters=QueryFilters(date_to="2023-10"))
    assert {p.title for p in until_october} == {"harbour", "election"}


def test_lexical_index_follows_new_ingests(news_pipeline: Pipeline, tmp_path: Path) -> None:
    news_pipeline.retriever.mode = "bm25"
    assert news_pipeline.retriever.retrieve("zeppelin", k=3) == []
    extra = tmp_path / "extra.txt"
    extra.write_text("A zeppelin landed in the town square to everyone's surprise.", encoding="utf-8")
    news_pipeline.ingest([extra], progress=False)
    assert "zeppelin" in news_pipeline.retriever.retrieve("zeppelin", k=3)[0].text


def test_empty_store_returns_nothing(pipeline: Pipeline) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        pipeline.retriever.mode = mode
        assert pipeline.retriever.retrieve("anything", k=3) == []


@pytest.mark.slow
def test_embedded_reader_sees_another_process_ingest(news_pipeline: Pipeline, tmp_path: Path) -> None:
    """The web app's situation: it keeps its store open while `ingest.py` runs in another process."""
    import subprocess
    import sys

    from tests.conftest import ROOT, clean_env

    news_pipeline.retriever.mode = "dense"
    query = "Which hot air balloon team won the race over the lake?"
    assert "balloon" not in news_pipeline.retriever.retrieve(query, k=1)[0].text
    extra = tmp_path / "balloon.txt"
    extra.write_text("A hot air balloon race over the lake was won by a team from Lyon.", encoding="utf-8")
    env = clean_env(RAG_DATA_DIR=str(news_pipeline.settings.data_dir), RAG_COLLECTION=news_pipeline.settings.collection)
    subprocess.run(
        [sys.executable, "ingest.py", "--quiet", str(extra)], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert "balloon" in news_pipeline.retriever.retrieve(query, k=1)[0].text


# --- query hints ---------------------------------------------------------------------------
KNOWN = [
    "TechCrunch",
    "The Verge",
    "Engadget",
    "Fortune",
    "The Age",
    "CBSSports.com",
    "The Independent - Life and Style",
    "The Independent - Sports",
    "FOX News - Health",
    "Cnbc | World Business News Leader",
    "Live Science: The Most Interesting Articles",
]


@pytest.mark.parametrize(
    ("query", "sources"),
    [
        ("What did Apple announce, according to TechCrunch?", ("TechCrunch",)),
        ("a phone reported by The Verge and Engadget", ("The Verge", "Engadget")),
        ("as the Verge put it", ("The Verge",)),
        ("Did the Engadget review and the Verge report agree?", ("Engadget", "The Verge")),
        ("what techcrunch wrote", ("TechCrunch",)),  # inner capital: lower case is safe to match
        ("The Independent - Life and Style article on sleep", ("The Independent - Life and Style",)),
        ("an article in The Independent", ("The Independent - Life and Style", "The Independent - Sports")),
        ("Fox News and CNBC both said", ("FOX News - Health", "Cnbc | World Business News Leader")),
        ("CBSSports.com and Live Science reported", ("CBSSports.com", "Live Science: The Most Interesting Articles")),
        ("By the age of 16 she had made a fortune", ()),  # common words are not sources
        ("Which outlet covered The Age's story on October 22?", ("The Age",)),
        ("Nothing about any outlet here", ()),
    ],
)
def test_parse_sources(query: str, sources: tuple[str, ...]) -> None:
    assert parse_query_hints(query, KNOWN).sources == sources


def test_source_aliases() -> None:
    assert source_aliases("The Independent - Sports") == {
        "The Independent - Sports",
        "Independent - Sports",
        "The Independent",
        "Independent",
    }
    assert source_aliases("FOX News - Health") == {"FOX News - Health", "FOX News", "FOX"}
    assert source_aliases("The Age") == {"The Age"}  # 'Age' alone would match too much
    assert source_aliases("Cnbc | World Business News Leader") == {"Cnbc | World Business News Leader", "Cnbc"}


@pytest.mark.parametrize(
    ("query", "ranges"),
    [
        ("What happened in November 2023?", [DateRange(20231101, 20231131)]),
        ("the report published on October 5, 2023, said", [DateRange(20231005, 20231005)]),
        ("on 5 October 2023", [DateRange(20231005, 20231005)]),
        ("published at '2023-10-04T22:42:00+00:00'", [DateRange(20231004, 20231004)]),
        ("before October 5, 2023", [DateRange(0, 20231004)]),
        ("until November 2023", [DateRange(0, 20231131)]),
        ("before Jan 1, 2024", [DateRange(0, 20231231)]),
        ("prior to Nov. 3rd, 2023", [DateRange(0, 20231102)]),
        ("after the 5th of October 2023", [DateRange(20231006, 99_991_231)]),
        ("since 2023-11", [DateRange(20231201, 99_991_231)]),
        ("after December 2023", [DateRange(20240101, 99_991_231)]),
        ("before Oct 5", [DateRange(0, 1004, any_year=True)]),
        ("in 2022", [DateRange(20220101, 20221231)]),
        ("on Oct. 22nd", [DateRange(1022, 1022, any_year=True)]),
        (
            "between the article published on 2023-10-02 and the one on November 6, 2023",
            [DateRange(20231002, 20231002), DateRange(20231106, 20231106)],
        ),
        ("she may march on; Marvel 5 is out", []),  # no capital month name, no month at all
        ("October 45, 2023 is not a day", []),
    ],
)
def test_parse_dates(query: str, ranges: list[DateRange]) -> None:
    assert list(parse_dates(query)) == ranges


def test_date_range_contains() -> None:
    day = DateRange(20231005, 20231005)
    assert day.contains(20231005) and not day.contains(20231006)
    assert not DateRange(0, 20231004).contains(0)  # undated articles never match
    yearless = DateRange(1022, 1022, any_year=True)
    assert yearless.contains(20231022) and yearless.contains(20221022) and not yearless.contains(20231023)
    hints = QueryHints(dates=(day, DateRange(20231101, 20231131)))
    assert hints and hints.matches_date(20231115) and not hints.matches_date(20231010)
    assert not QueryHints()


# --- fusion math ---------------------------------------------------------------------------------


def test_weighted_rrf_weights_and_k() -> None:
    fused = dict(weighted_rrf([(["a", "b"], 1.0), (["b", "c"], 0.5)], k=20))
    assert fused["a"] == pytest.approx(1 / 21)
    assert fused["b"] == pytest.approx(1 / 22 + 0.5 / 21)
    assert fused["c"] == pytest.approx(0.5 / 22)
    assert [item for item, _ in weighted_rrf([(["a", "b"], 1.0), (["b", "c"], 0.5)], k=20)] == ["b", "a", "c"]
    # a light list cannot outvote a heavy one on its own; zero weight ignores a list
    assert weighted_rrf([(["x"], 0.3), (["y"], 1.0)], k=20)[0][0] == "y"
    assert dict(weighted_rrf([(["x"], 0.0), (["y"], 1.0)]))["x"] == 0.0


# --- hints and rerankers against a real store ----------------------------------------------


BRIDGE_STORIES = [
    # (title, date, source, body): the Gazette's wording is closer to the question, the Herald is named in it
    (
        "Kestrel Bridge closed",
        "2023-11-28",
        "Gazette",
        "Engineers closed the Kestrel Bridge after inspectors found cracks in two supports.",
    ),
    (
        "Council shuts crossing",
        "2023-11-02",
        "Herald",
        "The council closed the Kestrel Bridge to traffic on Tuesday while repairs are planned.",
    ),
    (
        "Harbour reopens",
        "2023-09-05",
        "Gazette",
        "The harbour of Portvale reopened after the storm; fishing boats returned on Monday.",
    ),
    (
        "Mayor elected",
        "2023-10-12",
        "Herald",
        "Voters in Northshire elected a new mayor, Dana Whitfield, by a narrow margin.",
    ),
    ("Zeppelin sighting", "2023-10-20", "Courier", "A silver airship drifted over the valley towns for an hour."),
]


@pytest.fixture
def bridge_pipeline(tmp_path: Path, embedder) -> Pipeline:
    return stories_pipeline(tmp_path, embedder, BRIDGE_STORIES)


def _retriever(pipeline: Pipeline, **options) -> Retriever:
    return Retriever(pipeline.store, pipeline.embedder, pipeline.lexical, **options)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_source_hint_changes_the_ranking(bridge_pipeline: Pipeline, mode: str) -> None:
    query = "Which bridge was closed after inspectors found cracks, as reported by the Herald?"
    plain = _retriever(bridge_pipeline, mode=mode, hints=False).retrieve(query, k=2)
    assert plain[0].source == "Gazette"
    hinted = _retriever(bridge_pipeline, mode=mode).retrieve(query, k=5)
    assert hinted[0].source == "Herald" and hinted[0].title == "Council shuts crossing"
    assert "Kestrel Bridge closed" in [p.title for p in hinted[:3]]  # a boost, not a filter


def test_date_hint_changes_the_ranking(bridge_pipeline: Pipeline) -> None:
    query = "Which bridge was closed after inspectors found cracks, in the story of November 2, 2023?"
    assert _retriever(bridge_pipeline, hints=False).retrieve(query, k=1)[0].date == "2023-11-28"
    assert _retriever(bridge_pipeline).retrieve(query, k=1)[0].date == "2023-11-02"


def test_filters_stay_hard_with_hints(bridge_pipeline: Pipeline) -> None:
    query = "Which bridge was closed, as reported by the Herald?"
    passages = _retriever(bridge_pipeline).retrieve(query, k=5, filters=QueryFilters(sources=("Gazette",)))
    assert passages and {p.source for p in passages} == {"Gazette"}


def test_titles_are_searchable(bridge_pipeline: Pipeline) -> None:
    passages = _retriever(bridge_pipeline, mode="bm25", hints=False).retrieve("zeppelin sighting", k=1)
    assert passages and passages[0].title == "Zeppelin sighting"  # the body never says 'zeppelin'


class _Reverse:
    def __init__(self) -> None:
        self.seen: list[Candidate] = []

    def rerank(self, query: str, query_vector: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        self.seen = list(candidates)
        return candidates[::-1]


def test_reranker_gets_candidates_and_decides_the_order(bridge_pipeline: Pipeline) -> None:
    query = "Which bridge was closed after inspectors found cracks?"
    fused = _retriever(bridge_pipeline, candidates=5).retrieve(query, k=5)
    reranker = _Reverse()
    reranked = _retriever(bridge_pipeline, candidates=5, reranker=reranker).retrieve(query, k=5)
    assert [p.chunk_id for p in reranked] == [p.chunk_id for p in fused][::-1]
    first = reranker.seen[0]
    assert first.source == "Gazette" and first.date_num == 20231128 and first.article_id == fused[0].article_id
    assert first.lexical > 0 and first.similarity is not None
    assert [c.score for c in reranker.seen] == sorted((c.score for c in reranker.seen), reverse=True)


def test_fusion_defaults_are_the_tuned_ones() -> None:
    assert Fusion() == Fusion(dense=0.3, lexical=1.0, source_hint=2.0, date_hint=1.0, rrf_k=20)
