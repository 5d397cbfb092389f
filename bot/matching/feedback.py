"""Alerts that learn from the reader: a chat's 👍/👎 votes judge later articles by meaning.

A vote is kept with the voted article's vector (``storage.feedback``).  A new article that
a chat's subscription matched is held back from that chat when the chat's vote *nearest in
meaning* to it (cosine of the article vectors, among the votes on alerts of the same topic)
is a 👎 at least :data:`NEAR` close: "fewer like this" covers near-copies and the same kind of
story (another "greetings to a foreign leader").  A 👍 nearer than any 👎 keeps it: that is
how a 👍 brings back a borderline kind.  Articles far from every vote are not touched.
:data:`NEAR` was chosen by ``bench/feedback.py``.

Pure: votes and vectors in, a decision out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEAR = 0.55  # a vote judges articles at least this close in meaning (bench/feedback.py)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to send, and the vote that decided it (``None`` when none was near)."""

    send: bool
    vote: int = 0
    similarity: float = 0.0
    title: str = ""


def judge(
    vector: np.ndarray | None,
    votes: Sequence[tuple[int, np.ndarray, str]],
    *,
    near: float = NEAR,
) -> Verdict:
    """The verdict of ``votes`` (``(+1 or -1, vector, title)``) on an article's vector."""
    if vector is None or not votes:
        return Verdict(True)
    matrix = np.stack([v for _, v, _ in votes])
    sims = matrix @ vector
    i = int(np.argmax(sims))
    if float(sims[i]) < near:
        return Verdict(True)
    vote, _, title = votes[i]
    return Verdict(vote > 0, vote, float(sims[i]), title)
