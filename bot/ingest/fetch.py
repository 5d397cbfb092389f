"""Fetching feeds and article pages over HTTP, and reading local feed files.

One :class:`Fetcher` holds one shared ``httpx.AsyncClient`` for the process.
It never parses: it returns the body as bytes with the response headers and
the caching info (ETag, Last-Modified, a hash of the body) for the next poll.

Every failure is a :class:`~bot.errors.FetchError`; its ``kind`` says what
went wrong, so feed health can decide what to do next.  Its ``url`` and message
hold the URL as :func:`shown` gives it (no credentials): an error is logged,
stored, pickled and told to operators, and the caller that fetches again has
the URL it asked for.


=============== ===========================================================
``timeout``      connect/read timeout, or the whole fetch took too long
``network``      connection refused/reset, a body cut short, a bad response
``http``         an HTTP error status (``status`` holds it)
``gone``         410 Gone: the feed has been removed for good
``rate_limited`` 429, or 503 with Retry-After (``retry_after`` in seconds)
``too_large``    the body (or its decompressed form) exceeds ``max_bytes``
``redirects``    too many redirects, a redirect loop, or a bad Location
``decode``       a Content-Encoding that cannot be decoded
``invalid_url``  the URL cannot be fetched at all
``file``         a local path that does not exist or cannot be read
``refused``      a page link (or a redirect) leads to an internal address
                 (``bot.ingest.address_guard``)
=============== ===========================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from bot import __version__
from bot.config.model import FetchConfig
from bot.credentials import (
    forbidden,
    mask_secrets,
    redirect_target,
    secret_values,
    unauthorized,
)
from bot.errors import FetchError
from bot.ingest.address_guard import (
    GUARD,
    TRUSTED_ORIGINS,
    AddressPolicy,
    AddressRefused,
    GuardedTransport,
    origin_of,
)
from bot.text import redact_url, redact_urls

# the one User-Agent of every request we make (``fetch.user_agent`` replaces it)
USER_AGENT = f"newsalert/{__version__} (Telegram news-alert bot)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
GZIP_MAGIC = b"\x1f\x8b"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch brought back.

    ``url`` is the URL asked for, ``final_url`` where the body came from after
    redirects. ``permanent_url`` is set when the feed moved for good: the URL
    reached through the leading run of permanent (301/308) redirects, which is
    what a stored feed URL should become. ``not_modified`` is true for a 304
    answer to a conditional GET; the body is then empty. ``body_hash`` is the
    sha256 hex digest of ``body`` (decompressed), so an unchanged body need not
    be parsed again. ``headers`` has lowercased names.
    """

    url: str
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str = ""
    not_modified: bool = False
    permanent_url: str | None = None


def body_hash(body: bytes) -> str:
    """The sha256 hex digest used as ``FetchResult.body_hash``."""
    return hashlib.sha256(body).hexdigest()


class _TooLarge(Exception):
    pass


_FIRST_PIECE = 256  # bytes of a compressed stream fed first; doubled up to _MAX_PIECE
_MAX_PIECE = 1024 * 1024


def _inflate(data: bytes, wbits: int, cap: int) -> bytes:
    """Decompress ``data`` without ever holding more than ``cap`` + 1 bytes of
    output (a gzip bomb stops here). A truncated stream yields what it has.

    Each stream is fed in pieces that double from a small one: zlib copies what is
    left of its input after a stream ends, and a body of many tiny gzip members
    handed over whole each time would be copied once per member (quadratic)."""
    out = bytearray()
    view = memoryview(data)
    pos, size = 0, _FIRST_PIECE
    decomp = zlib.decompressobj(wbits)
    while pos < len(view):
        piece = view[pos : pos + size]
        pos += len(piece)
        size = min(2 * size, _MAX_PIECE)
        out += decomp.decompress(piece, cap + 1 - len(out))
        if len(out) > cap:
            raise _TooLarge  # (input is left over only when the output limit was met)
        if decomp.eof:
            pos -= len(decomp.unused_data)  # what follows this stream
            # Another gzip member may follow (concatenated gzip files are legal).
            if pos == len(view) or view[pos : pos + len(GZIP_MAGIC)] != GZIP_MAGIC:
                break
            decomp = zlib.decompressobj(wbits)
            size = _FIRST_PIECE
    if not decomp.eof:
        out += decomp.flush()
        if len(out) > cap:
            raise _TooLarge
        if not out:
            raise zlib.error("incomplete compressed stream: no data")
    return bytes(out)


def _deflate_wbits(data: bytes) -> int:
    # "deflate" is meant to be zlib-wrapped, but servers often send raw deflate.
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        return zlib.MAX_WBITS
    return -zlib.MAX_WBITS


