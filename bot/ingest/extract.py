"""The main text of an article page, for summaries of matched articles.

trafilatura finds the article body; publisher boilerplate (promo lines, photo
credits, "Read more" prompts) is then removed by
:func:`bot.summary.boilerplate.strip_boilerplate`. The settings were chosen on the
181 pages of ../shared/data/extraction (bench/extraction.py): leaving comments
out and favouring precision scores best (mean token F1 0.965 against 0.948 for
trafilatura's defaults), keeping tables helps more than it hurts, and a short
result is checked against the balanced settings (0.969 in all).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.credentials import page_to_fetch
from bot.errors import ExtractError, NewsalertError
from bot.ingest.fetch import Fetcher, gunzip_if_needed
from bot.ingest.urls import image_url, is_http_url, redact_url
from bot.text import tidy_line, tidy_text, without_known_secrets
from bot.workers import TaskTimeout, WorkerCrashed, WorkerPool

log = logging.getLogger(__name__)

# Measured on the benchmark; see the module docstring.
TRAFILATURA_OPTIONS: dict[str, bool] = {
    "include_comments": False,
    "favor_precision": True,
    "include_tables": True,
}
BALANCED_OPTIONS: dict[str, bool] = {"include_comments": False, "include_tables": True}
SHORT_WORDS = 100  # a text this short may be a fragment: try the balanced settings too
MIN_WORDS = 5  # below this, what was found is not an article
_MAX_HTML = 20 * 1024 * 1024
_META_TITLES = (
    './/meta[@property="og:title"]/@content',
    './/meta[@name="twitter:title"]/@content',
    './/meta[@property="twitter:title"]/@content',
)


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """A page's title and its main text: plain text, paragraphs separated by
    blank lines, boilerplate removed."""

    title: str
    text: str
    image: str = ""  # the page's og:image / twitter:image (http/https), "" when none


_META_IMAGES = (
    './/meta[@property="og:image:secure_url"]/@content',
    './/meta[@property="og:image"]/@content',
    './/meta[@name="og:image"]/@content',
    './/meta[@name="twitter:image"]/@content',
    './/meta[@property="twitter:image"]/@content',
)


def _page_image(tree: object, url: str | None) -> str:
    xpath = getattr(tree, "xpath", None)
    if xpath is None:
        return ""
    for path in _META_IMAGES:
        for value in xpath(path):
            if found := image_url(str(value), url):
                return found
    return ""


def _page_title(tree: object) -> str:
    xpath = getattr(tree, "xpath", None)
    if xpath is not None:
        for path in _META_TITLES:
            for value in xpath(path):
                if title := tidy_line(str(value)):
                    return title
    try:
        from trafilatura.metadata import extract_title

        return tidy_line(extract_title(tree) or "")
    except Exception:  # a helper of trafilatura's: never fail the extraction for a title
        return ""


def _trafilatura(tree: Any, url: str | None, options: dict[str, Any]) -> str | None:
    import trafilatura

    return trafilatura.extract(tree, url=url, output_format="txt", **options)


def _strip_boilerplate(text: str) -> str:
    try:
        from bot.summary.boilerplate import strip_boilerplate
    except ImportError:  # not there yet: the text is still useful without it
        return text
    return strip_boilerplate(text)


def extract_article(html: bytes | str, *, url: str | None = None) -> ExtractedPage:
    """The title and main text of an article page (HTML; gzip bytes allowed).

    Raises :class:`ExtractError` when the page yields no text.
    """
    from trafilatura.utils import load_html

    where = url or "page"
    if isinstance(html, bytes):
        try:
            html = gunzip_if_needed(html, _MAX_HTML)
        except ValueError as e:
            raise ExtractError(f"{where}: {e}") from e
    if not html or not html.strip():
        raise ExtractError(f"{where}: empty page, no text to extract")
    try:
        tree = load_html(html)
    except Exception as e:  # lxml on hostile input
        raise ExtractError(f"{where}: cannot read the HTML: {e}") from e
    if tree is None:
        raise ExtractError(f"{where}: not an HTML page")
    title = _page_title(tree)
    page_url = url if url and is_http_url(url) else None
    image = _page_image(tree, page_url)
    try:
        raw = _trafilatura(tree, page_url, TRAFILATURA_OPTIONS)
        if len((raw or "").split()) < SHORT_WORDS:
            # Favouring precision sometimes keeps only a fragment of a short
            # article; then the balanced settings get a second look.
            wider = _trafilatura(load_html(html), page_url, BALANCED_OPTIONS)
            if len((wider or "").split()) >= 2 * max(1, len((raw or "").split())):
                raw = wider
    except Exception as e:  # trafilatura bugs on odd pages must not stop the pipeline
        raise ExtractError(f"{where}: extraction failed: {type(e).__name__}: {e}") from e
    if not raw:
        raise ExtractError(f"{where}: no article text found")
    # trafilatura gives one paragraph per line; the rest of newsalert separates
    # paragraphs with a blank line.
    text = tidy_text("\n\n".join(line for line in raw.splitlines() if line.strip()))
    text = _strip_boilerplate(text)
    if len(text.split()) < MIN_WORDS:
        # A menu label or a cookie notice is not an article.
        raise ExtractError(f"{where}: no article text found (only {text[:40]!r})")
    return ExtractedPage(title=title, text=text, image=image)


# (page URL as stored, the URLs of the feeds whose origin is trusted for it, the
# :func:`_fetched_digest` of the address fetched)
_Key = tuple[str, tuple[str, ...], bytes]

# this process's own: the cache keys tell the addresses fetched apart without holding one
_DIGEST_KEY = os.urandom(32)


def _fetched_digest(fetched: str) -> bytes:
    """A keyed digest of ``fetched`` (a page's address with the feed's credentials put
    back): a new key (a /reload) is a new digest, so a new fetch, and the key never sits
    in the cache in clear."""
    return hmac.new(_DIGEST_KEY, fetched.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


class FullText:
    """Fetches article pages and extracts their text, with a bounded cache.

    Extraction runs in ``workers`` (``bot.workers``; a thread when none is given) so the
    event loop stays free; one over the pool's time limit counts as a failure. A failure
    is cached too (as the error), so a broken page is not fetched again on
    every match; ``max_entries`` bounds memory.  Pages come from links in feeds,
    so every fetch is guarded (``bot.ingest.address_guard``): only the origins of
    ``feed_urls`` and what the operator allows may be internal addresses.
    """

    def __init__(
        self, fetcher: Fetcher, *, max_entries: int = 512, workers: WorkerPool | None = None
    ) -> None:
        self._fetcher = fetcher
        self._workers = workers
        self._max = max_entries
        self._cache: OrderedDict[_Key, ExtractedPage | NewsalertError] = OrderedDict()
        # pages being fetched: a second caller for the same page waits for the first
        self._pending: dict[_Key, asyncio.Future[ExtractedPage | NewsalertError]] = {}

    async def get(
        self, url: str, *, feed_urls: tuple[str, ...] = (), credentials: str | None = None
    ) -> ExtractedPage:
        """The extracted page at ``url``, a link from the feed(s) at ``feed_urls``, fetched
        once however many ask at the same time.  ``credentials``: the feed's URL as
        fetched, with its credentials, when it has some: a link to the feed's own origin
        is fetched with them in place of ``***`` (``bot.credentials.page_to_fetch``), and
        is named and logged as ``url``, and cached by ``url`` and the address fetched (a
        new key fetches the page again, not what the old one got).  Raises FetchError
        (kind ``refused`` for an internal address) or ExtractError."""
        fetched = page_to_fetch(url, credentials)
        key = (url, feed_urls, _fetched_digest(fetched))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
        elif key in self._pending:
            cached = await asyncio.shield(self._pending[key])
        else:
            future: asyncio.Future[ExtractedPage | NewsalertError] = (
                asyncio.get_running_loop().create_future()
            )
            self._pending[key] = future
            try:
                cached = await self._fetch(url, feed_urls, fetched)
                future.set_result(cached)
            except BaseException:
                # cancelled, or a bug: whoever waits falls back to the feed's own text
                future.set_result(ExtractError(f"{url}: fetching the page was interrupted"))
                raise
            finally:
                del self._pending[key]
            self._cache[key] = cached
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        if isinstance(cached, NewsalertError):
            raise cached.with_traceback(None)
        return cached

    async def _fetch(
        self, url: str, feed_urls: tuple[str, ...], fetched: str
    ) -> ExtractedPage | NewsalertError:
        # ``fetched`` may hold the feed's credentials: a FetchError shows it redacted (each
        # one put back is a credential parameter, or userinfo), the rest names ``url``
        try:
            result = await self._fetcher.fetch_page(fetched, guarded=True, trusted=feed_urls)
            if self._workers is None:
                return await asyncio.to_thread(extract_article, result.body, url=url)
            return await self._workers.run(extract_article, result.body, url=url)
        except (TaskTimeout, WorkerCrashed) as e:
            return _unavailable(url, ExtractError(f"{url}: {e}"))
        except ExtractError as e:  # its words may quote the page: our key, if it repeats it
            return _unavailable(url, ExtractError(without_known_secrets(str(e))))
        except NewsalertError as e:  # a FetchError: its URLs are redacted already
            return _unavailable(url, e)


def _unavailable(url: str, error: NewsalertError) -> NewsalertError:
    """``error`` (why the page at ``url`` gave no text), logged without a secret: the URL
    redacted and every configured secret out of the error's words, for any log handler."""
    log.info("full text of %s unavailable: %s", redact_url(url), without_known_secrets(str(error)))
    return error
