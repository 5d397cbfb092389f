"""Replies in the reader's language: English and Korean, from gettext catalogs.

Source strings are English, written in the code and marked for extraction:
``tr._("You now follow {name}.", name=topic.name)`` translates at once;
``N_("...")`` only marks a string translated later (menu descriptions in a table).

The catalogs are ``bot/locale/<lang>/LC_MESSAGES/newsalert.po``, shipped as package
data and compiled with Babel when first used, so a wheel needs no build step.
Translated texts are Telegram HTML: placeholders are filled with HTML-escaped
values unless a value is wrapped in :class:`Html`.

Korean particles that depend on the word before them are written in the catalog in their
combined form, ``"{name}을(를)"``, ``이(가)``, ``은(는)``, ``와(과)``, ``(으)로``, ``(이)라는``;
filling a message picks the right one for the value (:func:`fill`, :func:`korean_final`):
"뉴스를", "북한을", "서울로", "korea-diplomacy를", "@news_bot를" (T is read 티), "3을"
(삼); after a symbol the combined form stays ("C++을(를)").

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
    "fill",
    "korean_final",
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
        return _fill(self._translations.gettext(message), values, escape=True)

    def plain(self, message: str, /, **values: Any) -> str:
        """Like :meth:`_`, for plain text (a menu entry, a button, a pop-up): no escaping."""
        return _fill(self._translations.gettext(message), values, escape=False)

    def n_(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """``singular`` or ``plural`` as this language counts ``count`` ("1 channel",
        "2 channels"; Korean has one form), ``{count}`` and the placeholders filled."""
        text = self._translations.ngettext(singular, plural, count)
        return _fill(text, {"count": count, **values}, escape=True)


def _html_value(value: Any) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


def fill(template: str, /, **values: Any) -> str:
    """``template.format(**values)`` (no escaping), with the Korean particles after the
    values chosen (:func:`korean_final`): for wording translated elsewhere and filled
    later, such as an alert's labels (``bot.delivery.labels``)."""
    return _fill(template, values, escape=False)


# -- Korean particles -----------------------------------------------------------------------
#
# A catalog writes a particle that depends on the word before it in its combined form; it is
# chosen when the message is filled, from the sound the word ends with. Only the particles of
# the template are chosen: a value (someone's filter, a title) is never rewritten.

# combined form -> (after a final consonant, after a vowel)
_PARTICLES = {
    "을(를)": ("을", "를"),
    "를(을)": ("을", "를"),
    "이(가)": ("이", "가"),
    "가(이)": ("이", "가"),
    "은(는)": ("은", "는"),
    "는(은)": ("은", "는"),
    "과(와)": ("과", "와"),
    "와(과)": ("과", "와"),
    "아(야)": ("아", "야"),
    "(으)로": ("으로", "로"),  # and after ㄹ: 로 (서울로)
    "(이)": ("이", ""),  # the copula's forms: (이)라는, (이)나, (이)에요
}
_COMBINED = re.compile("|".join(re.escape(p) for p in _PARTICLES))
# Where a value begins and ends while a message is filled (private-use characters).
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKENS = re.compile(f"{_OPEN}|{_CLOSE}|{_COMBINED.pattern}")
_MARKERS = str.maketrans("", "", _OPEN + _CLOSE)

# The final sound of a word, as :func:`korean_final` names it: "" a vowel, "ㄹ", or "C" any
# other final consonant. Latin letters as their Korean names end: 엘 and 알 in ㄹ, 엠 and 엔
# in a consonant, every other letter's name (에이, 비, 씨, ... 에스, 엑스, 제트) in a vowel.
_LETTER_FINALS = {"l": "ㄹ", "r": "ㄹ", "m": "C", "n": "C"}
# digits as read in Korean: 영 일 이 삼 사 오 육 칠 팔 구
_DIGIT_FINALS = ("C", "ㄹ", "", "C", "", "", "C", "ㄹ", "ㄹ", "")
# 10, 100, 1,000 end in 십, 백, 천 (consonants); from 10,000 on the reading ends in the
# unit: 만 (10^4), 억 (10^8), 조 (10^12), 경 (10^16)
_MYRIAD_FINALS = ("C", "C", "", "C")
_CLOSING = set("\"'”’»」』》〉)]}")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>$")
_LATIN_WORD = re.compile(r"[A-Za-z]+$")
_VOWELS = set("aeiouy")
# an aside in parentheses is looked for this far back (a longer one is read as it ends)
_ASIDE_REACH = 200


