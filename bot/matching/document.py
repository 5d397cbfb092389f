"""The article as the matcher reads it: folded tokens per field, with positions and weights."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.matching.normalize import plain_ascii, tokenize_with_variants
from bot.records import Article
from bot.summary.boilerplate_ko import has_hangul, strip_korean_boilerplate
from bot.text import html_to_text

FIELDS = ("title", "summary", "content", "source", "site")


TEXT_FIELDS = ("title", "summary", "content")


FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "content": 1.0, "source": 1.0, "site": 1.0}


LEAD_WORDS = 50  # the first words of the content are its lead: they weigh as a summary


DEEP_AFTER = 150  # summary or content words beyond this position are "deep in the text"


DEEP_WEIGHT = 0.5


_W_TITLE, _W_SUMMARY, _W_CONTENT = (
    FIELD_WEIGHTS["title"],
    FIELD_WEIGHTS["summary"],
    FIELD_WEIGHTS["content"],
)


# Document.text_weight's cascade relies on this order
assert _W_TITLE > _W_SUMMARY > _W_CONTENT > DEEP_WEIGHT > 0


KEY_SEP = "\x1f"  # separates a field name from a token in trigger keys


class FieldText:
    """One field of a document, tokenised: tokens in order, plus a term set."""

    __slots__ = ("_joined", "_positions", "extra", "terms", "tokens")

    def __init__(self, text: str) -> None:
        tokens, extra = tokenize_with_variants(text) if text else ([], [])
        self.tokens: list[str] = tokens
        self.extra: list[tuple[int, str]] = extra
        terms = frozenset(tokens)
        if extra:
            terms = terms.union(v for _, v in extra)
        self.terms: frozenset[str] = terms
        self._positions: dict[str, list[int]] | None = None
        self._joined: str | None = None

    def find_phrase(self, words: tuple[str, ...]) -> int:
        """Position of the first occurrence of ``words`` in a row, or -1."""
        terms = self.terms
        for w in words:
            if w not in terms:
                return -1
        if not self.extra:
            # no Korean variants: a substring search on " w1 w2 ... " is exact and C-fast
            if self._joined is None:
                self._joined = " " + " ".join(self.tokens) + " "
            at = self._joined.find(" " + " ".join(words) + " ")
            return -1 if at < 0 else self._joined.count(" ", 0, at)
        later = [set(self.positions(w)) for w in words[1:]]
        for start in self.positions(words[0]):
            if all(start + k in later[k - 1] for k in range(1, len(words))):
                return start
        return -1

    def positions(self, term: str) -> list[int]:
        """Sorted positions of ``term`` (built on first use: most matches never need them)."""
        if self._positions is None:
            index: dict[str, list[int]] = {}
            for i, token in enumerate(self.tokens):
                index.setdefault(token, []).append(i)
            for i, variant in self.extra:
                index.setdefault(variant, []).append(i)
            for plist in index.values():
                plist.sort()
            self._positions = index
        return self._positions.get(term, [])


def _host_suffixes(link: str) -> frozenset[str]:
    host = host_of(link)
    if not host:
        return frozenset()
    parts = host.split(".")
    return frozenset(".".join(parts[i:]) for i in range(len(parts)))


def host_of(value: str) -> str:
    value = value.strip().lower()
    if not value:
        return ""
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def _first_terms(ft: FieldText, n: int) -> frozenset[str]:
    """The terms among the first ``n`` words of a field."""
    if len(ft.tokens) <= n:
        return ft.terms
    early = frozenset(ft.tokens[:n])
    if ft.extra:
        early = early.union(v for i, v in ft.extra if i < n)
    return early


def position_weight(field_name: str, position: int) -> float:
    """The weight of a hit at word ``position`` of a field (see the module docstring)."""
    if field_name == "title":
        return _W_TITLE
    if field_name == "summary":
        return _W_SUMMARY if position < DEEP_AFTER else DEEP_WEIGHT
    if field_name == "content":
        if position < LEAD_WORDS:
            return _W_SUMMARY
        return _W_CONTENT if position < DEEP_AFTER else DEEP_WEIGHT
    return FIELD_WEIGHTS[field_name]


_MARKUP = re.compile(r"<[A-Za-z/!]|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _plain(value: str) -> str:
    # Cheap tests first: most feed text reaching us is already plain ("AT&T" is).
    if ("<" in value or "&" in value) and _MARKUP.search(value):
        return html_to_text(value)
    return value


def _without_korean_boilerplate(value: str) -> str:
    if plain_ascii(value) or not has_hangul(value):
        return value  # the rules are for Korean pages; English text is left as it is
    # Sub-headlines stay (on a line of their own): their words are the story's.
    return strip_korean_boilerplate(_plain(value), keep_subheadlines=True)


class _Weights(dict[str, float]):
    """A term's ``Document.text_weight``, worked out when first asked for.  It holds the
    document's term sets, not the document: no reference cycle to collect."""

    __slots__ = ("_sets",)

    def __init__(self, *sets: frozenset[str]) -> None:
        super().__init__()
        self._sets = sets

    def __missing__(self, term: str) -> float:
        title, early_summary, lead, early_content, text = self._sets
        if term in title:
            weight = _W_TITLE
        elif term in early_summary or term in lead:
            weight = _W_SUMMARY
        elif term in early_content:
            weight = _W_CONTENT
        elif term in text:
            weight = DEEP_WEIGHT
        else:
            weight = 0.0
        self[term] = weight
        return weight


