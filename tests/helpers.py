"""Helpers shared by the test modules (fixtures live in conftest.py): waiting for a
condition, sample feeds, configurations for a bot against the fake Bot API, and writing
alerts to the outbox the way the pipeline does."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bot.config.loader import config_from_dict
from bot.config.model import Config
from bot.delivery.sinks import Outgoing
from bot.records import Alert, Article, utcnow
from storage.store import Store
from tests.fakes.synthetic_feeds import made_up_vocabulary
from tests.fakes.telegram_api import FakeBotAPI

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"


async def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Wait until ``condition()`` is true and return its value; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.02)
    return value


def bot_process(
    config: Path,
    *options: str,
    env: dict[str, str] | None = None,
    stdout: int = subprocess.PIPE,
    run: tuple[str, ...] = (),
) -> subprocess.Popen[str]:
    """``python -m bot --config CONFIG [OPTIONS] run [RUN]`` in a process of its own, its
    stderr (and by default stdout) piped as text; ``env`` defaults to this environment with
    the test token."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), *options, "run", *run],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NEWSALERT_TELEGRAM_TOKEN": TOKEN} if env is None else env,
    )


# The first report of a launch (the story tests reword it from other outlets).
REUTERS = Article(
    id="r1",
    title="North Korea fires ballistic missile into East Sea, Seoul says",
    summary=(
        "North Korea fired a ballistic missile into the East Sea on Thursday, South Korea's "
        "Joint Chiefs of Staff said, the latest in a string of weapons tests this year."
    ),
    source="Reuters",
)


def config_head(api: Any, db: Path | str, *, admins: tuple[int, ...] = ()) -> str:
    """The head of a config file for a bot against the fake Bot API ``api`` (its token comes
    from the environment): ``[telegram]`` with a 1 s long poll and ``admins``, and
    ``[storage]`` at ``db``; the test writes the sections that follow."""
    admin_line = f"admins = [{', '.join(map(str, admins))}]\n" if admins else ""
    return (
        f'[telegram]\nbase_url = "{api.base_url}"\npoll_timeout = "1s"\n{admin_line}'
        f'[storage]\npath = "{db}"\n'
    )


# -- feeds -------------------------------------------------------------------------------------


def demo_feed() -> str:
    """The bundled sample feed (the seed story and others)."""
    return (resources.files("bot.data") / "demo_feed.xml").read_text(encoding="utf-8")


def feed_with_items(keep: Callable[[str], bool]) -> str:
    """The demo feed with only the <item>s for which ``keep(item_xml)`` is true."""
    text = demo_feed()
    return re.sub(
        r"\s*<item>.*?</item>", lambda m: m.group(0) if keep(m.group(0)) else "", text, flags=re.S
    )


def rss(items: list[tuple[str, str, str]], *, site: str = "https://wire.example") -> str:
    """An RSS 2.0 feed of ``(guid, title, description)`` items, linked under ``site``."""
    when = format_datetime(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    body = "".join(
        f"<item><guid>{escape(guid)}</guid><title>{escape(title)}</title>"
        f"<link>{site}/{escape(guid)}</link><description>{escape(text)}</description>"
        f"<pubDate>{when}</pubDate></item>"
        for guid, title, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire</title><link>{site}</link><description>news</description>{body}"
        "</channel></rss>"
    )


QUIET_FEED = [("calm-1", "Markets steady as traders await data", "Shares were flat.")]

ERUPTION = (
    "Volcano erupts on Indonesian island, thousands of villagers flee",
    "An Indonesian volcano erupted on Sunday, spewing ash five kilometres into the sky and "
    "forcing thousands of villagers to flee their homes, disaster officials said.",
)

VOLCANOES = {"id": "volcanoes", "name": "Volcanoes", "query": "volcano OR eruption OR lava"}


# -- a bot against the fake Bot API ------------------------------------------------------------


def e2e_config(api: Any, feed_url: str, db_path: Path) -> Config:
    """One feed ("The Straits Times", polled every second) and the volcano topic."""
    return config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(db_path)},
            "polling": {"jitter": 0},
            "fetch": {"full_text": False},
            "feeds": [{"url": feed_url, "name": "The Straits Times", "interval": "1s"}],
            "topics": [VOLCANOES],
        },
        env={},
    )