def decode_body(body: bytes, content_encoding: str, cap: int) -> bytes:
    """``body`` with its Content-Encoding undone, then a gzip body sent without
    the header (recognised by its magic bytes) decompressed too.

    Raises ``_TooLarge`` past ``cap`` bytes, ``zlib.error``/``ValueError`` on
    an encoding that cannot be decoded.
    """
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, 16 + zlib.MAX_WBITS, cap)
        elif coding == "deflate":
            body = _inflate(body, _deflate_wbits(body), cap)
        elif coding not in ("identity", "none"):
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    if body.startswith(GZIP_MAGIC):
        try:
            body = _inflate(body, 16 + zlib.MAX_WBITS, cap)
        except zlib.error:
            pass  # two bytes that only looked like gzip: keep the body as it is
    return body


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0  # requests holding or waiting for the semaphore


def _netloc(url: str) -> str:
    """The host and port of ``url``, without userinfo."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _host_key(url: str) -> str:
    """The host and port of ``url`` in lower case, without userinfo (a password is no key
    of ours)."""
    return _netloc(url).lower()


class Fetcher:
    """Fetches feeds and pages with one shared HTTP client.

    Usable as ``async with Fetcher() as fetcher:``; otherwise call
    :meth:`aclose` when done. ``transport`` is for tests (``httpx.MockTransport``).
    ``total_timeout`` bounds one whole fetch, redirects and slow bodies included.
    ``address_policy`` is what :meth:`fetch_page` with ``guarded=True`` may reach beyond
    public addresses (``fetch.allow_private``); feeds are fetched wherever they are.
    """

    def __init__(
        self,
        *,
        user_agent: str = USER_AGENT,
        connect_timeout: float = FetchConfig.connect_timeout,
        read_timeout: float = FetchConfig.read_timeout,
        max_bytes: int = FetchConfig.max_bytes,
        max_redirects: int = 5,
        per_host: int = FetchConfig.per_host,
        transport: httpx.AsyncBaseTransport | None = None,
        total_timeout: float | None = 60.0,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.per_host = per_host
        self.total_timeout = total_timeout
        self._hosts: dict[str, _HostSlot] = {}  # the hosts with a request in flight
        self.address_policy = address_policy or AddressPolicy()
        if transport is None:
            transport = GuardedTransport(self.address_policy, per_host=per_host, trust_env=False)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=connect_timeout,
                read=read_timeout,
                write=read_timeout,
                pool=connect_timeout + read_timeout,
            ),
            follow_redirects=False,  # followed by hand, to notice permanent moves
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client and its connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch a feed. With ``etag``/``last_modified`` the GET is conditional
        and a 304 gives ``not_modified=True``. Raises :class:`FetchError`."""
        return await self._fetch(url, FEED_ACCEPT, etag=etag, last_modified=last_modified)

    async def fetch_page(
        self, url: str, *, guarded: bool = False, trusted: tuple[str, ...] = ()
    ) -> FetchResult:
        """Fetch an article page (HTML). Same limits and errors as :meth:`fetch`.

        ``guarded=True`` for a link from a feed's content: every hop to an internal address
        raises :class:`FetchError` (kind ``refused``), except on the origins of the URLs in
        ``trusted`` (the feed's own) and what the address policy allows."""
        extensions: dict[str, object] = {}
        if guarded:
            origins = tuple(o for o in (origin_of(t) for t in trusted) if o is not None)
            extensions = {GUARD: True, TRUSTED_ORIGINS: origins}
        return await self._fetch(url, PAGE_ACCEPT, extensions=extensions)

    @contextlib.asynccontextmanager
    async def _host_slot(self, url: str) -> AsyncIterator[None]:
        """One of the ``per_host`` requests in flight to ``url``'s host; a host's semaphore
        is dropped when its last request ends (article pages come from ever new hosts)."""
        key = _host_key(url)
        slot = self._hosts.get(key)
        if slot is None:
            slot = self._hosts[key] = _HostSlot(asyncio.Semaphore(self.per_host))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if not slot.users and self._hosts.get(key) is slot:
                del self._hosts[key]

    async def _fetch(
        self,
        url: str,
        accept: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        extensions: dict[str, object] | None = None,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._follow(url, headers, etag, last_modified, extensions or {})
        except TimeoutError as e:
            raise FetchError(
                shown(url),
                f"{shown(url)}: no complete answer within {self.total_timeout:g} s",
                kind="timeout",
            ) from e

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
        extensions: dict[str, object],
    ) -> FetchResult:
        current = url
        seen = {url}
        permanent_url: str | None = None
        still_permanent = True
        for _hop in range(self.max_redirects + 1):
            async with self._host_slot(current):
                outcome = await self._one(url, current, headers, extensions)
            if isinstance(outcome, FetchResult):
                return _finish(outcome, url, permanent_url, etag, last_modified)
            status, location = outcome
            try:
                target = urljoin(current, location)
            except ValueError as e:
                raise FetchError(
                    shown(url),
                    f"{shown(current)}: bad redirect Location {redact_urls(repr(location))}",
                    kind="redirects",
                ) from e
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError(
                    shown(url),
                    f"{shown(current)}: redirect to a non-HTTP URL {shown(target)!r}",
                    kind="redirects",
                )
            followed = redirect_target(target, url)  # our secrets: to our origin only
            if followed is None:
                raise FetchError(
                    shown(url),
                    f"{shown(current)}: redirect to another origin "
                    f"({mask_secrets(_netloc(target), secret_values(url))}) with this feed's "
                    "credentials in its address; they go to the configured origin only",
                    kind="redirects",
                )
            target = followed
            if target in seen:
                raise FetchError(
                    shown(url), f"{shown(url)}: redirect loop at {shown(target)}", kind="redirects"
                )
            seen.add(target)
            if still_permanent and status in _PERMANENT:
                permanent_url = target
            else:
                still_permanent = False
            current = target
        raise FetchError(
            shown(url), f"{shown(url)}: more than {self.max_redirects} redirects", kind="redirects"
        )

    async def _one(
        self, url: str, current: str, headers: dict[str, str], extensions: dict[str, object]
    ) -> FetchResult | tuple[int, str]:
        """One request: a result, or (status, Location) for a redirect."""
        try:
            async with self._client.stream(
                "GET", current, headers=headers, extensions=extensions
            ) as resp:
                status = resp.status_code
                if status in _REDIRECTS:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError(
                            shown(url),
                            f"{shown(current)}: redirect {status} without Location",
                            kind="http",
                            status=status,
                        )
                    await _drain(resp)
                    return status, location
                if status == 304:
                    await _drain(resp)
                    return _result(url, str(resp.url), 304, b"", resp.headers, not_modified=True)
                if status >= 400 or status < 200:
                    await _drain(resp)
                    raise _status_error(url, current, status, resp.headers)
                declared = resp.headers.get("content-length")
                if (
                    declared
                    and declared.isdecimal()
                    and declared.isascii()
                    and int(declared) > self.max_bytes
                ):
                    raise _too_large(url, self.max_bytes, f"declares {declared} bytes")
                raw = await _read_capped(url, resp, self.max_bytes)
                try:
                    body = decode_body(
                        raw, resp.headers.get("content-encoding", ""), self.max_bytes
                    )
                except _TooLarge as e:
                    raise _too_large(url, self.max_bytes, "decompressed body") from e
                except (zlib.error, ValueError) as e:
                    raise FetchError(
                        shown(url), f"{shown(current)}: cannot decode the body: {e}", kind="decode"
                    ) from e
                return _result(url, str(resp.url), status, body, resp.headers)
        except FetchError:
            raise
        except AddressRefused as e:
            raise FetchError(
                shown(url), f"{shown(current)}: {redact_urls(str(e))}", kind="refused"
            ) from e
        except httpx.TimeoutException as e:
            raise FetchError(
                shown(url), f"{shown(current)}: timed out ({type(e).__name__})", kind="timeout"
            ) from e
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
            raise FetchError(
                shown(url),
                f"{shown(current)}: cannot fetch this URL: {redact_urls(str(e))}",
                kind="invalid_url",
            ) from e
        except httpx.HTTPError as e:
            what = redact_urls(str(e)) or "network error"
            raise FetchError(
                shown(url), f"{shown(current)}: {type(e).__name__}: {what}", kind="network"
            ) from e
        except OSError as e:
            raise FetchError(
                shown(url), f"{shown(current)}: {redact_urls(str(e))}", kind="network"
            ) from e


