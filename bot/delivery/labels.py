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
        matched=tr.plain("Matched: {terms}"),
        read=tr.plain("Read"),
        also=tr.plain("Also: {sources}"),
        also_more=tr.plain("Also: {sources} and {count} more"),
        footer=tr.plain(
            "Join {name} on Telegram and get the latest breaking news delivered to you."
        ),
        footer_unnamed=tr.plain(
            "Join us on Telegram and get the latest breaking news delivered to you."
        ),
        footer_private=tr.plain(
            "Share {name} on Telegram with friends who want the latest breaking news delivered to them."
        ),
        footer_private_unnamed=tr.plain(
            "Share this bot on Telegram with friends who want the latest breaking news delivered to them."
        ),
        untitled=tr.plain("(untitled)"),
        digest_hourly=tr.plain("Your news digest, {time}: {stories}"),
        digest_daily=tr.plain("Your daily news digest, {date}: {stories}"),
        story_one=tr.plain("{count} story"),
        story_many=tr.plain("{count} stories"),
        date=tr.plain("{day} {month}"),
        when=tr.plain("{day} {month} {year} {time} {zone}"),
        months=tuple(tr.plain(month) for month in _MONTHS),
        continued=tr.plain("{heading} (continued)"),
        via=tr.plain("{wire} via {source}"),
        breaking=tr.plain("Breaking · {sources}"),
        breaking_more=tr.plain("{sources} and {count} more"),
        topic_closed=tr.plain(
            "For this group's admins: a forum topic that alerts are posted in is closed, so "
            "Telegram does not let me post there. Its alerts come here to General until the "
            "topic is reopened; the subscriptions are kept. Reopen it, or /subscribe again "
            "inside another topic."
        ),
        topic_gone=tr.plain(
            "For this group's admins: a forum topic that alerts are posted in was deleted. Its "
            "alerts come here to General; the subscriptions are kept. To have them in a topic "
            "again, /subscribe inside a topic."
        ),
        translated_from=tr.plain("(translated from {language})"),
        in_language=tr.plain("(summary in {language})"),
        english=tr.plain("English"),
        korean=tr.plain("Korean"),
    )
