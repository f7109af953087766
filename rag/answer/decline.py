"""The decline rule: answer only when the evidence matches what the question is anchored on.

A question's anchors (rag.answer.questions: years, numbers, named people / organisations
/ places, event words) must each be matched by the retrieved passages:

* a name or number: in some passage's text, title or source (a name that is one of the
  collection's sources counts as matched; a multi-hop question may miss some of its names
  in the passages if the collection holds them elsewhere, never a name it lacks);
* a year: an article published then, or a sentence naming the year together with the
  event asked about ("2018" in a sentence about something else does not count, so
  "Who won the 2018 World Cup?" is not answered from a 2023 article that mentions 2018);
* the event words (in questions with few of them): half, at most four, in one passage
  that also holds one of the question's names.

Otherwise the answer is "The articles do not say.", plus one line on what close thing the
articles do cover ("They cover the Cricket World Cup."). Both answerers are gated by this
(the chat model is not called when it fails).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.answer.questions import Anchors, question_anchors, stems
from rag.search.hints import source_aliases
from rag.search.lexical import Bm25Index
from rag.search.retrieval import Passage
from rag.text.dates import date_number
from rag.text.sentences import split_sentences

DECLINE = "The articles do not say."
_EVENT_SHARE = 0.5
_EVENT_WORDS_ENOUGH = 4
MANY_NAMES = 3
MISSING_SHARE = 1 / 3
MAX_EVENT_WORDS = 6
_SOURCE_SECTION = re.compile(r"\s+[-|–—:]\s+")
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


def unmatched(
    anchors: Anchors,
    passages: Sequence[Passage],
    sources: Iterable[str] = (),
    mentions: Callable[[str], bool] | None = None,
) -> tuple[str, ...]:
    """The anchors the passages leave unmatched (empty when the evidence covers the question).

    A name that is one of the collection's `sources` ("TechCrunch", "The Verge") counts as
    matched: it says where to look, which retrieval already used. A name, number or year
    missing from the passages is unmatched; but in a question naming `MANY_NAMES` or more
    things (a multi-hop question), up to `MISSING_SHARE` of that many may be missing from the
    passages when `mentions` says the collection holds them elsewhere (retrieval found the
    other hops).
    The event words are checked only in questions with at most `MAX_EVENT_WORDS` of them
    (a long description is rarely repeated in one passage).
    """
    if not passages:
        return ("any article",)
    stacks = [_haystack(p) for p in passages]
    known = {part.lower() for source in sources for part in _source_parts(source)}
    names = [name for name in anchors.names if _bare(name).lower() not in known]
    absent = [name for name in names if not any(_contains(s, _bare(name)) for s in stacks)]
    absent += [n for n in anchors.numbers if not any(_contains(s, n) or n.replace(",", "") in s for s in stacks)]
    absent += [year for year in anchors.years if not _year_matched(year, anchors, passages)]
    elsewhere = [anchor for anchor in absent if mentions is not None and mentions(_bare(anchor))]
    tolerated = len(names) >= MANY_NAMES and len(elsewhere) <= MISSING_SHARE * len(names)
    missing = [anchor for anchor in absent if not (tolerated and anchor in elsewhere)]
    if anchors.event and len(anchors.event) <= MAX_EVENT_WORDS and not _event_matched(anchors, passages, stacks):
        missing.append("what the question asks about (" + ", ".join(anchors.event) + ")")
    return tuple(missing)


def _source_parts(source: str) -> set[str]:
    """A source's names and the parts of them: 'FOX News - Health' -> also 'FOX News', 'Health';
    'Globes English | Israel Business Arena' -> also 'Israel Business Arena'; 'The Age' -> 'Age'."""
    parts = {alias for alias in source_aliases(source)}
    parts |= {part.strip() for part in _SOURCE_SECTION.split(source) if len(part.strip()) >= 3}
    return parts | {part[4:] for part in parts if part.startswith("The ")}


def lexical_mentions(index: Bm25Index) -> Callable[[str], bool]:
    """Whether some chunk of the collection holds every word of a name (by the BM25 index,
    so a name added by a later ingest is found once the index is refreshed)."""
    return index.mentions


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


def check_anchors(
    question: str,
    passages: Sequence[Passage],
    sources: Iterable[str] = (),
    mentions: Callable[[str], bool] | None = None,
) -> AnchorCheck:
    """Whether the passages match the question's anchors (`sources`: the collection's sources;
    `mentions`: whether the collection holds a name); what is missing and what they cover."""
    anchors = question_anchors(question)
    missing = unmatched(anchors, passages, sources, mentions)
    return AnchorCheck(missing, covers_line(anchors, passages) if missing and passages else "")
