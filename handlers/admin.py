"""Operator commands (``telegram.admins`` only): /stats, /feedstatus, /reload."""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable

from bot.i18n import Html
from bot.records import DeliveryState
from bot.service import reports
from handlers.common import Turn, command
from handlers.info import FEED_STATUS, when
from handlers.menu import set_command_menu


def operator_only(func: Callable[[Turn], Awaitable[None]]) -> Callable[[Turn], Awaitable[None]]:
    """Refuse politely unless the sender is an operator, and only in a private chat."""

    @functools.wraps(func)
    async def run(turn: Turn) -> None:
        if not turn.is_operator:
            await turn.reply(
                turn._("That command is for the bot's operators. /help lists what you can do.")
            )
            return
        if not turn.is_private:
            await turn.reply(turn._("Operator commands work in a private chat with me."))
            return
        await func(turn)

    return run


def _counts(turn: Turn, counts: dict[str, int]) -> str:
    return turn._(
        "{sent} sent, {failed} failed, {skipped} skipped",
        sent=counts.get(DeliveryState.SENT, 0),
        failed=counts.get(DeliveryState.FAILED, 0),
        skipped=counts.get(DeliveryState.SKIPPED, 0),
    )


@command
@operator_only
async def stats(turn: Turn) -> None:
    """Feeds and their health, chats, alerts sent and failed, queue depth."""
    figures = reports.stats(turn.core.store)
    feeds = ", ".join(
        f"{html.escape(turn.tr.plain(FEED_STATUS.get(k, k)), quote=False)} {n}"
        for k, n in sorted(figures.feeds.items())
    )
    chats = ", ".join(f"{k} {n}" for k, n in sorted(figures.chats_active.items()))
    lines = [
        turn._("<b>Statistics</b>"),
        turn._(
            "Feeds: {total} ({detail})",
            total=sum(figures.feeds.values()),
            detail=Html(feeds or "-"),
        ),
        turn._(
            "Chats: {active} active ({detail}), {inactive} gone, {paused} paused",
            active=sum(figures.chats_active.values()),
            detail=chats or "-",
            inactive=figures.chats_inactive,
            paused=figures.chats_paused,
        ),
        turn._("Subscriptions: {count}", count=figures.subscriptions),
        turn._("Alerts in the last hour: {counts}", counts=Html(_counts(turn, figures.last_hour))),
        turn._("Alerts in the last day: {counts}", counts=Html(_counts(turn, figures.last_day))),
        turn._(
            "Waiting to be sent: {count}; held for digests: {held}",
            count=figures.queue,
            held=figures.held,
        ),
        turn._("Stories stored in the last day: {count}", count=figures.articles_day),
    ]
    await turn.reply("\n".join(lines))


@command
@operator_only
async def feedstatus(turn: Turn) -> None:
    """Each configured feed's health."""
    rows = reports.feed_rows(turn.core.store, turn.core.config.feeds)
    if not rows:
        await turn.reply(turn._("No feeds are configured."))
        return
    lines = [turn._("<b>Feeds</b>")]
    for row in rows:
        lines.append("")
        lines.append(
            f"<b>{html.escape(row.name, quote=False)}</b> — "
            f"{html.escape(turn.tr.plain(FEED_STATUS.get(row.status, row.status)), quote=False)}"
        )
        lines.append(f"<code>{html.escape(row.url, quote=False)}</code>")
        lines.append(
            turn.n_(
                "last read {last}; next {next}; {count} story seen",
                "last read {last}; next {next}; {count} stories seen",
                row.entries,
                last=when(turn, row.last_success) or "-",
                next=when(turn, row.next_poll) or "-",
            )
        )
        if row.failures:
            lines.append(
                turn.n_(
                    "{count} failure in a row: {error}",
                    "{count} failures in a row: {error}",
                    row.failures,
                    error=row.last_error[:300],
                )
            )
    await turn.reply_lines(lines)


@command
@operator_only
async def reload(turn: Turn) -> None:
    """Re-read the config file: apply it, or keep the current one and say why."""
    outcome = await turn.core.reload()
    if not outcome.ok:
        problem = Html(
            "\n".join(
                f"<code>{html.escape(problem, quote=False)}</code>"
                for problem in outcome.problems or (outcome.problem,)
            )
        )
        if outcome.problems:  # the file's mistakes, each "key: what to do"
            text = turn._(
                "I kept the current configuration: the file has a problem.\n{problem}",
                problem=problem,
            )
        else:  # no file, or the file is fine and applying it failed (the problem says why)
            text = turn._("I kept the current configuration.\n{problem}", problem=problem)
        await turn.reply(text)
        return
    await set_command_menu(turn.context.bot, turn.core.config.telegram.admins)  # admins may change
    lines = [
        turn._(
            "Configuration reloaded: {feeds}, {topics}, {channels}.",
            feeds=Html(turn.n_("{count} feed", "{count} feeds", outcome.feeds)),
            topics=Html(turn.n_("{count} topic", "{count} topics", outcome.topics)),
            channels=Html(turn.n_("{count} channel", "{count} channels", outcome.channels)),
        )
    ]
    if outcome.feeds_added or outcome.feeds_removed:
        lines.append(
            turn._(
                "Feeds added: {added}; removed: {removed}.",
                added=outcome.feeds_added,
                removed=outcome.feeds_removed,
            )
        )
    if outcome.topics_changed:
        lines.append(
            turn._(
                "Topics added, changed or removed: {topics}.",
                topics=", ".join(outcome.topics_changed),
            )
        )
    if outcome.needs_restart:
        lines.append(
            turn._(
                "These take effect only after a restart, so the running values stay: {keys}.",
                keys=", ".join(outcome.needs_restart),
            )
        )
    for warning in outcome.warnings:
        lines.append(turn._("Warning: {text}", text=warning))
    await turn.reply("\n".join(lines))
