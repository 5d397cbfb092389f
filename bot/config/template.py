"""Alert templates: which parts an alert shows, and in what order.  Pure.

A template names parts from :data:`PARTS`, in order, as a TOML list
(``template = ["title", "summary", "button"]``) or one comma-separated string
(``/template title, summary, button``).  The default is the layout every alert had before
templates: title, source and wire, time, summary, topic, matched terms, picture, "Read"
button, footer.  ``image`` and ``button`` are not text: naming them keeps the picture (link
preview) and the button, leaving them out drops them; where they stand in the order does not
matter (Telegram puts the preview above or beside the text and the button under it).

Parts of a kind next to each other share a block: ``source`` and ``time`` one italic line
under the title, ``topic``, ``terms`` and ``footer`` the closing lines; blocks are separated
by a blank line.
"""

from __future__ import annotations

from collections.abc import Sequence

PARTS = ("title", "source", "time", "summary", "topic", "terms", "image", "button", "footer")
DEFAULT_TEMPLATE: tuple[str, ...] = PARTS
TEXT_PARTS = frozenset({"title", "summary"})  # a template needs one: a message needs text


class TemplateError(ValueError):
    """A template that cannot be used; the message says what to write instead.  ``kind``
    (unknown | twice | no-text) and ``part`` let a chat reply say it in the reader's
    language."""

    def __init__(self, message: str, *, kind: str, part: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.part = part


def parse_template(value: str | Sequence[object]) -> tuple[str, ...]:
    """The parts a template names, in order.  Raises :class:`TemplateError` for an unknown
    or repeated part, or a template with neither the title nor the summary."""
    if isinstance(value, str):
        items: list[object] = [p for p in value.replace(",", " ").split()]
    else:
        items = list(value)
    parts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TemplateError(
                f"{item!r} is not a part name; {_known()}", kind="unknown", part=str(item)
            )
        name = item.strip().lower()
        if name not in PARTS:
            raise TemplateError(f"unknown part {item!r}; {_known()}", kind="unknown", part=item)
        if name in parts:
            raise TemplateError(
                f"{name!r} is named twice; name each part once", kind="twice", part=name
            )
        parts.append(name)
    if not TEXT_PARTS & set(parts):
        raise TemplateError(
            'needs "title" or "summary" (a message needs text), for example: '
            + format_template(("title", "summary", "button")),
            kind="no-text",
        )
    return tuple(parts)


def format_template(parts: Sequence[str]) -> str:
    """A template as people write it: "title, source, time, summary"."""
    return ", ".join(parts)


def _known() -> str:
    return f"the parts are: {format_template(PARTS)}"
