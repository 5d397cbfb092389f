"""The command line contract (DESIGN.md): every command has help; JSON Lines in and out."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.helpers import REPO

SEED_LIKE = {
    "id": "seed",
    "title": "Top US, South Korean officials seek to drive momentum in North Korea talks",
    "summary": "<p>SEOUL (REUTERS) - The top United States envoy for North Korea sought to inject "
    "momentum to nuclear talks with Pyongyang, saying Washington and Seoul can achieve "
    "denuclearisation of the Korean peninsula.</p><p>Join ST's Telegram channel and get the "
    "latest breaking news delivered to you.</p>",
    "link": "https://example.org/korea",
    "source": "Reuters",
}
NEAR_MISS = {
    "id": "kpop",
    "title": "K-pop group tops US album chart",
    "summary": "A boy band from Seoul topped the chart.",
}


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def all_commands(group=cli, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


def test_every_command_has_help_text():
    commands = list(all_commands())
    assert len(commands) >= 13
    for path, command in commands:
        assert command.help and command.help.strip(), f"{' '.join(path)} has no help text"
        result = invoke(*path, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_python_dash_m_bot_works_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0 and "demo" in result.stdout


def test_the_offline_tools_do_not_load_the_running_bot():
    # parse, extract, match and summarize are pure tools: no Core, Telegram or scheduler
    code = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        "    cli(['parse', 'bot/data/demo_feed.xml'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = ('bot.app', 'bot.pipeline', 'telegram', 'apscheduler', 'handlers')\n"
        "print(' '.join(m for m in loaded if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert '"feed"' in result.stdout
    assert result.stderr.strip() == ""


def test_demo_keep_db_in_a_missing_folder_says_so(tmp_path):
    target = tmp_path / "missing" / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--keep-db", str(target)])
    assert result.exit_code == 2
    assert f"the folder '{target.parent}' does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_demo_again_on_its_kept_database_says_why_nothing_is_alerted(tmp_path):
    kept = tmp_path / "demo.db"
    level = logging.getLogger("bot").level
    first = CliRunner().invoke(cli, ["demo", "--keep-db", str(kept)])
    again = CliRunner().invoke(cli, ["demo", "--keep-db", str(kept)])
    assert first.exit_code == again.exit_code == 0, again.output
    assert logging.getLogger("bot").level == level  # given back: the next test logs as before
    assert "2 alerts sent (printed above)" in first.stdout
    assert "holds the sample" not in first.stdout and "7 new articles" in first.stdout
    assert "0 new articles, 0 alerts sent." in again.stdout  # not "0 articles read"
    assert f"{kept} holds the sample's articles already" in again.stdout
    assert "give --keep-db a new one" in again.stdout


def test_demo_prints_one_korea_alert_and_nothing_for_the_other_chat(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("to chat 1001:") == 1
    to_bob = [block for block in out.split("─" * 60) if "to chat 1002:" in block]
    assert not any("North Korea" in block for block in to_bob)
    assert "North Korea talks" in out and "denuclearisation" in out.lower()
    assert "Share @newsalert_demo_bot on Telegram" in out  # private chats share the bot
    assert "Join ST" not in out and "PHOTO: REUTERS" not in out
    assert "Samsung" not in out.split("─" * 60)[1]


def test_summarize_contract():
    lines = "\n".join(json.dumps(x) for x in (SEED_LIKE, NEAR_MISS)) + "\n"
    result = invoke("summarize", input=lines)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["seed", "kpop"]
    assert "envoy" in out[0]["summary"] and "Join ST" not in out[0]["summary"]
    assert "<p>" not in out[0]["summary"]


def test_summarize_bad_line_is_reported_and_others_go_on():
    lines = json.dumps(NEAR_MISS) + "\n{not json\n" + json.dumps({"title": "no id"}) + "\n"
    result = CliRunner().invoke(cli, ["summarize"], input=lines)
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[0])["id"] == "kpop"
    assert "line 2: not valid JSON" in result.stderr
    assert 'line 3: missing "id"' in result.stderr


def test_a_null_title_is_a_bad_line_and_one_bad_line_is_told_so():
    lines = json.dumps({"id": "x", "title": None}) + "\n" + json.dumps(NEAR_MISS) + "\n"
    result = CliRunner().invoke(cli, ["match", "--query", "korea"], input=lines)
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["kpop"]
    assert 'line 1: "title" is null; each line needs at least "id" and "title"' in result.stderr
    assert "1 line skipped; fix it and run again." in result.stderr


def test_match_topic_contract():
    lines = "\n".join(json.dumps(x) for x in (SEED_LIKE, NEAR_MISS)) + "\n"
    result = invoke("match", "--topic", "korea-diplomacy", input=lines)
    assert result.exit_code == 0, result.output
    seed, kpop = (json.loads(line) for line in result.output.splitlines())
    assert seed["topic"] == "korea-diplomacy" and seed["matched"] is True and seed["score"] > 0
    assert seed["why"]
    assert kpop["matched"] is False


def test_match_query_contract():
    result = invoke("match", "--query", '"north korea" talks', input=json.dumps(SEED_LIKE) + "\n")
    assert json.loads(result.output)["matched"] is True


def test_match_takes_a_query_as_long_as_a_topic_files_and_says_past_that():
    long = " ".join(f"(korea NEAR/5 talks{i} OR missile)" for i in range(20))  # 700 chars
    result = CliRunner().invoke(cli, ["match", "--query", long], input=json.dumps(SEED_LIKE))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["topic"] == long
    too_long = CliRunner().invoke(cli, ["match", "--query", "korea " * 800], input="")
    assert too_long.exit_code == 2 and "Traceback" not in too_long.output
    assert "the query is too long (4800 characters)" in too_long.stderr


def test_match_needs_exactly_one_of_topic_or_query():
    result = CliRunner().invoke(cli, ["match"], input="")
    assert result.exit_code == 2 and "--topic" in result.stderr


def test_match_unknown_topic_lists_the_known_ones():
    result = CliRunner().invoke(cli, ["match", "--topic", "nope"], input="")
    assert result.exit_code == 2 and "korea-diplomacy" in result.stderr


def test_parse_file_and_failure_line(tmp_path):
    feed = REPO / "bot" / "data" / "demo_feed.xml"
    result = CliRunner().invoke(cli, ["parse", str(feed), str(tmp_path / "missing.xml")])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    articles = [x for x in lines if "error" not in x]
    errors = [x for x in lines if "error" in x]
    assert len(articles) == 7 and all(a["feed"] == str(feed) for a in articles)
    assert (
        articles[0]["link"].startswith("https://www.straitstimes.com/")
        and "utm_" not in articles[0]["link"]
    )
    assert len(errors) == 1 and errors[0]["feed"].endswith("missing.xml")


async def test_parse_over_http(feed_server):
    feed_server.set("/f.xml", (REPO / "bot" / "data" / "demo_feed.xml").read_bytes())
    proc = await __import__("asyncio").create_subprocess_exec(
        sys.executable, "-m", "bot", "parse", feed_server.url("/f.xml"), stdout=-1, stderr=-1
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert len(out.decode().splitlines()) == 7


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_commands_needing_config_say_so(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [command])
    assert result.exit_code == 2 and "--config" in result.stderr
    # it names where it looked
    assert "NEWSALERT_CONFIG" in result.stderr and str(tmp_path / "config.toml") in result.stderr


def test_a_line_that_is_not_utf8_is_reported_and_the_rest_go_on():
    data = json.dumps(NEAR_MISS).encode() + b"\n" + b'{"id": "x", "title": "caf\xe9"}\n'
    result = CliRunner().invoke(cli, ["summarize"], input=data)
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[0])["id"] == "kpop"
    assert "line 2: not UTF-8 text" in result.stderr


@pytest.mark.parametrize("command", [["summarize"], ["match", "--query", "korea"]])
def test_a_line_nested_too_deeply_is_reported_and_the_rest_go_on(command):
    data = "[" * 100_000 + "\n" + json.dumps(NEAR_MISS) + "\n"
    result = CliRunner().invoke(cli, command, input=data)
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[0])["id"] == "kpop"
    assert "line 1: JSON nested too deeply" in result.stderr
    assert "Traceback" not in result.output


def test_counts_are_words_one_and_many():
    from bot.text import plural

    assert plural(1, "channel") == "1 channel"
    assert plural(0, "channel") == "0 channels"
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "new article") == "1 new article"


def test_topics_lists_the_built_in_ones_and_the_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["topics"], ["topics", "list"]):
        out = invoke(*args).stdout
        assert "korea-diplomacy  Korea: diplomacy and security (built in)" in out
        assert "topics. Follow one in Telegram with /subscribe ID" in out
    (tmp_path / "config.toml").write_text(
        '[[topics]]\nid = "volcanoes"\nname = "Volcanoes"\nquery = "volcano OR lava"\n'
    )
    out = invoke("topics").stdout
    assert "volcanoes  Volcanoes (from " in out and "volcano OR lava" in out
    assert "korea-diplomacy" in out


def test_topics_say_which_a_model_decides_and_show_a_query_whole(tmp_path, monkeypatch):
    from bot.matching.topics import builtin_topics

    monkeypatch.chdir(tmp_path)
    whole = builtin_topics()["korea-diplomacy"].query
    assert len(whole) > 160  # the list cuts it short
    out = invoke("topics").stdout
    block = out.split("korea-diplomacy  ", 1)[1].split("\nmarkets", 1)[0]
    assert "decided by a learned model (korea-diplomacy)" in block
    assert whole not in out and "…" in block and "newsalert topics show ID" in out
    assert "decided by" not in out.split("korea-diplomacy  ", 1)[0]  # iran-nuclear: a query
    for args in (["topics", "show", "korea-diplomacy"], ["topics", "--full"]):
        assert whole in invoke(*args).stdout
    shown = invoke("topics", "show", "korea-diplomacy").stdout
    assert "learned model" in shown and "F1" in shown
    result = CliRunner().invoke(cli, ["topics", "show", "nosuch"])
    assert result.exit_code == 2 and "known topics: " in result.stderr


def test_extract_and_parse_of_a_folder_say_it_is_one(tmp_path):
    for command in ("extract", "parse"):
        result = CliRunner().invoke(cli, [command, str(tmp_path)])
        assert result.exit_code == 1
        [line] = [json.loads(x) for x in result.stdout.splitlines()]
        assert "is a folder, not a file" in line["error"] and "*.html" in line["error"]


def test_extract_of_a_file_that_is_no_html_says_so_once_and_trafilatura_only_at_vv(tmp_path):
    """Our own error names the problem; trafilatura's ERROR line beside it only at -vv."""
    page = tmp_path / "bin.dat"
    page.write_bytes(bytes(range(256)) * 2)
    loud = CliRunner().invoke(cli, ["-vv", "extract", str(page)])
    quiet = CliRunner().invoke(cli, ["extract", str(page)])
    assert "trafilatura" in loud.stderr  # the line is still there for a developer
    for result in (loud, quiet):
        assert result.exit_code == 1
        [line] = [json.loads(x) for x in result.stdout.splitlines()]
        assert line["error"].endswith("not an HTML page")
    assert quiet.stderr == ""


