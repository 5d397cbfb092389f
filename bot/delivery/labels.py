"""The fixed wording of alerts and digests in a chat's language, from the gettext catalogs.

``bot.delivery.render`` stays pure and English by default; this is the one place that translates
its :class:`~bot.delivery.render.AlertLabels` (the strings below are extracted for the catalogs,
see ``bot.i18n.SOURCE_MODULES``).
"""

from __future__ import annotations

from functools import cache

from bot.delivery.render import AlertLabels
from bot.i18n import N_, translator

__all__ = ["alert_labels"]

# The short month names of a digest's date, January first (bot.delivery.render.MONTHS).
_MONTHS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)


@cache
def alert_labels(language: str | None) -> AlertLabels:
    """The alert and digest wording for ``language`` ("en", "ko"; English for any other).

    English gives exactly ``AlertLabels()``; ``tests/test_alert_labels.py`` keeps the
    strings here equal to its defaults."""
    tr = translator(language)
    return AlertLabels(
        topic=tr.plain("Topic: {name}"),
        read=tr.plain("Read"),
        also=tr.plain("Also: {sources}"),
        also_more=tr.plain("Also: {sources} and {count} more"),
        footer=tr.plain(
            "Join {name} on Telegram and get the latest breaking news delivered to you."
        ),
        footer_unnamed=tr.plain(
            "Join us on Telegram and get the latest breaking news delivered to you."
        ),
        untitled=tr.plain("(untitled)"),
        digest_hourly=tr.plain("Your news digest, {time}: {stories}"),
        digest_daily=tr.plain("Your daily news digest, {date}: {stories}"),
        story_one=tr.plain("{count} story"),
        story_many=tr.plain("{count} stories"),
        date=tr.plain("{day} {month}"),
        months=tuple(tr.plain(month) for month in _MONTHS),
        continued=tr.plain("{heading} (continued)"),
        translated_from=tr.plain("(translated from {language})"),
        in_language=tr.plain("(summary in {language})"),
        english=tr.plain("English"),
        korean=tr.plain("Korean"),
    )
