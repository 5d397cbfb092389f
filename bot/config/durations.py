"""Durations written by people: 90, "90s", "5m", "1h", "1h30m", "2d"."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)", re.IGNORECASE)
MAX_SECONDS = 365 * 86400.0
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_interval(value: object) -> float:
    """Seconds in ``value``: a number of seconds, or a string such as "90s", "5m",
    "1h" or "1h30m".  Raises ``ValueError`` with a message for a person."""
    if isinstance(value, bool):
        raise ValueError('expected a duration such as 300, "90s", "5m" or "1h", got a boolean')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            compact = text.replace(" ", "")
            # each part where the last one ended (a search for the next would scan a long
            # run of digits again from each of its digits: quadratic)
            while (part := _PART.match(compact, pos)) is not None:
                seconds += float(part.group(1)) * _UNITS[part.group(2).lower()]
                pos = part.end()
            if not compact or pos != len(compact):
                raise ValueError(
                    f"{value!r} is not a duration; write seconds (300) or a number with a unit: "
                    '"90s", "5m", "1h", "1h30m"'
                )
    else:
        raise ValueError(
            f'expected a duration such as 300, "90s", "5m" or "1h", got {type(value).__name__}'
        )
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise ValueError(
            f'{value!r} is too long; the longest duration allowed is one year ("365d")'
        )
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


def format_interval(seconds: float) -> str:
    """``seconds`` as ``parse_interval`` reads it back: 600 -> "10m", 5400 -> "1h30m"."""
    if seconds < 1 or seconds != int(seconds):
        return f"{seconds:g}s"
    left, parts = int(seconds), []
    for unit in ("d", "h", "m", "s"):
        count, left = divmod(left, int(_UNITS[unit]))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
