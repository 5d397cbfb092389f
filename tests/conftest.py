"""Shared fixtures: a store on a real SQLite file, real servers on loopback for Telegram and
for feeds, and paths.  Helpers (not fixtures) are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.store import Store
from tests.fakes.feed_server import FeedServer
from tests.helpers import SHARED, TOKEN


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated database in a file of its own."""
    s = Store.open(tmp_path / "db.sqlite")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Commands look for a config in $NEWSALERT_CONFIG and the user's config directory:
    keep the developer's own out of the tests."""
    monkeypatch.delenv("NEWSALERT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture(autouse=True)
def cold_e5_memory() -> None:
    """Each test starts with no e5 vector remembered (bot.matching.passages.remembered),
    so that what one test embedded does not change what another counts."""
    from bot.matching import passages

    passages.forget()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip the test when it is absent (a fresh clone)."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is not present")
    return data


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def telegram_api():  # type: ignore[no-untyped-def]
    from tests.fakes.telegram_api import FakeBotAPI

    api = FakeBotAPI(token=TOKEN, bot_username="newsalert_test_bot")
    await api.start()
    try:
        yield api
    finally:
        await api.stop()
