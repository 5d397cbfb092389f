"""Built-in topics and alias groups: loading, overriding, and korea-diplomacy on real and
self-written stories."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.matching.aliases import builtin_aliases, expand, load_aliases
from bot.matching.engine import match_topic
from bot.matching.parser import parse_query
from bot.matching.topics import builtin_topics, compile_topic, load_topics
from bot.records import Article
from tests.helpers import SHARED

SEED = SHARED / "data" / "seed" / "straits-times-korea-talks.txt"


def korea() -> object:
    return builtin_topics()["korea-diplomacy"]


def decide(title: str, summary: str = "", content: str = "") -> bool:
    a = Article(id="x", title=title, summary=summary, content=content)
    return match_topic(a, korea()).matched  # type: ignore[arg-type]


# ---------------------------------------------------------------- loading


def test_builtin_topics_include_korea_diplomacy_and_others() -> None:
    topics = builtin_topics()
    assert {"korea-diplomacy", "iran-nuclear", "markets", "tech", "sports"} <= set(topics)
    k = topics["korea-diplomacy"]
    assert k.name and k.description and k.threshold > 0
    for topic in topics.values():
        compile_topic(topic)  # every built-in query parses


def test_builtin_topics_returns_a_fresh_dict() -> None:
    builtin_topics().clear()
    assert "korea-diplomacy" in builtin_topics()


def test_an_operator_file_in_the_same_format_loads(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        """
[[topics]]
id = "korea-diplomacy"
name = "Korea (strict)"
query = "title:@north-korea (talks OR summit)"
threshold = 3

