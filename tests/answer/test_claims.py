"""Verified claims and citation numbering: rag.answer.claims on made-up passages, finish_answer's
renumbering, and a chat model's unsupported claim flagged in `rag ask --json` (a real
OpenAI-protocol server on loopback, a real store, a separate process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.answer.citations import merge_spans, renumber
from rag.answer.claims import missing_facts, verify
from rag.answer.finish import finish_answer
from rag.models.embedding import MiniLMEmbedder
from rag.search.retrieval import Passage
from tests.answer.test_answering import passages_in
from tests.conftest import DEMO_DIR, run
from tests.openai_server import FakeOpenAI

GUARANTEES = (
    "Podolyak said Kyiv was still looking for specific security guarantees that could be imposed by "
    "“designated guarantor countries” with “strong armies”, including the United States. "
    "“We really need allies who will stand by us,” he said."
)
KIRBY = "Pentagon spokesman John Kirby said Russia is relocating about 20 percent of its forces around Kyiv."
REPARATIONS = "Kyiv also demands that Russia pay 300 billion dollars in reparations by 2023 [1]."


def passage(text: str, n: int) -> Passage:
    return Passage(f"c{n}", text, f"a{n}", f"Title {n}", "2022-03-30", "News", "", 0, len(text), 1.0, 0.5)


def test_missing_numbers_and_names() -> None:
    assert missing_facts("Russia must pay 300 billion dollars by 2023", KIRBY) == ["2023", "300"]
    assert missing_facts("Lavrov said Kirby was wrong", KIRBY) == ["Lavrov"]
    assert missing_facts("Kirby said about 20 percent of the forces are moving", KIRBY) == []
    assert missing_facts("It was published on March 30, 2022", "Title\nNews\n2022-03-30 2022 March 30\n") == []


def test_verify_flags_a_claim_its_passage_does_not_hold(embedder: MiniLMEmbedder) -> None:
    passages = [passage(GUARANTEES, 1), passage(KIRBY, 2)]
    text = f"Kyiv wants security guarantees from guarantor countries with strong armies [1]. {REPARATIONS} Uncited."
    good, bad, uncited = verify(text, passages, embedder)
    assert good.supported and good.markers == (1,) and good.score > 0.5
    (support,) = good.support
    assert GUARANTEES[support.start : support.end].startswith("Podolyak said Kyiv")
    assert not bad.supported and bad.markers == (1,)
    assert not uncited.supported and uncited.markers == () and uncited.score == 0.0


def test_a_quote_is_its_own_support() -> None:
    quote = "“We really need allies who will stand by us,” he said."
    (claim,) = verify(f"{quote} [1]", [passage(GUARANTEES, 1)])
    assert claim.supported and claim.score == 1.0
    assert GUARANTEES[claim.support[0].start : claim.support[0].end] == quote


def test_renumber_and_merge_spans() -> None:
    assert renumber("A [3]. B [1, 3]. C [2][3].", {3: 1, 1: 2, 2: 3}) == "A [1]. B [2, 1]. C [3][1]."
    assert merge_spans([(10, 20), (0, 5), (15, 30)]) == ((0, 5), (10, 30))


def test_finish_answer_numbers_citations_by_first_use() -> None:
    passages = [passage("Filler text about nothing in particular here.", 1), passage(KIRBY, 2), passage(GUARANTEES, 3)]
    answer = finish_answer(f"{KIRBY} [2] {GUARANTEES.split('. ')[0]}. [3] More from Kirby [2].", passages, "x")
    assert re.findall(r"\[(\d)\]", answer.text) == ["1", "2", "1"]
    assert [c.number for c in answer.citations] == [1, 2]
    assert answer.passages == [passages[1], passages[2], passages[0]]  # cited first, in marker order
    assert [c.passage for c in answer.citations] == answer.passages[:2]
    first = answer.citations[0]
    assert first.quote == KIRBY and first.highlights[0] == (0, len(KIRBY))
    assert [claim.markers for claim in answer.claims] == [(1,), (2,), (1,)]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("claims") / "store"
    assert run(sys.executable, "ingest.py", str(DEMO_DIR), data_dir=data_dir).returncode == 0
    return data_dir


def cite_guarantor_then_invent(messages: list[dict]) -> str:
    """A model that cites the guarantor passage, then adds a claim that passage does not hold."""
    n = next(number for number, text in passages_in(messages) if "guarantor countries" in text)
    return (
        f"Kyiv wants security guarantees from designated guarantor countries with strong armies [{n}]. "
        f"Kyiv also demands that Russia pay 300 billion dollars in reparations by 2023 [{n}]."
    )


def ask_json_with_inventing_model(question: str, store: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """`rag ask --json QUESTION` with the model of `cite_guarantor_then_invent`; and how often it was called."""
    with FakeOpenAI(reply=cite_guarantor_then_invent) as server:
        env = {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": server.base_url, "RAG_LLM_MODEL": "fake-model"}
        result = run(sys.executable, "-m", "rag", "ask", "--json", question, data_dir=store, extra_env=env)
        return result, server.request_count()


def test_ask_json_flags_a_chat_models_unsupported_claim(demo_store: Path) -> None:
    result, _ = ask_json_with_inventing_model("What guarantees does Kyiv want?", demo_store)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    good, bad = payload["claims"]
    assert good["supported"] is True and good["markers"] == [1]
    assert bad["text"].startswith("Kyiv also demands that Russia pay 300 billion dollars")
    assert bad["supported"] is False and bad["markers"] == [1]
    (support,) = good["support"]
    passage_text = payload["citations"][0]["passage"]
    assert "designated guarantor countries" in passage_text[support["start"] : support["end"]]
    assert set(support) == {"number", "start", "end"}
    assert set(bad) == {"text", "markers", "supported", "score", "reason", "verdict", "support"}
    assert bad["reason"] == "2023, 300 not found in [1]" and good["reason"] == "" and bad["verdict"] == ""


def test_chat_model_is_not_called_when_the_anchors_are_unmatched(demo_store: Path) -> None:
    result, model_calls = ask_json_with_inventing_model("Who won the 2018 World Cup?", demo_store)
    assert model_calls == 0
    payload = json.loads(result.stdout)
    assert payload["declined"] is True and payload["answer"].startswith("The articles do not say.")
