"""Telegram command and update handlers: thin, they parse, call the core, reply.

- ``commands``: every handler wired (``register_handlers``); ``menu``: the command menu and /help
- ``common``: the turn (chat, language, reply), admin checks, channels named from a private chat
- ``info``: /start, /help, /topics, /feeds, /latest, /test, unknown commands
- ``subscriptions``: /subscribe, /unsubscribe, /list, /filter
- ``settings``: /settings, /pause, /resume, /language, /footer
- ``delivery``: /digest, /timezone, /quiet
- ``admin``: the operator's /stats, /feedstatus, /reload
- ``membership``: the bot added to, removed from or blocked in a chat
- ``flood``: the per-user command rate limit
"""
