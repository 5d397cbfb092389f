"""Alerts that learn from the reader: a chat's 👍/👎 votes judge later articles by meaning.

A vote is kept with the voted article's vectors (``storage.feedback``): the sharper e5
passage vector (:mod:`bot.matching.passages`) and the article vector (:mod:`vectors`,
multilingual USE).  A new article that a chat's subscription matched is judged by that
chat's votes on alerts of the same topic, in the e5 space when the votes have e5 vectors:

* the votes at least :data:`NEAR_PASSAGE` close to it (cosine) are the ones that count;
  an article far from every vote is not touched;
* it is held back when the nearest of them is a 👎 *and* 👎s outnumber 👍s among the
  :data:`NEIGHBOURS` nearest of them: "fewer like this" covers near-copies and the same
  kind of story (another "greetings to a foreign leader"), and one 👎 among 👍s does not
  outvote them;
* a 👍 nearest always lets it through, and a 👍 among the nearest ties a 👎: that is how a
  👍 brings back a borderline kind.

Votes stored before e5 (the USE vector only) judge in the USE space as they always did,
the nearest alone, at :data:`NEAR`; an article is held back when either space holds it.
The parameters were chosen by ``bench/feedback.py`` (on other shuffles than the ones it
reports; see its docstring).  Pure: votes and vectors in, a decision out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEAR = 0.55  # a USE-only vote judges articles at least this close (bench/feedback.py)
NEAR_PASSAGE = 0.88  # an e5 vote judges articles at least this close (bench/feedback.py:
# the best precision that holds back at most 10% of what the reader wants; 0.81, the
# longest reach, held back 35% of it: a 👎 on a greeting held back inter-Korean talks)
NEIGHBOURS = 3  # a 👎 nearest holds only when 👎s outnumber 👍s among this many nearest


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to send, and the vote that decided it (``None`` when none was near)."""

    send: bool
    vote: int = 0
    similarity: float = 0.0
    title: str = ""


@dataclass(frozen=True, slots=True)
class Rated:
    """A vote as the rule reads it: +1 or -1, the title, and the rated article's vectors."""

    vote: int
    title: str
    vector: np.ndarray | None = None  # the article vector (USE)
    passage: np.ndarray | None = None  # the e5 passage vector, for votes made since m018


def judge(
    vector: np.ndarray | None,
    votes: Sequence[tuple[int, np.ndarray, str]],
    *,
    near: float = NEAR,
    neighbours: int = 1,
) -> Verdict:
    """The verdict of ``votes`` (``(+1 or -1, vector, title)``, one vector space) on an
    article's vector: the nearest vote at least ``near`` close decides, and a 👎 only when
    👎s outnumber 👍s among the ``neighbours`` nearest at least ``near`` close."""
    if vector is None or not votes:
        return Verdict(True)
    sims = np.stack([v for _, v, _ in votes]) @ vector
    order = np.argsort(-sims, kind="stable")[:neighbours]
    order = order[sims[order] >= near]
    if not len(order):
        return Verdict(True)
    first = int(order[0])
    vote, _, title = votes[first]
    send = vote > 0 or sum(votes[int(i)][0] for i in order) >= 0
    return Verdict(send, vote, float(sims[first]), title)


def needs_passage(votes: Sequence[Rated]) -> bool:
    """True when some vote judges in the e5 space (the article's e5 vector is wanted)."""
    return any(v.passage is not None for v in votes)


def decide(
    vector: np.ndarray | None,
    passage: np.ndarray | None,
    votes: Sequence[Rated],
) -> Verdict:
    """The chat's verdict on an article from its votes (on the article's topic): the e5
    votes judge its e5 vector (``passage``), the votes from before e5 its USE vector."""
    sharp = [(v.vote, v.passage, v.title) for v in votes if v.passage is not None]
    blunt = [
        (v.vote, v.vector, v.title) for v in votes if v.passage is None and v.vector is not None
    ]
    verdicts = [
        judge(passage, sharp, near=NEAR_PASSAGE, neighbours=NEIGHBOURS) if sharp else Verdict(True),
        judge(vector, blunt, near=NEAR) if blunt else Verdict(True),
    ]
    for verdict in verdicts:  # held back by either space
        if not verdict.send:
            return verdict
    for verdict in verdicts:  # else the vote that let it through, if one was near
        if verdict.vote:
            return verdict
    return Verdict(True)
