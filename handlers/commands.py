"""Every handler in one place: the commands (with their menu entries in ``handlers.menu``),
the inline-keyboard buttons, membership changes, the flood guard and the error handler.

``register_handlers(app)`` wires them; ``bot.telegram.build_application`` calls it.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import pick_language, translator
from bot.ops.logs import redacted_traceback
from handlers import admin, delivery, feedback, info, membership, settings, subscriptions
from handlers.common import Context, Handler
from handlers.flood import flood_guard
from handlers.menu import COMMAND_NAMES

log = logging.getLogger(__name__)

CALLBACKS: dict[str, Handler] = {
    "start": info.start,
    "help": info.help_command,
    "topics": info.topics,
    "subscribe": subscriptions.subscribe,
    "unsubscribe": subscriptions.unsubscribe,
    "list": subscriptions.list_command,
    "latest": info.latest,
    "filter": subscriptions.filter_command,
    "test": info.test_command,
    "why": feedback.why,
    "feedback": feedback.feedback_command,
    "settings": settings.settings,
    "digest": delivery.digest,
    "timezone": delivery.timezone,
    "quiet": delivery.quiet,
    "pause": settings.pause,
    "resume": settings.resume,
    "feeds": info.feeds,
    "language": settings.language,
    "footer": settings.footer,
    "template": settings.template,
    "stats": admin.stats,
    "feedstatus": admin.feedstatus,
    "reload": admin.reload,
}
assert set(CALLBACKS) == set(COMMAND_NAMES), "every command needs a menu entry and a callback"

# Commands come as messages, and as posts in a channel (only its administrators post).
_COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler of the bot to ``app``."""
    app.add_handler(TypeHandler(Update, flood_guard), group=-1)
    for name, callback in CALLBACKS.items():
        app.add_handler(CommandHandler(name, callback, filters=_COMMAND_UPDATES))
    app.add_handler(CallbackQueryHandler(subscriptions.unsubscribe_button, pattern=r"^u:"))
    app.add_handler(CallbackQueryHandler(settings.settings_button, pattern=r"^s:"))
    app.add_handler(CallbackQueryHandler(settings.language_button, pattern=r"^l:"))
    app.add_handler(CallbackQueryHandler(feedback.feedback_button, pattern=r"^f:"))
    app.add_handler(CallbackQueryHandler(_stale_button))
    app.add_handler(ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.chat_migrated))
    app.add_handler(MessageHandler(filters.COMMAND & _COMMAND_UPDATES, info.other_command))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
            info.plain_text,
        )
    )
    app.add_error_handler(error_handler)


async def _stale_button(update: Update, context: Context) -> None:
    """A button from an older version of a keyboard: answer it so the spinner stops."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def error_handler(update: object, context: Context) -> None:
    """Log the exception first, then tell the person something short and useful."""
    # not exc_info: a Bot API error's words may hold a URL with the token, and exc_info
    # reaches every log handler as it is (only ours redacts)
    error = context.error
    log.error("error while handling an update\n%s", redacted_traceback(error) if error else "?")
    if not isinstance(update, Update):
        return
    user = update.effective_user
    tr = translator(pick_language(user.language_code if user else None))
    text = tr.plain("Sorry, something went wrong on my side. Please try again in a minute.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text, do_quote=False)
    except Exception:  # the reply itself may be what failed
        log.debug("could not tell the user about the error", exc_info=True)
