"""Turning an article into the model's feature row: :class:`Featurizer` (hashed n-grams,
the query block, the embedding block, the rubric's cosines) and :class:`SparseRows`, the
sparse matrix the logistic regression reads."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.matching.aliases import AliasGroup, builtin_aliases, expand
from bot.matching.document import Document
from bot.matching.normalize import is_hangul, tokenize_with_variants
from bot.matching.parser import parse_query
from bot.matching.syntax import Query
from bot.matching.topic_model.spec import RUBRIC_CLASSES, FeatureSpec, centered, unit_parts

Vector = np.ndarray | None  # an article's stored vector, when the caller has it
Parts = tuple[list[np.ndarray], list[np.ndarray]] | None  # Featurizer.base_parts, if made


def _bucket(key: str, mask: int) -> int:
    return zlib.crc32(key.encode("utf-8")) & mask


class Featurizer:
    """Computes the sparse feature vector of a spec; the query parts are compiled once."""

    def __init__(
        self, spec: FeatureSpec, *, aliases: Mapping[str, AliasGroup] | None = None
    ) -> None:
        self.spec = spec
        self._mask = (1 << spec.hash_bits) - 1
        self._groups: list[tuple[Query, Query]] = [
            (parse_query(f"title:@{g}", aliases=aliases), parse_query(f"@{g}", aliases=aliases))
            for g in spec.groups
        ]
        self._query: Query | None = (
            parse_query(spec.query, aliases=aliases, max_length=4000, max_terms=200)
            if spec.query
            else None
        )
        # Korean compounds are written as one word (미사일발사, 대북제재): a group's Korean
        # terms also count at the start or the end of a longer Korean word
        groups = builtin_aliases() if aliases is None else aliases
        self._hangul: dict[str, list[int]] = {}
        for k, g in enumerate(spec.groups):
            for term in expand(g, groups) if g in groups else ():
                if " " not in term and is_hangul(term) and len(term) >= 2:
                    ks = self._hangul.setdefault(term, [])
                    if k not in ks:
                        ks.append(k)
        self.anchor: Query | None = (
            parse_query(spec.anchor, aliases=aliases, max_length=4000, max_terms=200)
            if spec.anchor
            else None
        )
        self._center = spec.center_vector()
        protos = spec.prototype_matrix().astype(np.float64)
        if self._center is not None and len(protos):  # in the centred space, unit rows
            # a stored row is a unit over the whole block (each of two parts 1/sqrt 2):
            # each part a unit first, as an article's vector is, then less the centre
            protos = centered(spec.embedder, unit_parts(spec.embedder, protos), self._center)
            protos /= np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12)
        self._protos = protos
        self._proto_class = [
            np.array([c == name for c, _ in spec.prototypes]) for name in RUBRIC_CLASSES
        ]
        self._gate_ko: frozenset[str] = frozenset(
            term
            for g in spec.anchor_korean
            if g in groups
            for term in expand(g, groups)
            if " " not in term and is_hangul(term) and len(term) >= 2
        )

    def passes_gate(self, doc: Document) -> bool:
        """True when the article has the anchor (or, in Korean, an ``anchor_korean`` term)."""
        if self.anchor is None or self.anchor.matches(doc):
            return True
        if self.spec.anchor_hangul and any(
            is_hangul(tok) for tok in (*doc.fields["title"].tokens, *doc.fields["summary"].tokens)
        ):
            return True
        table = self._gate_ko
        if not table:
            return False
        title = doc.fields["title"].tokens
        if not any(is_hangul(tok) for tok in title):
            return False
        for tok in (*title, *doc.fields["summary"].tokens):
            n = len(tok)
            if n < 2 or tok.isascii() or not is_hangul(tok):
                continue
            for cut in range(2, n + 1):
                if tok[:cut] in table or tok[n - cut :] in table:
                    return True
        return False

    def hashed(self, title: str, lead: str) -> dict[int, float]:
        """Bucket -> count of the hashed words, pairs and character n-grams."""
        mask = self._mask
        counts: dict[int, float] = {}

        def add(key: str) -> None:
            b = _bucket(key, mask)
            counts[b] = counts.get(b, 0.0) + 1.0

        for prefix, text in (("t", title), ("x", lead)):
            if not text:
                continue
            tokens, extra = tokenize_with_variants(text)
            for tok in tokens:
                add(f"w {tok}")
                if prefix == "t":
                    add(f"t {tok}")
            for _, variant in extra:
                add(f"w {variant}")
            for a, b in itertools.pairwise(tokens):
                add(f"b {a} {b}")
            for tok in tokens:
                padded = f"<{tok}>"
                grams = self.spec.char_ngrams
                if is_hangul(tok) and 2 not in grams:
                    grams = (2, *grams)
                for n in grams:
                    for i in range(len(padded) - n + 1):
                        add(f"c {padded[i : i + n]}")
        return counts

    def _hangul_hits(self, tokens: Iterable[str]) -> set[int]:
        hits: set[int] = set()
        table = self._hangul
        if not table:
            return hits
        for tok in tokens:
            n = len(tok)
            if n < 3 or tok.isascii() or not is_hangul(tok):
                continue
            for cut in range(2, n):
                for piece in (tok[:cut], tok[n - cut :]):
                    ks = table.get(piece)
                    if ks:
                        hits.update(ks)
        return hits

    def groups_present(self, doc: Document, limit: int = 6) -> tuple[str, ...]:
        """``@group`` for each feature group with a member in the article (for ``why``)."""
        hits = self._hangul_hits(doc.fields["title"].tokens) | self._hangul_hits(
            doc.fields["summary"].tokens
        )
        out = [
            f"@{g}"
            for k, (g, (_, anywhere)) in enumerate(zip(self.spec.groups, self._groups, strict=True))
            if k in hits or anywhere.matches(doc)
        ]
        return tuple(out[:limit])

    def query_block(self, doc: Document) -> list[float]:
        """The query features: per group in-title, in-text, crossed with the anchor; matched."""
        values: list[float] = []
        first_title = first_any = 0.0
        title_hits = self._hangul_hits(doc.fields["title"].tokens)
        text_hits = title_hits | self._hangul_hits(doc.fields["summary"].tokens)
        for k, (in_title, anywhere) in enumerate(self._groups):
            t = 1.0 if k in title_hits or in_title.matches(doc) else 0.0
            a = 1.0 if t or k in text_hits or anywhere.matches(doc) else 0.0
            if k == 0:
                first_title, first_any = t, a
                if self.anchor is not None:
                    # the anchor found only outside the group (e.g. in the source) sets
                    # the context of the whole article: it counts as in the title
                    first_any = 1.0 if self.passes_gate(doc) else 0.0
                    if first_any and not a:
                        first_title = 1.0
            values.extend((t, a, t * first_title, a * first_any))
        values.append(first_any)
        if self._query is not None:
            matched, score, _ = self._query.evaluate(doc)
            values.append(1.0 if matched and score >= self.spec.threshold else 0.0)
            values.append(min(score, 12.0) / 12.0 if matched else 0.0)
        else:
            values.extend((0.0, 0.0))
        values.append(1.0)  # a constant inside the block: lets the block shift the bias
        return values

    def vector(
        self,
        title: str,
        lead: str,
        doc: Document,
        embedding: np.ndarray | None = None,
        *,
        base: Parts = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, values)`` of one article's feature vector, indices ascending;
        ``base``: the hashed and query parts, :meth:`base_parts` of a featurizer with the
        same hashed and query options (the cascade's two heads share them)."""
        spec = self.spec
        parts_i, parts_v = base if base is not None else self.base_parts(title, lead, doc)
        parts_i, parts_v = list(parts_i), list(parts_v)
        base_at = 1 << spec.hash_bits
        if spec.embedder:
            if embedding is None:
                raise ValueError("this model needs the article's embedding")
            e = np.asarray(embedding, dtype=np.float64)
            if self._center is not None:
                e = centered(spec.embedder, e, self._center)[0]
            parts_i.append(base_at + spec.n_query + np.arange(e.shape[0]))
            parts_v.append(e * spec.scale_embed)
            if spec.prototypes:
                parts_i.append(base_at + spec.n_query + spec.n_embed + np.arange(spec.n_rubric))
                parts_v.append(self.rubric_block(e) * spec.scale_rubric)
        return np.concatenate(parts_i), np.concatenate(parts_v)

    def base_parts(
        self, title: str, lead: str, doc: Document
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The hashed and the query blocks of one article, as ``(indices, values)`` parts."""
        spec = self.spec
        counts = self.hashed(title, lead)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        val = np.log1p(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        norm = float(np.sqrt(val @ val))
        if norm > 0:
            val *= spec.scale_hashed / norm
        order = np.argsort(idx, kind="stable")
        parts_i = [idx[order]]
        parts_v = [val[order]]
        base = 1 << spec.hash_bits
        q = np.asarray(self.query_block(doc), dtype=np.float64) * spec.scale_query
        nz = np.flatnonzero(q)
        parts_i.append(base + nz)
        parts_v.append(q[nz])
        return parts_i, parts_v

    def rubric_block(self, embedding: np.ndarray) -> np.ndarray:
        """The article's cosine to each rubric prototype, then the highest per class
        (``embedding`` centred already when the model centres its block)."""
        e = np.asarray(embedding, dtype=np.float64)
        cos = self._protos @ (e / max(float(np.sqrt(e @ e)), 1e-12))
        best = [float(cos[m].max()) if m.any() else 0.0 for m in self._proto_class]
        return np.concatenate((cos, best))


def document_of(article_id: str, title: str, lead: str, source: str = "") -> Document:
    """The query document a model's features see: title, the lead as summary, source."""
    return Document(article_id, title=title, summary=lead, source=source)


@dataclass(slots=True)
class SparseRows:
    """Rows of a sparse matrix: CSR arrays plus each stored value's row number."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_cols: int
    rows: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.rows = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def stack(cls, vectors: Sequence[tuple[np.ndarray, np.ndarray]], n_cols: int) -> SparseRows:
        lengths = np.fromiter((len(i) for i, _ in vectors), dtype=np.int64, count=len(vectors))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        if vectors:
            indices = np.concatenate([i for i, _ in vectors])
            data = np.concatenate([v for _, v in vectors])
        else:
            indices = np.zeros(0, dtype=np.int64)
            data = np.zeros(0)
        return cls(indptr, indices, data, n_cols)

    def take(self, rows: np.ndarray) -> SparseRows:
        """The given rows, in that order."""
        vectors = [
            (
                self.indices[self.indptr[r] : self.indptr[r + 1]],
                self.data[self.indptr[r] : self.indptr[r + 1]],
            )
            for r in rows
        ]
        return SparseRows.stack(vectors, self.n_cols)

    def dot(self, w: np.ndarray) -> np.ndarray:
        if self.n_rows == 0:
            return np.zeros(0)
        # the sum of each row's run of values (reduceat is several times faster than
        # bincount here); a trailing 0 keeps every start a valid index, and an empty
        # row (which reduceat gives its neighbour's value) is set to 0
        prod = np.append(self.data * w[self.indices], 0.0)
        starts = self.indptr[:-1]
        out: np.ndarray = np.add.reduceat(prod, starts)
        out[starts == self.indptr[1:]] = 0.0
        return out

    def tdot(self, r: np.ndarray) -> np.ndarray:
        return np.bincount(self.indices, weights=self.data * r[self.rows], minlength=self.n_cols)
