"""Contradictions a word-overlap score cannot see: a claim that says the opposite of its support,
or puts its words in another speaker's mouth (pure text functions).

- **Polarity**: a claim and its supporting sentence that share a family of opposite verbs
  (approve/reject, accept/refuse, want/oppose, allow/ban, confirm/deny, rise/fall, convict/acquit,
  hire/fire) with opposite signs — a negation ("did not", "never", "refused to") flips a verb's
  sign — or where one negates a verb the other states ("will not withdraw" / "will withdraw").
  A sentence using both sides of a family ("refused to approve") counts by its net sign; a
  sentence with several verbs of different signs is not judged.
- **Speaker**: "X said …" in the claim where the supporting sentence names only other speakers
  ("Podolyak said …", "…, according to Y") and does not mention X at all.

Hand-written rules, because no model for natural-language inference runs offline here. They
miss what they have no word for (paraphrased opposites, irregular verb forms outside the
families, who did what to whom: "Arsenal beat Chelsea" / "Chelsea lost" is not compared) and a
country standing in for its spokesperson ("Kyiv said") is not flagged when the sentence names Kyiv.
"""

from __future__ import annotations

import re

# family -> (positive forms, negative forms); each a regex over lower-cased text
FAMILIES: dict[str, tuple[str, str]] = {
    "stance": (
        r"approv\w*|accept\w*|agree(?:s|d|ing)?|support\w*|back(?:s|ed|ing)?|endors\w*|welcom\w*|"
        r"favou?r(?:s|ed|ing)?|want\w*|seek\w*|sought|look(?:s|ed|ing)?\s+for|demand\w*|ask(?:s|ed|ing)?\s+for|"
        r"embrac\w*|adopt\w*|ratif\w*",
        r"reject\w*|refus\w*|declin(?:e|es|ed|ing)|oppos\w*|veto\w*|turn(?:s|ed|ing)?\s+down|dismiss\w*|"
        r"disagree\w*|spurn\w*|rebuff\w*|vot(?:e|es|ed|ing)\s+against",
    ),
    "permission": (
        r"allow\w*|permit(?:s|ted|ting)?|authori[sz]\w*|legali[sz]\w*|lift(?:s|ed|ing)?\s+(?:the\s+)?ban",
        r"ban(?:s|ned|ning)?|forb[ia]d\w*|prohibit\w*|outlaw\w*",
    ),
    "truth": (r"confirm\w*|admit\w*|acknowledg\w*", r"den(?:y|ies|ied|ying)|disput\w*|refut\w*"),
    "amount": (
        r"ris(?:e|es|ing)|rose|risen|increas\w*|gr[eo]w(?:s|n|ing)?|gain\w*|climb\w*|jump\w*|soar\w*|surg\w*|"
        r"rais(?:e|es|ed|ing)|hik(?:e|es|ed|ing)",
        r"fall(?:s|en|ing)?|fell|decreas\w*|drop\w*|declin(?:e|es|ed|ing)|shr[iau]nk\w*|slump\w*|plung\w*|"
        r"cut(?:s|ting)?|lower(?:s|ed|ing)|reduc\w*|slash\w*|tumbl\w*|s[ai]nk(?:s|ing)?",
    ),
    "verdict": (
        r"convict\w*|found\s+guilty|pleaded\s+guilty",
        r"acquit\w*|found\s+not\s+guilty|cleared\s+of",
    ),
    "employment": (r"hir(?:e|es|ed|ing)", r"fir(?:e|es|ed|ing)|la(?:y|id)\s+off|layoffs?"),
}
_COMPILED = {
    family: (re.compile(rf"\b(?:{plus})\b"), re.compile(rf"\b(?:{minus})\b"))
    for family, (plus, minus) in FAMILIES.items()
}
_NEGATORS = {"not", "never", "no", "nor", "without", "cannot"}
_REVERSER_WORD = re.compile(r"refus|declin|fail|reject")
_REVERSERS = re.compile(r"\b(?:refus\w*|declin\w*|fail\w*|reject\w*)\s+to\s+$")  # "refused to approve"
_AUXILIARY = r"(?:do|does|did|will|would|is|was|are|were|has|have|had|can|could|should|may|might|must|shall)"
_NEGATED_VERB = re.compile(
    rf"\b(?:{_AUXILIARY}\s+(?:not|never)|\w+n['’]t|never|cannot)\s+(?:be\s+|been\s+|have\s+)?([a-z]+)"
)
_WORD = re.compile(r"[a-z']+|n['’]t")

