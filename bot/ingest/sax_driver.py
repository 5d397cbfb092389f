"""The SAX driver feedparser reads XML feeds with: Python's expat driver, with expat's
``buffer_text`` on.

Without it expat reports character data in small pieces (at every line break and
entity), and feedparser handles each piece in Python: millions of calls for a large
feed.  feedparser joins the pieces anyway, so its output is the same.  feedparser picks
its SAX driver from ``feedparser.api.PREFERRED_XML_PARSERS``, a list of module names
each with ``create_parser()``; ``bot.ingest.parse`` puts this module first.
"""

from __future__ import annotations

from typing import Any, cast
from xml.sax import expatreader


class BufferedExpatParser(expatreader.ExpatParser):
    """``ExpatParser`` whose expat parser coalesces character data."""

    def reset(self) -> None:
        super().reset()
        cast(Any, self)._parser.buffer_text = True  # expat's own parser, private in the stubs


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    return BufferedExpatParser(*args, **kwargs)
