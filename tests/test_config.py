"""Config loading: every mistake names the key and what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.durations import parse_interval
from bot.config.loader import (
    SECRET_KEYS,
    TOKEN_ENV,
    WEBHOOK_SECRET_ENV,
    check_token,
    config_from_dict,
    load_config,
)
from bot.config.model import Config
from bot.config.reload import plan_reload
from bot.errors import ConfigError
from tests.helpers import REPO

GOOD_TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def error_for(data: dict, env: dict | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, env=env or {})
    return info.value


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (300, 300.0),
        ("300", 300.0),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        (1.5, 1.5),
        ("500ms", 0.5),  # "ms" is not "m" followed by a stray "s"
        ("1m500ms", 60.5),
    ],
)
def test_intervals_accept_seconds_and_units(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "5x", "m5", "-1", 0, True, "1h 5", [5], "1e400", float("inf"), "400d"]
)
def test_bad_intervals_are_refused_with_an_example(text):
    with pytest.raises(ValueError) as info:
        parse_interval(text)
    assert any(hint in str(info.value) for hint in ("90s", "zero", "365d"))


def test_a_huge_duration_is_read_in_one_pass():
    # digits with no unit after them, and many small parts: each read once (linear time)
    with pytest.raises(ValueError, match="not a duration"):
        parse_interval("9" * 200_000 + "x")
    with pytest.raises(ValueError, match="not a duration"):
        parse_interval("1m" * 100_000 + "9" * 100_000)
    assert parse_interval("1s" * 200_000) == 200_000.0


def test_example_config_is_valid():
    config = load_config(REPO / "config.example.toml", env={TOKEN_ENV: GOOD_TOKEN})
    assert config.feeds and config.channels
    assert "korea-diplomacy" in config.topics
    assert config.feeds[0].interval == 600.0


def test_empty_config_has_sensible_defaults():
    config = config_from_dict({}, env={})
    assert config.storage.path == "newsalert.db"
    assert config.telegram.base_url == "https://api.telegram.org/bot"
    assert not config.needs_telegram


def test_unknown_key_is_named():
    e = error_for({"feeds": [{"url": "https://a.example/rss", "intervall": "5m"}]})
    assert e.key == "feeds[0].intervall"
    assert "unknown key" in str(e)


def test_unknown_section_is_named():
    assert error_for({"telegarm": {}}).key == "telegarm"


def test_wrong_type_is_named():
    e = error_for({"alerts": {"link_preview": "yes"}})
    assert e.key == "alerts.link_preview" and "true or false" in str(e)


def test_bad_url_is_named():
    e = error_for({"feeds": [{"url": "ftp://a.example/rss"}]})
    assert e.key == "feeds[0].url" and "http" in str(e)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://reader:s3cretpassw0rd@news.example:99999/rss", "not a number from 1 to 65535"),
        ("https://news.example:rss/feed", "not a number from 1 to 65535"),
        ("https://reader:s3cretpassw0rd@", "has no host name"),
        ("https://:8080/rss", "has no host name"),
    ],
)
def test_a_url_without_a_host_or_with_a_bad_port_is_refused_at_load(url, problem):
    e = error_for({"feeds": [{"url": url}]})
    assert e.key == "feeds[0].url" and problem in str(e) and "https://host:8080/path" in str(e)
    assert "s3cretpassw0rd" not in str(e)
    for fine in (
        "https://news.example:8443/rss",
        "http://[::1]:8081/rss",
        "https://news.example:/rss",
    ):
        assert config_from_dict({"feeds": [{"url": fine}]}, env={}).feeds[0].url == fine


def test_a_feed_listed_twice_in_other_letters_is_refused_with_both_places():
    twice = ["https://news.example/rss", "HTTPS://News.Example/rss"]
    e = error_for({"feeds": [{"url": url} for url in twice]})
    assert e.key == "feeds[1].url" and "the same feed as feeds[0]" in str(e)
    assert "remove one of the two" in str(e)
    exact = error_for({"feeds": [{"url": twice[0]}, {"url": twice[0]}]})
    assert "is already listed as feeds[0]" in str(exact)
    # a path is another feed in other letters
    paths = [{"url": "https://news.example/rss"}, {"url": "https://news.example/RSS"}]
    assert len(config_from_dict({"feeds": paths}, env={}).feeds) == 2


def test_an_unknown_section_names_the_one_meant():
    e = error_for({"feed": [{"url": "https://a.example/rss"}]})  # [[feed]] for [[feeds]]
    assert e.key == "feed" and "unknown section; did you mean 'feeds'?" in str(e)
    other = error_for({"weather": {}})
    assert "did you mean" not in str(other) and "the sections are: telegram" in str(other)


def test_bad_interval_is_named():
    e = error_for({"feeds": [{"url": "https://a.example/rss", "interval": "soon"}]})
    assert e.key == "feeds[0].interval" and "5m" in str(e)


def test_short_interval_is_honoured_with_a_warning():
    config = config_from_dict(
        {"feeds": [{"url": "https://a.example/rss", "interval": "5s"}]}, env={}
    )
    assert config.feeds[0].interval == 5.0
    assert any("very short" in w for w in config.warnings)


def test_many_short_intervals_make_one_warning_naming_the_first_few():
    feeds = [{"url": f"https://a{n}.example/rss", "interval": "5s"} for n in range(10)]
    config = config_from_dict({"feeds": feeds}, env={})
    assert len(config.warnings) == 1
    assert "10 feeds" in config.warnings[0]
    assert "feeds[0], feeds[1], feeds[2], and 7 more" in config.warnings[0]


def test_channel_with_unknown_topic_is_named():
    e = error_for({"channels": [{"chat_id": -1001, "topics": ["korea-diplomacy", "nope"]}]})
    assert e.key == "channels[0].topics[1]" and "nope" in str(e)


def test_duplicate_feed_is_refused():
    url = "https://a.example/rss"
    assert error_for({"feeds": [{"url": url}, {"url": url}]}).key == "feeds[1].url"


def test_topic_with_bad_id_is_refused():
    e = error_for({"topics": [{"id": "Korea Talks", "query": "korea"}]})
    assert e.key == "topics[0].id"


def test_topic_with_bad_query_is_refused():
    e = error_for({"topics": [{"id": "x", "query": '"unclosed'}]})
    assert e.key == "topics[0].query"


def test_own_topic_can_be_followed_by_a_channel():
    config = config_from_dict(
        {
            "topics": [{"id": "chips", "name": "Chips", "query": "semiconductor OR chipmaker"}],
            "channels": [{"chat_id": "@news_channel", "topics": ["chips"]}],
        },
        env={},
    )
    assert config.topics["chips"].name == "Chips"
    assert config.channels[0].chat_id == "@news_channel"


def test_env_token_overrides_the_file():
    config = config_from_dict({"telegram": {"token": "1:" + "a" * 30}}, env={TOKEN_ENV: GOOD_TOKEN})
    assert config.telegram.token.get() == GOOD_TOKEN


def test_missing_token_when_telegram_is_needed():
    config = config_from_dict({"telegram": {"admins": [42]}}, env={})
    assert config.needs_telegram
    with pytest.raises(ConfigError) as info:
        check_token(config)
    assert info.value.key == "telegram.token" and TOKEN_ENV in str(info.value)


def test_token_never_appears_in_repr_or_errors():
    config = config_from_dict({"telegram": {"token": GOOD_TOKEN}}, env={})
    assert GOOD_TOKEN not in repr(config)
    bad = "123:short"
    e = error_for({"telegram": {"token": bad}})
    assert bad not in str(e) and e.key == "telegram.token"


def test_a_token_with_the_urls_bot_or_with_quotes_says_so_without_echoing_it():
    pasted = {
        "bot" + GOOD_TOKEN: "starts with 'bot'",
        f"'{GOOD_TOKEN}'": "in quotes",
        f'"{GOOD_TOKEN}"': "in quotes",
    }
    for token, hint in pasted.items():
        e = error_for({"telegram": {"token": token}})
        assert hint in str(e) and e.key == "telegram.token"
        assert GOOD_TOKEN.split(":")[1] not in str(e)
    e = error_for({"telegram": {"token": "123:short"}})
    assert "copy it again from @BotFather" in str(e)


def test_base_url_must_end_with_bot():
    e = error_for({"telegram": {"base_url": "http://127.0.0.1:8081/"}})
    assert e.key == "telegram.base_url" and "/bot" in str(e)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_check_config_prints_a_summary(tmp_path):
    result = run_cli(
        "--config", str(REPO / "config.example.toml"), "check-config", env={TOKEN_ENV: GOOD_TOKEN}
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "feeds:" in result.stdout
    assert GOOD_TOKEN not in result.stdout + result.stderr


def test_check_config_bad_file_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[feeds]]\nurl = "https://a.example/rss"\ninterval = "often"\n')
    result = run_cli("--config", str(path), "check-config")
    assert result.returncode == 2
    assert "feeds[0].interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_invalid_toml_names_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[telegram\n")
    result = run_cli("--config", str(path), "check-config")
    assert result.returncode == 2 and "line 1" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ('[[feeds]]\nurl = "https://a.example/rss\n', "line 2, column 29", 'end it with "'),
        ("[[feeds]]\nurl = 1\nurl = 2\n", "line 3, column 8", "given twice here; keep one"),
        (
            "[telegram]\nusername = newsalert_bot\n",
            "line 2, column 12",
            'write the value as "text"',
        ),
        ("[telegram]\nadmins = [1, 2\n", "end of document", "end it with ]"),
    ],
    ids=["unclosed-quote", "key-twice", "unquoted-text", "unclosed-list"],
)
def test_a_toml_syntax_error_names_the_file_and_line_and_what_to_write(tmp_path, text, where, hint):
    from click.testing import CliRunner

    from bot.cli import cli

    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: not valid TOML at {where}: ")
    assert hint in result.stderr and "Traceback" not in result.output


def test_check_config_missing_token_for_channels_exits_2(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[channels]]\nchat_id = -1001234\ntopics = ["korea-diplomacy"]\n')
    result = run_cli("--config", str(path), "check-config")
    assert result.returncode == 2 and "telegram.token" in result.stderr


def test_a_file_without_keys_runs_with_the_models_defaults():
    config, defaults = config_from_dict({}, env={}), Config()
    for section in ("telegram", "storage", "polling", "fetch", "alerts", "delivery", "metrics"):
        assert getattr(config, section) == getattr(defaults, section), section
    assert config.summary == defaults.summary


# -- every mistake at once ----------------------------------------------------------------------


def test_two_mistakes_in_two_sections_are_both_reported():
    e = error_for(
        {
            "feeds": [{"url": "https://a.example/rss", "interval": "often"}],
            "alerts": {"summary_chars": 50},
        }
    )
    assert [p.key for p in e.problems] == ["alerts.summary_chars", "feeds[0].interval"]
    assert "5m" in str(e) and "between 80 and 3000" in str(e)


def test_mistakes_in_one_table_and_in_list_items_are_all_reported():
    e = error_for(
        {
            "telegram": {"mode": "sometimes", "admins": ["me"], "tokn": "x"},
            "feeds": [{"url": "ftp://a"}, {"name": "no url"}, "not a table"],
            "delivery": {"max_attempts": 0, "messages_per_second": -1},
        }
    )
    keys = [p.key for p in e.problems]
    assert keys == [
        "telegram.tokn",
        "telegram.mode",
        "telegram.admins[0]",
        "delivery.messages_per_second",
        "delivery.max_attempts",
        "feeds[0].url",
        "feeds[1].url",
        "feeds[2]",
    ]
    assert e.key == "telegram.tokn"  # the first one's, as before


def test_a_broken_topic_is_not_reported_again_by_the_channel_that_names_it():
    e = error_for(
        {
            "topics": [{"id": "mine", "query": "(unclosed"}],
            "channels": [{"chat_id": "@my_channel", "topics": ["mine", "nope"]}],
        }
    )
    assert [p.key for p in e.problems] == ["topics[0].query", "channels[0].topics[1]"]


def test_check_config_prints_every_problem_with_its_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[[feeds]]\nurl = "https://a.example/rss"\ninterval = "often"\n\n'
        "[alerts]\nsummary_chars = 50\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "2 problems to fix" in proc.stderr
    assert "feeds[0].interval: 'often' is not a duration" in proc.stderr
    assert "alerts.summary_chars: must be between 80 and 3000" in proc.stderr


def test_a_missing_token_is_listed_with_the_files_mistakes(tmp_path):
    data = {
        "channels": [{"chat_id": "@my_channel", "topics": ["korea-diplomacy"]}],
        "alerts": {"summary_chars": 50},
    }
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, env={}, require_token="if-needed")
    assert [p.key for p in info.value.problems] == ["alerts.summary_chars", "telegram.token"]


# -- where the file is found --------------------------------------------------------------------


def test_find_config_order(tmp_path):
    from bot.config.loader import find_config

    xdg = tmp_path / "xdg"
    user = xdg / "newsalert" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    here = tmp_path / "here"
    here.mkdir()
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert find_config(None, env=env, cwd=here) == user
    (here / "config.toml").write_text("")
    assert find_config(None, env=env, cwd=here) == here / "config.toml"
    named = tmp_path / "named.toml"
    named.write_text("")
    assert find_config(None, env={**env, "NEWSALERT_CONFIG": str(named)}, cwd=here) == named
    assert find_config("given.toml", env={"NEWSALERT_CONFIG": str(named)}) == Path("given.toml")


def test_find_config_names_where_it_looked(tmp_path):
    from bot.config.loader import find_config

    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with pytest.raises(ConfigError) as info:
        find_config(None, env=env, cwd=tmp_path)
    message = str(info.value)
    assert "--config" in message and "NEWSALERT_CONFIG" in message
    assert str(tmp_path / "config.toml") in message
    assert str(tmp_path / "xdg" / "newsalert" / "config.toml") in message
    with pytest.raises(ConfigError, match="from NEWSALERT_CONFIG"):
        find_config(None, env={"NEWSALERT_CONFIG": str(tmp_path / "gone.toml")})


def test_a_config_variable_naming_a_folder_says_it_is_a_folder(tmp_path):
    from bot.config.loader import find_config

    with pytest.raises(ConfigError) as info:
        find_config(None, env={"NEWSALERT_CONFIG": str(tmp_path)})
    message = str(info.value)
    assert "is a folder" in message and "not found" not in message
    assert str(tmp_path / "config.toml") in message  # the file it likely meant


def test_without_xdg_the_user_config_is_under_dot_config():
    from bot.config.loader import user_config_path

    assert user_config_path({}) == Path.home() / ".config" / "newsalert" / "config.toml"
    assert user_config_path({"XDG_CONFIG_HOME": "relative"}) == user_config_path({})


def test_plan_reload_takes_the_live_sections_and_names_the_rest():
    old = config_from_dict(
        {
            "telegram": {"admins": [1]},
            "feeds": [{"url": "https://a.example/rss"}, {"url": "https://b.example/rss"}],
            "fetch": {"read_timeout": "10s"},
        },
        env={},
    )
    new = config_from_dict(
        {
            "telegram": {"admins": [1, 2]},
            "feeds": [{"url": "https://a.example/rss", "interval": "5m"}],
            "topics": [{"id": "volcanoes", "name": "Volcanoes", "query": "volcano"}],
            "fetch": {"read_timeout": "20s"},
        },
        env={},
    )
    plan = plan_reload(old, new)
    assert [f.url for f in plan.config.feeds] == ["https://a.example/rss"]
    assert plan.feeds_changed == {"https://a.example/rss"}  # its interval changed
    assert "volcanoes" in plan.config.topics and plan.topics_changed == ("volcanoes",)
    assert plan.config.telegram.admins == new.telegram.admins
    assert plan.needs_restart == ("fetch",)
    assert plan.config.fetch == old.fetch  # kept until a restart
    assert [f.url for f in old.feeds] == ["https://a.example/rss", "https://b.example/rss"]
    outcome = plan.outcome(feeds_added=0, feeds_removed=1)
    assert outcome.ok and outcome.feeds == 1 and outcome.feeds_removed == 1


@pytest.mark.parametrize("rate", [0, -3, "fast"])
def test_a_start_rate_that_is_not_a_positive_number_is_named(rate):
    e = error_for({"polling": {"start_rate": rate}})
    assert e.key == "polling.start_rate"


# -- secrets: named, never shown (not even a part), in errors, in the CLI's output -------------

SECRET = "123456789:AAEsecretTOKENvalue_abcdefghijklmnop"
SECRET_PARTS = ("123456789", "AAEsecret", "TOKENvalue", "abcdefghij", "secret TOKEN")


def _with(key: str, value: object) -> dict:
    section, name = key.split(".")
    return {section: {name: value}}


def _shows_no_secret(text: str) -> bool:
    return not any(part in text for part in SECRET_PARTS)


def test_the_secret_fields_are_known():
    assert {"telegram.token", "telegram.webhook_secret", "summary.llm_api_key"} <= SECRET_KEYS


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
@pytest.mark.parametrize("value", [[SECRET], {"value": SECRET}, 123456789, True])
def test_a_secret_of_the_wrong_type_is_named_once_and_never_shown(key, value):
    with pytest.raises(ConfigError) as info:
        config_from_dict(_with(key, value), env={}, require_token=True)
    problems = [p for p in info.value.problems if p.key == key]
    assert len(problems) == 1, info.value.problems  # a wrong token is not also "missing"
    assert "must be a string" in problems[0].problem
    assert _shows_no_secret(str(info.value)), str(info.value)


def test_a_webhook_secret_of_the_wrong_type_is_not_also_missing():
    webhook = {"mode": "webhook", "webhook_url": "https://b.example/t", "webhook_secret": [SECRET]}
    e = error_for({"telegram": webhook})
    assert [p.key for p in e.problems] == ["telegram.webhook_secret"], e.problems
    assert _shows_no_secret(str(e))


# the secret fields with a form (a bot token, a webhook secret's alphabet); an API key has none
SECRETS_WITH_A_FORM = {"telegram.token", "telegram.webhook_secret"}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_a_malformed_secret_is_never_shown(key):
    malformed = SECRET.replace("TOKEN", " secret TOKEN ")
    if key not in SECRETS_WITH_A_FORM:
        config_from_dict(_with(key, malformed), env={})  # any text is a valid key
        return
    with pytest.raises(ConfigError) as info:
        config_from_dict(_with(key, malformed), env={})
    e = info.value  # the fields with a form say what it should be, not what it is
    assert [p.key for p in e.problems] == [key]
    assert _shows_no_secret(str(e)), str(e)


@pytest.mark.parametrize(
    "data",
    [
        {"feeds": [{"url": [f"https://reader:{SECRET}@news.example/rss"]}]},
        {"feeds": [{"url": f"ftp://reader:{SECRET}@news.example/rss?key={SECRET}"}]},
        {"feeds": [{"url": f"https://news.example/rss?api_key={SECRET}"}] * 2},
        {"telegram": {"base_url": f"https://api.telegram.org/bot{SECRET}"}},
        {"telegram": {"mode": "webhook", "webhook_url": f"http://bot.example/{SECRET}"}},
        {"summary": {"llm_base_url": f"ftp://key:{SECRET}@llm.example/v1", "llm_model": "m"}},
    ],
)
def test_credentials_in_urls_are_never_shown(data):
    e = error_for(data)
    assert _shows_no_secret(str(e)), str(e)


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_check_config_and_run_never_print_a_secret(tmp_path, key):
    section, name = key.split(".")
    path = tmp_path / "config.toml"
    # not token-shaped, so that only the loader can hide it (the CLI's output hides tokens)
    path.write_text(f'[{section}]\n{name} = ["sk-AAEsecretTOKENvalue"]\n')
    for command in ("check-config", "run"):
        result = run_cli("--config", str(path), command)
        assert result.returncode == 2, result.stderr
        assert key in result.stderr and "Traceback" not in result.stderr
        assert _shows_no_secret(result.stdout + result.stderr), result.stderr


@pytest.mark.parametrize(
    ("variable", "key", "value"),
    [
        (TOKEN_ENV, "telegram.token", "123456789:AAE secret with space"),
        (WEBHOOK_SECRET_ENV, "telegram.webhook_secret", "AAEsecret with spaces!"),
        (WEBHOOK_SECRET_ENV, "telegram.webhook_secret", "AAEsecret"),  # too short
    ],
)
def test_a_bad_secret_from_the_environment_is_blamed_on_the_variable(
    tmp_path, variable, key, value
):
    e = error_for({"telegram": {"mode": "webhook", "webhook_url": "https://b.example/t"}},
                  env={variable: value})  # fmt: skip
    [problem] = [p for p in e.problems if key in p.key]
    assert problem.key.startswith(variable) and value not in str(e)
    path = tmp_path / "config.toml"  # the file is fine; its token and secret are empty
    webhook = 'mode = "webhook"\nwebhook_url = "https://b.example/t"\n'
    path.write_text(
        '[telegram]\ntoken = ""\n' + (webhook if variable == WEBHOOK_SECRET_ENV else "")
    )
    result = run_cli("--config", str(path), "check-config", env={variable: value})
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {variable} (environment variable"), result.stderr
    assert str(path) not in result.stderr and "AAE" not in result.stderr


def test_unknown_key_names_the_closest_valid_one():
    e = error_for({"feeds": [{"url": "https://a.example/rss", "intervall": "5m"}]})
    assert "did you mean 'interval'?" in e.problem, e.problem


def test_each_config_mistake_is_named_once_with_its_real_rule(tmp_path):
    topic = {"id": "mine", "name": "Mine", "query": "korea", "ko": {"title": "x"}}
    e = error_for(
        {
            "topics": [topic],
            "channels": [{"chat_id": -1001, "topics": "korea-diplomacy"}],
            "feeds": [{"url": "https://${AAA}:${BBB}@x.example/rss"}],
        }
    )
    shown = [(p.key, p.problem) for p in e.problems]
    assert [k for k, _ in shown if k.startswith("channels")] == ["channels[0].topics"], shown
    assert [k for k, _ in shown if k.startswith("topics")] == ["topics[0].ko.title"], shown
    assert "AAA and BBB are not set" in str(e)
    token = error_for({"telegram": {"token": "123:abc"}})
    assert "then at least 20 letters, digits, _ or -" in str(token)
    webhook = {"mode": "webhook", "webhook_url": "https://b.example/t"}
    short = error_for({"telegram": {**webhook, "webhook_secret": "abc"}})
    odd = error_for({"telegram": {**webhook, "webhook_secret": "a b"}})
    assert "16 to 256 letters, digits, _ and -" in str(short) and "16 to 256" in str(odd)
    assert "16 to 256 letters, digits, _ and -" in (REPO / "config.example.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value).count("bad.toml") <= 1
