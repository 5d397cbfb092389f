"""Built-in topics, and topic files in the same format.

A topic is a named, followable query (``bot.records.Topic``).  The built-in
ones live in ``bot/data/topics.toml``, a file an operator can read, copy and
override::

    [[topics]]
    id = "korea-diplomacy"
    name = "Korea: diplomacy and security"
    description = "..."
    threshold = 4.0
    query = '''@korea (@diplomacy OR @security OR @nuclear-weapons)'''

``query`` uses the filter language of :mod:`bot.matching.parser` (alias groups included)
and is validated when loaded; ``threshold`` is the lowest score that counts as
a match (0 by default).  Topic queries may be longer than a chat filter.
``model`` (optional) names a learned model that decides the topic instead of
the query (:mod:`bot.matching.topic_model`): a shipped model's name or a file's path.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, QueryError
from bot.matching.aliases import AliasGroup, read_toml
from bot.matching.parser import parse_query
from bot.matching.syntax import Query
from bot.records import Topic

__all__ = [
    "TOPIC_QUERY_MAX_LENGTH",
    "builtin_topics",
    "compile_topic",
    "load_topics",
    "parse_topics",
]

TOPIC_QUERY_MAX_LENGTH = 4000
TOPIC_QUERY_MAX_TERMS = 200
_TOPIC_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


def compile_topic(topic: Topic, *, aliases: Mapping[str, AliasGroup] | None = None) -> Query:
    """The parsed query of ``topic`` (topic files may hold longer queries than chats)."""
    return parse_query(
        topic.query,
        aliases=aliases,
        max_length=TOPIC_QUERY_MAX_LENGTH,
        max_terms=TOPIC_QUERY_MAX_TERMS,
    )


def parse_topics(
    data: Mapping[str, Any],
    *,
    origin: str = "topics",
    aliases: Mapping[str, AliasGroup] | None = None,
) -> dict[str, Topic]:
    """Topics from parsed TOML (a ``[[topics]]`` array); every query is validated.

    Raises ``ConfigError`` naming the entry and the problem (for a bad query:
    the parser's message, position and hint).
    """
    entries = data.get("topics", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{origin}.topics", "expected an array of tables: [[topics]]")
    topics: dict[str, Topic] = {}
    for index, entry in enumerate(entries):
        key = f"{origin}.topics[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(key, "expected a table with id, name and query")
        topic_id = entry.get("id")
        if not isinstance(topic_id, str) or not _TOPIC_ID.fullmatch(topic_id):
            raise ConfigError(f"{key}.id", "expected lower-case letters, digits, '-' or '_'")
        if topic_id in topics:
            raise ConfigError(f"{key}.id", f"duplicate topic id {topic_id!r}")
        query = entry.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ConfigError(f"{key}.query", "expected a non-empty query string")
        name = entry.get("name", topic_id)
        description = entry.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise ConfigError(key, "name and description must be strings")
        threshold = entry.get("threshold", 0.0)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
            raise ConfigError(f"{key}.threshold", "expected a number >= 0")
        model = entry.get("model", "")
        if not isinstance(model, str):
            raise ConfigError(f"{key}.model", "expected a model name or a model file's path")
        if model and origin != "topics.toml":  # a shipped model may be rebuilt: checked on use
            from bot.matching.topic_model import check_model_ref

            problem = check_model_ref(model)
            if problem:
                raise ConfigError(f"{key}.model", problem)
        topic = Topic(
            id=topic_id,
            name=name,
            query=" ".join(query.split()),
            description=" ".join(description.split()),
            threshold=float(threshold),
            model=model,
        )
        try:
            compile_topic(topic, aliases=aliases)
        except QueryError as e:
            raise ConfigError(f"{key}.query", str(e)) from e
        topics[topic_id] = topic
    return topics


@cache
def _builtin() -> tuple[Topic, ...]:
    text = resources.files("bot.data").joinpath("topics.toml").read_text(encoding="utf-8")
    return tuple(parse_topics(tomllib.loads(text), origin="topics.toml").values())


def builtin_topics() -> dict[str, Topic]:
    """The topics shipped in ``bot/data/topics.toml``, by id (a fresh dict each call)."""
    return {t.id: t for t in _builtin()}


def load_topics(
    path: str | Path, *, aliases: Mapping[str, AliasGroup] | None = None
) -> dict[str, Topic]:
    """Topics from an operator's file in the format of ``bot/data/topics.toml``."""
    data = read_toml(path, "topics")
    return parse_topics(data, origin=Path(path).name, aliases=aliases)
