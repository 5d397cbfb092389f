"""The embedding block's vectors: the text a model embeds (the same as an article's stored
vector), several texts at once for training, one article as the bot decides."""

from __future__ import annotations

import numpy as np

from bot.records import Article


def embedding_input(title: str, lead: str) -> str:
    """The text a model embeds: exactly what an article's stored vector is made of
    (:func:`bot.matching.vectors.article_text`), so the bot passes the stored vector in
    instead of embedding the article a second time."""
    from bot.matching.vectors import article_text

    return article_text(Article(id="", title=title, summary=lead))


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