def alerts_to(api: Any, chat_id: int) -> list[dict[str, Any]]:
    """Messages to ``chat_id`` that are alerts (HTML with a linked bold title)."""
    return [
        m for m in api.sent_messages(chat_id) if str(m.get("text", "")).startswith("<b><a href=")
    ]


def fast_api(**limits: Any) -> FakeBotAPI:
    """A fake that enforces Telegram's limits, with a faster per-chat pace (10/s, bursts of
    5) so that several alerts to one chat do not slow the tests; the bot keeps the same."""
    return FakeBotAPI(
        token=TOKEN, enforce_limits=True, per_chat_per_second=10, per_chat_burst=5, **limits
    )


def config_for(api: Any, feeds: list[tuple[str, str]], db: Path, **delivery: Any) -> Config:
    """``(url, name)`` feeds polled every second, the volcano topic, the pace of
    :func:`fast_api` and quick retries; ``delivery`` overrides ``[delivery]`` keys."""
    return config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(db)},
            "polling": {"jitter": 0},
            "fetch": {"full_text": False},
            "delivery": {
                "per_chat_per_second": 10,
                "per_chat_burst": 5,
                "retry_backoff": "0.2s",
                **delivery,
            },
            "feeds": [{"url": url, "name": name, "interval": "1s"} for url, name in feeds],
            "topics": [VOLCANOES],
        },
        env={},
    )


def follow_volcanoes(store: Store, *chat_ids: int) -> None:
    """The chats (private, or supergroups for negative ids) follow the volcano topic."""
    for chat_id in chat_ids:
        store.chats.ensure(chat_id, type="private" if chat_id > 0 else "supergroup")
        store.subscriptions.add(chat_id, "volcanoes")


# -- the outbox --------------------------------------------------------------------------------


class Outbox:
    """Writes alerts for chats the way the pipeline does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.feed = store.feeds.upsert("https://wire.example/rss")
        self.n = 0

    def alert(
        self, chat_id: int, title: str = "", *, story_id: int | None = None, new_story: bool = False
    ) -> int:
        """Write one alert for the chat; ``new_story``: its article starts a story."""
        self.n += 1
        title = title or f"Story number {self.n} about something long enough"
        article = Article(
            id=f"e{self.n}", title=title, link=f"https://wire.example/{self.n}", source="Wire"
        )
        [stored] = self.store.articles.add_new(self.feed.id, [article])
        if new_story:
            story_id = self.store.stories.create(
                stored.key, self.feed.id, article, "", now=utcnow()
            )
        if self.store.chats.get(chat_id) is None:
            self.store.chats.ensure(chat_id, type="private" if chat_id > 0 else "group")
        html = f"<b>{title}</b>\n<i>Wire</i>\n\nSummary."
        [row] = self.store.outbox.enqueue(
            [
                Alert(
                    chat_id=chat_id,
                    article_key=stored.key,
                    topic="t",
                    html=html,
                    text=f"{title}\nWire\n\nSummary.",
                    link=article.link,
                    disable_preview=True,
                )
            ],
            story_id=story_id,
        )
        return row


# -- stories and pages ------------------------------------------------------------------------

VOLCANO_NEWS = (
    ("Lava from Kilauea reaches the ocean", "Hawaii officials closed a coastal highway."),
    ("Iceland evacuates Grindavik as fissure opens", "Magma broke through near the town."),
    ("Etna ash cloud shuts Catania airport", "Flights to Sicily were diverted overnight."),
    ("Merapi spews hot clouds over Java villages", "Thousands sheltered in schools."),
    ("Kamchatka volcano hurls ash 10 km high", "Pilots were warned of a red aviation code."),
    ("Chile raises alert on Villarrica", "Scientists recorded a swarm of small quakes."),
    ("Tonga eruption cuts undersea cable", "Internet links to the islands went dark."),
    ("Alaska observatory watches restless Shishaldin", "Tremor rose through the weekend."),
    ("Fuego volcano in Guatemala sends lava down ravines", "Farmers moved their cattle."),
)


def volcano_story(n: int) -> tuple[str, str, str]:
    """A distinct story (not a near-duplicate of the others) that the volcano topic matches;
    its title starts with "Lava <n>:"."""
    title, lead = VOLCANO_NEWS[n % len(VOLCANO_NEWS)]
    return (f"lava-{n}", f"Lava {n}: {title}", f"{lead} A volcano eruption update.")


STORY_PAGE = """<html><head><title>Envoys hold talks</title></head><body>
<nav>Home | World | Asia</nav>
<article><h1>North Korea and US envoys hold talks on denuclearisation</h1>
<p>SEOUL (REUTERS) - The United States special envoy for North Korea held two days of talks
with his counterpart from Pyongyang in the border village of Panmunjom, officials said.</p>
<p>Both sides agreed to keep working towards the denuclearisation of the Korean peninsula and
to prepare a second summit between their leaders early next year, a statement said.</p>
<p>The envoy said the talks had been constructive and that working-level negotiations would
resume within weeks, while sanctions would stay in place until concrete steps are taken.</p>
<p>South Korea's foreign ministry welcomed the meeting and said it would stay in close
contact with Washington as the diplomacy moves forward over the coming months.</p>
<p>Join our Telegram channel and get the latest breaking news delivered to you.</p>
</article><footer>Copyright 2018</footer></body></html>"""


# -- a sink that records ------------------------------------------------------------------------


class ScriptedSink:
    """Records what it is asked to send; ``script[chat_id]`` may raise or wait per call."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.script: dict[int, list[Callable[[], Any] | Exception]] = {}
        self._ids: dict[int, int] = {}

    async def send(self, message: Outgoing) -> int:
        chat_id = message.chat_id
        steps = self.script.get(chat_id)
        if steps:
            step = steps.pop(0)
            if isinstance(step, Exception):
                raise step
            await step()
        self._ids[chat_id] = self._ids.get(chat_id, 0) + 1
        self.sent.append(
            {
                "chat_id": chat_id,
                "html": message.html,
                "text": message.text,
                "button": message.button_url,
                "label": message.button_label,
                "silent": message.silent,
                "feedback": message.feedback_id,
            }
        )
        return self._ids[chat_id]

    async def edit(self, message_id: int, message: Outgoing) -> None:
        self.edits.append(
            {
                "chat_id": message.chat_id,
                "message_id": message_id,
                "html": message.html,
                "label": message.button_label,
            }
        )

    def to(self, chat_id: int) -> list[str]:
        return [m["html"] or m["text"] for m in self.sent if m["chat_id"] == chat_id]


