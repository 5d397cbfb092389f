"""Replies in the reader's language: English and Korean, from gettext catalogs.

Source strings are English, written in the code and marked for extraction:
``tr._("You now follow {name}.", name=topic.name)`` translates at once;
``N_("...")`` only marks a string translated later (menu descriptions in a table).

The catalogs are ``bot/locale/<lang>/LC_MESSAGES/newsalert.po``, shipped as package
data and compiled with Babel when first used, so a wheel needs no build step.
Translated texts are Telegram HTML: placeholders are filled with HTML-escaped
values unless a value is wrapped in :class:`Html`.

``python -m bot.i18n`` lists the strings that lack a Korean translation
(``tests/test_i18n.py`` fails on any); ``python -m bot.i18n update`` merges new
strings into the catalogs for a translator.
"""

from __future__ import annotations

import contextlib
import gettext
import html
import io
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Babel is imported when a catalog is first needed (N_ is used everywhere)
    from babel.messages.catalog import Catalog

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "Html",
    "Translator",
    "extract_messages",
    "load_catalog",
    "missing_translations",
    "pick_language",
    "placeholders",
    "translator",
]

DOMAIN = "newsalert"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "ko")
# Each language by its own name, as a language menu shows it.
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}

# Where marked strings live: the chat handlers and every module of the core (whole packages,
# so a module that moves keeps its strings in the catalog).
SOURCE_PACKAGES = ("handlers", "bot")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# a message id: the text, or the (singular, plural) pair of a counted one
Message = str | tuple[str, str]


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


class Html(str):
    """A placeholder value that is already Telegram HTML: inserted as is."""

    __slots__ = ()


def pick_language(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` ("ko", "ko-KR" -> "ko"); English otherwise."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def placeholders(message: str) -> set[str]:
    """The ``{name}`` placeholders of a message."""
    return set(_PLACEHOLDER.findall(message))


def _catalog_path(language: str) -> Any:
    return resources.files("bot") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalog(language: str) -> Catalog:
    """The parsed .po catalog of ``language`` (an empty one for English, the source)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    if language == DEFAULT_LANGUAGE:
        return Catalog(locale=language, domain=DOMAIN)
    with _catalog_path(language).open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


@cache
def _translations(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo

    buffer = BytesIO()
    write_mo(buffer, load_catalog(language), use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Translates and fills messages for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._translations = _translations(self.language)

    def _(self, message: str, /, **values: Any) -> str:
        """``message`` in this language, ``{placeholders}`` filled with escaped values."""
        text = self._translations.gettext(message)
        if not values:
            return text
        return text.format(**{k: _html_value(v) for k, v in values.items()})

    def plain(self, message: str, /, **values: Any) -> str:
        """Like :meth:`_`, for plain text (a menu entry, a button, a pop-up): no escaping."""
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def n_(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """``singular`` or ``plural`` as this language counts ``count`` ("1 channel",
        "2 channels"; Korean has one form), ``{count}`` and the placeholders filled."""
        text = self._translations.ngettext(singular, plural, count)
        filled = {"count": count, **values}
        return text.format(**{k: _html_value(v) for k, v in filled.items()})


def _html_value(value: Any) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


@cache
def translator(language: str | None) -> Translator:
    """The translator for a language we speak, English for any other."""
    return Translator(pick_language(language))


# -- catalog upkeep -------------------------------------------------------------------------


def _source_files(root: Path) -> Iterator[Path]:
    for package in SOURCE_PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def extract_messages(root: Path | None = None) -> dict[Message, list[str]]:
    """Every marked string in the sources: message -> where it appears (``file:line``);
    a counted message (:meth:`Translator.n_`) is its (singular, plural) pair."""
    from babel.messages.extract import extract

    root = root or Path(__file__).resolve().parents[1]
    found: dict[Message, list[str]] = {}
    singular = {"_": None, "N_": None, "plain": None}
    counted = {"n_": (1, 2)}  # Translator.n_(singular, plural, count)
    for path in _source_files(root):
        for keywords in (singular, counted):
            # Babel warns about f-strings passed as placeholder values; they are not messages.
            with path.open("rb") as f, contextlib.redirect_stderr(io.StringIO()):
                results = list(extract("python", f, keywords))
            for lineno, message, _comments, _context in results:
                if isinstance(message, tuple) and keywords is singular:
                    message = message[0]
                if isinstance(message, tuple) and not all(message):
                    continue
                if message:
                    key: Message = message if isinstance(message, str) else (message[0], message[1])
                    found.setdefault(key, []).append(f"{path.relative_to(root)}:{lineno}")
    return found


def missing_translations(language: str, messages: Iterable[Message]) -> list[Message]:
    """The messages that ``language``'s catalog lacks (or holds only a fuzzy or empty one)."""
    catalog = load_catalog(language)
    missing = []
    for message in messages:
        entry = catalog.get(message)
        strings = entry.string if entry is not None else ""
        filled = all(strings) if isinstance(strings, tuple | list) else bool(strings)
        if entry is None or entry.fuzzy or not filled:
            missing.append(message)
    return missing


def template_catalog() -> Catalog:
    """Every message to translate: the marked strings (the filter help of /help among them)."""
    from babel.messages.catalog import Catalog

    template = Catalog(domain=DOMAIN, project="newsalert", fuzzy=False)
    for message, where in extract_messages().items():
        locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
        template.add(message, locations=locations)
    return template


def update_catalogs() -> None:  # pragma: no cover - a maintainer's helper
    """Merge new and changed messages into each .po (new ones untranslated, changed
    ones fuzzy), for a translator to fill in."""
    from babel.messages.pofile import write_po

    template = template_catalog()
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        catalog = load_catalog(language)
        catalog.update(template)
        path = Path(str(_catalog_path(language)))
        with path.open("wb") as f:
            write_po(f, catalog, width=100, ignore_obsolete=True)


def _main(argv: list[str]) -> int:  # pragma: no cover - a maintainer's helper
    """``python -m bot.i18n [check|update]``."""
    if argv[:1] == ["update"]:
        update_catalogs()
    status = 0
    messages: list[Message] = [
        m.id if isinstance(m.id, str) else (m.id[0], m.id[1])  # a counted one: its two forms
        for m in template_catalog()
        if m.id
    ]
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        for message in missing_translations(language, messages):
            status = 1
            print(f"{language}: no translation for {message!r}")
    return status


if __name__ == "__main__":  # pragma: no cover
    import sys

    raise SystemExit(_main(sys.argv[1:]))