class Document:
    """An article tokenised once, ready for any number of queries."""

    __slots__ = (
        "_early_content",
        "_early_summary",
        "_extra",
        "_lead",
        "_phrases",
        "_sims",
        "_title",
        "article_id",
        "fields",
        "keys",
        "site",
        "text_terms",
        "vector",
        "weights",
        "whys",
    )

    def __init__(
        self,
        article_id: str,
        *,
        title: str = "",
        summary: str = "",
        content: str = "",
        source: str = "",
        link: str = "",
    ) -> None:
        self.article_id = article_id
        self.fields: dict[str, FieldText] = {
            "title": FieldText(_plain(title)),
            "summary": FieldText(_plain(summary)),
            "content": FieldText(_plain(content)),
            "source": FieldText(source),
        }
        self.site: frozenset[str] = _host_suffixes(link)
        summary_field, content_field = self.fields["summary"], self.fields["content"]
        self.text_terms: frozenset[str] = (
            self.fields["title"].terms | summary_field.terms | content_field.terms
        )
        self._title = self.fields["title"].terms
        self._early_summary = _first_terms(summary_field, DEEP_AFTER)
        self._lead = _first_terms(content_field, LEAD_WORDS)
        self._early_content = _first_terms(content_field, DEEP_AFTER)
        prefixed = [f"source{KEY_SEP}{t}" for t in self.fields["source"].terms]
        prefixed.extend(f"site{KEY_SEP}{h}" for h in self.site)
        self.keys: frozenset[str] = self.text_terms.union(prefixed) if prefixed else self.text_terms
        # text_weight of each term asked for, kept: many queries share words
        self.weights: dict[str, float] = _Weights(
            self._title, self._early_summary, self._lead, self._early_content, self.text_terms
        )
        # what the article means (bot.matching.vectors), for semantic terms ~"...": set by
        # whoever has it; the similarity of each phrase is computed once per document
        self.vector: Any = None
        self._sims: Any = None  # anything with .get(phrase): the matcher's similarities
        self._extra: dict[str, float] = {}
        # the why of each matched query (the matcher's compiled form) worked out when asked
        self.whys: dict[Any, tuple[str, ...]] = {}
        self._phrases: dict[tuple[str, ...], bool] = {}

    def set_similarities(self, similarities: Any) -> None:
        """Phrase similarities already computed (the matcher's one matrix product), as
        anything with ``.get(phrase) -> float | None``."""
        self._sims = similarities

    def similarity(self, phrase: str) -> float:
        """The cosine of the article's vector and the phrase's (0.0 without a vector)."""
        if self._sims is not None:
            found = self._sims.get(phrase)
            if found is not None:
                return float(found)
        found = self._extra.get(phrase)
        if found is not None:
            return found
        if self.vector is None:
            return 0.0
        from bot.matching.vectors import phrase_vector

        value = float(phrase_vector(phrase) @ self.vector)
        self._extra[phrase] = value
        return value

    def has_phrase(self, words: tuple[str, ...]) -> bool:
        """True when some field holds ``words`` in a row (kept: queries share phrases)."""
        found = self._phrases.get(words)
        if found is None:
            found = any(ft.find_phrase(words) >= 0 for ft in self.fields.values())
            self._phrases[words] = found
        return found

    def text_weight(self, term: str) -> float:
        """``term_weight(term, None)``: the best of title, summary and content, fast.

        The cascade relies on title > summary = lead > content > deep (checked at
        import).
        """
        if term in self._title:
            return _W_TITLE
        if term in self._early_summary or term in self._lead:
            return _W_SUMMARY
        if term in self._early_content:
            return _W_CONTENT
        if term in self.text_terms:
            return DEEP_WEIGHT
        return 0.0

    def term_weight(self, term: str, fields: tuple[str, ...] | None) -> float:
        """The weight of the best field holding ``term`` (0.0 if none)."""
        if fields is None:
            if term not in self.text_terms:
                return 0.0
            fields = TEXT_FIELDS
        best = 0.0
        for name in fields:
            if name == "site" or term not in self.fields[name].terms:
                continue
            if name == "summary":
                weight = _W_SUMMARY if term in self._early_summary else DEEP_WEIGHT
            elif name == "content":
                if term in self._lead:
                    weight = _W_SUMMARY
                elif term in self._early_content:
                    weight = _W_CONTENT
                else:
                    weight = DEEP_WEIGHT
            else:
                weight = FIELD_WEIGHTS[name]
            best = max(best, weight)
        return best


def prepare_document(article: Article) -> Document:
    """Tokenise an article's title, summary, content, source and link host once.

    HTML in the summary or content is reduced to text first; Korean publisher
    boilerplate (datelines, bylines, credits, "For Use Only in the Republic of Korea"
    redistribution notes, promos) is removed from them, so that it matches nothing.
    """
    return Document(
        article.id,
        title=article.title or "",
        summary=_without_korean_boilerplate(article.summary or ""),
        content=_without_korean_boilerplate(article.content or ""),
        source=article.source or "",
        link=article.link or "",
    )
