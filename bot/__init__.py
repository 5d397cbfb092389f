"""newsalert: a Telegram news-alert bot."""

__version__ = "0.1.0"
