"""The exception tree of newsalert.

Every error newsalert raises on purpose derives from :class:`NewsalertError`.
Foreign exceptions (httpx, feedparser, sqlite3, telegram) are wrapped at the
boundary and chained with ``raise ... from e``::

    NewsalertError
    ├── ConfigError          bad config file: every problem found, each with its key
    ├── FeedError            a feed could not be fetched or parsed (carries the url)
    │   ├── FetchError       network, HTTP status, size cap, redirects
    │   └── ParseError       the body is not a feed we can read
    ├── ExtractError         an article page could not be turned into text
    ├── QueryError           a malformed filter query (carries position and hint)
    ├── StorageError         the database could not be opened or migrated
    └── SendError            one message could not be sent; its subclasses, in
                             ``bot.delivery.sinks``, tell the sender what to do next
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


class NewsalertError(Exception):
    """Base class of every error newsalert raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled as the message and the attributes, whatever the subclass's __init__
        # asks for: errors cross from worker processes to the bot (bot.workers).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(
    cls: type[NewsalertError], args: tuple[object, ...], state: dict[str, object]
) -> NewsalertError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in the configuration: where (``feeds[2].interval``) and what to do."""

    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}" if self.key else self.problem


class ConfigError(NewsalertError):
    """The configuration is invalid. ``problems`` lists every mistake found, in the file's
    order; ``key`` and ``problem`` are the first one's."""

    def __init__(
        self, key: str = "", problem: str = "", *, problems: Iterable[ConfigProblem] = ()
    ) -> None:
        self.problems: list[ConfigProblem] = list(problems) or [ConfigProblem(key, problem)]
        self.key = self.problems[0].key
        self.problem = self.problems[0].problem
        super().__init__("\n".join(str(p) for p in self.problems))


class FeedError(NewsalertError):
    """A feed could not be fetched or parsed."""

    def __init__(self, url: str, message: str, *, kind: str = "error") -> None:
        self.url = url
        self.kind = kind
        super().__init__(message)


class FetchError(FeedError):
    """Fetching failed: network error, timeout, bad HTTP status, size cap."""

    def __init__(
        self,
        url: str,
        message: str,
        *,
        kind: str = "network",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(url, message, kind=kind)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    """The body is not a feed that can be read."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(url, message, kind="parse")


class ExtractError(NewsalertError):
    """An article page could not be turned into text."""


class QueryError(NewsalertError):
    """A malformed query. ``position`` is a 0-based offset into the query.

    ``message`` and ``hint`` are English templates filled with ``values``
    ("unknown field '{field}:'"), so that a chat reply can translate them
    (:meth:`describe`); ``str()`` is the English text."""

    def __init__(
        self,
        message: str,
        *,
        position: int = 0,
        hint: str = "",
        values: Mapping[str, object] | None = None,
    ) -> None:
        self.position = position
        self.template = message
        self.hint_template = hint
        self.values = dict(values or {})
        self.message = message.format(**self.values)
        self.hint = hint.format(**self.values)
        text = f"{self.message} (at position {position})"
        if self.hint:
            text += f". {self.hint}"
        super().__init__(text)

    def describe(self, translate: Callable[..., str], where: str) -> str:
        """The error in another language: ``translate(template, **values)`` fills a
        template; ``where`` is the translated "(at position {position})" template."""
        text = (
            translate(self.template, **self.values) + " " + translate(where, position=self.position)
        )
        if self.hint_template:
            text += ". " + translate(self.hint_template, **self.values)
        return text


class StorageError(NewsalertError):
    """The database could not be opened, migrated or written."""


class OutputClosed(BaseException):
    """The reader of standard output went away (``newsalert demo | head``): the command
    ends quietly.  A BaseException, so that no ``except Exception`` that keeps a loop
    going (the sender's retries) takes it for a failed send."""
