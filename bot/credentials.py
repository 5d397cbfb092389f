"""Feed credentials: which parts of a feed URL are secret, the URL without them, and
putting them back.

A feed URL may carry credentials: userinfo (``https://user:password@host/rss``) or a
query parameter named like one (``?api_key=...``, ``?token=...``).  The database keeps
a feed by its *public URL* (:func:`public_feed_url`): userinfo removed, the value of
every credential parameter replaced by ``***``, everything else as written, so that
``?id=42`` and ``?id=43`` stay two feeds.  The secret stays in the config file; the
fetcher gets the full URL back in memory with :func:`with_credentials`.

Credential parameter names (any case): ``key``, ``auth``, ``authorization``, ``sig``,
``pass``, ``pwd`` as whole words of the name (``x-api-key``, ``apiKey``), any
word ending in ``key`` (``apikey``, ``subscriptionkey``; not ``keywords``), and any name
containing ``token``, ``secret``, ``passw``, ``credential`` or ``signature``
(``access_token``, ``client_secret``, ``password``, ``X-Amz-Signature``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import SplitResult, quote, quote_plus, unquote, urlsplit, urlunsplit

MASK = "***"

_WORDS = frozenset({"key", "auth", "authorization", "sig", "pass", "pwd"})
_PARTS = ("token", "secret", "passw", "credential", "signature")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def is_credential_name(name: str) -> bool:
    """Whether a query parameter called ``name`` carries a credential (see the module)."""
    lowered = unquote(name).lower()
    if any(part in lowered for part in _PARTS):
        return True
    words = _SEPARATORS.split(_CAMEL.sub("_", unquote(name)).lower())
    return any(w in _WORDS or w.endswith("key") for w in words)


def secret_values(url: str) -> list[str]:
    """The secrets ``url`` carries: its password (or, with no password, its user name: a
    token given as ``https://TOKEN@host``) and the value of each credential parameter, as
    written and %-decoded."""
    try:
        userinfo, params = secrets_of(urlsplit(url))
    except ValueError:
        return []
    user, colon, password = userinfo.partition(":")
    found = [password] if colon else [user]
    found += [value for _name, value in params]
    return [s for s in dict.fromkeys([*found, *map(unquote, found)]) if s]


def without_secrets(url: str, secrets: Collection[str]) -> str:
    """A URL from the content of a feed that has credentials (``secrets``, its
    :func:`secret_values`), without them: a publisher may repeat our key in its links.
    Userinfo goes, credential parameters are masked (as :func:`public_feed_url`) and so
    is a parameter whose value is a secret, and ``***`` replaces each secret that is
    :func:`masked_anywhere` (as written or %-encoded) wherever it is left.  With no
    secrets ``url`` is returned as it is."""
    if not secrets or not url:
        return url
    if has_credentials(url):
        url = public_feed_url(url)
    return mask_secrets(_without_secret_values(url, secrets), secrets)


def _without_secret_values(url: str, secrets: Collection[str]) -> str:
    """``url`` with ``***`` for the value of each query parameter that is one of
    ``secrets`` (as written or %-decoded), whatever the parameter is called."""
    if "?" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    pairs = _split_query(parts.query) if parts.query else []
    wanted = set(secrets)

    def secret(value: str | None) -> bool:
        return bool(value) and value != MASK and (value in wanted or unquote(value or "") in wanted)

    if not any(secret(value) for _name, value in pairs):
        return url
    query = _join_query([(name, MASK if secret(value) else value) for name, value in pairs])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def link_for_readers(url: str) -> str:
    """A link from the content of a feed (:func:`without_secrets` of it) as a reader gets
    it: without the query parameters that masking left holding ``***`` (a credential
    parameter, or one whose value was the feed's secret), which would only make a link
    that works for nobody; the other parameters (``?id=42``) and the fragment as they
    are.  A link with no ``***`` in its query is returned as it is."""
    if MASK not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if MASK not in parts.query:
        return url
    kept = [
        (name, value)
        for name, value in _split_query(parts.query)
        if not (
            value == MASK
            or (value is None and name == MASK)
            or (value and MASK in value and is_credential_name(name))
        )
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, _join_query(kept), parts.fragment))


MIN_SECRET = 8  # a shorter secret is hidden only where a credential goes
LONG_SECRET = 16  # a secret this long is hidden wherever it is, whatever it looks like


def masked_anywhere(secret: str) -> bool:
    """Whether ``secret`` is hidden wherever it is found (a title, a URL's path, a log
    line), not only where a credential goes (userinfo, a credential parameter, a parameter
    whose value it is): 16 characters or more, or 8 or more that are not one ordinary word
    or number (``breaking``, ``Politics``, ``20240501``): text is full of those, and masking
    one would take it out of every headline, link and log line that has it.  What is not
    masked anywhere is a weak secret (the config loader warns about it)."""
    if len(secret) >= LONG_SECRET:
        return True
    if len(secret) < MIN_SECRET:
        return False
    word = secret.isalpha() and (secret.islower() or secret.isupper() or secret.istitle())
    return not (word or secret.isdigit())


def bare_secrets(secrets: Collection[str]) -> list[tuple[str, str]]:
    """(text, ``***``) for each secret that is :func:`masked_anywhere`, as written and
    %-encoded, the longest first: what :func:`mask_secrets` replaces, for a caller that
    replaces them in many texts (the scrub of stored rows, ``storage.scrub``)."""
    found = [s for s in dict.fromkeys(secrets) if masked_anywhere(s)]
    pairs = [(t, MASK) for s in found for t in _spellings(s)]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _spellings(secret: str) -> list[str]:
    """``secret`` as written and as a URL may carry it: %-encoded in upper or lower case
    hex, and as a form does (a space as ``+``)."""

    def lower(text: str) -> str:
        return _PERCENT.sub(lambda m: m.group(0).lower(), text)

    encoded, plus = quote(secret, safe=""), quote_plus(secret, safe="")
    return list(dict.fromkeys([secret, encoded, lower(encoded), plus, lower(plus)]))


def mask_secrets(text: str, secrets: Collection[str]) -> str:
    """``text`` with ``***`` for each secret that is :func:`masked_anywhere` (as written
    or %-encoded) wherever it is: a secret the content of a feed repeats outside a URL's
    credential places (a path, the text of a link, a sentence).  ``secrets`` are the
    feed's :func:`secret_values`.  What new content and the scrub of old rows both use."""
    if not secrets or not text:
        return text
    for old, new in bare_secrets(secrets):
        if old in text:
            text = text.replace(old, new)
    return text


# a URL in text or HTML: an href's value ends at its quote, and a sentence's punctuation
# after it ("see https://x.example/a?id=1: ...", "(https://x.example/a)") is not part of it
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,15}://[^\s\"'<>]*[^\s\"'<>.,:;!?)\]]")


def text_without_secrets(text: str, secrets: Collection[str]) -> str:
    """Text or HTML from the content of a feed that has credentials (``secrets``, its
    :func:`secret_values`) without them: a publisher may repeat our key in the links and
    pictures of its summaries (``<a href="...?api_key=K">``, ``<img src>``, a URL as the
    link's text).  Every URL in ``text`` becomes :func:`without_secrets` of it, then
    ``***`` replaces each secret that is :func:`masked_anywhere` (as written or
    %-encoded) wherever it is left.  Linear in ``len(text)`` for a given feed; with no secrets ``text`` is
    returned as it is."""
    if not secrets or not text:
        return text
    if "://" in text:
        text = URL_IN_TEXT.sub(lambda m: without_secrets(m.group(0), secrets), text)
    return mask_secrets(text, secrets)


def twin_fragment(public: str, rank: int) -> str:
    """What tells apart the ``rank``-th (2, 3, ...) of feeds whose URLs are ``public``
    without their credentials: ``#2`` (``-2`` after a fragment of its own).  Migration
    m021 names twins an older version stored so, in the order they were added, and the
    config loader advises the same for the config's twins, in the file's order."""
    return f"-{rank}" if "#" in public else f"#{rank}"


def lost_userinfo(public: str) -> str:
    """The stored URL of a feed whose ``user:password@`` the database gave up (migration
    m021, for a feed added outside the config file): ``https://***@host/rss``, which
    :func:`has_credentials` sees, so that it is not fetched without them."""
    scheme, sep, rest = public.partition("://")
    return f"{scheme}{sep}{MASK}@{rest}" if sep else public


def _variable(name: str) -> str:
    return "FEED_" + (re.sub(r"[^A-Z0-9]+", "_", unquote(name).upper()).strip("_") or "KEY")


def missing_credentials(url: str) -> str:
    """Why a stored ``url`` (with ``***`` for its credentials) is not fetched while the
    config file does not give them, and exactly what to write there."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "its credentials are not in the config file: list it under [[feeds]]"
    netloc = _host(parts.netloc)
    userinfo = "@" in parts.netloc
    if userinfo:
        netloc = f"USER:${{FEED_PASSWORD}}@{netloc}"
    query = _join_query(
        [
            (name, f"${{{_variable(name)}}}" if value == MASK else value)
            for name, value in _split_query(parts.query)
        ]
        if parts.query
        else []
    )
    wanted = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    what = "its password is" if userinfo and not masked(url) else "its credentials are"
    user = ", with your user name for USER," if userinfo else ""
    return (
        f"{what} not in the config file (the database keeps none): list it under "
        f'[[feeds]] as url = "{wanted}"{user} and set each ${{...}} variable in the '
        "environment (or write the value in its place)"
    )


def unauthorized(url: str, challenge: str = "") -> str:
    """What a 401 from the feed at ``url`` (as fetched) means, for a person, never with
    a secret: with credentials, that the server refused them; without, that it wants
    some and how the config file gives them (``challenge``, the server's
    ``WWW-Authenticate``, says whether a user name and password come first)."""
    if has_credentials(url):
        return (
            "the server refused the credentials the config file gives this feed: check "
            "the user name, password or key in its url (or the ${...} variables it reads)"
        )
    try:
        parts = urlsplit(public_feed_url(url))
    except ValueError:
        return "the server wants credentials: give them in the feed's url in the config file"
    host = _host(parts.netloc)
    basic = urlunsplit(
        (parts.scheme, f"USER:${{FEED_PASSWORD}}@{host}", parts.path, parts.query, "")
    )
    query = f"{parts.query}&" if parts.query else ""
    key = urlunsplit((parts.scheme, host, parts.path, query + "api_key=${FEED_KEY}", ""))
    ways = [
        f'url = "{basic}" for a user name and password (HTTP Basic)',
        f'url = "{key}" for a key, by the parameter name the publisher gives',
    ]
    if challenge and not challenge.strip().lower().startswith("basic"):
        ways.reverse()
    return (
        "the server wants credentials, and the config file gives this feed none: list it "
        f"under [[feeds]] with them, as {' or '.join(ways)}, and set each ${{...}} variable "
        'in the environment (README: "Feeds that need credentials")'
    )


def forbidden(url: str) -> str:
    """What a 403 from the feed at ``url`` (as fetched) means, for a person, never with a
    secret: with credentials, that the server refused the ones the config file gives (a
    key that is wrong, expired or not allowed this feed); without, that the server refuses
    this client, which some publishers do until a key is given."""
    if has_credentials(url):
        return (
            "the server refused the credentials the config file gives this feed (403 "
            "Forbidden): check the user name, password or key in its url (or the ${...} "
            "variables it reads), and that the publisher lets that account read this feed"
        )
    return (
        "the server refuses this client (403 Forbidden): open the URL in a browser; the "
        'publisher may want a key (README: "Feeds that need credentials") or block '
        "this host, its User-Agent (fetch.user_agent) or its region"
    )


def _split_query(query: str) -> list[tuple[str, str | None]]:
    """``a=1&b&c=`` as [(a, "1"), (b, None), (c, "")], spelled as written."""
    pairs: list[tuple[str, str | None]] = []
    for segment in query.split("&"):
        name, eq, value = segment.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def _join_query(pairs: list[tuple[str, str | None]]) -> str:
    return "&".join(name if value is None else f"{name}={value}" for name, value in pairs)


def _host(netloc: str) -> str:
    return netloc.rsplit("@", 1)[-1]


def public_feed_url(url: str) -> str:
    """``url`` without its credentials: no userinfo, and ``***`` for the value of every
    credential parameter (an empty value stays empty).  What the database stores."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL the loader accepts; keep nothing that could be secret
        return re.sub(r"//[^/?#]*@", "//", url).split("?", 1)[0]
    query = _join_query(
        [
            (name, MASK if value and is_credential_name(name) else value)
            for name, value in _split_query(parts.query)
        ]
        if parts.query
        else []
    )
    return urlunsplit((parts.scheme, _host(parts.netloc), parts.path, query, parts.fragment))


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries userinfo or a credential parameter with a value."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url or "?" in url
    return "@" in parts.netloc or any(
        value and is_credential_name(name) for name, value in _split_query(parts.query)
    )


def secrets_of(parts: tuple[str, str, str, str, str]) -> tuple[str, list[tuple[str, str]]]:
    """The credentials of a split URL (``urlsplit``): its userinfo (``""`` when none) and
    its credential parameters with a value other than the mask, (name, value) as written:
    what :func:`public_feed_url` leaves out."""
    _scheme, netloc, _path, query, _fragment = parts
    userinfo = netloc.rsplit("@", 1)[0] if "@" in netloc else ""
    params = [
        (name, value)
        for name, value in _split_query(query)
        if value and is_credential_name(name) and value != MASK
    ]
    return userinfo, params


DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(parts: SplitResult) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a split URL: lowercased, the host without userinfo (an IPv6
    literal in brackets), and None for no port or the scheme's default port.  Raises
    ``ValueError`` for a port that is not one (``:abc``, ``:99999``)."""
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return scheme, host, None if port == DEFAULT_PORTS.get(scheme) else port


def _same_origin(target_url: SplitResult, source_url: SplitResult) -> bool:
    """Whether the userinfo of ``source_url`` may go to ``target_url``: the same origin, or
    the same host moved from http to https on the default ports (never https to http); not
    when either port is not a port."""
    try:
        target, source = url_origin(target_url), url_origin(source_url)
    except ValueError:
        return False
    if target == source:
        return True
    upgrade = (source[0], target[0]) == ("http", "https")
    return upgrade and source[1] == target[1] and source[2] is None and target[2] is None


def masked(url: str) -> bool:
    """Whether ``url`` holds a credential parameter whose value is the mask: not a URL to
    send (the server would get ``***`` for a key)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return MASK in url
    return any(value == MASK and is_credential_name(name) for name, value in _split_query(query))


def with_credentials(public: str, full: str) -> str:
    """``public`` (a stored URL, or where the feed moved) with the credentials of ``full``
    (the config's URL) put back when both are on the same origin (http to https on the
    same host counts): the value of each masked credential parameter that ``full`` has
    by the same name, and ``full``'s userinfo.  A secret goes to the origin the config
    names only: elsewhere nothing is put back, and where a masked value would remain
    (a move to another origin an older version stored with ``***``), ``full`` itself,
    whose server says again where the feed went (:func:`redirect_target`)."""
    try:
        target, source = urlsplit(public), urlsplit(full)
    except ValueError:
        return full if masked(public) else public
    url = _put_back(target, source) if _same_origin(target, source) else public
    return full if masked(url) else url


def redirect_target(target: str, asked: str) -> str | None:
    """Where a redirect to ``target`` (absolute) is followed when fetching ``asked`` (a
    feed's or a page's URL as fetched, credentials included): ``target`` as it is on
    ``asked``'s origin (http to https on the same host counts) or when ``asked`` has no
    secrets; on another origin without userinfo and without each query parameter whose
    value is one of ``asked``'s :func:`secret_values`, whatever its name: a server may
    copy our key into its Location (a query kept on a move), and a secret goes to the
    configured origin only.  What the server made up itself (``id=``, a signed URL's
    ``sig=``) stays.  None when one of the secrets is left where it cannot be taken off
    (the path, the host): not to be followed.  On ``asked``'s origin, a ``target``
    without userinfo gets ``asked``'s (a server never writes ours into its Location: an
    absolute one, or the way back from another origin, would lose HTTP Basic).  For the
    request only."""
    secrets = secret_values(asked)
    try:
        parts, source = urlsplit(target), urlsplit(asked)
    except ValueError:
        return None if secrets else target
    if _same_origin(parts, source):
        userinfo = secrets_of(source)[0]
        if not userinfo or "@" in parts.netloc:
            return target
        netloc = f"{userinfo}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if not secrets:
        return target
    wanted = set(secrets)
    kept = [
        (name, value)
        for name, value in (_split_query(parts.query) if parts.query else [])
        if not (value and (value in wanted or unquote(value) in wanted))
    ]
    url = urlunsplit(
        (parts.scheme, _host(parts.netloc), parts.path, _join_query(kept), parts.fragment)
    )
    return None if mask_secrets(url, secrets) != url else url


def _put_back(target: SplitResult, source: SplitResult) -> str:
    """``target`` with the value of each masked credential parameter that ``source`` has
    by the same name, and ``source``'s userinfo (the caller checked the origin)."""
    user, params = secrets_of(source)
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    query = _join_query(
        [
            (name, values[name].pop(0) if value == MASK and values.get(name) else value)
            for name, value in _split_query(target.query)
        ]
        if target.query
        else []
    )
    netloc = _host(target.netloc)
    if user:
        netloc = f"{user}@{netloc}"
    return urlunsplit((target.scheme, netloc, target.path, query, target.fragment))


def page_to_fetch(link: str, feed_url: str | None) -> str:
    """Where the full text of ``link`` (a link from the content of a feed, as stored:
    :func:`without_secrets`) is fetched.  On the feed's own origin (the scheme, host and
    port of ``feed_url``, the feed's URL as fetched, credentials included) each masked
    credential parameter gets back the value ``feed_url`` has by that name, and the
    userinfo goes along, as to the feed itself; anywhere else, or with no ``feed_url``,
    the link as :func:`link_for_readers` gives it: a publisher never gets ``***`` for a
    key, and another host never the feed's secret (a feed may point anywhere).  What is
    left masked (a parameter the feed's URL has not) is dropped.  For the request only:
    the result may hold a secret."""
    if feed_url:
        try:
            target, source = urlsplit(link), urlsplit(feed_url)
            same = url_origin(target) == url_origin(source)
        except ValueError:
            same = False
        if same:
            link = _put_back(target, source)
    return link_for_readers(link)


def secrets_known(url: str, full: str) -> bool:
    """Whether every credential in ``url`` is one of ``full``'s: then the database can
    keep ``public_feed_url(url)`` and :func:`with_credentials` gives ``url`` back."""
    try:
        mine, theirs = secrets_of(urlsplit(url)), secrets_of(urlsplit(full))
    except ValueError:
        return False
    userinfo, params = mine
    return (not userinfo or userinfo == theirs[0]) and all(p in theirs[1] for p in params)


def feed_key(url: str) -> str:
    """``url`` with its scheme and host in lower case (``HTTPS://WWW.X.COM/rss`` is
    ``https://www.x.com/rss``): how two spellings of one feed address are compared.
    The path, query and ``#fragment`` (which tells twins apart) are kept as written."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    return urlunsplit(
        (scheme, userinfo + at + host.lower(), parts.path, parts.query, parts.fragment)
    )


def same_feed(url: str, known: Iterable[str]) -> tuple[str, str] | None:
    """The address of ``known`` that ``url`` spells differently, and how: ``""`` for the
    same address (scheme and host in any case), ``"trailing /"`` when only ``url``
    ends its path with a ``/`` (a server may answer the two differently, so only this
    direction counts as the same: the listed one has none).  None when none is."""
    return match_feed(url, feed_keys(known))


def feed_keys(known: Iterable[str]) -> dict[str, str]:
    """``known`` by :func:`feed_key`, for :func:`match_feed` (many lookups, one list)."""
    return {feed_key(k): k for k in known}


def match_feed(url: str, keys: Mapping[str, str]) -> tuple[str, str] | None:
    """:func:`same_feed` against ``feed_keys(known)``."""
    for key, how in match_keys(url):
        if key in keys:
            return keys[key], how
    return None


def match_keys(url: str) -> list[tuple[str, str]]:
    """The :func:`feed_key` of each listed address :func:`same_feed` takes ``url`` for, and
    how it is spelled differently: ``url``'s own key (``""``), and its key without a
    trailing ``/`` (``"trailing /"``) when its path ends with one.  To look many URLs up
    in one list, or one URL in many (index them by these keys)."""
    wanted = feed_key(url)
    keys = [(wanted, "")]
    base, hash_, fragment = wanted.partition("#")
    path_end = base.split("?", 1)[0]
    if path_end.endswith("/") and path_end.count("/") > 3:  # not the bare host's "/"
        keys.append((path_end[:-1] + base[len(path_end) :] + hash_ + fragment, "trailing /"))
    return keys
