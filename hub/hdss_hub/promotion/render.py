"""Outbox files as a data steward reviews them: rendered as they would be released, safely.

Every part of a file that would leave is shown: a notebook's cells (markdown rendered, code
as text) with every output (HTML and markdown rendered, images shown, JSON, LaTeX and
text as text, each other representation of the same output listed beneath it), and the
notebook's and cells' metadata (widget state can hold whole data grids). CSV/TSV files are
shown as tables, HTML and markdown rendered, figures as images, anything else as text.

HTML is never passed through as it came: it is cleaned by ``nh3`` (the Ammonia sanitiser)
with no scripts, styles, event handlers, forms or links, and images only as ``data:`` URLs,
so nothing on the page can fetch from elsewhere (the page's Content-Security-Policy says
the same, see :mod:`.web`). Each function returns HTML that is safe to insert as it is.
The findings of the checks stand beside the part they name (``cell 3``), the others at the
top of the file.
"""

from __future__ import annotations

import base64
import binascii
import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import nh3
from markdown_it import MarkdownIt

MAX_TEXT = 200_000  # characters of one text shown
MAX_IMAGE = 5 * 1024 * 1024  # bytes of one image shown
MAX_ROWS = 1000  # rows of a table file shown
TAGS = (set(nh3.ALLOWED_TAGS) - {"a", "area", "map"}) | {"img"}
ATTRIBUTES = {k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items() if k in TAGS}
IMAGE_TYPES = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/svg+xml": (".svg",),
}
NOTEBOOK_KEYS = {"kernelspec", "language_info", "papermill"}  # not shown: the runner's own
CELL_KEYS = {"tags", "papermill", "execution", "collapsed", "scrolled", "jupyter", "trusted"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_RE = re.compile(r"\bcell (\d+)\b", re.I)
_md = MarkdownIt("commonmark", {"html": True}).enable("table")


def clean_html(text: str) -> str:
    """HTML made safe: no scripts, styles, handlers or links; images only as data: URLs."""
    return nh3.clean(
        text[:MAX_TEXT],
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"data"},
        link_rel=None,
        strip_comments=True,
    )


def markdown(text: str) -> str:
    return clean_html(_md.render(text[:MAX_TEXT]))


def pre(text: str, cls: str = "") -> str:
    cut = len(text) > MAX_TEXT
    body = html.escape(ANSI.sub("", text[:MAX_TEXT]))
    more = "\n[... cut: read the whole file through the API ...]" if cut else ""
    return f'<pre class="{cls}">{body}{more}</pre>' if cls else f"<pre>{body}{more}</pre>"


def image(mime: str, data: bytes) -> str:
    if len(data) > MAX_IMAGE:
        return pre(f"[{mime} image of {len(data):,} bytes: too large to show here]")
    encoded = base64.b64encode(data).decode()
    return (
        f'<img class="shown" alt="figure ({html.escape(mime)})" src="data:{mime};base64,{encoded}">'
    )


def table(rows: list[list[str]]) -> str:
    """Rows of text cells as an HTML table (the first as its header), escaped."""
    if not rows:
        return "<p>(empty table)</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows[1 : MAX_ROWS + 1]
    )
    more = (
        f"<p>... and {len(rows) - 1 - MAX_ROWS:,} more rows</p>" if len(rows) - 1 > MAX_ROWS else ""
    )
    return f'<table class="shown"><tr>{head}</tr>{body}</table>{more}'


def delimited(text: str, path: str) -> list[list[str]]:
    """A CSV/TSV file's rows, its delimiter sniffed (the extension's if sniffing fails)."""
    default = "\t" if path.lower().endswith(".tsv") else ","
    try:
        delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = default
    return list(csv.reader(io.StringIO(text[:MAX_TEXT]), delimiter=delimiter))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value, indent=1, default=str)


