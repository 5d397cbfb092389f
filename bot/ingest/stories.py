"""One story, many feeds: near-duplicate detection over title and lead.

A wire story (Reuters, AP, Yonhap) is republished by many outlets under a lightly edited
headline and the same first paragraph.  Each article gets a :class:`Fingerprint`: a 64-bit
SimHash of its title words and lead-word pairs, plus the feature set itself.  Two articles are
the same story when their fingerprints are near (SimHash within :data:`MAX_HAMMING` bits, a
cheap filter) *and* their features overlap enough (Jaccard ≥ :data:`MIN_JACCARD`, the actual
decision), or when they share a canonical URL, or when they *mean* the same (see
:func:`same_story`): their vectors (title + lead, :mod:`bot.matching.vectors`) are very close,
or close with titles that share enough character trigrams, they were seen within
:data:`MEANING_WINDOW` of each other and their leads do not name different days.  That
catches a copy reworded by another outlet ("... into East Sea, Seoul says" / "... into sea,
South Korea says") and keeps apart two launches on different days.  The thresholds were
chosen on the tune half of the labelled story pairs of ``bench/story_pairs.py``; the README
gives the figures of the other half.

:class:`StoryDesk` is the pipeline's helper: it assigns each new article to a story (a new
one, or one first seen within the window) and notices copies that the article store dropped
as already seen (same canonical URL or headline from another feed), so that the chats that
got the story learn "Also: Reuters, Yonhap" instead of getting it twice.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from bot.config.model import DeliveryConfig
from bot.matching.vectors import from_blob, to_blob
from bot.records import Article, utcnow

if TYPE_CHECKING:
    from storage.stories import StoryStore

log = logging.getLogger(__name__)

MAX_HAMMING = 22  # SimHash prefilter: generous, the Jaccard test decides
MIN_JACCARD = 0.45
LEAD_WORDS = 40  # the lead: the first words of the summary (or content)
TITLE_WEIGHT = 2  # title words count double in the SimHash
DEFAULT_WINDOW = timedelta(seconds=DeliveryConfig.story_window)
# Same story by meaning (chosen on bench/story_pairs.py's tune half): vectors this close ...
MIN_COSINE = 0.70
MIN_TITLE_OVERLAP = 0.48  # ... and titles sharing this much (character trigrams),
SURE_COSINE = 0.90  # or vectors this close whatever the titles
MEANING_WINDOW = timedelta(hours=12)  # reworded copies come within hours; later is news

_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a an the and or but if of to in on at by for with from as is are was were be been being
        it its this that these those he she they we you i his her their our your them him us
        not no said says say will would can could has have had do does did than then there here
        about after before over into up out more most new also just""",
    )
)
# Outlet tags wire copies carry: "(Reuters)", "- Yonhap", "Update 2-", "EXCLUSIVE-" ...
_TAGS = re.compile(
    r"^\s*(?:update\s*\d*|exclusive|breaking|analysis|factbox|wrapup\s*\d*)\s*[-:–]\s*"
    r"|\s*[-–|]\s*[^-–|]{2,30}$",
    re.IGNORECASE,
)

_OUTLET = re.compile(r"\s*\([^()]{2,30}\)\s*$")  # "... (Reuters)", "... (AP)"


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [w for w in re.findall(r"\w+", folded) if len(w) > 1 and w not in _STOPWORDS]


