"""Learned topic models: a classifier over an article's title and lead.

A topic may carry a model trained from labelled articles (JSON Lines of
``{"id", "title", "summary"|"text", "label"}``).  The model reads the title and
the lead (the first ``LEAD_CHARS`` characters of the summary, else of the
content) and decides with logistic regression over three blocks of features:

* hashed words, word pairs and character n-grams (``2**HASH_BITS`` buckets),
  the words in canonical form (:mod:`bot.normalize_text`: folded, singular,
  American spelling, Korean particles removed);
* the topic's query: for every alias group the query names, whether a member
  is in the title and whether one is anywhere in the text, the same crossed
  with the query's first group, and whether the whole query matched.  These
  carry the hand-written knowledge (aliases in several languages) across
  languages and sources the training data does not cover;
* optionally a sentence embedding (:mod:`bot.matching.embed`), when the model names one;
* optionally the topic's rubric: the article's cosine, in the embedding's space, to each
  prototype (a rubric's bullet lines, :func:`parse_rubric`) and the highest per class
  (positive, negative, borderline); the prototypes' vectors are stored in the model.

``anchor`` is a query for what the topic is about (for korea-diplomacy: a
Korea term in the text, or North Korean state media as the source); with
``gate`` on it is also a cheap first stage: an article without it is ruled out
without running the classifier.

A model whose embedding block joins e5 to another embedder (``use-m3+e5-small``) is a
*cascade*: the e5 vector costs tens of milliseconds an article, everything else about one.
The same ``topics train`` run fits a second, cheap head (:class:`CascadeHead`) over the
model's features without the e5 block (:func:`cheap_spec`: hashed n-grams, query block,
the USE vector, the rubric's prototypes in USE's space, cut from their stored vectors).
Past the gate the first head decides alone when its probability is below ``lo`` (out) or
at ``hi`` or above (in); only in between is the e5 vector made and the full model decides.
``lo`` and ``hi`` come from training, never from a held-out group, by
:data:`CASCADE_RULE`: on the leave-one-source-out predictions of both heads over the
training groups, the band that leaves the fewest articles past the gate to the full model
such that the cascade's decisions differ from the full model's on at most 1% of the
non-borderline articles past the gate and its pooled F1 is not below the full model's
(``CASCADE_F1_DROP``; measured for korea-diplomacy: allowing a drop of 0.005 left 2.7% of
the articles to e5 instead of 7.1% and cost 0.004 of pooled F1); ``lo <= threshold <=
hi``, so a score at or above the threshold is always a match.  The file's ``cascade`` entry states the band, the rule, what it measured
(``needed_e5``: the share of articles past the gate that needed e5) and the cascade's
scores.  A model with one embedder, or trained with ``--no-evaluate``, has no cascade.

Training is deterministic (no randomness at all: full-batch L-BFGS from
zero weights, a fixed number of iterations at most), and the saved file is
the same bytes for the same data and options.  The file is one line of JSON
(what the model is, the data it came from with sha256, its measured scores)
followed by the weights as little-endian float32 (``newsalert-topic-model/1``); with a
cascade (``/2``) the first head's weights follow the model's.  A ``/1`` file (written
before the cascade) loads and decides as it always did.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError, ConfigProblem
from bot.matching.aliases import AliasGroup, builtin_aliases, expand
from bot.matching.document import Document
from bot.matching.normalize import is_hangul, tokenize_with_variants
from bot.matching.parser import parse_query
from bot.matching.syntax import Query
from bot.records import MAX_TITLE_CHARS, Article
from bot.text import html_to_text

__all__ = [
    "FORMAT",
    "LEAD_CHARS",
    "SHORT_LEAD_CHARS",
    "VIEWS",
    "CascadeHead",
    "Decision",
    "FeatureSpec",
    "Featurizer",
    "Labelled",
    "SparseRows",
    "TopicModel",
    "article_embedding",
    "builtin_model",
    "cheap_spec",
    "check_center",
    "check_model_ref",
    "choose_band",
    "class_weights",
    "featurize_all",
    "fit_logistic",
    "group_scores",
    "load_labelled",
    "model_for",
    "model_text",
    "out_of_fold",
    "parse_rubric",
    "prf",
    "query_groups",
    "sample_weights",
    "spread_over_views",
    "text_views",
    "train_model",
    "train_topic",
    "view_rows",
    "with_center",
    "with_prototype_vectors",
]

FORMAT = "newsalert-topic-model/1"  # one head (what every model without a cascade writes)
FORMAT_CASCADE = "newsalert-topic-model/2"  # and a cascade: its first head's weights follow
LEAD_CHARS = 400
_RAW_LEAD_FACTOR = 4
HASH_BITS = 18
_MARKUP = re.compile(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;")
_ALIAS_REF = re.compile(r"@([a-z0-9][a-z0-9-]*)")


Vector = np.ndarray | None  # an article's stored vector, when the caller has it
Parts = tuple[list[np.ndarray], list[np.ndarray]] | None  # Featurizer.base_parts, if made


def _plain(value: str) -> str:
    if ("<" in value or "&" in value) and _MARKUP.search(value):
        return html_to_text(value)
    return value


def model_text(title: str, summary: str = "", content: str = "") -> tuple[str, str]:
    """``(title, lead)``: what a model reads of an article: the title (as long as a feed's
    may be) and the start of the lead, cut before they are converted and tokenised (the
    rest of a long text is never read)."""
    raw = LEAD_CHARS * _RAW_LEAD_FACTOR  # markup and spaces make the raw text longer
    lead = _plain((summary or "")[:raw]).strip() or _plain((content or "")[:raw]).strip()
    return _plain((title or "")[: MAX_TITLE_CHARS * _RAW_LEAD_FACTOR]).strip()[
        :MAX_TITLE_CHARS
    ], " ".join(lead[:LEAD_CHARS].split())


# --------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which features a model computes; saved in the model file."""

    query: str = ""  # the topic's query (alias groups and the match feature come from it)
    groups: tuple[str, ...] = ()  # alias groups used as features (default: those in query)
    threshold: float = 0.0  # the query's own threshold, for the "query matched" feature
    hash_bits: int = HASH_BITS
    char_ngrams: tuple[int, ...] = (2, 3, 4)
    scale_hashed: float = 1.0
    scale_query: float = 1.0
    scale_embed: float = 1.0
    embedder: str = ""  # a name from bot.matching.embed, or "" for none
    # what the topic is about, as a query over title, lead and source (e.g. "@korea OR
    # source:@dprk-media"); crossed with every group, and the model's gate when it has one
    anchor: str = ""
    # alias groups whose Korean members also count as the anchor in a Korean-script
    # article (in its title or lead, also as the start or end of a compound): Korean
    # headlines name the state's institutions (대통령, 외교부, 합참), not "Korea"
    anchor_korean: tuple[str, ...] = ()
    # a Korean-script article (title or lead) counts as anchored: Korean-language news
    # rarely names Korea, the context is implied (as for DPRK state media)
    anchor_hangul: bool = False
    # the topic's rubric as features: (class, text) prototypes, the class "positive",
    # "negative" or "borderline"; the article's cosine to each and the highest per class,
    # in the embedding block's space (the prototypes' vectors are made at training and
    # stored here, base64 of little-endian float32 rows, so nothing is embedded at run time)
    prototypes: tuple[tuple[str, str], ...] = ()
    prototype_vectors: str = ""
    scale_rubric: float = 1.0
    # the embedding block centred (``topics train --center``): the mean vector of the
    # training articles (base64 of little-endian float32, the block's width), taken off
    # every article's vector and the prototypes', each embedder's part then made a unit
    # again; "" for none.  A sentence embedding's vectors share a large common direction,
    # so their raw cosines all sit high and a linear model learns the bias of a kind of
    # text (a language, a source's idiom) the training lacks; centred, they read as how
    # an article differs from the news in general
    embed_center: str = ""

    @property
    def n_query(self) -> int:
        # per group: in title, in text, both crossed with the anchor; + anchor, query matched, score
        return 4 * len(self.groups) + 4

    @property
    def n_embed(self) -> int:
        if not self.embedder:
            return 0
        from bot.matching.embed import dimension

        return dimension(self.embedder)

    @property
    def n_rubric(self) -> int:
        return len(self.prototypes) + len(RUBRIC_CLASSES) if self.prototypes else 0

    @property
    def size(self) -> int:
        return (1 << self.hash_bits) + self.n_query + self.n_embed + self.n_rubric

    def prototype_matrix(self) -> np.ndarray:
        """The prototypes' vectors, one unit row each (empty without prototypes)."""
        if not self.prototypes:
            return np.zeros((0, self.n_embed), np.float32)
        if not self.prototype_vectors:
            raise ValueError("the rubric prototypes have no vectors (made at training)")
        raw = np.frombuffer(base64.b64decode(self.prototype_vectors), dtype="<f4")
        return raw.reshape(len(self.prototypes), -1).astype(np.float32)

    def center_vector(self) -> np.ndarray | None:
        """The embedding block's centre (None when the model has none)."""
        if not self.embed_center:
            return None
        raw = np.frombuffer(base64.b64decode(self.embed_center), dtype="<f4")
        if raw.shape[0] != self.n_embed:
            raise ValueError(f"the embedding centre has {raw.shape[0]} values, not {self.n_embed}")
        return raw.astype(np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "groups": list(self.groups),
            "threshold": self.threshold,
            "hash_bits": self.hash_bits,
            "char_ngrams": list(self.char_ngrams),
            "scale_hashed": self.scale_hashed,
            "scale_query": self.scale_query,
            "scale_embed": self.scale_embed,
            "embedder": self.embedder,
            "anchor": self.anchor,
            "anchor_korean": list(self.anchor_korean),
            **({"anchor_hangul": True} if self.anchor_hangul else {}),
            **(
                {
                    "prototypes": [list(p) for p in self.prototypes],
                    "prototype_vectors": self.prototype_vectors,
                    "scale_rubric": self.scale_rubric,
                }
                if self.prototypes
                else {}
            ),
            # stated only when set: the files written before it keep their bytes
            **({"embed_center": self.embed_center} if self.embed_center else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            query=data.get("query", ""),
            groups=tuple(data.get("groups", ())),
            threshold=float(data.get("threshold", 0.0)),
            hash_bits=int(data.get("hash_bits", HASH_BITS)),
            char_ngrams=tuple(data.get("char_ngrams", (2, 3, 4))),
            scale_hashed=float(data.get("scale_hashed", 1.0)),
            scale_query=float(data.get("scale_query", 1.0)),
            scale_embed=float(data.get("scale_embed", 1.0)),
            embedder=data.get("embedder", ""),
            anchor=data.get("anchor", ""),
            anchor_korean=tuple(data.get("anchor_korean", ())),
            anchor_hangul=bool(data.get("anchor_hangul", False)),
            prototypes=tuple((str(c), str(t)) for c, t in data.get("prototypes", ())),
            prototype_vectors=str(data.get("prototype_vectors", "")),
            scale_rubric=float(data.get("scale_rubric", 1.0)),
            embed_center=str(data.get("embed_center", "")),
        )


RUBRIC_CLASSES = ("positive", "negative", "borderline")


def parse_rubric(text: str) -> tuple[tuple[str, str], ...]:
    """``(class, bullet)`` for every bullet line of a rubric in Markdown: a bullet belongs
    to the class the paragraph before it names in bold (**positive**, **negative**,
    **borderline**); a bullet's indented continuation lines are joined to it."""
    out: list[tuple[str, str]] = []
    current = ""
    in_paragraph = False  # the line before was a paragraph's (not a bullet, not blank)
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            in_paragraph = False
        elif stripped.startswith("- "):
            in_paragraph = False
            if current:
                out.append((current, stripped[2:].strip()))
        elif line.startswith("  ") and out and not in_paragraph:
            out[-1] = (out[-1][0], f"{out[-1][1]} {stripped}")
        else:
            named = re.findall(r"\*\*(positive|negative|borderline)\b", stripped, re.I)
            if not in_paragraph:
                current = ""
            current = current or (named[0].lower() if named else "")
            in_paragraph = True
    return tuple(out)


def with_prototype_vectors(
    spec: FeatureSpec, embed_fn: Callable[[list[str]], np.ndarray] | None = None
) -> FeatureSpec:
    """``spec`` with its prototypes' vectors made by its embedder (``embed_fn`` if given)."""
    if not spec.prototypes:
        return spec
    if not spec.embedder:
        raise ConfigError("rubric", "rubric features need an embedder (--embedder)")
    texts = [t for _, t in spec.prototypes]
    raw = embed_fn(texts) if embed_fn is not None else embedding_of(spec.embedder, texts)
    v = np.asarray(raw, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    packed = base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
    return FeatureSpec.from_json({**spec.to_json(), "prototype_vectors": packed})


def check_center(topic: str, embedder: str, center: str) -> None:
    """Refuses a ``center`` option (``all``, or ``+``-joined parts of ``embedder``) that
    names no part of the model's embedding block."""
    from bot.matching.embed import parts

    if not center:
        return
    if not embedder:
        raise ConfigError(topic, "--center needs an embedding block (--embedder)")
    unknown = [p for p in parts(center) if p not in parts(embedder)] if center != "all" else []
    if unknown:
        raise ConfigError(
            topic,
            f"--center {center}: {', '.join(unknown)} is not a part of the embedding block "
            f"{embedder}; give all, or one of {', '.join(parts(embedder))}",
        )


def with_center(spec: FeatureSpec, vectors: np.ndarray | None, center: str = "all") -> FeatureSpec:
    """``spec`` with its embedding block centred on the mean of ``vectors`` (the training
    articles' embeddings, one row each): every part with ``center="all"``, else the
    ``+``-joined parts it names (the others' columns of the centre are 0: left as they
    are); ``spec`` itself without an embedder, rows or ``center``."""
    if not spec.embedder or not center or vectors is None or not len(vectors):
        return spec
    from bot.matching.embed import parts

    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    if center != "all":
        keep = embed_columns(spec.embedder, parts(center))
        mean[np.setdiff1d(np.arange(mean.shape[0]), keep)] = 0.0
    packed = base64.b64encode(mean.astype("<f4").tobytes()).decode("ascii")
    return FeatureSpec.from_json({**spec.to_json(), "embed_center": packed})


def _part_spans(name: str) -> list[tuple[str, slice]]:
    """Each part of embedder ``name``'s block (``+``-joined parts side by side) and its
    columns."""
    from bot.matching.embed import DIMENSIONS, parts

    spans, at = [], 0
    for part in parts(name):
        spans.append((part, slice(at, at + DIMENSIONS[part])))
        at += DIMENSIONS[part]
    return spans


def _unit(block: np.ndarray) -> None:
    """Each row of ``block`` (a view) made a unit in place."""
    block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)


def unit_parts(name: str, rows: np.ndarray) -> np.ndarray:
    """``rows`` (embeddings of embedder ``name``) with each embedder's part made a unit."""
    out = np.array(rows, dtype=np.float64, ndmin=2)
    for _, cols in _part_spans(name):
        _unit(out[:, cols])
    return out


def centered(name: str, rows: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """``rows`` (embeddings of embedder ``name``, one per row, each part a unit as the
    embedders make them) less ``center``, each embedder's part of a row made a unit again
    (a part whose centre is 0 left as it is); ``rows`` as floats without a centre."""
    out = np.array(rows, dtype=np.float64, ndmin=2)
    if center is None:
        return out
    for _, cols in _part_spans(name):
        if center[cols].any():
            out[:, cols] -= center[cols]
            _unit(out[:, cols])
    return out


def embed_columns(name: str, keep: Sequence[str]) -> np.ndarray:
    """The columns of embedder ``name``'s block (``+``-joined parts side by side) that
    belong to the parts in ``keep``, in order."""
    out = [np.arange(cols.start, cols.stop) for part, cols in _part_spans(name) if part in keep]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


CASCADE_SKIPS = "e5-small"  # the block a cascade's first head does without (tens of ms)


def cheap_spec(spec: FeatureSpec) -> FeatureSpec | None:
    """The features of a cascade's first head: ``spec`` without its e5 block, the rubric's
    prototypes in the space of the blocks that remain (the columns of their stored vectors
    that belong to those blocks, each row made a unit again: nothing embedded); None when
    the model reads no e5 block beside another one (nothing to save, or nothing left)."""
    from bot.matching.embed import parts

    names = parts(spec.embedder) if spec.embedder else ()
    if CASCADE_SKIPS not in names or len(names) < 2:
        return None
    keep = tuple(n for n in names if n != CASCADE_SKIPS)
    data = {**spec.to_json(), "embedder": "+".join(keep)}
    if spec.prototypes:
        m = spec.prototype_matrix().astype(np.float64)[:, embed_columns(spec.embedder, keep)]
        m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        data["prototype_vectors"] = base64.b64encode(m.astype("<f4").tobytes()).decode("ascii")
    center = spec.center_vector()
    if center is not None:
        kept = center[embed_columns(spec.embedder, keep)]
        data["embed_center"] = (  # none when only e5's part was centred
            base64.b64encode(kept.astype("<f4").tobytes()).decode("ascii") if kept.any() else ""
        )
    return FeatureSpec.from_json(data)


def query_groups(query: str, aliases: Mapping[str, AliasGroup] | None = None) -> tuple[str, ...]:
    """The alias groups a query names, and the groups they include, in order of first use."""
    aliases = builtin_aliases() if aliases is None else aliases
    out: dict[str, None] = {}

    def walk(gid: str) -> None:
        if gid in out or gid not in aliases:
            return
        out[gid] = None
        for term in aliases[gid].terms:
            if term.startswith("@"):
                walk(term[1:])

    for gid in _ALIAS_REF.findall(query):
        walk(gid)
    return tuple(out)


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


def embedding_of(name: str, texts: list[str]) -> np.ndarray:
    """Embeddings of ``texts`` (``name`` may join two embedders with ``+``: both vectors
    side by side); ``use-m3`` through :mod:`bot.matching.vectors`, the one instance that
    makes the articles' stored vectors, ``e5-small`` through :mod:`bot.matching.passages`
    (each loaded once per process)."""
    from bot.matching.embed import parts

    blocks = []
    for part in parts(name):
        if part == "use-m3":
            from bot.matching.vectors import embed as article_embed

            blocks.append(article_embed(texts))
        else:  # e5-small too: embed's factory is passages.embed
            from bot.matching.embed import embed

            blocks.append(embed(part, texts))
    out: np.ndarray = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
    return out


def article_embedding(
    name: str, title: str, lead: str, vector: np.ndarray | None = None
) -> np.ndarray:
    """The embedding block of one article for embedder ``name``: ``vector`` (the article's
    stored USE vector) stands for the ``use-m3`` part, the e5 part is made here once per
    article (``passages.remembered``: several learned topics, /test and the pipeline ask
    for the same article's), any other is made here, from :func:`embedding_input`."""
    from bot.matching.embed import DIMENSIONS, dimension, parts

    names = parts(name)
    if vector is not None and len(vector) == dimension(name):
        return vector  # the caller has the whole block: no text to make
    text = embedding_input(title, lead)
    blocks = []
    for part in names:
        if part == "use-m3" and vector is not None and len(vector) == DIMENSIONS[part]:
            blocks.append(np.asarray(vector))
        elif part == "e5-small":
            from bot.matching import passages

            blocks.append(passages.remembered([text])[0])
        else:
            blocks.append(embedding_of(part, [text])[0])
    out: np.ndarray = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return out


def document_of(article_id: str, title: str, lead: str, source: str = "") -> Document:
    """The query document a model's features see: title, the lead as summary, source."""
    return Document(article_id, title=title, summary=lead, source=source)


# --------------------------------------------------------------------------------------
# Logistic regression (numpy, deterministic)


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


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_logistic(
    x: SparseRows,
    y: np.ndarray,
    *,
    l2: float = 1e-4,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 300,
    tol: float = 1e-7,
    history: int = 10,
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by L-BFGS; ``(weights, bias)``.

    Minimises the weighted mean log-loss plus ``l2/2 * |w|^2`` (the bias is
    not penalised).  Deterministic: starts from zero, no random numbers.
    """
    n, d = x.n_rows, x.n_cols
    y = y.astype(np.float64)
    sw = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    sw = sw / sw.sum()

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = x.dot(w) + b
        # log(1 + e^z) - y z, stably
        loss = float(sw @ (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(w @ w)
        r = sw * (_sigmoid(z) - y)
        g = np.empty(d + 1)
        g[:d] = x.tdot(r) + l2 * w
        g[d] = r.sum()
        return loss, g

    theta = np.zeros(d + 1)
    f, g = loss_grad(theta)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(max_iter):
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, yy in zip(reversed(s_hist), reversed(y_hist), strict=True):
            rho = 1.0 / float(yy @ s)
            a = rho * float(s @ q)
            alphas.append((a, rho))
            q -= a * yy
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q /= max(1.0, float(np.sqrt(g @ g)))
        for (a, rho), s, yy in zip(reversed(alphas), s_hist, y_hist, strict=True):
            b = rho * float(yy @ q)
            q += (a - b) * s
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction = -g
            slope = -float(g @ g)
        step = 1.0
        for _ in range(30):  # backtracking (Armijo)
            new_theta = theta + step * direction
            new_f, new_g = loss_grad(new_theta)
            if new_f <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s = new_theta - theta
        yy = new_g - g
        if float(yy @ s) > 1e-12:
            s_hist.append(s)
            y_hist.append(yy)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        converged = abs(f - new_f) <= tol * max(1.0, abs(f))
        theta, f, g = new_theta, new_f, new_g
        if converged:
            break
    return theta[:d], float(theta[d])


# --------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True, slots=True)
class Decision:
    """One model decision: the probability, the threshold, and what the query saw."""

    matched: bool
    score: float  # the model's probability that the article is on topic
    why: tuple[str, ...]
    gated: bool = False  # ruled out by the first stage, the classifier did not run
    # decided by the cascade's first head (``score`` is its probability): no e5 vector made
    first_head: bool = False


class _Head:
    """Logistic regression over a spec's features: what a model and its cascade's first
    head share."""

    def __init__(
        self,
        spec: FeatureSpec,
        weights: np.ndarray,
        bias: float,
        *,
        name: str,
        aliases: Mapping[str, AliasGroup] | None = None,
    ) -> None:
        if weights.shape != (spec.size,):
            raise ConfigError(name, f"model weights have {weights.shape}, expected {spec.size}")
        self.spec = spec
        self.weights = weights.astype(np.float32)
        self._w64 = self.weights.astype(np.float64)
        self.bias = float(np.float32(bias))
        self.featurizer = Featurizer(spec, aliases=aliases)

    def head_probability(
        self, title: str, lead: str, doc: Document, vector: Vector = None, base: Parts = None
    ) -> float:
        """This head's probability (``base``: the hashed and query parts, if made)."""
        embedding = None
        if self.spec.embedder:
            embedding = article_embedding(self.spec.embedder, title, lead, vector)
        idx, val = self.featurizer.vector(title, lead, doc, embedding, base=base)
        z = float(val @ self._w64[idx]) + self.bias
        return float(_sigmoid(np.array([z]))[0])


class CascadeHead(_Head):
    """A model's second, cheap head (the module docstring's cascade): a classifier over
    the model's features without the e5 block; its probability below ``lo`` rules the
    article out, at ``hi`` or above takes it, in between the full model decides."""

    def __init__(
        self,
        spec: FeatureSpec,
        weights: np.ndarray,
        bias: float,
        *,
        lo: float,
        hi: float,
        meta: Mapping[str, Any] | None = None,
        aliases: Mapping[str, AliasGroup] | None = None,
    ) -> None:
        super().__init__(spec, weights, bias, name="cascade", aliases=aliases)
        self.lo = float(lo)
        self.hi = float(hi)
        self.meta: dict[str, Any] = dict(meta or {})

    def settles(self, p: float) -> bool:
        """True when the first head's probability ``p`` decides alone."""
        return p < self.lo or p >= self.hi

    def to_json(self) -> dict[str, Any]:
        return {
            **self.meta,
            "embedder": self.spec.embedder,
            "lo": self.lo,
            "hi": self.hi,
            "bias": self.bias,
            "n_weights": int(self.weights.shape[0]),
        }


class TopicModel(_Head):
    """A trained classifier for one topic (see the module docstring)."""

    def __init__(
        self,
        *,
        topic: str,
        spec: FeatureSpec,
        weights: np.ndarray,
        bias: float,
        threshold: float = 0.5,
        gate: bool = False,
        meta: Mapping[str, Any] | None = None,
        aliases: Mapping[str, AliasGroup] | None = None,
        cascade: CascadeHead | None = None,
    ) -> None:
        super().__init__(spec, weights, bias, name=topic, aliases=aliases)
        self.cascade = cascade
        self._last_first: tuple[tuple[str, str, str, bytes | None], float] | None = None
        self.topic = topic
        self.threshold = float(threshold)
        self.gate = bool(gate)
        self.meta: dict[str, Any] = dict(meta or {})
        self._why = (
            parse_query(spec.query, aliases=aliases, max_length=4000, max_terms=200)
            if spec.query
            else None
        )

    # -- deciding

    def passes_gate(self, doc: Document) -> bool:
        """False when the cheap first stage rules the article out (no anchor term)."""
        return not self.gate or self.featurizer.passes_gate(doc)

    def probability(
        self,
        title: str,
        lead: str,
        doc: Document | None = None,
        vector: np.ndarray | None = None,
        *,
        base: Parts = None,
    ) -> float:
        """The full model's probability (the cascade's first head not asked); ``vector``:
        the article's stored (USE) vector when the model's embedding block reads it and
        the caller has it (else it is made here; an e5 block is always made here, once per
        article, only for articles the gate lets through and the first head leaves)."""
        return self.head_probability(title, lead, doc or document_of("", title, lead), vector, base)

    def first_head(
        self, title: str, lead: str, doc: Document, vector: Vector = None, base: Parts = None
    ) -> float | None:
        """The cascade's first head's probability when it settles the article alone (no
        e5 vector needed), else None (no cascade, or the probability is in the band)."""
        head = self.cascade
        if head is None:
            return None
        # the pipeline asks passage_text, then decide, of the same article: asked once
        source = " ".join(doc.fields["source"].tokens)
        key = (title, lead, source, None if vector is None else np.asarray(vector).tobytes())
        last = self._last_first
        if last is not None and last[0] == key:
            p = last[1]
        else:
            p = head.head_probability(title, lead, doc, vector, base)
            self._last_first = (key, p)
        return p if head.settles(p) else None

    def passage_text(
        self,
        title: str,
        summary: str = "",
        content: str = "",
        source: str = "",
        *,
        vector: np.ndarray | None = None,
    ) -> str | None:
        """The text whose e5 vector :meth:`decide` will make for this article (the model's
        block reads e5, the article passes the gate and the cascade's first head does not
        settle it; ``vector``: the article's stored USE vector, which the first head
        reads, else it is made here), else None: a caller on the event loop makes it
        first in a thread (``passages.remembered``), the decision then finds it made."""
        from bot.matching.embed import parts

        if "e5-small" not in parts(self.spec.embedder):
            return None
        title, lead = model_text(title, summary, content)
        doc = document_of("", title, lead, source)
        if not self.passes_gate(doc):
            return None
        if self.first_head(title, lead, doc, vector) is not None:
            return None
        return embedding_input(title, lead)

    def decide(
        self,
        title: str,
        summary: str = "",
        content: str = "",
        source: str = "",
        *,
        vector: np.ndarray | None = None,
    ) -> Decision:
        """The decision on one article; ``why`` names the query's terms that matched.
        With a cascade, the first head's probability when it settles the article
        (``first_head``), else the full model's."""
        title, lead = model_text(title, summary, content)
        doc = document_of("", title, lead, source)
        why = self._why.evaluate(doc)[2] if self._why is not None else ()
        if not why:  # the query did not match: name the groups the model saw instead
            why = self.featurizer.groups_present(doc)
        if not self.passes_gate(doc):
            return Decision(False, 0.0, why, gated=True)
        base = None
        if self.cascade is not None:
            base = self.featurizer.base_parts(title, lead, doc)
            first = self.first_head(title, lead, doc, vector, base)
            if first is not None:
                return Decision(first >= self.cascade.hi, round(first, 4), why, first_head=True)
        p = self.probability(title, lead, doc, vector, base=base)
        return Decision(p >= self.threshold, round(p, 4), why)

    # -- files

    def to_bytes(self) -> bytes:
        head_json: dict[str, Any] = {}
        body = self.weights.astype("<f4").tobytes()
        if self.cascade is not None:  # the first head's weights follow the model's
            head_json = {"cascade": self.cascade.to_json()}
            body += self.cascade.weights.astype("<f4").tobytes()
        header = {
            "format": FORMAT_CASCADE if self.cascade is not None else FORMAT,
            **head_json,
            "topic": self.topic,
            "threshold": self.threshold,
            "gate": self.gate,
            "bias": self.bias,
            "features": self.spec.to_json(),
            "n_weights": int(self.weights.shape[0]),
            **{k: v for k, v in self.meta.items() if k not in {"format", "features", "cascade"}},
        }
        head = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return head.encode("utf-8") + b"\n" + body

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_bytes(
        cls, raw: bytes, *, aliases: Mapping[str, AliasGroup] | None = None, origin: str = "model"
    ) -> TopicModel:
        head, sep, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(origin, f"not a topic model file: {e}") from e
        fmt = header.get("format") if isinstance(header, dict) else None
        if not sep or fmt not in (FORMAT, FORMAT_CASCADE):
            raise ConfigError(origin, f"not a topic model file (expected format {FORMAT_CASCADE})")
        weights = np.frombuffer(body, dtype="<f4")
        n = header.get("n_weights")
        cascade_json = header.get("cascade") if fmt == FORMAT_CASCADE else None
        n_first = int(cascade_json.get("n_weights", -1)) if cascade_json else 0
        if not isinstance(n, int) or weights.shape[0] != n + n_first:
            raise ConfigError(origin, "the model file is truncated")
        spec = FeatureSpec.from_json(header["features"])
        try:
            spec.center_vector()
        except ValueError as e:  # binascii.Error too
            raise ConfigError(origin, f"the model's embedding centre is broken: {e}") from e
        cascade = None
        if cascade_json:
            first = cheap_spec(spec)
            if first is None or first.embedder != cascade_json.get("embedder"):
                raise ConfigError(origin, "the model's cascade does not fit its features")
            cascade = CascadeHead(
                first,
                weights[n:].astype(np.float32),
                float(cascade_json["bias"]),
                lo=float(cascade_json["lo"]),
                hi=float(cascade_json["hi"]),
                meta={
                    k: v
                    for k, v in cascade_json.items()
                    if k not in {"embedder", "lo", "hi", "bias", "n_weights"}
                },
                aliases=aliases,
            )
        meta = {
            k: v
            for k, v in header.items()
            if k
            not in {
                "format",
                "topic",
                "threshold",
                "gate",
                "bias",
                "features",
                "n_weights",
                "cascade",
            }
        }
        return cls(
            topic=header["topic"],
            spec=spec,
            weights=weights[:n].astype(np.float32),
            bias=float(header["bias"]),
            threshold=float(header["threshold"]),
            gate=bool(header.get("gate", False)),
            meta=meta,
            aliases=aliases,
            cascade=cascade,
        )

    @classmethod
    def load(
        cls, path: str | Path, *, aliases: Mapping[str, AliasGroup] | None = None
    ) -> TopicModel:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ConfigError(str(path), f"cannot read the topic model: {e}") from e
        return cls.from_bytes(raw, aliases=aliases, origin=str(path))


@cache
def builtin_model(topic_id: str) -> TopicModel | None:
    """The model shipped in ``bot/data/models/<topic>.model``, or None (loaded once)."""
    ref = resources.files("bot.data").joinpath("models", f"{topic_id}.model")
    if not ref.is_file():
        return None
    return TopicModel.from_bytes(ref.read_bytes(), origin=f"bot/data/models/{topic_id}.model")


def _is_shipped(ref: str) -> bool:
    return resources.files("bot.data").joinpath("models", f"{ref}.model").is_file()


def _is_path(ref: str) -> bool:
    """Whether ``ref`` is a file's path: it looks like one, or it is no shipped model's name
    and a file of that name exists (``model = "bin.dat"``)."""
    if "/" in ref or "\\" in ref or ref.endswith(".model"):
        return True
    return not _is_shipped(ref) and Path(ref).is_file()


def check_model_ref(ref: str) -> str | None:
    """None when ``ref`` names a shipped model or an existing model file, else the problem."""
    if _is_path(ref):
        return None if Path(ref).is_file() else f"no model file at {ref}"
    if _is_shipped(ref):
        return None
    return (
        f"no shipped model named {ref!r} and no model file at {ref}; give a shipped "
        "model's name or a model file's path (newsalert topics train)"
    )


@cache
def _model_at(ref: str) -> TopicModel | None:
    if _is_path(ref):
        return TopicModel.load(ref)
    return builtin_model(ref)


def model_for(topic: Any) -> TopicModel | None:
    """The learned model that decides ``topic`` (a ``Topic``), or None: loaded once per file.

    None also when a shipped model named by the topic is missing (the query
    decides then); a missing or broken model file raises ``ConfigError``.
    """
    ref = getattr(topic, "model", "")
    return _model_at(ref) if ref else None


# --------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled article."""

    id: str
    title: str
    lead: str
    label: int
    borderline: bool = False
    source: str = ""

    @property
    def group(self) -> str:
        """The source group: the id's prefix before the first '-'."""
        return self.id.split("-", 1)[0]


MAX_BAD_LINES_NAMED = 20  # of a file with many bad lines, the first ones are named
LABELLED_EXAMPLE = '{"id": "source-1", "title": "...", "summary": "...", "label": 1}'


def load_labelled(path: str | Path) -> list[Labelled]:
    """Labelled articles from JSON Lines: ``id, title, summary|text|content, label[, borderline]``.

    Raises :class:`ConfigError` naming every bad line (the first ``MAX_BAD_LINES_NAMED``),
    each with its number and what is wrong: a model is never trained on part of a file."""
    path = Path(path)
    out: list[Labelled] = []
    try:
        raw = path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except OSError as e:
        raise ConfigError(str(path), f"cannot read labelled articles: {e.strerror}") from e
    except UnicodeDecodeError as e:
        bad_line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{bad_line}", "not UTF-8 text; save the file as UTF-8") from e
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append((n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        except RecursionError:  # thousands of [ or {
            bad.append((n, "JSON nested too deeply"))
            continue
        if not isinstance(row, dict) or "label" not in row or "title" not in row:
            bad.append((n, "expected an object with title and label"))
            continue
        label = row["label"]
        if label not in (0, 1, True, False):
            bad.append((n, f"label must be 0 or 1, not {json.dumps(label)[:40]}"))
            continue
        if not isinstance(row["title"], str):
            bad.append((n, f"title must be text, not {json.dumps(row['title'])[:40]}"))
            continue
        summary = row.get("summary") or row.get("text") or ""
        title, lead = model_text(str(row["title"]), str(summary), str(row.get("content") or ""))
        out.append(
            Labelled(
                id=str(row.get("id", f"{path.stem}-{n}")),
                title=title,
                lead=lead,
                label=int(label),
                borderline=bool(row.get("borderline", False)),
                source=str(row.get("source") or ""),
            )
        )
    if bad:
        problems = [ConfigProblem(f"{path}:{n}", why) for n, why in bad[:MAX_BAD_LINES_NAMED]]
        more = (
            f" ({len(bad) - MAX_BAD_LINES_NAMED} more not shown)"
            if len(bad) > len(problems)
            else ""
        )
        problems.append(
            ConfigProblem(
                str(path),
                f"{len(bad)} bad line{'s' if len(bad) > 1 else ''}{more}; nothing was trained. "
                f"Each line is one object such as {LABELLED_EXAMPLE}",
            )
        )
        raise ConfigError(problems=problems)
    return out


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def embed_text(item: Labelled) -> str:
    """What a model's embedding block reads of a labelled article (as ``probability``)."""
    return embedding_input(item.title, item.lead)


def embedding_input(title: str, lead: str) -> str:
    """The text a model embeds: exactly what an article's stored vector is made of
    (:func:`bot.matching.vectors.article_text`), so the bot passes the stored vector in
    instead of embedding the article a second time."""
    from bot.matching.vectors import article_text

    return article_text(Article(id="", title=title, summary=lead))


# Text views (issue 12, session 8): some sources give a title only (KCNA headlines, ABC
# headlines), most give a title and a lead; a model trained on both may lean on the lead.
# With ``views`` every training item is also trained on as shorter texts of itself, its
# sample weight split evenly between its views so that it still counts once; the
# decision reads the article as always.  "title": the title alone; "title+short": also
# the title with the first SHORT_LEAD_CHARS characters of the lead (cut at a space).  A
# view the same as one before it (an item without a lead) is left out.
VIEWS = ("", "title", "title+short")
SHORT_LEAD_CHARS = 120


def text_views(item: Labelled, views: str) -> list[Labelled]:
    """The extra texts ``item`` is trained on under ``views`` (not the item itself)."""
    if views not in VIEWS:
        raise ValueError(f"unknown views {views!r} (one of '', title, title+short)")
    if not views or not item.lead:
        return []
    leads = [""]
    if views == "title+short" and len(item.lead) > SHORT_LEAD_CHARS:
        cut = item.lead[: SHORT_LEAD_CHARS + 1].rsplit(" ", 1)[0].strip()
        if cut and cut != item.lead:
            leads.insert(0, cut)
    return [
        Labelled(item.id, item.title, lead, item.label, item.borderline, item.source)
        for lead in leads
    ]


def view_rows(items: Sequence[Labelled], views: str) -> tuple[list[Labelled], np.ndarray]:
    """Every item's extra views, in order, and for each the index of its item."""
    extra: list[Labelled] = []
    origin: list[int] = []
    for k, item in enumerate(items):
        for view in text_views(item, views):
            extra.append(view)
            origin.append(k)
    return extra, np.array(origin, dtype=np.int64)


def spread_over_views(
    train: np.ndarray, weights: np.ndarray, origin: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights of train, extra rows, their weights)``: the weight of each training item
    (``train``, indices below ``n``, with ``weights``) split evenly between the item and
    its extra views (``origin``: the item of each extra view, :func:`view_rows`); ``extra
    rows`` are the indices, into the extra views, of those of the training items."""
    n_views = 1.0 + np.bincount(origin, minlength=n).astype(np.float64)
    member = np.zeros(n, dtype=bool)
    member[train] = True
    full = np.zeros(n)
    full[train] = weights
    rows = np.flatnonzero(member[origin]) if len(origin) else np.zeros(0, dtype=np.int64)
    return weights / n_views[train], rows, full[origin[rows]] / n_views[origin[rows]]


def featurize_all(
    items: Sequence[Labelled],
    featurizer: Featurizer,
    embeddings: np.ndarray | None = None,
) -> SparseRows:
    vectors = []
    for k, item in enumerate(items):
        doc = document_of(item.id, item.title, item.lead, item.source)
        emb = embeddings[k] if embeddings is not None else None
        vectors.append(featurizer.vector(item.title, item.lead, doc, emb))
    return SparseRows.stack(vectors, featurizer.spec.size)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Weights that give both classes the same total."""
    pos = max(1, int(y.sum()))
    neg = max(1, len(y) - pos)
    return np.where(y == 1, 0.5 / pos, 0.5 / neg) * len(y)


WEIGHTINGS = ("class", "group", "sqrt-group")


def sample_weights(
    y: np.ndarray, groups: Sequence[str] | np.ndarray, weighting: str = "class"
) -> np.ndarray:
    """Training weights: ``class`` gives both classes the same total; ``group`` first
    gives every source group the same total (domain generalisation: no source dominates),
    ``sqrt-group`` a total in proportion to the square root of its size; then both
    classes are brought to the same total."""
    if weighting == "class":
        return class_weights(y)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r} (one of {', '.join(WEIGHTINGS)})")
    g = np.asarray(groups)
    names, inverse, sizes = np.unique(g, return_inverse=True, return_counts=True)
    share = np.ones(len(names)) if weighting == "group" else np.sqrt(sizes)
    w = (share / share.sum() / sizes)[inverse]
    pos = y == 1
    out = np.empty(len(y))
    out[pos] = 0.5 * w[pos] / max(float(w[pos].sum()), 1e-12)
    out[~pos] = 0.5 * w[~pos] / max(float(w[~pos].sum()), 1e-12)
    return out * len(y)


def train_model(
    topic: str,
    items: Sequence[Labelled],
    spec: FeatureSpec,
    *,
    l2: float = 1e-4,
    threshold: float = 0.5,
    gate: bool = False,
    balanced: bool = True,
    use_borderline: bool = True,
    weighting: str = "class",
    meta: Mapping[str, Any] | None = None,
    embed_fn: Callable[[list[str]], np.ndarray] | None = None,
    aliases: Mapping[str, AliasGroup] | None = None,
    views: str = "",
) -> TopicModel:
    """Train a model on ``items`` (borderline ones too when ``use_borderline``), each
    also as its extra text ``views`` (:func:`text_views`), its weight split between them."""
    if spec.prototypes and not spec.prototype_vectors:
        spec = with_prototype_vectors(spec)
    featurizer = Featurizer(spec, aliases=aliases)
    chosen = [i for i in items if use_borderline or not i.borderline]
    if not chosen or len({i.label for i in chosen}) < 2:
        raise ConfigError(topic, "training needs labelled articles of both classes (0 and 1)")
    extra, origin = view_rows(chosen, views)
    rows = [*chosen, *extra]
    embeddings = None
    if spec.embedder:
        if embed_fn is None:

            def embed_fn(texts: list[str]) -> np.ndarray:
                return embedding_of(spec.embedder, texts)

        embeddings = embed_fn([embed_text(i) for i in rows])
    x = featurize_all(rows, featurizer, embeddings)
    y = np.array([i.label for i in rows], dtype=np.float64)
    n = len(chosen)
    sw = sample_weights(y[:n], [i.group for i in chosen], weighting) if balanced else None
    if extra:
        own, _, shares = spread_over_views(
            np.arange(n), np.ones(n) if sw is None else sw, origin, n
        )
        sw = np.concatenate([own, shares])
    w, b = fit_logistic(x, y, l2=l2, sample_weight=sw)
    return TopicModel(
        topic=topic,
        spec=spec,
        weights=w,
        bias=b,
        threshold=threshold,
        gate=gate,
        meta=dict(meta or {}),
        aliases=aliases,
    )


def prf(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float]:
    """Precision, recall, F1 and counts of (predicted, actual) pairs."""
    tp = fp = fn = tn = 0
    for got, want in pairs:
        if got and want:
            tp += 1
        elif got:
            fp += 1
        elif want:
            fn += 1
        else:
            tn += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def out_of_fold(
    items: Sequence[Labelled],
    spec: FeatureSpec,
    *,
    l2: float,
    gate: bool,
    use_borderline: bool,
    weighting: str = "class",
    embed_fn: Callable[[list[str]], np.ndarray] | None = None,
    always: Sequence[Labelled] = (),
    views: str = "",
    center: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """``(probability, passes)`` of every item, leave-one-source-out: each from the model
    trained on the other source groups (and ``always``), each training item also as its
    extra ``views``; ``passes``: the gate lets it through (all True without the gate).
    ``center`` (``all`` or parts of the block, :func:`with_center`): each fold's
    embedding block centred on the mean of that fold's training items' vectors (the
    held-out group's never). A group whose training is of one class
    gets 0."""
    groups = sorted({i.group for i in items})
    n = len(items)
    every = [*items, *always]
    extra_views, origin = view_rows(every, views)
    featurizer = Featurizer(spec)
    embeddings = None
    if spec.embedder:
        run = embed_fn or (lambda texts: embedding_of(spec.embedder, texts))
        embeddings = run([embed_text(i) for i in (*every, *extra_views)])
    centring = bool(center) and embeddings is not None  # each fold featurizes for itself
    x = None if centring else featurize_all([*every, *extra_views], featurizer, embeddings)
    y = np.array([i.label for i in every], dtype=np.float64)
    grp = np.array([i.group for i in every])
    usable = np.array([use_borderline or not i.borderline for i in every])
    extra = n + np.flatnonzero(usable[n:])
    usable[n:] = False
    passes = np.array(
        [
            not gate or featurizer.passes_gate(document_of(i.id, i.title, i.lead, i.source))
            for i in items
        ],
        dtype=bool,
    )
    prob = np.zeros(n)
    for held in groups:
        train = np.concatenate([np.flatnonzero((grp != held) & usable), extra])
        test = np.flatnonzero(grp[:n] == held)
        if len({int(v) for v in y[train]}) < 2:
            continue
        sw = sample_weights(y[train], grp[train], weighting)
        rows, labels = train, y[train]
        if len(origin):
            sw, views_of, shares = spread_over_views(train, sw, origin, len(every))
            rows = np.concatenate([train, len(every) + views_of])
            labels = np.concatenate([labels, y[origin[views_of]]])
            sw = np.concatenate([sw, shares])
        xf = x
        if xf is None and embeddings is not None:  # this fold's own centre
            fold_spec = with_center(spec, embeddings[train], center)
            xf = featurize_all([*every, *extra_views], Featurizer(fold_spec), embeddings)
        assert xf is not None  # made once, or for this fold
        w, b = fit_logistic(xf.take(rows), labels, l2=l2, sample_weight=sw)
        prob[test] = _sigmoid(xf.take(test).dot(w) + b)
    return prob, passes


def group_scores(items: Sequence[Labelled], decided: np.ndarray) -> dict[str, Any]:
    """P / R / F1 of ``decided`` per source group and pooled, borderline items left out."""
    groups = sorted({i.group for i in items})
    clear = [k for k, i in enumerate(items) if not i.borderline]

    def rounded(ks: list[int]) -> dict[str, Any]:
        r = prf((bool(decided[k]), bool(items[k].label)) for k in ks)
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}

    return {
        "method": "leave-one-source-out (train on the other groups), borderline not scored",
        "groups": {g: rounded([k for k in clear if items[k].group == g]) for g in groups},
        "pooled": rounded(clear),
    }


# the cascade's band: the widest savings (fewest articles past the gate that need the full
# model) such that, on the training groups' out-of-fold predictions, the cascade differs
# from the full model on at most CASCADE_DIFFER of the non-borderline articles past the
# gate and its pooled F1 is at most CASCADE_F1_DROP below the full model's
CASCADE_DIFFER = 0.01
CASCADE_F1_DROP = 0.0  # 0.005: e5 for 2.7% instead of 7.1%, F1 0.004 lower (README)
CASCADE_RULE = (
    "lo <= threshold <= hi on a grid of 0.01 (and 0.001, 0.002, 0.005 from either end), "
    "from the training groups' leave-one-source-out predictions of both heads: the band "
    "(lo, hi) that leaves the fewest articles past the gate to the full model such that "
    f"the cascade's decisions differ from the full model's on at most {CASCADE_DIFFER:.0%} "
    "of the non-borderline articles past the gate and its pooled F1 is not below the full "
    "model's (ties: the higher F1, then fewer differing)"
)


def _band_grid() -> np.ndarray:
    grid = {round(float(v), 2) for v in np.arange(0.0, 1.0001, 0.01)}
    grid |= {0.001, 0.002, 0.005, 0.995, 0.998, 0.999}
    return np.array(sorted(grid))


def cascade_decisions(
    first: np.ndarray, full: np.ndarray, passes: np.ndarray, threshold: float, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(decided, needed)``: the cascade's decisions from both heads' probabilities, and
    which articles needed the full model (past the gate, the first head in the band)."""
    needed = passes & (first >= lo) & (first < hi)
    decided = passes & ((first >= hi) | (needed & (full >= threshold)))
    return decided, needed


def choose_band(
    items: Sequence[Labelled],
    first: np.ndarray,
    full: np.ndarray,
    passes: np.ndarray,
    threshold: float,
    *,
    max_differ: float = CASCADE_DIFFER,
    max_f1_drop: float = CASCADE_F1_DROP,
) -> dict[str, Any]:
    """The cascade's band by :data:`CASCADE_RULE` (its two limits may be given), with
    what it measured: the share of the articles past the gate that needed the full model
    (``needed_e5``), how many decisions differ from the full model's, both pooled F1."""
    y = np.array([bool(i.label) for i in items])
    clear = np.array([not i.borderline for i in items])
    base = passes & (full >= threshold)
    counted = clear & passes
    n_counted = max(1, int(counted.sum()))
    n_past = max(1, int(passes.sum()))

    def f1(decided: np.ndarray) -> float:
        tp = int((decided & y & clear).sum())
        fp = int((decided & ~y & clear).sum())
        fn = int((~decided & y & clear).sum())
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    f1_full = f1(base)
    grid = _band_grid()
    best: tuple[float, float, int, float, float] | None = None
    for lo in grid[grid <= threshold]:
        for hi in grid[grid >= threshold]:
            decided, needed = cascade_decisions(first, full, passes, threshold, lo, hi)
            differ = int((counted & (decided != base)).sum())
            if differ > max_differ * n_counted:
                continue
            score = f1(decided)
            if score < f1_full - max_f1_drop - 1e-12:
                continue
            key = (int(needed.sum()) / n_past, -score, differ, float(lo), float(hi))
            if best is None or key < best:
                best = key
    if best is None:  # nothing saves anything within the rule: the full model always
        lo, hi = 0.0, 2.0
    else:
        lo, hi = best[3], best[4]
    decided, needed = cascade_decisions(first, full, passes, threshold, lo, hi)
    return {
        "lo": float(lo),
        "hi": float(hi),
        "needed_e5": round(int(needed.sum()) / n_past, 4),
        "past_gate": int(passes.sum()),
        "differ": int((counted & (decided != base)).sum()),
        "differ_of": int(counted.sum()),
        "f1_full": round(f1_full, 4),
        "f1_cascade": round(f1(decided), 4),
        "decided": decided,
    }


def _read_labelled(
    paths: Sequence[str | Path],
) -> tuple[list[Labelled], list[dict[str, Any]]]:
    """The labelled articles of ``paths``, and what the model states of each file."""
    items: list[Labelled] = []
    stated = []
    for path in paths:
        rows = load_labelled(path)
        items.extend(rows)
        stated.append({"file": Path(path).name, "sha256": sha256_of(path), "items": len(rows)})
    return items, stated


def train_topic(
    topic: str,
    paths: Sequence[str | Path],
    spec: FeatureSpec,
    *,
    l2: float = 1e-4,
    threshold: float = 0.5,
    gate: bool = False,
    use_borderline: bool = False,
    weighting: str = "class",
    evaluate: bool = True,
    command: str = "",
    rubric: Sequence[Mapping[str, Any]] = (),
    train_only: Sequence[str | Path] = (),
    views: str = "",
    center: str = "",
) -> TopicModel:
    """Train a topic's model from labelled JSON Lines files; the model states the
    files (name, sha256, size), the options and, with ``evaluate``, its
    leave-one-source-out scores.  ``train_only`` files (e.g. examples written from
    the topic's rubric) are trained on, in every fold too, but never held out nor
    scored.  ``views``: every training item is also trained on as shorter texts of
    itself, its weight split between them (:func:`text_views`).  Same files and options: same bytes, whatever number of
    BLAS or OpenMP threads the environment asks for (training uses one: a threaded dot
    product sums in another order)."""
    from threadpoolctl import threadpool_limits

    check_center(topic, spec.embedder, center)
    # the files first: a bad line is told before any embedder loads
    items, data = _read_labelled(paths)
    always, extra_data = _read_labelled(train_only)
    if spec.embedder:  # load its engine first: the limit reaches only the libraries loaded
        embedding_of(spec.embedder, ["."])
    with threadpool_limits(limits=1):
        spec = with_prototype_vectors(spec)  # made again from the texts: same embedder, same bytes
        spec = replace(spec, embed_center="")  # made again too (with ``center``), never kept
        training = {
            "l2": l2,
            "use_borderline": use_borderline,
            "balanced": True,
            "weighting": weighting,
            "solver": "L-BFGS from zero, numpy",
            "items": sum(1 for i in (*items, *always) if use_borderline or not i.borderline),
        }
        if views:  # stated only when set: the files written before it keep their bytes
            if views not in VIEWS:
                raise ConfigError(topic, f"unknown views {views!r} (title or title+short)")
            training["views"] = views
        if center:  # the same: stated only when set
            training["center"] = center  # on the mean vector of the articles trained on
        meta: dict[str, Any] = {"data": data, "training": training}
        if extra_data:  # trained on, never held out nor scored
            meta["train_only"] = extra_data
        if rubric:  # the files the rubric's prototypes came from
            meta["rubric"] = [dict(r) for r in rubric]
        embed_fn = None
        if spec.embedder:  # embed every article once, in batches, for the scores and the fit
            every = [*items, *always]
            texts = list(
                dict.fromkeys(embed_text(i) for i in (*every, *view_rows(every, views)[0]))
            )
            vectors = np.concatenate(
                [embedding_of(spec.embedder, texts[k : k + 64]) for k in range(0, len(texts), 64)]
            )
            table = dict(zip(texts, vectors, strict=True))

            def embed_fn(batch: list[str]) -> np.ndarray:
                return np.stack([table[t] for t in batch])

            if center:  # on the articles trained on (each fold its own: out_of_fold)
                trained = [i for i in (*items, *always) if use_borderline or not i.borderline]
                spec = with_center(spec, embed_fn([embed_text(i) for i in trained]), center)
        if command:
            meta["trained_with"] = command
        first = cheap_spec(spec)  # the centre's columns too
        first_fn = None
        if first is not None and embed_fn is not None:
            columns = embed_columns(spec.embedder, tuple(first.embedder.split("+")))
            full_fn = embed_fn

            def first_fn(batch: list[str]) -> np.ndarray:
                return full_fn(batch)[:, columns]

        band: dict[str, Any] | None = None
        if evaluate and len({i.group for i in items}) >= 2:

            def fold(
                which: FeatureSpec, fn: Callable[[list[str]], np.ndarray] | None
            ) -> tuple[np.ndarray, np.ndarray]:
                return out_of_fold(
                    items,
                    which,
                    l2=l2,
                    gate=gate,
                    use_borderline=use_borderline,
                    weighting=weighting,
                    embed_fn=fn,
                    always=always,
                    views=views,
                    center=center,
                )

            prob, passes = fold(spec, embed_fn)
            meta["scores"] = group_scores(items, (prob >= threshold) & passes)
            if first is not None:
                first_prob, _ = fold(first, first_fn)
                band = choose_band(items, first_prob, prob, passes, threshold)

        def fit(which: FeatureSpec, fn: Callable[[list[str]], np.ndarray] | None) -> TopicModel:
            return train_model(
                topic,
                [*items, *always],
                which,
                l2=l2,
                threshold=threshold,
                gate=gate,
                use_borderline=use_borderline,
                weighting=weighting,
                meta=meta,
                embed_fn=fn,
                views=views,
            )

        model = fit(spec, embed_fn)
        if first is None or band is None:  # no e5 beside another block, or nothing measured
            return model
        head = fit(first, first_fn)
        decided = band.pop("decided")
        cascade_meta = {
            "rule": CASCADE_RULE,
            "measured": {k: v for k, v in band.items() if k not in {"lo", "hi"}},
            "scores": group_scores(items, decided),
        }
        model.cascade = CascadeHead(
            first, head.weights, head.bias, lo=band["lo"], hi=band["hi"], meta=cascade_meta
        )
        return model
