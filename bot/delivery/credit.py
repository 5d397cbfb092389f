"""Who to credit for an article: the outlet, and the wire or writer behind it.

Pure.  "Reuters via The Straits Times" when the feed names a news agency (``dc:creator``,
``author``, JSON Feed ``authors``) or the text opens with an agency dateline
("SEOUL (Reuters) - ..."); "The Straits Times · Jane Doe" for a writer's byline; the outlet
alone when the credit would only repeat it.
"""

from __future__ import annotations

import re

from bot.i18n import fill

MAX_CREDIT_CHARS = 40  # a byline longer than this is cut

# The agencies whose copy outlets republish, by the name an alert shows; the patterns are
# the spellings bylines and datelines use (matched as whole words, any case).
WIRES: tuple[tuple[str, str], ...] = (
    ("Reuters", r"reuters|thomson reuters"),
    ("AP", r"ap|associated press|the associated press"),
    ("AFP", r"afp|agence france-presse|agence france presse"),
    ("Bloomberg", r"bloomberg"),
    ("Yonhap", r"yonhap|yonhap news agency|연합뉴스"),
    ("Kyodo", r"kyodo|kyodo news"),
    ("Xinhua", r"xinhua"),
    ("dpa", r"dpa"),
    ("EFE", r"efe"),
    ("ANSA", r"ansa"),
    ("PTI", r"pti|press trust of india"),
    ("ANI", r"ani"),
    ("IANS", r"ians"),
    ("Bernama", r"bernama"),
    ("UPI", r"upi|united press international"),
    ("AAP", r"aap|australian associated press"),
    ("PA", r"pa media|press association"),
    ("Anadolu", r"anadolu|anadolu agency"),
    ("Kyodo", r"共同通信"),
)
_WIRE_PATTERNS = [
    (name, re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE))
    for name, pattern in WIRES
]
# "SEOUL (Reuters) -", "WASHINGTON, Oct 29 (AP) —", "(서울=연합뉴스)": within the text's start
_DATELINE = re.compile(r"\(([^()]{2,40})\)")
_DATELINE_SPAN = 160


def wire_of(value: str) -> str:
    """The agency ``value`` names ("Reuters Staff" → "Reuters"), or ""."""
    for name, pattern in _WIRE_PATTERNS:
        if pattern.search(value):
            return name
    return ""


def _is_only_wires(value: str) -> bool:
    """Whether a byline names agencies and nothing else ("Reuters", "AFP/Reuters")."""
    rest = value
    for _, pattern in _WIRE_PATTERNS:
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"(?i)\b(?:by|staff|and|with|news|agency|wire|reporting|from)\b", " ", rest)
    return not re.sub(r"[\W_]+", "", rest)


def dateline_wire(text: str) -> str:
    """The agency of a dateline at the start of ``text`` ("SEOUL (REUTERS) - ..."), or ""."""
    head = text[:_DATELINE_SPAN]
    for match in _DATELINE.finditer(head):
        inside = match.group(1).rsplit("=", 1)[-1]  # Korean style: (서울=연합뉴스)
        if (wire := wire_of(inside)) and _is_only_wires(inside):
            return wire
    return ""


def credit(
    source: str, author: str = "", text: str = "", *, via: str = "{wire} via {source}"
) -> str:
    """The credit line of an alert: ``via`` filled with the agency and the outlet, the
    outlet and a writer's byline, or the outlet alone.  ``text`` (the article's summary or
    lead) is searched for an agency dateline when the byline names none."""
    source = source.strip()
    author = author.strip()
    wire = wire_of(author) if author and _is_only_wires(author) else ""
    wire = wire or dateline_wire(text)
    if wire:
        if not source or wire.casefold() in source.casefold():
            return source or wire
        return fill(via, wire=wire, source=source)
    if (
        author
        and author.casefold() not in source.casefold()
        and source.casefold() not in author.casefold()
    ):
        byline = author if len(author) <= MAX_CREDIT_CHARS else author[: MAX_CREDIT_CHARS - 1] + "…"
        return f"{source} · {byline}" if source else byline
    return source
