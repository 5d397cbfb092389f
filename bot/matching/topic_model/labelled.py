"""Labelled articles for training: the JSON Lines reader with its errors, the text each
item is embedded as, its text views, and the feature rows of a set."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import ConfigError, ConfigProblem
from bot.matching.topic_model.embedding import embedding_input
from bot.matching.topic_model.features import Featurizer, SparseRows, document_of
from bot.matching.topic_model.spec import model_text


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled article."""

    id: str
    title: str
    lead: str
    label: int
    borderline: bool = False
    source: str = ""

    @property
    def group(self) -> str:
        """The source group: the id's prefix before the first '-'."""
        return self.id.split("-", 1)[0]


MAX_BAD_LINES_NAMED = 20  # of a file with many bad lines, the first ones are named
LABELLED_EXAMPLE = '{"id": "source-1", "title": "...", "summary": "...", "label": 1}'


def load_labelled(path: str | Path) -> list[Labelled]:
    """Labelled articles from JSON Lines: ``id, title, summary|text|content, label[, borderline]``.

    Raises :class:`ConfigError` naming every bad line (the first ``MAX_BAD_LINES_NAMED``),
    each with its number and what is wrong: a model is never trained on part of a file."""
    path = Path(path)
    out: list[Labelled] = []
    try:
        raw = path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except OSError as e:
        raise ConfigError(str(path), f"cannot read labelled articles: {e.strerror}") from e
    except UnicodeDecodeError as e:
        bad_line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{bad_line}", "not UTF-8 text; save the file as UTF-8") from e
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append((n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        except RecursionError:  # thousands of [ or {
            bad.append((n, "JSON nested too deeply"))
            continue
        if not isinstance(row, dict) or "label" not in row or "title" not in row:
            bad.append((n, "expected an object with title and label"))
            continue
        label = row["label"]
        if label is None:  # a line of `newsalert topics sample` not labelled yet
            bad.append(
                (
                    n,
                    'not labelled yet: set "label" to 1 (on the topic) or 0 (not), or delete the line',
                )
            )
            continue
        if label not in (0, 1, True, False):
            bad.append((n, f"label must be 0 or 1, not {json.dumps(label)[:40]}"))
            continue
        if not isinstance(row["title"], str):
            bad.append((n, f"title must be text, not {json.dumps(row['title'])[:40]}"))
            continue
        summary = row.get("summary") or row.get("text") or ""
        title, lead = model_text(str(row["title"]), str(summary), str(row.get("content") or ""))
        out.append(
            Labelled(
                id=str(row.get("id", f"{path.stem}-{n}")),
                title=title,
                lead=lead,
                label=int(label),
                borderline=bool(row.get("borderline", False)),
                source=str(row.get("source") or ""),
            )
        )
    if bad:
        problems = [ConfigProblem(f"{path}:{n}", why) for n, why in bad[:MAX_BAD_LINES_NAMED]]
        more = (
            f" ({len(bad) - MAX_BAD_LINES_NAMED} more not shown)"
            if len(bad) > len(problems)
            else ""
        )
        problems.append(
            ConfigProblem(
                str(path),
                f"{len(bad)} bad line{'s' if len(bad) > 1 else ''}{more}; nothing was trained. "
                f"Each line is one object such as {LABELLED_EXAMPLE}",
            )
        )
        raise ConfigError(problems=problems)
    return out


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def embed_text(item: Labelled) -> str:
    """What a model's embedding block reads of a labelled article (as ``probability``)."""
    return embedding_input(item.title, item.lead)


# Text views (issue 12, session 8): some sources give a title only (KCNA headlines, ABC
# headlines), most give a title and a lead; a model trained on both may lean on the lead.
# With ``views`` every training item is also trained on as shorter texts of itself, its
# sample weight split evenly between its views so that it still counts once; the
# decision reads the article as always.  "title": the title alone; "title+short": also
# the title with the first SHORT_LEAD_CHARS characters of the lead (cut at a space).  A
# view the same as one before it (an item without a lead) is left out.
VIEWS = ("", "title", "title+short")
SHORT_LEAD_CHARS = 120


def text_views(item: Labelled, views: str) -> list[Labelled]:
    """The extra texts ``item`` is trained on under ``views`` (not the item itself)."""
    if views not in VIEWS:
        raise ValueError(f"unknown views {views!r} (one of '', title, title+short)")
    if not views or not item.lead:
        return []
    leads = [""]
    if views == "title+short" and len(item.lead) > SHORT_LEAD_CHARS:
        cut = item.lead[: SHORT_LEAD_CHARS + 1].rsplit(" ", 1)[0].strip()
        if cut and cut != item.lead:
            leads.insert(0, cut)
    return [
        Labelled(item.id, item.title, lead, item.label, item.borderline, item.source)
        for lead in leads
    ]


def view_rows(items: Sequence[Labelled], views: str) -> tuple[list[Labelled], np.ndarray]:
    """Every item's extra views, in order, and for each the index of its item."""
    extra: list[Labelled] = []
    origin: list[int] = []
    for k, item in enumerate(items):
        for view in text_views(item, views):
            extra.append(view)
            origin.append(k)
    return extra, np.array(origin, dtype=np.int64)


def spread_over_views(
    train: np.ndarray, weights: np.ndarray, origin: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights of train, extra rows, their weights)``: the weight of each training item
    (``train``, indices below ``n``, with ``weights``) split evenly between the item and
    its extra views (``origin``: the item of each extra view, :func:`view_rows`); ``extra
    rows`` are the indices, into the extra views, of those of the training items."""
    n_views = 1.0 + np.bincount(origin, minlength=n).astype(np.float64)
    member = np.zeros(n, dtype=bool)
    member[train] = True
    full = np.zeros(n)
    full[train] = weights
    rows = np.flatnonzero(member[origin]) if len(origin) else np.zeros(0, dtype=np.int64)
    return weights / n_views[train], rows, full[origin[rows]] / n_views[origin[rows]]


def featurize_all(
    items: Sequence[Labelled],
    featurizer: Featurizer,
    embeddings: np.ndarray | None = None,
) -> SparseRows:
    vectors = []
    for k, item in enumerate(items):
        doc = document_of(item.id, item.title, item.lead, item.source)
        emb = embeddings[k] if embeddings is not None else None
        vectors.append(featurizer.vector(item.title, item.lead, doc, emb))
    return SparseRows.stack(vectors, featurizer.spec.size)
