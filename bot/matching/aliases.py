"""Named alias groups: one name for the many ways a thing is written.

A group such as ``@north-korea`` stands for "North Korea", "DPRK", "N. Korea",
"Pyongyang", "Kim Jong Un" and more; a query that names the group matches any
of them.  Groups ship as data (``bot/data/aliases.toml``) and an operator may
load their own file in the same format::

    [north-korea]
    name = "North Korea"
    description = "North Korea as a state ..."
    terms = ["North Korea", "DPRK", "Pyongyang", "@korean-peninsula"]

A term is a word or a phrase (matched as a quoted phrase would be); a term
``@other`` includes every term of another group.  Group ids are lower-case
letters, digits and hyphens.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

__all__ = ["ALIAS_ID", "AliasGroup", "builtin_aliases", "expand", "load_aliases", "parse_aliases"]

ALIAS_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True, slots=True)
class AliasGroup:
    """A named set of equivalent terms; ``terms`` as written, ``@id`` for includes."""

    id: str
    name: str
    terms: tuple[str, ...]
    description: str = ""


def parse_aliases(data: Mapping[str, object], *, origin: str = "aliases") -> dict[str, AliasGroup]:
    """Alias groups from already-parsed TOML; raises ``ConfigError`` naming the bad key."""
    groups: dict[str, AliasGroup] = {}
    for group_id, body in data.items():
        key = f"{origin}.{group_id}"
        if not ALIAS_ID.fullmatch(group_id):
            raise ConfigError(key, "a group id is lower-case letters, digits and hyphens")
        if not isinstance(body, Mapping):
            raise ConfigError(key, "expected a table with name and terms")
        terms = body.get("terms")
        if not isinstance(terms, list) or not terms:
            raise ConfigError(f"{key}.terms", "expected a non-empty list of strings")
        if not all(isinstance(t, str) and t.strip() for t in terms):
            raise ConfigError(f"{key}.terms", "every term must be a non-empty string")
        name = body.get("name", group_id)
        description = body.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise ConfigError(key, "name and description must be strings")
        groups[group_id] = AliasGroup(
            id=group_id,
            name=name,
            terms=tuple(t.strip() for t in terms),
            description=description,
        )
    for group in groups.values():
        for term in group.terms:
            if term.startswith("@") and term[1:] not in groups:
                raise ConfigError(f"{origin}.{group.id}.terms", f"unknown group {term}")
    for group_id in groups:
        expand(group_id, groups)  # raises on a cycle
    return groups


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """An operator's TOML file of ``what`` (alias groups, topics); :class:`ConfigError`
    naming the file when it cannot be read or parsed."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(str(path), f"cannot read {what}: {e}") from e
    except RecursionError:
        raise ConfigError(str(path), f"cannot read {what}: nested too deeply") from None


@cache
def builtin_aliases() -> dict[str, AliasGroup]:
    """The alias groups shipped in ``bot/data/aliases.toml`` (parsed once)."""
    text = resources.files("bot.data").joinpath("aliases.toml").read_text(encoding="utf-8")
    return parse_aliases(tomllib.loads(text), origin="aliases.toml")


def load_aliases(
    path: str | Path, *, base: Mapping[str, AliasGroup] | None = None
) -> dict[str, AliasGroup]:
    """Groups from an operator's file, laid over ``base`` (the built-in groups by default).

    A group with the id of a built-in one replaces it.
    """
    data = read_toml(path, "alias groups")
    merged_raw: dict[str, object] = {
        g.id: {"name": g.name, "description": g.description, "terms": list(g.terms)}
        for g in (builtin_aliases() if base is None else base).values()
    }
    merged_raw.update(data)
    return parse_aliases(merged_raw, origin=Path(path).name)


def expand(group_id: str, groups: Mapping[str, AliasGroup] | None = None) -> tuple[str, ...]:
    """Every plain term of a group, includes resolved, duplicates removed, in order.

    Raises ``KeyError`` for an unknown id and ``ConfigError`` for a cycle.
    """
    groups = builtin_aliases() if groups is None else groups
    out: dict[str, None] = {}

    def walk(gid: str, trail: tuple[str, ...]) -> None:
        if gid in trail:
            raise ConfigError("aliases", f"groups include each other: {' -> '.join((*trail, gid))}")
        for term in groups[gid].terms:
            if term.startswith("@"):
                walk(term[1:], (*trail, gid))
            else:
                out.setdefault(term, None)

    walk(group_id, ())
    return tuple(out)
