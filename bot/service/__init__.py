"""What people can do: the use cases behind the chat commands (``bot.demo`` uses them too).

Plain functions over the store; no SQL, nothing Telegram-specific. They return records (a
small result record where a command can be refused, with a ``problem`` code); wording the
reply, in the reader's language, is the caller's job.

- ``chats``: registering chats, language, pause, footer, operators
- ``subscriptions``: following topics and filters
- ``settings``: a chat's delivery settings (digests, time zone, quiet hours)
- ``search``: /latest and /test over recent articles
- ``reports``: figures for operators (/stats, the feed list)
"""
