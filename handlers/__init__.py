"""Telegram command and update handlers: thin, they parse, call the core, reply."""
