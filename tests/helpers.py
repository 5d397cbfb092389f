"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Wait until ``condition()`` is true and return its value; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.02)
    return value
