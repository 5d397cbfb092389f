"""`newsalert demo` shows alerts as a person reads them; --raw shows the HTML sent."""

from __future__ import annotations

import subprocess
import sys

from bot.delivery.terminal import BOLD, ITALIC, RESET, UNDERLINE, html_to_terminal

ALERT = (
    '<b><a href="https://n.example/a">Talks &amp; &lt;progress&gt;</a></b>\n'
    "<i>Reuters via ST · 29 Oct 2018 04:30 UTC</i>\n\nSee "
    '<a href="https://n.example/b">the map</a>.'
)


def test_plain_rendering_decodes_entities_and_names_other_links():
    text = html_to_terminal(ALERT, known_url="https://n.example/a")
    assert text == (
        "Talks & <progress>\nReuters via ST · 29 Oct 2018 04:30 UTC\n\n"
        "See the map <https://n.example/b>."
    )


def test_colour_rendering_uses_ansi_styles_and_terminal_hyperlinks():
    text = html_to_terminal(ALERT, color=True)
    assert BOLD in text and ITALIC in text and text.endswith(RESET)
    assert "\033]8;;https://n.example/a\033\\" in text  # OSC 8 hyperlink
    assert "<b>" not in text and "&amp;" not in text


def test_demo_prints_what_a_reader_sees_and_raw_prints_the_html(tmp_path):
    def demo(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    shown, raw = demo(), demo("--raw")
    title = "Top US, South Korean officials seek to drive momentum in North Korea talks"
    assert f"\n{title}\nReuters via The Straits Times · 29 Oct 2018 04:30 UTC\n" in shown
    assert "<b>" not in shown and "\033[" not in shown  # not a terminal: no escapes
    assert "[picture (large, above the text): https://example.org/images/" in shown
    assert f'">{title}</a></b>\n<i>Reuters via The Straits Times' in raw


def test_deep_nesting_restyles_only_where_the_style_changes():
    # each tag costs the same however deep (the whole stack was written again at every
    # tag: output and time grew with the square of the depth)
    depth = 5000
    html = "<b><i>" * depth + "x" + "</i></b>" * depth + " plain <u>u</u>"
    assert html_to_terminal(html, color=True) == (
        RESET + BOLD
        + RESET + BOLD + ITALIC
        + "x"
        + RESET + BOLD
        + RESET
        + " plain "
        + RESET + UNDERLINE + "u" + RESET
        + RESET
    )  # fmt: skip
    assert html_to_terminal(html) == "x plain u"