def _b64(value: Any) -> bytes | None:
    try:
        return base64.b64decode("".join(_text(value).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def mime(kind: str, value: Any) -> str:
    """One representation of a notebook output, rendered."""
    if kind == "text/html":
        return f'<div class="html">{clean_html(_text(value))}</div>'
    if kind == "text/markdown":
        return f'<div class="md">{markdown(_text(value))}</div>'
    if kind == "image/svg+xml":
        return image(kind, _text(value).encode())
    if kind in IMAGE_TYPES:
        data = _b64(value)
        return image(kind, data) if data is not None else pre(f"[{kind} that is not base64]")
    if kind.endswith("json") and not isinstance(value, str):
        return pre(json.dumps(value, indent=2, default=str))
    return pre(_text(value))


RICHER = ["text/html", "text/markdown", *IMAGE_TYPES, "text/latex", "application/json"]


def bundle(data: dict[str, Any]) -> str:
    """A display bundle: its richest representation, then every other one beneath it."""
    if not isinstance(data, dict) or not data:
        return ""
    kinds = sorted(data, key=lambda k: (RICHER.index(k) if k in RICHER else len(RICHER), k))
    first, *others = kinds
    out = [mime(first, data[first])]
    for kind in others:
        out.append(
            f"<details><summary>also released as {html.escape(kind)}</summary>"
            f"{mime(kind, data[kind])}</details>"
        )
    return "".join(out)


def output(out: dict[str, Any]) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        name = str(out.get("name") or "stdout")
        label = "" if name == "stdout" else f'<p class="label">{html.escape(name)}</p>'
        return label + pre(_text(out.get("text")))
    if kind == "error":
        text = f"{out.get('ename', '')}: {out.get('evalue', '')}\n" + "\n".join(
            _text(t) for t in out.get("traceback") or []
        )
        return pre(text, "error")
    if kind in ("execute_result", "display_data"):
        return bundle(out.get("data") or {})
    return pre(json.dumps(out, indent=1, default=str))


def metadata(meta: Any, skip: set[str], label: str) -> str:
    if not isinstance(meta, dict):
        return ""
    shown = {k: v for k, v in meta.items() if k not in skip}
    if not shown:
        return ""
    return (
        f"<details open><summary>{html.escape(label)} (released with the notebook)</summary>"
        f"{pre(json.dumps(shown, indent=1, default=str))}</details>"
    )


@dataclass
class Part:
    """One part of a file with the findings about it: ``label`` (``cell 3``) and safe HTML."""

    label: str
    html: str
    findings: list[dict] = field(default_factory=list)


@dataclass
class Shown:
    path: str
    status: str
    parts: list[Part]


def notebook(data: bytes) -> list[Part]:
    try:
        nb = json.loads(data)
        cells = nb["cells"]
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        return [Part("file", "<p>(not a readable notebook; shown as text)</p>" + text_of(data))]
    parts = [Part("notebook", metadata(nb.get("metadata"), NOTEBOOK_KEYS, "notebook metadata"))]
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source"))
        if kind == "markdown":
            body = f'<div class="md">{markdown(source)}</div>'
        else:
            body = pre(source, "src" if kind == "code" else "raw")
        body += "".join(output(o) for o in cell.get("outputs") or [] if isinstance(o, dict))
        body += metadata(cell.get("metadata"), CELL_KEYS, "cell metadata")
        parts.append(Part(f"cell {n}", body))
    return parts


def text_of(data: bytes) -> str:
    try:
        return pre(data.decode("utf-8"))
    except UnicodeDecodeError:
        return f"<p>(binary: {len(data):,} bytes, not shown)</p>"


def shown(path: str, data: bytes, status: str = "", findings: list[dict] | None = None) -> Shown:
    """``path`` with content ``data`` rendered for review, its findings beside their parts."""
    lower = path.lower()
    kind = next((m for m, exts in IMAGE_TYPES.items() if lower.endswith(exts)), None)
    if lower.endswith(".ipynb"):
        parts = notebook(data)
    elif kind:
        parts = [Part("file", image(kind, data))]
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "\x00" in text:
            parts = [Part("file", f"<p>(binary: {len(data):,} bytes, not shown)</p>")]
        elif lower.endswith((".csv", ".tsv")):
            parts = [Part("file", table(delimited(text, path)))]
        elif lower.endswith((".html", ".htm")):
            parts = [Part("file", f'<div class="html">{clean_html(text)}</div>')]
        elif lower.endswith(".md"):
            parts = [Part("file", f'<div class="md">{markdown(text)}</div>')]
        else:
            parts = [Part("file", pre(text))]
    by_label = {p.label: p for p in parts}
    top = Part("findings", "")
    for f in findings or []:
        m = CELL_RE.search(str(f.get("where") or ""))
        target = by_label.get(f"cell {m.group(1)}") if m else None
        (target or top).findings.append(f)
    return Shown(path, status, [top, *[p for p in parts if p.html or p.findings]])
