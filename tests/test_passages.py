"""The sharper article vector (multilingual e5, bot/matching/passages.py) is installed and
tells one event reworded from two events on one subject."""

from __future__ import annotations

import numpy as np

from bot.matching import passages
from bot.records import Article


def test_unit_vectors_of_the_documented_size() -> None:
    rows = passages.embed(["North Korea fires a missile", "", "북한 미사일 발사"])
    assert rows.shape == (3, passages.DIMENSION)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert passages.embed([]).shape == (0, passages.DIMENSION)


def test_a_reworded_report_is_nearer_than_another_story_on_the_subject() -> None:
    first, reworded, other = passages.article_vectors(
        [
            Article(
                id="a",
                title="North Korea fires ballistic missile into East Sea, Seoul says",
                summary="North Korea fired a ballistic missile off its east coast on Tuesday.",
            ),
            Article(
                id="b",
                title="North Korea fires ballistic missile into sea, South Korea says",
                summary="Pyongyang launched a ballistic missile toward the sea on Tuesday.",
            ),
            Article(
                id="c",
                title="North Korea and US envoys meet in Panmunjom over nuclear talks",
                summary="Diplomats met at the border village to restart denuclearisation talks.",
            ),
        ]
    )
    assert float(first @ reworded) > float(first @ other) + 0.03