_SPEECH = (
    r"(?:said|says|told|tells|stated|states|claimed|claims|announced|announces|added|adds|wrote|writes|argued|"
    r"argues|warned|warns|insisted|insists|noted|notes|explained|explains|tweeted|posted|declared|declares)"
)
_NAME = r"(?<![\w’'])[A-Z][\w’'.-]*[\w’'](?:\s+[A-Z][\w’'.-]*[\w’'])*"
_NOT_NAMES = {
    "He", "She", "They", "It", "We", "I", "You", "The", "This", "That", "These", "Those", "A", "An", "But",
    "And", "In", "On", "Officials", "Police", "Experts", "Analysts", "Sources", "Reports", "Critics",
}  # fmt: skip
_SPEAKER_BEFORE = re.compile(rf"({_NAME})\s+(?:has\s+|had\s+|have\s+|also\s+)?{_SPEECH}\b")
# "…,” said Pentagon spokesman John Kirby" / "according to Mykhailo Podolyak, …": the names up to the next punctuation
_SPEAKER_AFTER = re.compile(rf"(?:[,”\"]\s*{_SPEECH}|\b[Aa]ccording\s+to)\s+([^,.;:!?“”\"]{{1,60}})")


def _stem(word: str) -> str:
    return re.sub(r"(?:ing|ed|es|s|e)$", "", word) if len(word) > 4 else word


def _negated_before(text: str, start: int) -> bool:
    """Whether the three words before `start` negate what follows ("did not", "never", "refused to")."""
    before = text[:start]
    words = _WORD.findall(before)[-3:]
    return (
        bool(_NEGATORS & set(words))
        or any(w.endswith(("n't", "n’t")) for w in words)
        or bool(_REVERSERS.search(before))
    )


def _sign(text: str, family: str) -> int | None:
    """+1 or -1: the family's net sense in `text`; None when it has no such verb or several disagree."""
    plus, minus = _COMPILED[family]
    signs = set()
    for pattern, sign in ((plus, 1), (minus, -1)):
        for match in pattern.finditer(text):
            if _REVERSER_WORD.match(match.group()) and text.startswith(" to ", match.end()):
                continue  # "refused to …" negates the next verb instead
            signs.add(-sign if _negated_before(text, match.start()) else sign)
    return signs.pop() if len(signs) == 1 else None


def _negated_verbs(text: str) -> set[str]:
    return {_stem(verb) for verb in _NEGATED_VERB.findall(text)}


def _stated_verbs(text: str) -> set[str]:
    negated = {match.start(1) for match in _NEGATED_VERB.finditer(text)}
    return {_stem(m.group()) for m in re.finditer(r"[a-z]+", text) if m.start() not in negated}


def contradiction(claim: str, support: str) -> str:
    """Why `claim` says the opposite of `support` ('' when it does not, as far as these rules see)."""
    said, source = claim.lower(), support.lower()
    for family in FAMILIES:
        mine, theirs = _sign(said, family), _sign(source, family)
        if mine is not None and theirs is not None and mine != theirs:
            return f"says the opposite ({family})"
    flipped = (_negated_verbs(said) & _stated_verbs(source) - _negated_verbs(source)) | (
        _negated_verbs(source) & _stated_verbs(said) - _negated_verbs(said)
    )
    return f"negates what the passage states ({', '.join(sorted(flipped))}…)" if flipped else ""


def speakers(sentence: str) -> list[str]:
    """Who `sentence` says spoke: "Podolyak said", "said Pentagon spokesman John Kirby", "according to Y"."""
    found = [m.group(1) for m in _SPEAKER_BEFORE.finditer(sentence)]
    for match in _SPEAKER_AFTER.finditer(sentence):
        found += re.findall(_NAME, match.group(1))[:2]
    return [name for name in dict.fromkeys(found) if name not in _NOT_NAMES]


def misattribution(claim: str, support: str) -> str:
    """Why `claim` names another speaker than `support` does ('' when it does not, or cannot tell)."""
    theirs = speakers(support)
    mine = speakers(claim)
    if not mine or not theirs:
        return ""
    lowered = support.lower()
    for name in mine:
        parts = {part for part in re.findall(r"[\w’'-]+", name.lower()) if len(part) > 2}
        if parts and not any(part in lowered for part in parts):
            return f"attributes this to {' / '.join(theirs)}, not {name}"
    return ""
