"""The web chat's rendering and feedback, on hand-built answers: per-turn ids, every highlight,
claim flags, plain-text copies, the Markdown export, whole articles, and the feedback test set."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rag.answer.model import Answer, Citation, Claim, Support
from rag.answer.usage import Usage
from rag.eval.run import load_testset
from rag.search.retrieval import Passage
from rag.store.chroma import ChunkRecord
from rag.web.feedback import Feedback, FeedbackStore, evidence_of
from rag.web.overview import ArticleInfo, Overview
from rag.web.render import (
    Turn,
    answer_html,
    article_html,
    article_text,
    conversation_markdown,
    highlighted,
    linked_markers,
    plain_answer,
)

ARTICLE = "Kyiv wants guarantees. Russia wants neutrality. Talks resume in May. Turkey hosts <the> talks."


def passage(start: int, end: int, chunk: str, score: float = 0.5, title: str = "Talks in Istanbul") -> Passage:
    return Passage(
        chunk_id=chunk,
        text=ARTICLE[start:end],
        article_id="talks.txt",
        title=title,
        date="2022-03-30",
        source="News & Co",
        url="https://example.org/talks",
        start=start,
        end=end,
        score=score,
        similarity=score,
    )


FIRST = passage(0, 48, "c0", 0.9)  # "Kyiv wants guarantees. Russia wants neutrality."
SECOND = passage(23, 94, "c1", 0.7)  # overlaps FIRST: "Russia wants neutrality. Talks … talks."
OTHER = passage(48, 69, "c2", 0.3, title="Other")


def answer(claims: list[Claim] | None = None) -> Answer:
    text = "Kyiv wants guarantees and Russia neutrality [1]. Talks resume in May [2]. Nobody objected."
    citations = [
        Citation(1, FIRST, 0, 22, spans=((0, 22), (23, 47))),  # two supporting sentences
        Citation(2, SECOND, 25, 45),
    ]
    return Answer(text, citations, [FIRST, SECOND, OTHER], "fake-model", False, claims=claims or [])


def turn(number: int, the_answer: Answer | None = None) -> Turn:
    return Turn(number, f"id{number}", "What do they want?", "What do they want?", the_answer or answer())


def test_each_turn_has_its_own_card_ids_and_links() -> None:
    first, second = answer_html(turn(1)), answer_html(turn(2))
    assert 'href="#cite-1-1"' in first and 'id="cite-1-1"' in first and 'id="cite-1-2"' in first
    assert 'href="#cite-2-1"' in second and 'id="cite-2-1"' in second and "cite-1-" not in second
    assert 'id="answer-2"' in second and 'href="#answer-2"' in second  # a way back from a card
    assert "\n" not in first  # a blank line would end the HTML block inside the chat's Markdown
    assert linked_markers("<b>x</b> [2, 3]", 4) == (
        '&lt;b&gt;x&lt;/b&gt; <a class="marker" href="#cite-4-2">[2]</a>, <a class="marker" href="#cite-4-3">[3]</a>'
    )


def test_a_card_highlights_every_supporting_span() -> None:
    html = answer_html(turn(1))
    card = html[html.index('id="cite-1-1"') : html.index('id="cite-1-2"')]
    assert card.count("<mark>") == 2
    assert "<mark>Kyiv wants guarantees.</mark> <mark>Russia wants neutrality.</mark>" in card
    assert highlighted("abcdef", [(0, 3), (2, 5)]) == "<mark>abcde</mark>f"  # overlaps merged


def test_all_retrieved_passages_are_listed_in_retrieval_order_with_scores_explained() -> None:
    cited_first = answer()  # its passages are reordered: cited ones first
    retrieved = (OTHER, SECOND, FIRST)  # as the retriever ranked them
    html = answer_html(Turn(1, "id1", "Q?", "Q?", cited_first, retrieved=retrieved))
    listing = html[html.index("All 3 retrieved passages, in retrieval order") :]
    assert listing.index("#1</span>") < listing.index("score 0.300") < listing.index("#2</span>")
    assert listing.index("#2</span>") < listing.index("score 0.700") < listing.index("score 0.900")
    assert "<strong>cited as [2]</strong>" in listing and "<strong>cited as [1]</strong>" in listing
    legend = listing[listing.index('<p class="legend">') : listing.index("</p>")]
    assert "Rank: the order the retriever returned" in legend and "Ranking score: the BM25" in legend
    assert "Relevance: cosine similarity" in legend  # always shown (a tap), and on each score as a title (hover)
    assert listing.count('title="Ranking score:') == 3 and listing.count('title="Relevance:') == 3
    dense = answer_html(Turn(1, "id1", "Q?", "Q?", cited_first, retrieved=retrieved, retrieval="dense"))
    assert "Ranking score: the embedding ranking" in dense


def test_the_lead_paragraph_is_emphasised_and_quote_lines_are_a_list() -> None:
    text = "Kyiv wants guarantees [1].\n\n- Russia wants neutrality [2]\n- Talks resume in May [2]"
    lead = Answer(text, answer().citations, [FIRST, SECOND], "local extractive", False)
    html = answer_html(Turn(1, "id1", "Q?", "Q?", lead))
    body = html[html.index('<div class="answer-text">') : html.index('<div class="answer-details"')]
    assert body.startswith('<div class="answer-text"><p class="lead">Kyiv wants guarantees <a class="marker"')
    assert '<ul class="quotes"><li>Russia wants neutrality <a class="marker" href="#cite-1-2">[2]</a></li>' in body
    assert body.count("<li>") == 2 and "- " not in body
    one = answer_html(Turn(1, "id1", "Q?", "Q?", answer()))
    assert '<p class="lead">' not in one  # a single paragraph is not a lead: it is all there is


def test_each_answer_says_what_was_searched_its_filters_and_timings() -> None:
    the_turn = Turn(
        2, "id2", "And Russia?", "And Russia? (Kyiv)", answer(), "from 2022", {"search": 0.25, "answer": 1.5}
    )
    html = answer_html(the_turn)
    details = html[html.index('<div class="answer-details" id="details-2">') :]
    assert "Searched for: <em>And Russia? (Kyiv)</em>" in details and "Filters: from 2022" in details
    assert "Timings: 3 passages retrieved · search 0.25 s · answer 1.50 s" in details
    copied = plain_answer(the_turn)
    assert "\n\nSearched for: And Russia? (Kyiv)\nFilters: from 2022\nTimings: 3 passages" in copied
    markdown = conversation_markdown([the_turn], "news")
    assert "*Searched for: And Russia? (Kyiv)*  \n*Filters: from 2022*  \n*Timings: 3 passages" in markdown
    used = Usage("gpt-4o-mini", 2, 1234, 56, True, 0.000219)
    with_usage = dataclasses.replace(the_turn, answer=dataclasses.replace(answer(), usage=used))
    line = (
        "Timings: 3 passages retrieved · search 0.25 s · answer 1.50 s · "
        "gpt-4o-mini: 1,234 tokens in · 56 out · ≈ $0.0002"
    )
    assert line in answer_html(with_usage) and line in plain_answer(with_usage)


def test_copy_and_export_carry_the_text_the_chat_shows() -> None:
    none = Answer("The articles do not say.", [], [], "local extractive", True)
    filtered = Turn(1, "id1", "Q?", "Q?", none, "between 2030-01 and 2030-12")
    shown = "No articles between 2030-01 and 2030-12 in this collection: widen the dates or choose other sources."
    assert shown in answer_html(filtered)
    assert plain_answer(filtered).startswith(shown)
    assert shown in conversation_markdown([filtered], "news") and "do not say" not in plain_answer(filtered)


def test_unsupported_claims_are_flagged_and_uncited_sentences_marked() -> None:
    claims = [
        Claim("Kyiv wants guarantees and Russia neutrality [1].", (1,), True, 0.8, (Support(1, 0, 22),)),
        Claim("Talks resume in May [2].", (2,), False, 0.1),
        Claim("Nobody objected.", (), False, 0.0),
    ]
    html = answer_html(turn(1, answer(claims)))
    assert html.count("⚠ not found in") == 1 and "⚠ not found in [2]" in html
    flag = html.index("⚠ not found in [2]")
    assert html.index('href="#cite-1-2"') < flag < html.index("Nobody objected")  # right after its claim
    assert '<span class="uncited" title="No source cited for this sentence">Nobody objected.</span>' in html


def test_copy_gives_plain_text_with_markers_and_references() -> None:
    text = plain_answer(turn(1))
    assert text.startswith("Kyiv wants guarantees and Russia neutrality [1].")
    assert "References:\n[1] Talks in Istanbul (2022-03-30 · News & Co) https://example.org/talks" in text
    assert "<" not in text and "&amp;" not in text
    html = answer_html(turn(1))
    assert '<div class="copy-text" hidden>Kyiv wants' in html and "References:&#10;[1] Talks in Istanbul" in html


def test_markdown_export_has_questions_answers_and_references() -> None:
    markdown = conversation_markdown([turn(1), turn(2)], "news")
    assert markdown.startswith("# Conversation with the news articles (news)")
    assert "## 2. What do they want?" in markdown
    assert "Kyiv wants guarantees and Russia neutrality [1]." in markdown
    assert "1. [Talks in Istanbul](<https://example.org/talks>) — 2022-03-30 · News & Co" in markdown
    assert "“Kyiv wants guarantees.” … “Russia wants neutrality.”" in markdown


def test_the_whole_article_is_rebuilt_with_the_answers_spans_highlighted() -> None:
    chunks = [
        ChunkRecord("c1", ARTICLE[23:94], {"start": 23}),
        ChunkRecord("c0", ARTICLE[0:48], {"start": 0}),
    ]
    assert article_text(sorted(chunks, key=lambda c: c.metadata["start"])) == ARTICLE
    view = article_html(turn(3), 2, sorted(chunks, key=lambda c: c.metadata["start"]))
    assert "Turkey hosts &lt;the&gt; talks." in view  # escaped
    # every span cited from this article, by either citation, mapped from passage to article offsets
    assert (
        '<mark id="hl-3-2-0">Kyiv wants guarantees.</mark> <mark id="hl-3-2-1">Russia wants neutrality.</mark> '
        '<mark id="hl-3-2-2">Talks resume in May.</mark>'
    ) in view
    assert 'href="#answer-3"' in view and "cited as [1], [2] in answer 3" in view
    # the highlights are numbered for the reader's previous/next buttons; it opens at the clicked
    # citation's quote: [2] quotes "Talks resume in May.", the third, [1] the first
    assert "highlight 3 of 3" in view and 'data-first="2"' in view
    assert 'class="hl-next"' in view and 'class="hl-prev"' in view
    first = article_html(turn(3), 1, sorted(chunks, key=lambda c: c.metadata["start"]))
    assert "highlight 1 of 3" in first and 'data-first="0"' in first
    # a citation whose first claim quotes its later sentence opens there, not at its first in the text
    later_first = Citation(1, FIRST, 23, 47, spans=((0, 22), (23, 47)))
    lead_later = Answer("Russia wants neutrality [1]. Kyiv wants guarantees [1].", [later_first], [FIRST], "m", False)
    view = article_html(turn(4, lead_later), 1, [ChunkRecord("c0", ARTICLE[0:48], {"start": 0})])
    assert "highlight 2 of 2" in view and 'data-first="1"' in view


def test_overview_line_and_example_questions() -> None:
    overview = Overview(
        "news",
        [
            ArticleInfo("a", "Sam Altman returns to OpenAI", "2023-11-22", "The Verge"),
            ArticleInfo("b", "OpenAI board ousts Altman", "2023-11-17", "The Verge"),
            ArticleInfo("c", "Chip exports curbed", "2023-10-17", "Reuters"),
        ],
        chunks=12,
    )
    assert overview.line() == "Collection **news**: 3 articles from 2 sources, 2023-10-17 to 2023-11-22 (12 passages)"
    assert overview.examples() == [  # newest first, one per source, in three forms
        "What do the articles say about “Sam Altman returns to OpenAI”?",
        "What did Reuters report about “Chip exports curbed”?",
        "What happened in “OpenAI board ousts Altman”?",
    ]
    assert "is empty" in Overview("empty").line()


def test_feedback_is_stored_per_answer_and_exported_as_a_test_set(tmp_path: Path) -> None:
    store = FeedbackStore.for_collection(tmp_path, "news")
    the_answer = answer()
    liked = Feedback("t1", "Q1?", "Q1?", the_answer.text, "up", "", False, evidence_of(the_answer))
    store.save(liked)
    store.save(Feedback("t2", "Q2?", "Q2?", "Wrong [1].", "down", "", False, ()))
    assert store.comment("t2", "It cites the wrong article.")
    assert not store.comment("unknown", "x")
    store.save(Feedback("t2", "Q2?", "Q2?", "Wrong [1].", "down", "", False, ()))  # re-rating keeps the comment
    assert [(f.answer_id, f.rating, f.comment) for f in store.all()] == [
        ("t1", "up", ""),
        ("t2", "down", "It cites the wrong article."),
    ]
    assert (tmp_path / "feedback" / "news.sqlite3").exists()

    target = tmp_path / "testset.jsonl"
    target.write_text(store.testset_jsonl(), encoding="utf-8")
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1  # 👎 answers have no reference to test against
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record["answer"] == "Kyiv wants guarantees and Russia neutrality. Talks resume in May. Nobody objected."
    assert {"article": "Talks in Istanbul", "text": "Russia wants neutrality."} in record["evidence"]
    (case,) = load_testset(target)  # `rag eval` reads it
    assert case.question == "Q1?" and case.answerable and len(case.evidence) == 3