def shown(url: str) -> str:
    """``url`` as an error may show it (the message is logged, stored and told to
    operators): no userinfo, ``***`` for credential values (:func:`bot.text.redact_url`)."""
    return redact_url(url)


async def _drain(resp: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small body we do not need, so the connection can be reused
    (httpx closes a connection whose response was left unread)."""
    if resp.is_stream_consumed:
        return
    size = 0
    async for chunk in resp.aiter_raw():
        size += len(chunk)
        if size > limit:
            break


async def _read_capped(url: str, resp: httpx.Response, cap: int) -> bytes:
    """The raw (still encoded) body, stopping as soon as it passes ``cap``."""
    if resp.is_stream_consumed:  # a MockTransport response built with content=
        raw = resp.content
        if len(raw) > cap:
            raise _too_large(url, cap, "body")
        return raw
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_raw():
        size += len(chunk)
        if size > cap:
            raise _too_large(url, cap, "body")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(url: str, cap: int, what: str) -> FetchError:
    return FetchError(
        shown(url), f"{shown(url)}: {what} larger than the {cap}-byte cap", kind="too_large"
    )


def _status_error(url: str, current: str, status: int, headers: httpx.Headers) -> FetchError:
    if status == 410:
        return FetchError(shown(url), f"{shown(current)}: 410 Gone", kind="gone", status=status)
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429 or (status == 503 and retry_after is not None):
        wait = "later" if retry_after is None else f"in {retry_after:g} s"
        return FetchError(
            shown(url),
            f"{shown(current)}: HTTP {status}, rate limited; retry {wait}",
            kind="rate_limited",
            status=status,
            retry_after=retry_after,
        )
    if status == 401:
        reason = unauthorized(url, headers.get("www-authenticate", ""))
        return FetchError(
            shown(url), f"{shown(current)}: HTTP 401: {reason}", kind="unauthorized", status=status
        )
    if status == 403:
        reason = forbidden(url)
        return FetchError(
            shown(url), f"{shown(current)}: HTTP 403: {reason}", kind="forbidden", status=status
        )
    return FetchError(shown(url), f"{shown(current)}: HTTP {status}", kind="http", status=status)


def _result(
    url: str,
    final_url: str,
    status: int,
    body: bytes,
    headers: httpx.Headers | dict[str, str],
    *,
    not_modified: bool = False,
) -> FetchResult:
    lowered = {k.lower(): v for k, v in headers.items()}
    return FetchResult(
        url=url,
        final_url=final_url,
        status=status,
        body=body,
        headers=lowered,
        etag=lowered.get("etag"),
        last_modified=lowered.get("last-modified"),
        body_hash=body_hash(body),
        not_modified=not_modified,
    )


def _finish(
    result: FetchResult,
    url: str,
    permanent_url: str | None,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    changes: dict[str, Any] = {}
    if permanent_url:
        changes["permanent_url"] = permanent_url
    if result.not_modified:
        # A 304 may omit the validators; the ones we sent are still good.
        changes["etag"] = result.etag or etag
        changes["last_modified"] = result.last_modified or last_modified
    return replace(result, **changes) if changes else result


def read_local(path: str | Path, *, max_bytes: int = 50 * 1024 * 1024) -> FetchResult:
    """A local feed or page file as a :class:`FetchResult` (status 200, no
    headers); a gzip file is decompressed. Raises :class:`FetchError` (kind
    ``file``) when it cannot be read, ``too_large`` past ``max_bytes``."""
    name = str(path)
    p = Path(path)
    if name.startswith("file://"):
        p = Path(unquote(urlsplit(name).path))  # file:///my%20feeds/a.xml is "my feeds"
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise _too_large(name, max_bytes, "file")
        raw = p.read_bytes()
    except FetchError:
        raise
    except OSError as e:
        raise FetchError(name, f"cannot read {name}: {e.strerror or e}", kind="file") from e
    try:
        body = decode_body(raw, "", max_bytes)
    except _TooLarge as e:
        raise _too_large(name, max_bytes, "decompressed file") from e
    return FetchResult(
        url=name, final_url=name, status=200, body=body, headers={}, body_hash=body_hash(body)
    )


async def fetch_source(
    path_or_url: str,
    fetcher: Fetcher,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch an http(s) URL with ``fetcher``, or read an existing local file
    (``file://`` URLs too). Anything else raises :class:`FetchError` saying so."""
    value = path_or_url.strip()
    if not value:  # "" would be read as the current folder
        raise FetchError("", "nothing given: write an http(s):// URL or a file's path", kind="file")
    scheme = urlsplit(value).scheme.lower() if "://" in value else ""
    if scheme in ("http", "https"):
        return await fetcher.fetch(value, etag=etag, last_modified=last_modified)
    if scheme == "file" or (not scheme and Path(value).is_file()):
        return await asyncio.to_thread(read_local, value, max_bytes=max(fetcher.max_bytes, 1))
    if scheme:
        raise FetchError(
            shown(value),
            f"{shown(value)}: unsupported scheme {scheme!r}; use http(s) or a file path",
            kind="invalid_url",
        )
    if Path(value).is_dir():
        raise FetchError(
            shown(value),
            f"{shown(value)}: is a folder, not a file; give the files in it, e.g. {Path(value) / '*.html'}",
            kind="file",
        )
    raise FetchError(
        shown(value), f"{shown(value)}: not an http(s) URL and no such file", kind="file"
    )


def gunzip_if_needed(data: bytes, cap: int = 50 * 1024 * 1024) -> bytes:
    """``data`` decompressed when it starts with the gzip magic bytes, else as
    it is. Raises ``ValueError`` when the decompressed size would pass ``cap``."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return _inflate(data, 16 + zlib.MAX_WBITS, cap)
    except zlib.error:
        return data
    except _TooLarge as e:
        raise ValueError(f"gzip body larger than {cap} bytes once decompressed") from e
