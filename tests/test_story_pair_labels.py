"""The labelled story pairs (bench/story_pairs.jsonl) that decide the story grouping's
weights and thresholds: a pair relabelled after reading it again says why, and only the
tune half is ever relabelled (the test half is judged once, as labelled)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.story_pairs import PAIRS, half


def _pairs() -> list[dict]:
    return [json.loads(line) for line in Path(PAIRS).read_text(encoding="utf-8").splitlines()]


def test_every_pair_has_two_ids_a_label_and_a_kind():
    pairs = _pairs()
    assert len(pairs) >= 200
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)
    for p in pairs:
        assert p["a"] != p["b"] and isinstance(p["same"], bool)
        assert p["how"] in {"read", "feeds-read", "dated-4d-apart"}


def test_only_tune_half_pairs_were_relabelled_and_each_says_why():
    fixed = [p for p in _pairs() if "fixed" in p]
    assert fixed  # the Madrid Open's two rounds, TIME's analysis of a speech
    for p in fixed:
        assert half(p) == "tune", p
        assert len(p["fixed"]) > 20, p