def test_a_closed_standard_output_ends_the_command_quietly():
    """`newsalert demo --raw | head -8`: no traceback, no retries, exit 141 (as SIGPIPE)."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--raw"],
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    for _ in range(8):
        proc.stdout.readline()
    proc.stdout.close()  # as head does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 141), err
    assert "Traceback" not in err and "retrying" not in err and "ERROR" not in err, err


def test_match_reads_a_bom_and_names_each_mistake_in_its_input(tmp_path):
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(SEED_LIKE).encode() + b"\n")
    read = CliRunner().invoke(cli, ["match", "--query", "korea", "--input", str(with_bom)])
    assert read.exit_code == 0 and '"matched": true' in read.output, read.output
    listed = CliRunner().invoke(
        cli, ["match", "--query", "korea"], input='{"id": 5, "title": ["list"]}\n'
    )
    assert listed.exit_code == 1
    assert 'line 1: "title" must be text, not a list' in listed.output, listed.output


def test_match_refuses_an_empty_or_exclusions_only_query_and_hints_at_lowercase_and():
    empty = CliRunner().invoke(cli, ["match", "--query", ""], input="")
    assert empty.exit_code != 0 and "the query is empty" in empty.output, empty.output
    only_not = CliRunner().invoke(cli, ["match", "--query", "-sports"], input="")
    assert only_not.exit_code != 0 and "only leaves things out" in only_not.output
    lower = CliRunner().invoke(
        cli, ["match", "--query", "korea and japan"], input=json.dumps(SEED_LIKE) + "\n"
    )
    assert lower.exit_code == 0, lower.output
    assert "did you mean AND?" in lower.output  # a hint: the word stays required
    group = CliRunner().invoke(cli, ["match", "--query", "@zzzz"], input="")
    assert "@north-korea" in group.output and "@south-korea" in group.output, group.output


def test_example_config_gives_the_installed_copy_of_config_example_toml(tmp_path):
    # an installed newsalert has no source checkout, yet every first-run error said
    # "copy config.example.toml"
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    printed = CliRunner().invoke(cli, ["example-config"])
    assert printed.exit_code == 0 and printed.output == example
    target = tmp_path / "config.toml"
    wrote = CliRunner().invoke(cli, ["example-config", str(target)])
    assert wrote.exit_code == 0, wrote.output
    assert target.read_text(encoding="utf-8") == example and "check-config" in wrote.output
    target.write_text("# mine\n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["example-config", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output
    assert target.read_text(encoding="utf-8") == "# mine\n"  # never overwritten
    missing = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "check-config"])
    assert missing.exit_code == 2 and "newsalert example-config" in missing.output
