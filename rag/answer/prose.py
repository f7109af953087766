"""Prose filter: tells a sentence worth quoting from the page furniture around it (pure).

News text extracted from web pages keeps things no answer should quote: social-media
embeds ("— Sam Altman (@sama) November 17, 2023"), calls to action ("Sign up for…",
"Get in touch…", "Do you work at…?", broadcasters' "Watch all the action…", readers' callouts
"We want to hear from you. Tell us through a short survey."), questions,
photo captions and credits ("Photo:", "(Getty Images)"), tables flattened into text (runs
of numbers and short cells, pipes, tabs), navigation crumbs ("Home › News › Tech") and, for quotes that must be complete
sentences, headings (no closing punctuation). `non_prose_reason` names which one a
sentence is (None for prose); `is_prose` is its negation.
"""

from __future__ import annotations

import re

from rag.text.dates import MONTH_NAME_PATTERN

_EMBED = re.compile(
    r"pic\.twitter\.com|t\.co/\w|\(@\w{1,30}\)|^\s*[—–-]\s*[^\n]{0,60}\(@|\b(?:twitter|instagram|tiktok)\.com/",
    re.IGNORECASE,
)
_HANDLE_THEN_DATE = re.compile(r"@\w+\)?\s*" + MONTH_NAME_PATTERN + r"\s+\d{1,2},\s+\d{4}")
_CALL_TO_ACTION = re.compile(
    r"^\W*(?:sign\s+up|subscribe|get\s+in\s+touch|contact\s+us|click\s+here|follow\s+us|follow\s+\w+\s+on|"
    r"read\s+more|read\s+next|download\s+the|join\s+(?:us|our)|share\s+this|listen\s+to|watch\s*:|"
    r"(?:watch|stream)\s+(?:all|every|it\s+live|live|the\s+(?:action|full|whole))|"
    r"(?:see|view)\s+(?:all|more|also)|do\s+you\s+(?:work|have|know)|have\s+a\s+(?:tip|story)|"
    r"got\s+a\s+(?:tip|story)|send\s+us|email\s+us|register\s+(?:now|here|for)|don['’]t\s+miss|"
    r"want\s+to\s+(?:know|read|get)|advertisement|sponsored|related\s*:|more\s*:|recommended)\b",
    re.IGNORECASE,
)
_NEWSLETTER = re.compile(
    r"\b(?:our\s+newsletters?|sign\s+up\s+(?:for|to|here|now)|subscribe\s+(?:now|here|today)|unsubscribe|"
    r"privacy\s+policy|cookie\s+policy|all\s+rights\s+reserved|"
    r"affiliate\s+commission|we\s+may\s+earn|"
    r"we(?:['’]d|\s+would)?\s+(?:want|like|love)\s+to\s+hear\s+from\s+you|tell\s+us\s+(?:through|via|using)\b)\b",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"^\W*(?:photo|image|picture|photograph|video|credit|illustration|pictured|caption|file\s+photo)s?\s*(?:credit)?\s*[:|/]"
    r"|\b(?:getty\s+images|shutterstock|AP\s+photo|AFP\s+via\s+getty|"
    r"image\s+credits?|photo\s+credits?|photograph\s*:|via\s+getty)\b",
    re.IGNORECASE,
)
_CRUMB_SEPARATORS = re.compile(r"\s[›»/>•·]\s")
_CLOSED = re.compile(r"[.!…:;][”\"’')\]]*$|[”\"]$")
TABLE_NUMBERS = 4  # at least this many tokens with digits ...
TABLE_SHARE = 0.4  # ... making up this share of the tokens


def _is_question(sentence: str) -> bool:
    return sentence.rstrip(" ”\"’')]").endswith("?")


def _is_table(sentence: str) -> bool:
    """Flattened tables: pipes or tabs between cells, or a run of cells that are mostly numbers."""
    if sentence.count("|") >= 2 or sentence.count("\t") >= 2:
        return True
    tokens = sentence.split()
    numeric = sum(any(char.isdigit() for char in token) for token in tokens)
    return numeric >= TABLE_NUMBERS and numeric >= TABLE_SHARE * len(tokens)


def _is_crumbs(sentence: str) -> bool:
    """Navigation: three or more short items between › » / > • separators (pipes make a table)."""
    parts = _CRUMB_SEPARATORS.split(sentence)
    return len(parts) >= 3 and all(len(part.split()) <= 4 for part in parts)


def non_prose_reason(sentence: str, complete: bool = False) -> str | None:
    """Why `sentence` should not be quoted as an answer ('embed', 'call to action', 'question',
    'caption', 'table', 'navigation', and with `complete` 'heading': no closing punctuation),
    or None when it is prose."""
    text = " ".join(sentence.split())
    if _EMBED.search(text) or _HANDLE_THEN_DATE.search(text):
        return "embed"
    if _CALL_TO_ACTION.search(text) or _NEWSLETTER.search(text):
        return "call to action"
    if _is_question(text):
        return "question"
    if _CAPTION.search(text):
        return "caption"
    if _is_crumbs(text):
        return "navigation"
    if _is_table(text):
        return "table"
    if complete and not _CLOSED.search(text):
        return "heading"
    return None


def is_prose(sentence: str, complete: bool = False) -> bool:
    """True for a sentence worth quoting (none of the non-prose kinds); with `complete`, it
    must also end like a sentence (headings and list items do not)."""
    return non_prose_reason(sentence, complete) is None
