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
from rag.answer.polarity import contradiction, misattribution, speakers
from rag.chat import ChatEngine
from rag.models.embedding import MiniLMEmbedder
from rag.pipeline import Pipeline
from rag.search.retrieval import Passage
from tests.answer.test_answering import loopback_answerer, passages_in
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


# --- contradictions and misattributions (issue 17, case 4) -------------------------------------------
COUNCIL = (
    "Title: Council backs the river bridge\nDate: 2023-05-10\nSource: Town Herald\n\n"
    "The city council voted 7 to 2 on Tuesday to approve the new bridge over the river. "
    "Construction of the bridge is expected to start next spring.\n"
)


@pytest.mark.parametrize(
    ("claim", "support", "flagged"),
    [
        ("Kyiv rejected security guarantees", GUARANTEES, "says the opposite (stance)"),
        ("The council rejected the bridge", "The council voted 7 to 2 to approve the bridge.", "opposite (stance)"),
        ("The council did not approve the bridge", "The council voted to approve the bridge.", "opposite (stance)"),
        ("Kyiv refused the offer", "Kyiv accepted the offer on Friday.", "opposite (stance)"),
        ("The city banned the rally", "The city allowed the rally to go ahead.", "opposite (permission)"),
        ("The ministry denied the report", "The ministry confirmed the report.", "opposite (truth)"),
        ("Shares fell 5% on Monday", "Shares rose 5% on Monday.", "opposite (amount)"),
        ("The chief executive was acquitted", "A jury convicted the chief executive.", "opposite (verdict)"),
        ("Russia will not withdraw its troops", "Russia will withdraw its troops.", "negates what the passage states"),
        ("Kyiv is looking for security guarantees", GUARANTEES, ""),
        ("The council refused to approve the bridge", "The council rejected the bridge plan.", ""),
        ("Profits fell while costs rose", "Profits fell as costs rose.", ""),
        ("Kyiv wants guarantees, not neutrality", "Kyiv wants guarantees and neutrality is off the table.", ""),
        (
            "Judges are banned to use it",
            "Judges are allowed to use it",
            "opposite (permission)",
        ),  # only refuse-like verbs + "to" reverse
    ],
)
def test_polarity_contradictions(claim: str, support: str, flagged: str) -> None:
    found = contradiction(claim, support)
    assert (flagged in found and found) if flagged else found == ""


@pytest.mark.parametrize(
    ("claim", "support", "flagged"),
    [
        ("Zelensky said Kyiv was looking for security guarantees", GUARANTEES, "to Podolyak, not Zelensky"),
        ("According to Lavrov, Kyiv wants guarantees", GUARANTEES, "to Podolyak, not Lavrov"),
        ("Kirby said Russia was moving troops", "“Russia is moving,” said Pentagon spokesman John Kirby.", ""),
        ("Mykhailo Podolyak said Kyiv wants guarantees", GUARANTEES, ""),
        ("Kirby said Kyiv was under threat", "“Kyiv is under threat,” he said.", ""),  # no speaker named: cannot tell
        # a sentence never misattributes itself (a name inside a word, a name cut at the window's end)
        ("According to ad firm iSpot, TV ads ran.", "According to ad firm iSpot, TV ads ran.", ""),
        (f"“{'Words ' * 9},” said the Los Angeles-based entrepreneur to TechCrunch.",) * 2 + ("",),
    ],
)
def test_speaker_misattribution(claim: str, support: str, flagged: str) -> None:
    found = misattribution(claim, support)
    assert (flagged in found and found) if flagged else found == ""
    assert speakers("“If they are serious,” said Pentagon spokesman John Kirby.") == ["Pentagon", "John Kirby"]


def test_a_models_contradiction_and_misattribution_are_flagged(
    pipeline: Pipeline, articles_dir: Path, fake_openai: FakeOpenAI
) -> None:
    (articles_dir / "council.txt").write_text(COUNCIL, encoding="utf-8")
    pipeline.ingest([articles_dir], progress=False)

    def contradicting(messages: list[dict]) -> str:
        numbered = passages_in(messages)
        kyiv = next(n for n, text in numbered if "guarantor countries" in text)
        bridge = next(n for n, text in numbered if "bridge" in text)
        return (
            f"Kyiv rejected security guarantees [{kyiv}]. "
            f"Zelensky said Kyiv was looking for security guarantees [{kyiv}]. "
            f"The council rejected the bridge [{bridge}]. "
            f"Podolyak said Kyiv was still looking for security guarantees [{kyiv}]. "
            f"The council voted to approve the bridge [{bridge}]."
        )

    fake_openai.reply = contradicting
    llm = loopback_answerer(fake_openai.base_url)
    engine = ChatEngine(pipeline.retriever, pipeline.engine.extractive, llm, 8, gate=False)  # checks, not the gate
    answer = engine.answer("Did Kyiv want security guarantees, and what happened to the council's bridge?").answer
    assert answer is not None and answer.answerer == "fake-model"
    rejected, zelensky, council, podolyak, approved = answer.claims
    assert not rejected.supported and "says the opposite" in rejected.reason and "Podolyak said" in rejected.reason
    assert not zelensky.supported and "attributes this to Podolyak, not Zelensky" in zelensky.reason
    assert not council.supported and "says the opposite" in council.reason and "to approve" in council.reason
    assert podolyak.supported and approved.supported and podolyak.reason == approved.reason == ""


def test_the_model_reviews_every_claim_in_one_call(demo_pipeline: Pipeline, fake_openai: FakeOpenAI) -> None:
    def model(messages: list[dict]) -> str:
        if "You check an answer's claims" in messages[0]["content"]:
            return (
                "1: SUPPORTED\n"
                "2: CONTRADICTED - the passage says Podolyak said it, not Zelensky\n"
                "3. not found: no reparations in the passage\n"
            )
        n = next(number for number, text in passages_in(messages) if "guarantor countries" in text)
        return (
            f"Kyiv wants security guarantees from designated guarantor countries [{n}]. "
            f"Zelensky said Kyiv wants strong armies as guarantors [{n}]. "
            f"Kyiv also wants reparations [{n}]. Talks went on [{n}]."
        )

    fake_openai.reply = model
    verified = loopback_answerer(fake_openai.base_url, verify="model", llm_prices={"fake-model": (1.0, 1.0)})
    engine = ChatEngine(demo_pipeline.retriever, demo_pipeline.engine.extractive, verified, 3)
    answer = engine.answer("What guarantees does Kyiv want?").answer
    assert answer is not None and fake_openai.request_count() == 2  # the answer, then one review of all claims
    review = fake_openai.requests[1]["messages"][1]["content"]
    assert "1. Kyiv wants security guarantees" in review and "4. Talks went on. (cites [1])" in review
    assert review.count("<passage number=") == 1  # only the cited passage
    supported, zelensky, reparations, unread = answer.claims
    assert supported.verdict == "supported" and supported.supported
    assert zelensky.verdict == "contradicted: the passage says Podolyak said it, not Zelensky"
    assert not zelensky.supported and reparations.verdict.startswith("not found") and not reparations.supported
    assert unread.verdict == "" and any("no readable verdict for claim 4" in n for n in answer.notices)
    assert answer.usage is not None and answer.usage.calls == 2
    local = loopback_answerer(fake_openai.base_url)  # RAG_VERIFY=local (the default): no review call
    ChatEngine(demo_pipeline.retriever, demo_pipeline.engine.extractive, local, 3).answer("What guarantees?")
    assert fake_openai.request_count() == 3
