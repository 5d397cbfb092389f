"""Stage 1, ingest: from a feed's URL to new, deduplicated articles.

- ``scheduler``: the one APScheduler of the process, a job per feed
- ``feed_health``: polling rhythm and feed health, pure decisions over stored state
- ``fetch``: HTTP for feeds and article pages (conditional GET, caps, redirects)
- ``address_guard``: links in feeds never reach internal addresses (SSRF), every hop checked
- ``parse`` and ``jsonfeed``: feed bodies to :class:`~bot.records.Article` records
- ``urls``: canonical URLs, one spelling per address
- ``extract``: an article page's main text (trafilatura)
- ``stories``: one story, many feeds: near-duplicate grouping
"""
