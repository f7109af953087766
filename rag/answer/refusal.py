"""Refusals: recognising an answer that declines, in the words a chat model uses.

An answer declines when its lead says the articles do not hold the answer: "The articles do
not say.", "I cannot answer this question from the given passages.", "There is no information
about this in the passages.", "None of the passages answer this question.", "I'm sorry, but I
can't find that in the articles." … The lead is the first sentence, or the first two when the
first is a preamble ("Thank you for the question.", "I have reviewed the passages."); a
preamble clause ("I'm sorry, but", "Unfortunately,", "Based on the provided passages,") is
skipped; citation markers and quoted speech (“I don't know,” he said) are ignored, so a decline
that cites a passage is still one. A sentence that declines after an answer ("Kyiv wants
guarantees [1]. The articles do not say which.") is not a decline. Regular expressions, because
the wordings are few and fixed and a classifier would need a model this project does not ship.
"""

from __future__ import annotations

import re

from rag.text.sentences import split_sentences

_SOURCES = r"(?:articles?|passages?|sources?|context|documents?|texts?|excerpts?|reports?|materials?|snippets?)"
_SOURCE_PHRASE = rf"(?:(?:provided|given|available|retrieved|supplied|above|these|those|the|this)\s+)*{_SOURCES}"
_NOT = (
    r"(?:do(?:es)?\s+not|do(?:es)?n['’]t|did\s+not|didn['’]t|cannot|can['’]t|can\s+not|"
    r"make\s+no|makes\s+no|offer\s+no|offers\s+no|contain\s+no|contains\s+no|provide\s+no|provides\s+no|give\s+no)"
)
_I_NOT = (
    r"(?:do\s+not|don['’]t|cannot|can['’]t|can\s+not|could\s+not|couldn['’]t|am\s+(?:not\s+able|unable)\s+to|"
    r"['’]m\s+(?:not\s+able|unable)\s+to|was\s+(?:not\s+able|unable)\s+to|am\s+afraid\s+I\s+can['’]t|"
    r"did\s+not|didn['’]t|unable\s+to)"
)
_TELL = (
    r"(?:say|state|mention|contain|provide|include|specify|cover|answer|address|tell|discuss|give|offer|reveal|"
    r"indicate|identify|report|describe|explain|name|list|detail|clarify|confirm|disclose|have|hold|show|find|"
    r"determine|know|locate|see|help)\w*"
)
_INFORMATION = r"(?:information|evidence|details?|data|mention|reference|record|answer|context|indication)"
_NOT_REPORTING = r"(?:(?!says?\b|said\b|reports?\b|reported\b|according\b)[\w,'’-]+\s+)"

REFUSAL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "The articles do not say", "the passages provided don't mention", "The documents make no mention of"
        rf"\b{_SOURCE_PHRASE}\s+{_NOT_REPORTING}{{0,6}}?{_NOT}\s+(?:\w+\s+)?{_TELL}",
        # "None of the passages answer this question."
        rf"\bnone\s+of\s+(?:{_SOURCE_PHRASE}|them|these|those)\s+(?:\w+\s+){{0,2}}?{_TELL}",
        # "I cannot answer …", "I'm sorry, but I can't find that …", "I don't know.", "I do not have enough information"
        rf"^I\s+{_I_NOT}\s+(?:\w+\s+)?{_TELL}",
        r"^I\s+(?:have|had)\s+no\s+(?:\w+\s+)?(?:information|data|details|knowledge|answer)",
        # "There is no information about this in the passages.", "No mention of … is made", "Insufficient information."
        rf"^(?:there\s+(?:is|are|was|were)|there['’]s)\s+(?:no|not\s+enough|insufficient|nothing)\s+(?:\w+\s+)?(?:{_INFORMATION}|in)",
        rf"^(?:no|insufficient|not\s+enough)\s+(?:\w+\s+)?{_INFORMATION}\b",
        rf"\b{_SOURCES}\s+(?:\w+\s+)?(?:provide|contain|offer|give|have|hold|include)s?\s+"
        rf"(?:insufficient|not\s+enough|no|little)\s+(?:\w+\s+)?{_INFORMATION}",
        rf"^nothing\s+in\s+{_SOURCE_PHRASE}",
        # "This question cannot be answered from the articles.", "The winner cannot be determined from the passages."
        r"\bquestion\s+(?:cannot|can['’]t|can\s+not|could\s+not)\s+be\s+(?:answered|determined)",
        rf"\b(?:cannot|can['’]t|can\s+not|could\s+not|couldn['’]t)\s+be\s+(?:answered|determined|found|confirmed|"
        rf"established|identified|inferred|verified)\s+(?:\w+\s+){{0,2}}?(?:from|in|with|using|based\s+on)\s+{_SOURCE_PHRASE}",
        # "The answer is not in the passages.", "This information is not provided in the articles."
        r"^(?:the\s+)?(?:answer|information|this|that|it)\s+(?:\w+\s+)?(?:is|was|are)\s*(?:not|n['’]t)\s+"
        r"(?:\w+\s+)?(?:in|found|available|provided|mentioned|included|given|present|covered|stated|specified|known)\b",
        rf"\bnot\s+(?:answered|addressed|covered|mentioned|discussed|stated|specified)\s+(?:by|in)\s+{_SOURCE_PHRASE}",
        rf"\b{_SOURCES}\s+(?:are|is)\s+silent\b",
        # "Not stated.", "Unknown.", "Cannot answer from the given passages.", "It is not possible to determine …"
        r"^(?:unknown|not\s+(?:stated|specified|mentioned|given|provided|found|available|covered|answered|known))\b",
        r"^(?:cannot|can['’]t|unable\s+to)\s+(?:\w+\s+)?(?:answer|determine|tell|say|find)",
        r"^(?:it\s+is|it['’]s)\s+(?:not\s+possible|impossible)\s+to\s+(?:\w+\s+)?(?:say|determine|tell|know|answer|identify)",
        rf"^(?:it\s+is|it['’]s)\s+(?:unclear|not\s+clear)\s+(?:from|based\s+on|in)\s+{_SOURCE_PHRASE}",
    )
)