def _stem(word: str) -> str:
    # Just enough to meet "Korean"/"Korea", "talks"/"talk", "officials"/"official".
    for suffix in ("ians", "ian", "ans", "an", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _hash64(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A story's SimHash and the features it was built from."""

    simhash: int
    features: frozenset[str]

    def similarity(self, other: Fingerprint) -> float:
        """Jaccard overlap of the two feature sets (0 to 1)."""
        if not self.features or not other.features:
            return 0.0
        shared = len(self.features & other.features)
        return shared / (len(self.features) + len(other.features) - shared)

    def is_near(self, other: Fingerprint) -> bool:
        """The same story: close SimHashes and a feature overlap of at least MIN_JACCARD."""
        if hamming(self.simhash, other.simhash) > MAX_HAMMING:
            return False
        return self.similarity(other) >= MIN_JACCARD


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit SimHashes."""
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def lead_of(article: Article) -> str:
    """The first words of the article's summary (or its content when it has none)."""
    text = article.summary or article.content
    return " ".join(text.split()[: LEAD_WORDS * 2])


def fingerprint(title: str, lead: str) -> Fingerprint:
    """Title words (weighted) and pairs of consecutive lead words, SimHashed to 64 bits."""
    title = _TAGS.sub("", title)
    title_words = [_stem(w) for w in _words(title)]
    lead_words = [_stem(w) for w in _words(lead)][:LEAD_WORDS]
    weighted: dict[str, int] = {}
    for word in title_words:
        weighted["t:" + word] = TITLE_WEIGHT
    for pair in itertools.pairwise(lead_words):
        weighted["l:" + " ".join(pair)] = 1
    if not weighted:
        return Fingerprint(0, frozenset())
    totals = [0] * 64
    for feature, weight in weighted.items():
        bits = _hash64(feature)
        for i in range(64):
            totals[i] += weight if bits >> i & 1 else -weight
    simhash = sum(1 << i for i, total in enumerate(totals) if total > 0)
    return Fingerprint(simhash, frozenset(weighted))


def breaking_outlets(
    sightings: Iterable[tuple[str, datetime]], *, outlets: int, window: timedelta
) -> tuple[str, ...]:
    """The outlets that make a story breaking news: at least ``outlets`` distinct sources
    (``(source, when)`` sightings, any order) within some ``window``; () when there is no
    such window.  Named in the order they carried it, each once, the whole story's."""
    seen = sorted(((when, source.strip()) for source, when in sightings if source.strip()))
    first: dict[str, datetime] = {}
    for when, source in seen:
        first.setdefault(source.casefold(), when)
    names: dict[str, str] = {}
    for _when, source in seen:
        names.setdefault(source.casefold(), source)
    # each outlet counts at its first sighting; slide a window over those
    starts = sorted(first.values())
    for i in range(len(starts) - outlets + 1):
        if starts[i + outlets - 1] - starts[i] <= window:
            return tuple(names.values())
    return ()


@dataclass(frozen=True, slots=True)
class StoryRef:
    """The story an article belongs to; ``is_copy`` when the article just joined a story
    that another article started (the chats that got that one should hear "Also: ...")."""

    id: int
    is_copy: bool = False


def title_grams(title: str) -> frozenset[str]:
    """The title's character trigrams (casefolded, outlet tags and punctuation out): a
    lexical check that works for Korean as for English."""
    title = _OUTLET.sub("", _TAGS.sub("", title))
    text = unicodedata.normalize("NFKC", title.casefold())
    text = " ".join(re.findall(r"\w+", text))
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = re.compile(
    r"\b(" + "|".join(_WEEKDAYS) + r")\b|(?<!\d)([1-9]|[12]\d|3[01])일", re.IGNORECASE
)


def days_named(lead: str) -> frozenset[str]:
    """The days a lead says things happened on ("on Saturday", "29일"): two reports that
    name only different days are of different events (Wednesday's hearing, Thursday's
    ruling), however alike they read."""
    found = set()
    for m in _DAY.finditer(" ".join(lead.split()[:LEAD_WORDS])):
        found.add((m.group(1) or m.group(2) + "일").casefold())
    return frozenset(found)


def same_story(
    a: Fingerprint,
    b: Fingerprint,
    vector_a: np.ndarray | None = None,
    vector_b: np.ndarray | None = None,
    grams_a: frozenset[str] = frozenset(),
    grams_b: frozenset[str] = frozenset(),
    days_a: frozenset[str] = frozenset(),
    days_b: frozenset[str] = frozenset(),
    *,
    by_meaning: bool = True,
    min_cosine: float = MIN_COSINE,
    min_title_overlap: float = MIN_TITLE_OVERLAP,
    sure_cosine: float = SURE_COSINE,
) -> bool:
    """Two articles seen close enough in time are one story: a near-duplicate by words
    (SimHash and Jaccard), or by meaning: the cosine of their vectors at least
    ``sure_cosine``, or at least ``min_cosine`` with titles sharing ``min_title_overlap``
    of their trigrams; never when their leads name different days (two launches).
    ``by_meaning`` off (or a missing vector) leaves only the word test."""
    if days_a and days_b and days_a.isdisjoint(days_b):
        return False
    if (
        a.features
        and b.features
        and hamming(a.simhash, b.simhash) <= MAX_HAMMING
        and a.similarity(b) >= MIN_JACCARD
    ):
        return True
    if not by_meaning or vector_a is None or vector_b is None:
        return False
    cos = float(np.dot(vector_a, vector_b))
    if cos < min_cosine:
        return False
    return cos >= sure_cosine or overlap(grams_a, grams_b) >= min_title_overlap


@dataclass
class _Recent:
    story_id: int
    print: Fingerprint
    first_seen: datetime
    source: str
    vector: np.ndarray | None = None
    grams: frozenset[str] = frozenset()
    days: frozenset[str] = frozenset()


class StoryDesk:
    """Assigns articles to stories and records which feeds carried each story.

    Keeps the fingerprints of the stories first seen within ``window`` in memory (loaded
    from the database on first use), so a new article is compared with each of them once.
    """

    def __init__(
        self,
        stories: StoryStore,
        *,
        window: timedelta = DEFAULT_WINDOW,
        by_meaning: bool = True,
    ) -> None:
        self.stories = stories
        self.window = window
        self.by_meaning = by_meaning  # False: by words only
        self._recent: list[_Recent] | None = None
        self._matrix: np.ndarray | None = None  # the recent stories' vectors, one row each

    def forget(self) -> None:
        """Drop the in-memory fingerprints (after a rolled-back transaction: they may name
        a story that was never written); they are reloaded from the database."""
        self._recent = None
        self._matrix = None

    def _load(self, now: datetime) -> list[_Recent]:
        if self._recent is None:
            self.stories.prune(before=now - 7 * max(self.window, DEFAULT_WINDOW))
            self._recent = [
                _Recent(
                    s.id,
                    fingerprint(s.title, s.lead),
                    s.first_seen,
                    s.source,
                    from_blob(s.vector),
                    title_grams(s.title),
                    days_named(s.lead),
                )
                for s in self.stories.recent(since=now - self.window)
            ]
            self._matrix = None
        cutoff = now - self.window
        if self._recent and self._recent[0].first_seen < cutoff:
            self._recent = [r for r in self._recent if r.first_seen >= cutoff]
            self._matrix = None
        return self._recent

    def _cosines(self, recent: list[_Recent], vector: np.ndarray) -> np.ndarray:
        """The cosine of ``vector`` with each recent story's (0 where one has none):
        one matrix product, however many stories the window holds."""
        if self._matrix is None or len(self._matrix) != len(recent):
            rows = np.zeros((len(recent), len(vector)), np.float32)  # rebuilt after a prune
            for i, r in enumerate(recent):
                if r.vector is not None and len(r.vector) == len(vector):
                    rows[i] = r.vector
            self._matrix = rows
        cosines: np.ndarray = self._matrix @ vector
        return cosines

    def assign(
        self,
        article_key: int,
        feed_id: int | None,
        article: Article,
        *,
        now: datetime | None = None,
        vector: np.ndarray | None = None,
    ) -> StoryRef:
        """The story of a newly stored article: an earlier story first seen within the
        window whose title and lead it nearly duplicates, or whose meaning (``vector``) it
        shares, else a new story.  (A copy with the same canonical URL is never stored: see
        :meth:`copies`.)  Idempotent: the same article always gets the same story."""
        now = now or utcnow()
        known = self.stories.story_of_article(article_key)
        if known is not None:
            return StoryRef(known)
        recent = self._load(now)
        found: _Recent | None = None
        lead = lead_of(article)
        print_ = fingerprint(article.title, lead)
        grams, days = title_grams(article.title), days_named(lead)
        if print_.features:
            best = 0.0
            for candidate in recent:
                if hamming(candidate.print.simhash, print_.simhash) > MAX_HAMMING:
                    continue
                score = candidate.print.similarity(print_)
                if score >= MIN_JACCARD and score > best:
                    if days and candidate.days and days.isdisjoint(candidate.days):
                        continue  # the same words about another day's event
                    found, best = candidate, score
        if found is None and vector is not None and self.by_meaning and recent:
            # by meaning (see same_story): the closest recent story seen within
            # MEANING_WINDOW that passes the test; one matrix product for the cosines
            cosines = self._cosines(recent, vector)
            since = now - MEANING_WINDOW
            for i in np.argsort(-cosines)[:8]:
                cos = float(cosines[i])
                if cos < MIN_COSINE:
                    break
                candidate = recent[int(i)]
                if candidate.first_seen < since:
                    continue
                if candidate.days and days and candidate.days.isdisjoint(days):
                    continue
                if cos >= SURE_COSINE or overlap(candidate.grams, grams) >= MIN_TITLE_OVERLAP:
                    found = candidate
                    break
        if found is not None:
            self.stories.link(found.story_id, article_key, feed_id, article, now=now)
            return StoryRef(found.story_id, is_copy=True)
        blob = to_blob(vector) if vector is not None else None
        story_id = self.stories.create(article_key, feed_id, article, lead, now=now, vector=blob)
        recent.append(_Recent(story_id, print_, now, article.source, vector, grams, days))
        if self._matrix is not None and len(self._matrix) == len(recent) - 1:
            row = np.zeros((1, self._matrix.shape[1]), np.float32)
            if vector is not None and len(vector) == row.shape[1]:
                row[0] = vector
            self._matrix = np.vstack([self._matrix, row])
        return StoryRef(story_id)

    def copies(
        self,
        feed_id: int,
        articles: Iterable[Article],
        new_ids: Sequence[str],
        *,
        now: datetime | None = None,
    ) -> list[tuple[int, str]]:
        """Articles of this poll that the store did not keep because another feed had them
        (same canonical URL or headline): each is remembered once, and its story and source
        returned as ``(story_id, source)`` for the "Also:" line."""
        now = now or utcnow()
        fresh = set(new_ids)
        found: list[tuple[int, str]] = []
        for article in articles:
            if article.id in fresh or self.stories.has_entry(feed_id, article.id):
                continue
            if self.stories.article_from_feed(feed_id, article.id):
                continue  # this feed's own earlier entry, seen before stories existed
            story_id = self.stories.story_of_copy(article, since=now - self.window)
            if story_id is None:
                continue
            self.stories.link(story_id, None, feed_id, article, now=now)
            found.append((story_id, article.source))
        return found
