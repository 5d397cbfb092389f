"""Telegram HTML as a person reads it, for a terminal: bold and italics as ANSI styles,
links as terminal hyperlinks (OSC 8), entities decoded.  Without colour (a pipe, a file,
``NO_COLOR``) the text is plain and each link's address follows its text in angle
brackets, unless it is the address already shown on the "Read" button line.  Pure."""

from __future__ import annotations

import html
from html.parser import HTMLParser

BOLD, ITALIC, UNDERLINE, STRIKE, RESET = "\033[1m", "\033[3m", "\033[4m", "\033[9m", "\033[0m"
_STYLES = {"b": BOLD, "strong": BOLD, "i": ITALIC, "em": ITALIC, "u": UNDERLINE, "ins": UNDERLINE}
_STYLES |= {"s": STRIKE, "strike": STRIKE, "del": STRIKE}
_ORDER = (BOLD, ITALIC, UNDERLINE, STRIKE)  # the order a restyle writes them in


class _Terminal(HTMLParser):
    def __init__(self, *, color: bool, known_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.known_url = known_url
        self.out: list[str] = []
        self.styles: list[str] = []  # the open tags' styles, innermost last
        # how many open tags ask for each style: a tag changes the terminal's style only
        # when it opens the first or closes the last of its kind, so that each tag costs
        # the same however deep it is nested
        self.depth = dict.fromkeys(_ORDER, 0)
        self.links: list[str] = []

    def _push(self, style: str) -> None:
        self.styles.append(style)
        self.depth[style] += 1
        if self.depth[style] == 1:
            self._restyle()

    def _pop(self) -> None:
        style = self.styles.pop()
        self.depth[style] -= 1
        if not self.depth[style]:
            self._restyle()

    def _restyle(self) -> None:
        if self.color:
            self.out.append(RESET + "".join(s for s in _ORDER if self.depth[s]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _STYLES:
            self._push(_STYLES[tag])
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append(href)
            if self.color and href:
                self.out.append(f"\033]8;;{href}\033\\")
                self._push(UNDERLINE)

    def handle_endtag(self, tag: str) -> None:
        if tag in _STYLES and self.styles:
            self._pop()
        elif tag == "a" and self.links:
            href = self.links.pop()
            if self.color and href:
                self._pop()
                self.out.append("\033]8;;\033\\")
            elif href and href != self.known_url:
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def html_to_terminal(text: str, *, color: bool = False, known_url: str = "") -> str:
    """``text`` (Telegram HTML) for a terminal; ``known_url`` is shown elsewhere already."""
    parser = _Terminal(color=color, known_url=known_url)
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # never fail a demo over markup: show it plainly
        return html.unescape(text)
    rendered = "".join(parser.out)
    return rendered + RESET if color and rendered else rendered
