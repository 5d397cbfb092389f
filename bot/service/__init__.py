"""What people can do: the use cases that chat handlers and the command line share.

Plain functions over the store; no SQL, nothing Telegram-specific. Each returns a small result
record; wording the reply is the caller's job.

- ``chats``: registering chats, language, pause, footer, operators
- ``subscriptions``: following topics and filters
- ``settings``: a chat's delivery settings (digests, time zone, quiet hours)
- ``search``: /latest and /test over recent articles
- ``reports``: figures for operators (/stats, the feed list)
"""
