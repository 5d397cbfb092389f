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
    ko.name = "한반도 외교·안보"
    ko.description = "..."

``query`` uses the filter language of :mod:`bot.matching.parser` (alias groups included)
and is validated when loaded; ``threshold`` is the lowest score that counts as
a match (0 by default).  Topic queries may be longer than a chat filter.
``model`` (optional) names a learned model that decides the topic instead of
the query (:mod:`bot.matching.topic_model`): a shipped model's name or a file's path.
``ko.name`` and ``ko.description`` (a table named by the language's code, optional) are
what a Korean chat sees; without them it sees the English ones.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from bot.config.keys import unknown_key
from bot.errors import ConfigError, QueryError
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES
from bot.matching.aliases import AliasGroup, read_toml
from bot.matching.parser import parse_query
from bot.matching.syntax import Query
from bot.records import Topic, TopicText

__all__ = [
    "TOPIC_LANGUAGES",
    "TOPIC_QUERY_MAX_LENGTH",
    "builtin_topics",
    "compile_topic",
    "inherit_translations",
    "load_topics",
    "parse_topics",
    "read_translations",
]

TOPIC_QUERY_MAX_LENGTH = 4000
TOPIC_QUERY_MAX_TERMS = 200
_TOPIC_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
TOPIC_KEYS = ("id", "name", "query", "description", "threshold", "model")
TRANSLATED_KEYS = ("name", "description")
_GUIDE = "bot/data/topics.toml"  # the format's reference
# the languages a topic's name and description can be given in, besides English
TOPIC_LANGUAGES = tuple(language for language in LANGUAGES if language != DEFAULT_LANGUAGE)
# a key of a [[topics]] entry that reads as a language code: "ko", "ja", "zh-tw" ("id" is not)
_LANGUAGE_KEY = re.compile(r"[a-z]{2}(?:[-_][a-z]{2,4})?", re.IGNORECASE)


class Translations(NamedTuple):
    """What :func:`read_translations` found in a [[topics]] entry."""

    texts: tuple[TopicText, ...]
    problems: list[tuple[str, str]]  # (key, what is wrong), in the config's words
    keys: set[str]  # the entry's keys read as translations (so not unknown ones)


def read_translations(entry: Mapping[str, Any], where: str) -> Translations:
    """The topic's name and description in other languages, from tables named by the
    language's code: ``ko.name = "..."``, ``ko.description = "..."``."""
    texts: list[TopicText] = []
    found = Translations((), [], set())
    spoken = TOPIC_LANGUAGES
    example = '{0}.name = "...", {0}.description = "..."'
    for key, table in entry.items():
        if key in TOPIC_KEYS or not isinstance(key, str) or not _LANGUAGE_KEY.fullmatch(key):
            continue
        found.keys.add(key)
        at, language = f"{where}.{key}", key.lower()
        if language == DEFAULT_LANGUAGE:
            found.problems.append((at, "the English wording is the topic's name and description"))
        elif language not in spoken:
            languages = ", ".join(f"{c} ({LANGUAGE_NAMES[c]})" for c in spoken)
            found.problems.append(
                (
                    at,
                    f"newsalert does not speak {key!r}; a topic can be translated into {languages}",
                )
            )
        elif not isinstance(table, Mapping):
            found.problems.append(
                (at, f"must be a table of the topic's name and description: {example.format(key)}")
            )
        else:
            text = _translation(language, table, at, found.problems)
            if text is not None:
                texts.append(text)
    return found._replace(texts=tuple(texts))


def _translation(
    language: str, table: Mapping[str, Any], at: str, problems: list[tuple[str, str]]
) -> TopicText | None:
    unknown = sorted(set(table) - set(TRANSLATED_KEYS))
    for name in unknown:
        problems.append((f"{at}.{name}", "unknown key; a translation has a name and a description"))
    values: dict[str, str] = {}
    for name in TRANSLATED_KEYS:
        value = table.get(name, "")
        if isinstance(value, str):
            values[name] = " ".join(value.split())
        else:
            problems.append((f"{at}.{name}", f"must be a string, got {value!r}"))
    if not any(values.values()):
        if len(values) == len(TRANSLATED_KEYS) and not unknown:  # a misspelt key is enough
            problems.append((at, f'is empty; write {language}.name = "..." (and a description)'))
        return None
    return TopicText(language, values.get("name", ""), values.get("description", ""))


def inherit_translations(topic: Topic, builtin: Topic | None) -> Topic:
    """``topic`` (an operator's, replacing the built-in one with its id) with the built-in
    translations it does not give itself, where it kept the built-in English wording: a
    translation of a name that was changed no longer fits."""
    if builtin is None or not builtin.translations:
        return topic
    given = {t.language for t in topic.translations}
    same_name = topic.name == builtin.name
    same_description = " ".join(topic.description.split()) == builtin.description
    inherited = [
        TopicText(
            t.language,
            t.name if same_name else "",
            t.description if same_description else "",
        )
        for t in builtin.translations
        if t.language not in given
    ]
    inherited = [t for t in inherited if t.name or t.description]
    if not inherited:
        return topic
    return dataclasses.replace(topic, translations=(*topic.translations, *inherited))


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
    if unknown := sorted(set(data) - {"topics"}):
        raise ConfigError(
            f"{origin}.{unknown[0]}", unknown_key(unknown[0], ["topics"], guide=_GUIDE)
        )
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
        translations = read_translations(entry, key)
        if translations.problems:
            raise ConfigError(*translations.problems[0])
        if unknown := sorted(set(entry) - set(TOPIC_KEYS) - translations.keys):
            name = unknown[0]
            raise ConfigError(f"{key}.{name}", unknown_key(name, TOPIC_KEYS, guide=_GUIDE))
        topic = Topic(
            id=topic_id,
            name=name,
            query=" ".join(query.split()),
            description=" ".join(description.split()),
            threshold=float(threshold),
            model=model,
            translations=translations.texts,
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