# ../shared beside the checkout, or where $NEWSALERT_SHARED points (a git worktree)
REPO = Path(__file__).resolve().parents[1]  # the checkout
SHARED = Path(os.environ.get("NEWSALERT_SHARED") or REPO.parent / "shared")


def soak_like_items(count: int, *, seed: int = 7) -> list[Article]:
    """Made-up news items as bench/soak.py publishes them: a shared word ("Reactor") and a
    feed tag in every title, the other words drawn from one made-up vocabulary of 5,000
    (so that items share a few, as news does): distinct stories a story grouping must not
    merge."""
    import random

    rnd = random.Random(seed)
    vocabulary = made_up_vocabulary(rnd, 5000)

    def word() -> str:
        return rnd.choice(vocabulary)

    return [
        Article(
            id=f"s{n}",
            title=f"Reactor {' '.join(word() for _ in range(6))} [soak {n % 4 + 1}-{n}]",
            summary=" ".join(word() for _ in range(30)) + ".",
            source=f"Soak feed {n % 4 + 1}",
        )
        for n in range(count)
    ]


def missiles_config(api: FakeBotAPI, feeds: list[tuple[str, str]], db: Path) -> Config:
    """A bot on the fake Bot API polling ``feeds`` ((url, name), every second) for one
    topic, ``missiles`` (the word "missile"): the story-grouping tests' set-up."""
    return config_from_dict(
        {
            "telegram": {"token": TOKEN, "base_url": api.base_url, "poll_timeout": "1s"},
            "storage": {"path": str(db)},
            "polling": {"jitter": 0},
            "fetch": {"full_text": False},
            "delivery": {"per_chat_per_second": 10, "per_chat_burst": 5},
            "feeds": [{"url": url, "name": name, "interval": "1s"} for url, name in feeds],
            "topics": [{"id": "missiles", "name": "Missiles", "query": "missile"}],
        },
        env={},
    )


def add_article(store: Store, feed_url: str, article: Article, now: datetime) -> Any:
    """``article`` stored as new from the feed at ``feed_url`` (made if need be, named after
    the article's source): the StoredArticle, as a poll would have it."""
    feed = store.feeds.upsert(feed_url, name=article.source)
    [stored] = store.articles.add_new(feed.id, [article], now=now)
    return stored
