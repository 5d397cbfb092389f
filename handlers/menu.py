"""The commands as people see them: one line for Telegram's command menu, an example for
/help, in each language.  ``handlers.commands`` registers a callback for each;
:func:`set_command_menu` puts the menu into Telegram (at start and after /reload)."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Translator, translator
from bot.matching.parser import QUERY_HELP

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandInfo:
    name: str
    description: str  # one line for the menu, marked with N_ and translated when shown
    example: str  # typed as is, shown in /help
    operator: bool = False  # only for telegram.admins


COMMAND_INFO: tuple[CommandInfo, ...] = (
    CommandInfo("start", N_("Welcome, and how to get alerts"), "/start"),
    CommandInfo("help", N_("Every command and the filter language, with examples"), "/help"),
    CommandInfo("topics", N_("The topics you can follow"), "/topics"),
    CommandInfo("subscribe", N_("Follow a topic or your own filter"), "/subscribe korea-diplomacy"),
    CommandInfo("unsubscribe", N_("Stop following one, or all"), "/unsubscribe korea-diplomacy"),
    CommandInfo("list", N_("What this chat follows, with its filters and settings"), "/list"),
    CommandInfo("latest", N_("The five latest matching stories"), "/latest korea-diplomacy"),
    CommandInfo("filter", N_("Narrow or widen something you follow"), "/filter 1 -sports"),
    CommandInfo(
        "test",
        N_("Try a filter on recent stories before following it"),
        '/test "north korea" talks',
    ),
    CommandInfo("why", N_("Why an alert was sent (reply to it)"), "/why"),
    CommandInfo("feedback", N_("What your 👍/👎 taught, and clearing it"), "/feedback clear"),
    CommandInfo("settings", N_("Topics, instant or digest, link previews, language"), "/settings"),
    CommandInfo(
        "digest", N_("Alerts at once, or in an hourly or daily digest"), "/digest daily 08:00"
    ),
    CommandInfo(
        "timezone",
        N_("Your time zone, for the times in alerts, digests and quiet hours"),
        "/timezone Asia/Seoul",
    ),
    CommandInfo("quiet", N_("Quiet hours: hold alerts at night"), "/quiet 23:00-07:00"),
    CommandInfo("pause", N_("Pause alerts in this chat"), "/pause"),
    CommandInfo("resume", N_("Resume alerts"), "/resume"),
    CommandInfo("feeds", N_("The news sources I read"), "/feeds"),
    CommandInfo("language", N_("Choose English or Korean"), "/language ko"),
    CommandInfo(
        "footer",
        N_("The line under each alert in a group or channel"),
        "/footer Join @mychannel for more",
    ),
    CommandInfo(
        "template",
        N_("Which parts alerts here show, in which order"),
        "/template title, source, summary, button",
    ),
    CommandInfo(
        "stats",
        N_("Operator: feeds, chats, alerts sent and failed, queue"),
        "/stats",
        operator=True,
    ),
    CommandInfo("feedstatus", N_("Operator: each feed's health"), "/feedstatus", operator=True),
    CommandInfo("reload", N_("Operator: re-read the config file"), "/reload", operator=True),
)

COMMAND_NAMES = tuple(c.name for c in COMMAND_INFO)


def command_menu(language: str, *, operator: bool = False) -> list[BotCommand]:
    """The command menu in ``language`` (with the operator's commands for ``operator``)."""
    tr = translator(language)
    return [
        BotCommand(c.name, tr.plain(c.description))
        for c in COMMAND_INFO
        if operator or not c.operator
    ]


def help_text(tr: Translator, *, operator: bool = False) -> str:
    """/help: every command with an example, then the filter language (Telegram HTML)."""
    lines = [
        tr._(
            "<b>newsalert</b> sends a short alert, with a summary, when a news story matches "
            "a topic or a filter you follow."
        ),
        "",
        tr._("<b>Commands</b>"),
    ]
    for info in COMMAND_INFO:
        if info.operator and not operator:
            continue
        lines.append(f"/{info.name} — {html.escape(tr.plain(info.description), quote=False)}")
        if info.example != f"/{info.name}":
            lines.append(f"    <code>{html.escape(info.example, quote=False)}</code>")
    lines += [
        "",
        tr._(
            "In a channel you manage, write to me privately and name it: "
            "<code>/subscribe @mychannel korea-diplomacy</code>. In a group, its "
            "administrators choose what it follows."
        ),
        "",
        tr._("<b>Filters</b>"),
        f"<pre>{html.escape(tr.plain(QUERY_HELP), quote=False)}</pre>",
    ]
    return "\n".join(lines)


async def set_command_menu(bot: Bot, operators: Iterable[int] = ()) -> None:
    """The command menu in each language (English by default), and for each operator the
    same menu with the operator commands."""
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        await bot.set_my_commands(command_menu(language), language_code=code)
    for user_id in operators:
        for language in LANGUAGES:
            code = None if language == DEFAULT_LANGUAGE else language
            try:
                await bot.set_my_commands(
                    command_menu(language, operator=True),
                    scope=BotCommandScopeChat(user_id),
                    language_code=code,
                )
            except TelegramError as e:  # an operator who never wrote to the bot
                log.info("no operator menu for %s yet: %s", user_id, e)
                break
