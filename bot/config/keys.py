"""Unknown keys in a TOML table: what the config loader and topic files say about them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_key(name: str, known: Iterable[str], *, guide: str = "config.example.toml") -> str:
    """The problem with key ``name``, which is none of ``known``: the valid key closest to
    it (when one is close), every key allowed, and where they are described."""
    allowed = sorted(known)
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown key;{hint} the keys allowed here are: {', '.join(allowed)}. "
        f"Check the spelling against {guide}"
    )
