"""The decline rule: answer only when the evidence matches what the question is anchored on.

A question's anchors (rag.questions: years and dates, numbers, named people / organisations
/ places, event words) must each be matched by the retrieved passages:

* a name or number: in some passage's text, title or source;
* a year or date: an article published then, or a sentence naming the year together with
  the event asked about ("2018" in a sentence about something else does not count, so
  "Who won the 2018 World Cup?" is not answered from a 2023 article that mentions 2018);
* the event words: at least half of them in one passage.

Otherwise the answer is "The articles do not say.", plus one line on what close thing the
articles do cover ("They cover the Cricket World Cup."). Both answerers are gated by this
(the chat model is not called when it fails).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.chunking import split_sentences
from rag.dates import date_number
from rag.questions import Anchors, question_anchors, stems
from rag.retrieval import Passage

DECLINE = "The articles do not say."
_EVENT_SHARE = 0.5
_EVENT_WORDS_ENOUGH = 4
_EVENT_NOUNS = re.compile(
    r"\b(?:Cup|Championship|Championships|Games|Olympics|Series|War|Summit|Open|League|Trial|Awards|Festival|"
    r"Conference|Election|Tournament|Grand Prix|Final|Finals)$"
)


@dataclass(frozen=True)
class AnchorCheck:
    """Which anchors the evidence leaves unmatched, and a line on what it covers instead."""

    missing: tuple[str, ...]
    covers: str = ""

    @property
    def matched(self) -> bool:
        return not self.missing

    def decline(self) -> str:
        """The decline text: "The articles do not say." and, when known, what they cover."""
        return f"{DECLINE} {self.covers}".strip()


def _haystack(passage: Passage) -> str:
    return f"{passage.title}\n{passage.source}\n{passage.text}".lower()


def _contains(haystack: str, needle: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(needle.lower()) + r"(?![\w])", haystack) is not None


def _bare(name: str) -> str:
    return re.sub(r"[’']s$", "", name)


def _year_matched(year: str, anchors: Anchors, passages: Sequence[Passage]) -> bool:
    if any(date_number(p.date) // 10_000 == int(year) for p in passages):
        return True
    event = set(anchors.event)
    for passage in passages:
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end]
            if year in sentence and (not event or event & stems(sentence)):
                return True
    return False


def _dates_matched(anchors: Anchors, passages: Sequence[Passage]) -> bool:
    """A full date or month the question names is satisfied by an article published then,
    or by the text naming its year (checked with the years)."""
    for span in anchors.dates:
        if span.start == 0 or span.end >= 99_990_000:  # before/after ranges are boosts, not anchors
            continue
        if not any(span.contains(date_number(p.date)) for p in passages) and not any(
            str(span.start // 10_000) in p.text for p in passages if span.start // 10_000
        ):
            return False
    return True


def unmatched(anchors: Anchors, passages: Sequence[Passage]) -> tuple[str, ...]:
    """The anchors no passage matches (empty when the evidence covers the question)."""
    if not passages:
        return ("any article",)
    stacks = [_haystack(p) for p in passages]
    missing = [name for name in anchors.names if not any(_contains(s, _bare(name)) for s in stacks)]
    missing += [n for n in anchors.numbers if not any(_contains(s, n) or n.replace(",", "") in s for s in stacks)]
    missing += [year for year in anchors.years if not _year_matched(year, anchors, passages)]
    if not _dates_matched(anchors, passages) and not anchors.years:
        missing.append("the date asked about")
    if anchors.event and not _event_matched(anchors, passages, stacks):
        missing.append("what the question asks about (" + ", ".join(anchors.event) + ")")
    return tuple(missing)


def _event_matched(anchors: Anchors, passages: Sequence[Passage], stacks: Sequence[str]) -> bool:
    """Some passage holds enough of the event words (half, at most `_EVENT_WORDS_ENOUGH`) and,
    when the question names anything beyond the articles' sources, one of those names too:
    "the population of Iceland" is not matched by Iceland in one article and a population
    in another."""
    wanted = set(anchors.event)
    needed = min(_EVENT_SHARE * len(wanted), _EVENT_WORDS_ENOUGH)
    sources = {p.source.lower() for p in passages}
    names = [_bare(n) for n in anchors.names if _bare(n).lower() not in sources]
    for passage, stack in zip(passages, stacks, strict=True):
        if len(wanted & stems(passage.title + " " + passage.text)) < needed:
            continue
        if not names or any(_contains(stack, name) for name in names):
            return True
    return False


def covers_line(anchors: Anchors, passages: Sequence[Passage]) -> str:
    """One line on what close thing the passages cover: the commonest full form of a name the
    question shares with them ("They cover the Cricket World Cup."); "" when they share none."""
    text = "\n".join(p.text for p in passages)
    for name in anchors.names:
        bare = _bare(name)
        pattern = re.compile(
            r"(?:(?:19|20)\d\d\s+)?(?:[A-Z][\w’'-]+\s+){0,3}" + re.escape(bare) + r"(?:\s+(?:19|20)\d\d)?"
        )
        forms = Counter(m.group() for m in pattern.finditer(text))
        form = forms.most_common(1)[0][0] if forms else ""
        event = _EVENT_NOUNS.search(re.sub(r"\s+(?:19|20)\d\d$", "", form))
        if event or len(form.split()) >= 2:  # a single word ("Russian") says too little
            return f"They cover {'the ' if event else ''}{form}."
    return ""


def check_anchors(question: str, passages: Sequence[Passage]) -> AnchorCheck:
    """Whether the passages match the question's anchors; what is missing and what they cover."""
    anchors = question_anchors(question)
    missing = unmatched(anchors, passages)
    return AnchorCheck(missing, covers_line(anchors, passages) if missing and passages else "")
