"""Documents and the parts of notebooks that are documents: HTML, markdown, LaTeX, JSON
and figures (PNG, JPEG, GIF, SVG, PDF). Figures always go to a person; the text inside
them (SVG text, PNG and JPEG text chunks) gets the text rules too."""

from __future__ import annotations

import json
import re

from . import formats as F
from .model import BLOCK, FLAG
from .scope import Scope
from .tables import check_table
from .text import check_data, check_text, normal
from .textscan import scan_ids

MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)]*)\)")


def check_html(html: str, scope: Scope) -> int:
    """Tables, text, comments, attributes and scripts of HTML; how many words of prose
    are outside its tables."""
    html = normal(html, scope)
    doc = F.Html(html)
    if not doc.ok:
        scope.add("unreadable", BLOCK, "the HTML could not be read")
        return 0
    for k, (header, rows) in enumerate(doc.tables, 1):
        check_table(header, rows, scope.at(table=k))
    text = doc.text
    spans = check_text(text, scope)
    for comment in doc.comments:
        check_text(comment, scope)
    for value in doc.readable:
        check_text(value, scope)
    for value in doc.attrs:
        scan_ids(value, scope)
    scripts = [s for s in doc.scripts if s.strip()]
    if scripts:
        for s in scripts:
            scan_ids(s, scope)
        scope.add(
            "active-content",
            FLAG,
            "the HTML runs a script: what it shows cannot be checked by a program",
        )
    if doc.images:
        scope.add("figure", FLAG, "the HTML shows an image: a person must look at it")
    return _prose_words(text, spans)


def check_markdown(text: str, scope: Scope) -> int:
    """Pipe tables, HTML inside, links and the text of markdown; words of prose."""
    text = normal(text, scope)
    words = 0
    if "<" in text and re.search(r"<[A-Za-z!]", text):
        doc = F.Html(text)
        for k, (header, rows) in enumerate(doc.tables, 101):
            check_table(header, rows, scope.at(table=k))
        for comment in doc.comments:
            check_text(comment, scope)
        for value in doc.attrs:
            scan_ids(value, scope)
        if any(s.strip() for s in doc.scripts):
            scope.add("active-content", FLAG, "the markdown holds a script")
        if doc.images:
            scope.add("figure", FLAG, "the markdown shows an image: a person must look at it")
        text = doc.text
    tables, rest = F.markdown(text)
    for k, (header, rows) in enumerate(tables, 1):
        check_table(header, rows, scope.at(table=k))
    for m in MD_LINK.finditer(rest):
        if m.group(0).startswith("!"):
            scope.add("figure", FLAG, "the markdown shows an image: a person must look at it")
        scan_ids(m.group(2), scope)
    rest = MD_LINK.sub(lambda m: m.group(1), rest)
    spans = check_text(rest, scope)
    words += _prose_words(rest, spans)
    return words


def check_latex(text: str, scope: Scope) -> int:
    text = normal(text, scope)
    tables, rest = F.latex(text)
    for k, (header, rows) in enumerate(tables, 1):
        check_table(header, rows, scope.at(table=k))
    spans = check_text(rest, scope)
    return _prose_words(rest, spans)


def check_json(text_or_value, scope: Scope, *, parsed: bool = False) -> None:
    """JSON: tables (records, columns, pandas layouts, dicts of numbers) and strings."""
    if parsed:
        value = text_or_value
    else:
        try:
            value = json.loads(normal(text_or_value, scope))
        except ValueError:
            scope.add("unreadable", BLOCK, "not readable JSON")
            return
    check_data(value, scope)


def check_figure(kind: str, data: bytes | str, scope: Scope) -> None:
    """A figure: a person must look at it. Its text is checked; bytes hidden after the
    image, or an image that is not what its type says, block."""
    problem = None
    text = ""
    if kind == "png":
        text, problem = F.png_text(data)  # type: ignore[arg-type]
    elif kind == "jpeg":
        text, problem = F.jpeg_text(data)  # type: ignore[arg-type]
    elif kind == "gif":
        problem = None if data[:6] in (b"GIF87a", b"GIF89a") else "not a GIF image"
    elif kind == "pdf":
        problem = None if data[:5] == b"%PDF-" else "not a PDF file"
    elif kind == "svg":
        svg = normal(data if isinstance(data, str) else data.decode("utf-8", "replace"), scope)
        doc = F.svg_text(svg)
        text = "\n".join([doc.text, *doc.comments, *doc.readable])
        for value in doc.attrs:
            scan_ids(value, scope)
        if any(s.strip() for s in doc.scripts):
            scope.add("active-content", FLAG, "the SVG figure runs a script")
    if problem:
        scope.add("binary", BLOCK, f"{problem}: only plain figures leave the secure environment")
        return
    if text.strip():
        check_text(text, scope)
    scope.add("figure", FLAG, "a figure cannot be checked by a program: a person must look at it")


def _prose_words(text: str, table_spans: list[tuple[int, int]]) -> int:
    """Words of prose outside tables (a one-line title does not count)."""
    lines = text.split("\n")
    inside = {i for a, b in table_spans for i in range(a, b + 1)}
    prose = [line for n, line in enumerate(lines, 1) if n not in inside and line.strip()]
    if len(prose) <= 1 and table_spans:
        return 0
    return sum(len(re.findall(r"[A-Za-zÆØÅæøå]{2,}", line)) for line in prose)