def korean_final(text: str) -> str | None:
    """How ``text`` ends when read in Korean: ``""`` in a vowel, ``"ㄹ"``, ``"C"`` in
    another final consonant, ``None`` when it ends in a symbol or a script we cannot read.

    Hangul by its last syllable's final consonant (batchim); a number by its Korean reading
    ("3" 삼, "10" 십, "2000" 이천, "1.5" 일점오); a Latin letter by its Korean name ("L" 엘,
    "M" 엠, "T" 티). Closing quotes, brackets and HTML tags after the word are looked
    through, and so is a parenthesis after a word ("뉴스(news)", "뉴스 (news)": 뉴스), as
    Korean chooses the particle by the word before it."""
    end = len(text)
    while end:
        last = text[end - 1]
        if last == ">" and (tag := _TAG.search(text, 0, end)):
            end = tag.start()
        elif last == ")" and (start := _aside_start(text, end)) is not None:
            end = start
        elif last in _CLOSING:
            end -= 1
        else:
            break
    if not end:
        return None
    last = text[end - 1]
    if "가" <= last <= "힣":
        batchim = (ord(last) - ord("가")) % 28
        return "" if batchim == 0 else "ㄹ" if batchim == 8 else "C"
    if last.isascii() and last.isalpha():
        # letter by letter where Korean reads the letters: one letter or capitals ("T" 티,
        # "BBC" 비비씨, "URL" 유알엘); a word as it is said in Korean, where its spelling
        # tells (Apple 애플, Samsung 삼성, Korea 코리아); else (book 북, bot 봇, Trump 트럼프,
        # which the letters cannot tell) the combined form stays
        word = _LATIN_WORD.search(text, 0, end)
        letters = word.group() if word else last
        if len(letters) > 1 and not letters.isupper() and set(letters.lower()) & _VOWELS:
            return _word_final(letters.lower())  # a word with no vowel ("kr") is letters
        return _LETTER_FINALS.get(last.lower(), "")
    if last.isascii() and last.isdigit():
        return _number_final(text[:end])
    return None


def _word_final(word: str) -> str | None:
    """The final sound of an English word as Korean writes it, for the endings that tell
    it: -l/-le ㄹ (Seoul 서울, Google 구글), -m/-n/-ng/-me/-ne a consonant (Kim 킴, Samsung
    삼성, iPhone 아이폰), a vowel letter or -er/-or/-ar/-ee a vowel (Korea 코리아, user
    유저); None for the rest."""
    if word.endswith("l") or word.endswith("le"):
        return "ㄹ"
    if word.endswith(("m", "n", "ng", "me", "ne")):
        return "C"
    if word.endswith(("a", "i", "o", "u", "y", "er", "or", "ar", "ee")):
        return ""
    return None


def _aside_start(text: str, end: int) -> int | None:
    """Where a parenthesis that closes at ``end`` opens (spaces before it included), when a
    word comes before it: "화산 (volcanoes)" is read as 화산."""
    depth = 0
    for i in range(end - 1, max(end - _ASIDE_REACH, 0) - 1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                word = text[:i].rstrip()
                return len(word) if word and word[-1] not in "(>" else None
    return None


def _number_final(text: str) -> str:
    digits = re.search(r"[0-9][0-9,]*(?:\.[0-9]+)?$", text)
    number = digits.group() if digits else text[-1]
    if "." in number:  # after the point each digit is read: 1.50 일점오영
        return _DIGIT_FINALS[int(number[-1])]
    number = number.replace(",", "")
    zeros = len(number) - len(number.rstrip("0"))
    if zeros == len(number) or zeros == 0:
        return _DIGIT_FINALS[int(number[-1])]
    if zeros < 4:
        return "C"
    return _MYRIAD_FINALS[min(zeros // 4, 4) - 1]


def _particle(combined: str, before: str) -> str:
    final = korean_final(before)
    if final is None:
        return combined
    consonant, vowel = _PARTICLES[combined]
    if combined == "(으)로" and final == "ㄹ":
        return vowel
    return consonant if final else vowel


def _fill(template: str, values: dict[str, Any], *, escape: bool) -> str:
    if not values:
        return template
    value = _html_value if escape else str
    if not _COMBINED.search(template):
        return template.format(**{k: value(v) for k, v in values.items()})
    # each value marked, to choose the template's particles and leave the values' own alone
    marked = {k: f"{_OPEN}{value(v).translate(_MARKERS)}{_CLOSE}" for k, v in values.items()}
    text = template.format(**marked)
    pieces: list[str] = []
    depth, at = 0, 0
    for token in _TOKENS.finditer(text):
        pieces.append(text[at : token.start()])
        at = token.end()
        if token.group() == _OPEN:
            depth += 1
        elif token.group() == _CLOSE:
            depth -= 1
        elif depth:
            pieces.append(token.group())
        else:
            pieces.append(_particle(token.group(), "".join(pieces)))
    pieces.append(text[at:])
    return "".join(pieces)


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
