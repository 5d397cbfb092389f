"""What a topic model reads and how its features are laid out: the text it reads of an
article (:func:`model_text`), the :class:`FeatureSpec` stored in a model file, the rubric's
prototypes, the embedding block's parts and centre, and the cheap first head's spec."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.errors import ConfigError
from bot.matching.aliases import AliasGroup, builtin_aliases
from bot.matching.topic_model.embedding import embedding_of
from bot.records import MAX_TITLE_CHARS
from bot.text import html_to_text

FORMAT = "newsalert-topic-model/1"  # one head (what every model without a cascade writes)
FORMAT_CASCADE = "newsalert-topic-model/2"  # and a cascade: its first head's weights follow
LEAD_CHARS = 400
_RAW_LEAD_FACTOR = 4
HASH_BITS = 18
_MARKUP = re.compile(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;")
_ALIAS_REF = re.compile(r"@([a-z0-9][a-z0-9-]*)")


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
