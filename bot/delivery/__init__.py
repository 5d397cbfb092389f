"""Stage 4, delivery: from a matched, summarised article to messages in chats.

- ``render``: alerts and digests as Telegram HTML (pure)
- ``credit``: who to credit, "Reuters via The Straits Times" (pure)
- ``labels``: the fixed wording of alerts in a chat's language
- ``digest``: when a chat's alerts go out (instant, digests, quiet hours)
- ``sender``: draining the outbox, handling Telegram's refusals
- ``ratelimit``: Telegram's flood limits, kept on our side
- ``sinks`` and ``telegram_sink``: where alerts go (console or the Bot API)
- ``aiohttp_request``: python-telegram-bot's Bot API calls made with aiohttp (lean sends)
- ``terminal``: Telegram HTML rendered for a terminal (the demo's console)
"""