[[topics]]
id = "whisky"
name = "Whisky"
query = "whisky OR whiskey"
""",
        encoding="utf-8",
    )
    topics = load_topics(path)
    assert set(topics) == {"korea-diplomacy", "whisky"}
    assert topics["korea-diplomacy"].threshold == 3.0
    assert topics["whisky"].threshold == 0.0
    assert match_topic(Article(id="1", title="DPRK summit"), topics["korea-diplomacy"]).matched


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[[topics]]\nid = "x"\nname = "X"\nquery = "\\"unclosed"', "topics[0].query"),
        ('[[topics]]\nid = "Bad Id"\nname = "X"\nquery = "a"', "topics[0].id"),
        ('[[topics]]\nid = "x"\nname = "X"\nquery = "a"\nthreshold = -1', "topics[0].threshold"),
        ('[[topics]]\nid = "x"\nquery = "a"\n[[topics]]\nid = "x"\nquery = "b"', "topics[1].id"),
        ("topics = 3", "topics"),
    ],
)
def test_a_bad_topic_file_names_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert key in info.value.key


@pytest.mark.parametrize(
    ("body", "key", "closest"),
    [
        (
            '[[topics]]\nid = "x"\nquery = "a"\nthreshhold = 3',
            "mine.toml.topics[0].threshhold",
            "threshold",
        ),
        ('[[topic]]\nid = "x"\nquery = "a"', "mine.toml.topic", "topics"),
    ],
)
def test_an_unknown_key_in_a_topic_file_is_an_error_with_the_closest_key(
    tmp_path: Path, body: str, key: str, closest: str
) -> None:
    """As in the config file: the file, the key, and the valid key it is closest to."""
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert info.value.key == key
    assert f"did you mean {closest!r}?" in info.value.problem, info.value.problem


def test_a_bad_query_error_keeps_the_position_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[topics]]\nid = "x"\nname = "X"\nquery = "korea @nort-korea"', "utf-8")
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert "position 6" in str(info.value) and "@north-korea" in str(info.value)


# ---------------------------------------------------------------- alias groups


def test_alias_groups_cover_the_usual_names() -> None:
    nk = set(expand("north-korea"))
    assert {"North Korea", "DPRK", "N. Korea", "NKorea", "Pyongyang", "Kim Jong Un", "북한"} <= nk
    sk = set(expand("south-korea"))
    assert {"South Korea", "ROK", "Seoul", "Moon Jae-in", "Lee Jae-myung", "한국"} <= sk
    everything = set(expand("korea"))
    assert nk <= everything and sk <= everything and "Korean Peninsula" in everything


def test_every_builtin_group_parses_as_a_query() -> None:
    for group in builtin_aliases():
        parse_query(f"@{group}")


def test_operator_alias_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "aliases.toml"
    path.write_text(
        '[whisky]\nname = "Whisky"\nterms = ["whisky", "whiskey", "@scotch"]\n'
        '[scotch]\nname = "Scotch"\nterms = ["islay", "speyside"]\n',
        encoding="utf-8",
    )
    groups = load_aliases(path)
    assert "north-korea" in groups
    assert expand("whisky", groups) == ("whisky", "whiskey", "islay", "speyside")
    q = parse_query("@whisky", aliases=groups)
    from bot.matching.document import prepare_document

    assert q.evaluate(prepare_document(Article(id="1", title="An Islay malt")))[0]


def test_alias_cycles_and_unknown_includes_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "aliases.toml"
    path.write_text('[a]\nterms = ["@b"]\n[b]\nterms = ["@a"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="include each other"):
        load_aliases(path)
    path.write_text('[a]\nterms = ["@nope"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown group"):
        load_aliases(path)


# ---------------------------------------------------------------- korea-diplomacy


@pytest.mark.skipif(not SEED.exists(), reason="shared seed story not present")
def test_the_seed_story_matches_korea_diplomacy() -> None:
    lines = SEED.read_text(encoding="utf-8").strip().splitlines()
    title, body = lines[0], "\n".join(lines[1:])
    a = Article(id="seed", title=title, content=body, link="https://www.straitstimes.com/x")
    result = match_topic(a, korea())  # type: ignore[arg-type]
    assert result.matched
    assert "north korea" in result.why


KOREA_STORIES = [
    (
        "US envoy heads to Seoul to revive stalled North Korea talks",
        "The US special representative for North Korea arrived in Seoul on Monday for talks "
        "with South Korean officials on restarting negotiations with Pyongyang over its "
        "nuclear programme, amid worries that the denuclearisation process has stalled.",
    ),
    (
        "Seoul and Washington to resume large-scale joint drills",
        "South Korea and the United States will resume large-scale joint military exercises "
        "next month, the defence ministry said, after the North test-fired two ballistic "
        "missiles into the sea.",
    ),
    (
        "Japan and South Korea agree to mend ties",
        "Foreign ministers of the two neighbours met in Tokyo and pledged to improve "
        "relations strained by a dispute over wartime labour.",
    ),
    (
        "북한, 동해상으로 탄도미사일 발사",
        "합동참모본부는 북한이 오늘 오전 동해상으로 탄도미사일을 발사했다고 밝혔다.",
    ),
    (
        "Kim Jong Un and Trump shake hands at Panmunjom",
        "The US president became the first sitting American leader to set foot in the North, "
        "at the demilitarised zone.",
    ),
    (
        "North Korea launches spy satellite, Seoul says",
        "South Korea's Joint Chiefs of Staff said the launch drew condemnation from Washington "
        "and Tokyo.",
    ),
    (
        "Kim Jong Un meets Putin at Russian spaceport",
        "The North Korean leader discussed military cooperation with the Russian president, "
        "raising concern in Seoul and Washington over arms deals.",
    ),
]

NEAR_MISSES = [
    (
        "Samsung Electronics quarterly profit jumps on chip demand",
        "South Korea's Samsung Electronics said its operating profit rose sharply as memory "
        "prices recovered, beating analysts' forecasts.",
    ),
    (
        "BTS return to the stage in Seoul as K-pop fans flock to stadium",
        "Tens of thousands of fans gathered in Seoul for the K-pop band's first concert "
        "in three years.",
    ),
    pytest.param(
        "Iran and world powers resume nuclear talks in Vienna",
        "Diplomats from Iran, the United States and European powers met in Vienna to revive "
        "talks over Tehran's nuclear programme and sanctions relief. Some analysts compared "
        "Tehran's position with that of North Korea.",
        # the query's rule (another nuclear state in the title, no Korea) excludes it; the
        # learned model, which decides the topic now, does not (README: its known errors)
        marks=pytest.mark.xfail(reason="learned model: Korea named in the lead", strict=True),
    ),
    (
        "Sharapova sweeps into Korea Open final",
        "SEOUL - Wimbledon champion Maria Sharapova beat Japan's top seed to reach the "
        "final of the Korea Open tennis tournament.",
    ),
    (
        "South Korea's parliament passes budget after opposition walkout",
        "Lawmakers in Seoul approved the spending plan for next year after a heated debate "
        "over welfare and housing.",
    ),
    pytest.param(
        "Yoon declares martial law, troops surround parliament",
        "South Korea's president said the move was needed to root out anti-state forces "
        "sympathetic to North Korea.",
        # alerted by session 6's model (0.69; its threshold 0.45): domestic politics that
        # names North Korea, the kind of wrong alert the nested choice's lower threshold lets in
        marks=pytest.mark.xfail(strict=True, reason="domestic politics naming North Korea"),
    ),
    (
        "BTS's Jin completes military service",
        "The K-pop star was discharged from the South Korean army after 18 months.",
    ),
    (
        "Doctors' strike drags on as South Korean government talks fail",
        "Trainee doctors have walked out over plans to raise medical school admissions.",
    ),
    (
        "Hyundai Motor union to strike over wage talks",
        "Workers at South Korea's largest carmaker will walk out after talks with management "
        "broke down.",
    ),
]


@pytest.mark.parametrize(("title", "summary"), KOREA_STORIES)
def test_korea_diplomacy_matches_korea_foreign_affairs(title: str, summary: str) -> None:
    assert decide(title, summary)


@pytest.mark.parametrize(("title", "summary"), NEAR_MISSES)
def test_korea_diplomacy_leaves_out_business_culture_sport_and_other_nuclear_talks(
    title: str, summary: str
) -> None:
    assert not decide(title, summary)


@pytest.mark.parametrize(
    ("title", "summary"), [tuple(p.values) if hasattr(p, "values") else p for p in NEAR_MISSES]
)
def test_the_korea_diplomacy_query_alone_leaves_out_every_near_miss(
    title: str, summary: str
) -> None:
    query_only = replace(korea(), model="")
    assert not match_topic(Article(id="x", title=title, summary=summary), query_only).matched


def test_a_passing_mention_deep_in_a_long_article_is_not_enough() -> None:
    filler = "The summit on artificial intelligence discussed safety and jobs. " * 30
    content = filler + "An earlier meeting was held in Seoul."
    assert not decide("India hosts AI summit", content=content)