# A clause before the decline: "I'm sorry, but", "Unfortunately,", "Based on the provided passages,"
_PREAMBLE_CLAUSE = re.compile(
    r"^(?:(?:I['’]m|I\s+am)\s+(?:sorry|afraid)|sorry|unfortunately|regrettably|apologies|(?:thank\s+you|thanks)[^,.:;]*|"
    r"(?:based\s+on|according\s+to|from|after\s+reviewing|having\s+reviewed|after\s+reading|looking\s+at|in)\s+"
    rf"{_SOURCE_PHRASE}(?:\s+(?:provided|given|available|above))?|however|but|so|well|alas|hmm)\s*[,:;—–-]*\s*(?:but\s+|that\s+)?",
    re.IGNORECASE,
)
# A whole sentence before the decline: "Thank you for the question.", "I have reviewed the passages."
_PREAMBLE_SENTENCE = re.compile(
    r"^(?:I['’]m\s+sorry|I\s+am\s+sorry|sorry|unfortunately|thank|thanks|good\s+question|great\s+question|"
    r"I\s+(?:have\s+|['’]ve\s+)?(?:reviewed|read|checked|looked|searched|examined|gone)|after\s+(?:reviewing|reading|checking)|"
    r"having\s+(?:reviewed|read)|let\s+me|I\s+(?:will|['’]ll)|here\s+is|okay|ok|hello|hi)\b",
    re.IGNORECASE,
)
_MARKERS = re.compile(r"\s*(?:\[[^\]]{0,40}\]|【[^】]{0,40}】|\((?:passages?\s*)?\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\))")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def _lead(text: str) -> list[str]:
    """The sentences that must say whether the answer declines: the first, and the second after a preamble."""
    plain = _QUOTED.sub(" ", _MARKERS.sub("", text)).strip()
    sentences = [plain[start:end].strip() for start, end in split_sentences(plain)] or [plain]
    lead = sentences[:1]
    if len(sentences) > 1 and _PREAMBLE_SENTENCE.match(sentences[0]) and not _declines(sentences[0]):
        lead.append(sentences[1])
    return lead


def _declines(sentence: str) -> bool:
    previous = None
    while previous != sentence:  # "I'm sorry, but unfortunately, …": every preamble clause goes
        previous, sentence = sentence, _PREAMBLE_CLAUSE.sub("", sentence, count=1).strip()
    return any(pattern.search(sentence) for pattern in REFUSAL_PATTERNS)


def is_refusal(text: str) -> bool:
    """True when the answer's lead declines ("The articles do not say.", "I can't find that in the
    articles [1].", "Thank you. There is no information about this in the passages.")."""
    return any(_declines(sentence) for sentence in _lead(text))
