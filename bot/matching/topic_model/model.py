"""A trained topic model: its heads (the full model and a cascade's cheap first head), the
file format, its decisions with their ``why``, and where a topic's model comes from
(:func:`builtin_model`, :func:`model_for`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError
from bot.matching.aliases import AliasGroup
from bot.matching.document import Document
from bot.matching.parser import parse_query
from bot.matching.topic_model.embedding import article_embedding, embedding_input
from bot.matching.topic_model.features import Featurizer, Parts, Vector, document_of
from bot.matching.topic_model.logistic import sigmoid
from bot.matching.topic_model.spec import (
    FORMAT,
    FORMAT_CASCADE,
    FeatureSpec,
    cheap_spec,
    model_text,
)


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
        return float(sigmoid(np.array([z]))[0])


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
