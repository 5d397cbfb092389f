"""Operations: what an operator uses to run and watch the bot.

- ``health`` and ``metrics``: ``/healthz`` and Prometheus ``/metrics``
- ``logs``: one event per line, secrets never shown
- ``doctor``: check everything the bot needs
- ``feed_admin`` and ``opml``: managing feeds from the command line

``newsalert demo`` wires the whole bot, so it lives above the stages, in ``bot.demo``.
"""
