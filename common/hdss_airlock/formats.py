"""Tables and text out of the formats an output can take: HTML, markdown, LaTeX, CSV/TSV
(delimiter sniffed), JSON, SVG, and the text chunks of PNG and JPEG figures."""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from html.parser import HTMLParser
from typing import Any

Table = tuple[list[str], list[list[str]]]

# -- HTML ---------------------------------------------------------------------------------

READABLE_ATTRS = {
    "title",
    "alt",
    "aria-label",
    "label",
    "placeholder",
    "summary",
    "value",
    "content",
}


class _Html(HTMLParser):
    """Tables (rowspan and colspan spread out), text outside them, scripts, comments and
    attribute values of an HTML fragment; tags in any case."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[list[list[str]], list[list[str]]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.comments: list[str] = []
        self.attrs: list[str] = []  # every attribute value (checked for ids)
        self.readable: list[str] = []  # attribute values a person reads (checked as text)
        self.images = 0
        self._stack: list[dict[str, Any]] = []
        self._style = 0
        self._script: list[str] | None = None

    # a table under construction: head/body rows of (text, colspan, rowspan)
    def _top(self) -> dict[str, Any] | None:
        return self._stack[-1] if self._stack else None

    def _close_cell(self, tab: dict[str, Any]) -> None:
        if tab["cell"] is not None and tab["row"] is not None:
            text = " ".join("".join(tab["cell"]).split())
            tab["row"].append((text, tab["span"][0], tab["span"][1], tab["th"]))
        tab["cell"] = None

    def _close_row(self, tab: dict[str, Any]) -> None:
        self._close_cell(tab)
        if tab["row"] is not None:
            (tab["head"] if tab["in_head"] else tab["body"]).append(tab["row"])
        tab["row"] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and not value.startswith("data:"):
                self.attrs.append(value)
                if name in READABLE_ATTRS or name.startswith("data-"):
                    self.readable.append(value)
            elif value and value.startswith("data:image"):
                self.images += 1
        tab = self._top()
        if tag == "style":
            self._style += 1
        elif tag == "script":
            self._script = []
        elif tag in ("img", "svg", "canvas", "object", "embed", "iframe", "video"):
            self.images += 1
        elif tag == "table":
            self._stack.append(
                {
                    "head": [],
                    "body": [],
                    "row": None,
                    "cell": None,
                    "in_head": False,
                    "span": (1, 1),
                    "th": False,
                }
            )
        elif tab is None:
            if tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
                self.text.append("\n")
        elif tag == "thead":
            tab["in_head"] = True
        elif tag in ("tbody", "tfoot"):
            self._close_row(tab)
            tab["in_head"] = False
        elif tag == "tr":
            self._close_row(tab)
            tab["row"] = []
        elif tag in ("td", "th"):
            self._close_cell(tab)
            if tab["row"] is None:
                tab["row"] = []
            spans = dict(attrs)
            tab["span"] = (_span(spans.get("colspan")), _span(spans.get("rowspan")))
            tab["th"] = tag == "th"
            tab["cell"] = []
        elif tag in ("br", "p", "div") and tab["cell"] is not None:
            tab["cell"].append(" ")

    def handle_endtag(self, tag: str) -> None:
        tab = self._top()
        if tag == "style":
            self._style = max(0, self._style - 1)
        elif tag == "script":
            if self._script is not None:
                self.scripts.append("".join(self._script))
            self._script = None
        elif tab is None:
            if tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"):
                self.text.append("\n")
        elif tag in ("td", "th"):
            self._close_cell(tab)
        elif tag == "tr":
            self._close_row(tab)
        elif tag == "thead":
            self._close_row(tab)
            tab["in_head"] = False
        elif tag == "table":
            self._close_row(tab)
            self._stack.pop()
            self.tables.append((_grid(tab["head"]), _grid(tab["body"])))
            if not tab["head"] and tab["body"] and all(c[3] for c in tab["body"][0]):
                # no <thead>: a first row of <th> cells is the header
                head, body = self.tables[-1]
                self.tables[-1] = (body[:1], body[1:])

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
            return
        if self._style:
            return
        tab = self._top()
        if tab is not None and tab["cell"] is not None:
            tab["cell"].append(data)
        elif tab is not None:
            if data.strip():
                self.text.append(data)  # text inside a table but outside its cells
        else:
            self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value).strip()), 1000))
    except (TypeError, ValueError):
        return 1


def _grid(rows: list[list[tuple[str, int, int, bool]]]) -> list[list[str]]:
    """Rows of cells with colspan and rowspan spread out: every cell in its own column."""
    out: list[list[str]] = []
    carry: dict[int, tuple[str, int]] = {}
    for row in rows:
        line: list[str] = []
        col, i = 0, 0
        while i < len(row) or col in carry:
            if col in carry:
                text, left = carry.pop(col)
                line.append(text)
                if left > 1:
                    carry[col] = (text, left - 1)
                col += 1
                continue
            text, colspan, rowspan, _ = row[i]
            i += 1
            for k in range(colspan):
                line.append(text if k == 0 else "")
                if rowspan > 1:
                    carry[col] = (text if k == 0 else "", rowspan - 1)
                col += 1
        out.append(line)
    return out


POLARS_DTYPES = re.compile(
    r"(str|i8|i16|i32|i64|u8|u16|u32|u64|f32|f64|date|datetime\[\w+\]|bool|cat|\w+\[\w+\])?"
)


def _header(head: list[list[str]], body: list[list[str]]) -> Table:
    """One header row from many (words of stacked header rows joined per column)."""
    width = max((len(r) for r in head + body), default=0)
    names = [""] * width
    for row in head:
        for i, text in enumerate(row):
            if text and text not in names[i].split(" "):
                names[i] = f"{names[i]} {text}".strip()
    body = [r for r in body if not (r and all(POLARS_DTYPES.fullmatch(c) for c in r))]
    return names, body


class Html:
    """What an HTML fragment holds, parsed once."""

    def __init__(self, html: str) -> None:
        parser = _Html()
        try:
            parser.feed(html)
            parser.close()
        except Exception:  # noqa: BLE001 - html.parser is lenient; never let it pass a file
            self.ok = False
        else:
            self.ok = True
        for tab in parser._stack:  # tables never closed
            parser._close_row(tab)
            parser.tables.append((_grid(tab["head"]), _grid(tab["body"])))
        self.tables: list[Table] = []
        for head, body in parser.tables:
            if not head and body:
                head, body = body[:1], body[1:]
            self.tables.append(_header(head, body))
        self.text = "".join(parser.text)
        self.scripts = parser.scripts
        self.comments = parser.comments
        self.attrs = parser.attrs
        self.readable = parser.readable
        self.images = parser.images


def html_tables(html: str) -> list[Table]:
    return Html(html).tables


# -- markdown -------------------------------------------------------------------------------

MD_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
MD_DECORATION = re.compile(r"(\*\*|__|\*|_|`)")


def _md_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    parts = re.split(r"(?<!\\)\|", line)
    return [MD_DECORATION.sub("", p).replace("\\|", "|").strip() for p in parts]


def markdown(text: str) -> tuple[list[Table], str]:
    """The pipe tables of a markdown text, and the rest of its text."""
    lines = text.split("\n")
    tables: list[Table] = []
    rest: list[str] = []
    i = 0
    while i < len(lines):
        if "|" in lines[i] and i + 1 < len(lines) and MD_SEPARATOR.match(lines[i + 1]):
            header = _md_cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_md_cells(lines[i]))
                i += 1
            tables.append((header, rows))
            rest.extend([""] * (len(rows) + 2))  # keep line numbers
            continue
        rest.append(lines[i])
        i += 1
    return tables, "\n".join(rest)


# -- LaTeX ----------------------------------------------------------------------------------

TABULAR = re.compile(
    r"\\begin\{(tabular\*?|longtable|array|tabularx|tblr)\}(?:\{[^}]*\}|\[[^\]]*\])*(.*?)\\end\{\1\}",
    re.S,
)
LATEX_RULES = re.compile(
    r"\\(toprule|midrule|bottomrule|hline|endhead|endfirsthead|endfoot|endlastfoot)\b|\\cline\{[^}]*\}"
)
LATEX_WRAP = re.compile(
    r"\\(?:textbf|textit|emph|text|mathrm|mathbf|underline|textrm|textsf|texttt)\{([^{}]*)\}"
)
LATEX_MULTI = re.compile(r"\\multi(?:column|row)\{[^}]*\}\{[^}]*\}\{([^{}]*)\}")


def latex_text(text: str) -> str:
    """LaTeX with its markup taken off (what a reader sees, roughly)."""
    text = LATEX_MULTI.sub(r"\1", text)
    for _ in range(3):
        text = LATEX_WRAP.sub(r"\1", text)
    text = text.replace("\\%", "%").replace("\\,", "").replace("\\ ", " ").replace("\\_", "_")
    text = re.sub(r"\\(?:left|right|displaystyle|quad|qquad|cdot|times)\b", " ", text)
    text = re.sub(r"\\[A-Za-z]+\*?", " ", text)
    return text.replace("$", " ").replace("{", "").replace("}", "").replace("~", " ")


def latex(text: str) -> tuple[list[Table], str]:
    """The tabular environments of a LaTeX text as tables, and the rest as plain text."""
    tables: list[Table] = []
    for m in TABULAR.finditer(text):
        body = m.group(2)
        head_part, sep, data_part = body.partition("\\midrule")
        if not sep:
            head_part, data_part = "", body
        head_rows = [_latex_row(r) for r in re.split(r"\\\\", LATEX_RULES.sub("", head_part))]
        rows = [_latex_row(r) for r in re.split(r"\\\\", LATEX_RULES.sub("", data_part))]
        head_rows = [r for r in head_rows if any(r)]
        rows = [r for r in rows if any(r)]
        if not head_rows and rows:
            head_rows, rows = rows[:1], rows[1:]
        tables.append(_header(head_rows, rows))
    rest = TABULAR.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return tables, latex_text(rest)


def _latex_row(row: str) -> list[str]:
    cells = re.split(r"(?<!\\)&", row)
    return [" ".join(latex_text(c).split()) for c in cells]


# -- CSV ------------------------------------------------------------------------------------

DELIMITERS = (",", ";", "\t", "|")


def sniff(text: str, prefer: str | None = None) -> str:
    """The delimiter of a delimited text: the one that splits its first lines into the same
    number of fields most often (a semicolon file is read with semicolons)."""
    sample = [line for line in text[:65536].split("\n")[:60] if line.strip()]
    if len(sample) > 1 and not text.endswith("\n") and len(text) > 65536:
        sample = sample[:-1]  # cut off mid-line
    best, best_score = prefer or ",", (0.0, 0)
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=d)]
        except csv.Error:
            continue
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal) / len(counts), modal)
        if d == prefer:
            score = (score[0] + 0.01, modal)
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv(text: str, delimiter: str | None = None, max_rows: int | None = None) -> Table:
    """Header and rows of a delimited text; with ``max_rows``, reading stops one row past
    it (a longer table is row-level data whatever its other rows hold)."""
    delimiter = delimiter or sniff(text)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if any(c.strip() for c in row):
                rows.append(row)
                if max_rows is not None and len(rows) > max_rows + 1:
                    break
    except csv.Error:
        rows = [r for r in (line.split(delimiter) for line in text.split("\n")) if any(r)]
    if delimiter == ";":  # decimal commas: 3,5 is three and a half
        rows = [[re.sub(r"^(-?\d+),(\d+)$", r"\1.\2", c.strip()) for c in r] for r in rows]
    return (rows[0], rows[1:]) if rows else ([], [])


# -- JSON -----------------------------------------------------------------------------------

SCALARS = (str, int, float, bool, type(None))


def _scalar_text(v: Any) -> str:
    if v is None or isinstance(v, bool):
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def json_tables(
    obj: Any, emit_table, emit_text, emit_key, *, prefix: str = "", depth: int = 0
) -> None:
    """Walk JSON data: tables (records, columns, pandas' split and index layouts, a dict
    of numbers as a one-row table) to ``emit_table(header, rows, row_labels)``, strings to
    ``emit_text``, keys to ``emit_key``."""
    if depth > 60:
        emit_text("(nested too deep)")
        return
    if isinstance(obj, dict):
        for k in obj:
            emit_key(str(k))
        keys = [str(k) for k in obj]
        values = list(obj.values())
        if {"columns", "data"} <= set(obj) and isinstance(obj["data"], list):
            cols = [str(c) for c in obj["columns"]] if isinstance(obj["columns"], list) else []
            index = obj.get("index") if isinstance(obj.get("index"), list) else None
            rows = [r if isinstance(r, list) else [r] for r in obj["data"]]
            if index is not None and len(index) == len(rows):
                cols, rows = ["", *cols], [[ix, *r] for ix, r in zip(index, rows, strict=True)]
            _emit_rows(cols, rows, emit_table, emit_text, emit_key, depth)
            return
        if values and all(isinstance(v, list) for v in values):
            lengths = {len(v) for v in values}
            if (
                len(lengths) == 1
                and lengths != {0}
                and all(isinstance(x, SCALARS) for v in values for x in v)
            ):
                n = lengths.pop()
                _emit_rows(
                    keys,
                    [[v[i] for v in values] for i in range(n)],
                    emit_table,
                    emit_text,
                    emit_key,
                    depth,
                )
                return
        if len(values) >= 2 and all(isinstance(v, dict) and v for v in values):
            inner = [k for v in values for k in v]
            if all(isinstance(x, SCALARS) for v in values for x in v.values()):
                cols = list(dict.fromkeys(str(k) for k in inner))
                rows = [
                    [k, *[v.get(c, v.get(_key(v, c))) for c in cols]]
                    for k, v in zip(keys, values, strict=True)
                ]
                _emit_rows(["", *cols], rows, emit_table, emit_text, emit_key, depth)
                return
        scalars = [(k, v) for k, v in zip(keys, values, strict=True) if isinstance(v, SCALARS)]
        if scalars:
            header = [f"{prefix} {k}".strip() for k, _ in scalars]
            emit_table(header, [[_scalar_text(v) for _, v in scalars]], False)
        for k, v in zip(keys, values, strict=True):
            if not isinstance(v, SCALARS):
                json_tables(v, emit_table, emit_text, emit_key, prefix=k, depth=depth + 1)
    elif isinstance(obj, list):
        if obj and all(isinstance(x, dict) for x in obj):
            cols = list(dict.fromkeys(str(k) for x in obj for k in x))
            rows = [[x.get(c, x.get(_key(x, c))) for c in cols] for x in obj]
            for c in cols:
                emit_key(c)
            _emit_rows(cols, rows, emit_table, emit_text, emit_key, depth)
        elif obj and all(isinstance(x, list) for x in obj):
            rows = obj
            if all(isinstance(c, str) for c in rows[0]) and len(rows) > 1:
                _emit_rows(
                    [str(c) for c in rows[0]], rows[1:], emit_table, emit_text, emit_key, depth
                )
            else:
                width = max(len(r) for r in rows)
                _emit_rows([""] * width, rows, emit_table, emit_text, emit_key, depth)
        elif obj and all(isinstance(x, SCALARS) for x in obj):
            emit_table([prefix], [[_scalar_text(x)] for x in obj])
        else:
            for x in obj:
                json_tables(x, emit_table, emit_text, emit_key, prefix=prefix, depth=depth + 1)
    elif isinstance(obj, str):
        emit_text(obj)


def _key(d: dict, name: str) -> Any:
    for k in d:
        if str(k) == name:
            return k
    return name


def _emit_rows(header, rows, emit_table, emit_text, emit_key, depth) -> None:
    flat: list[list[str]] = []
    for row in rows:
        line = []
        for v in row if isinstance(row, list) else [row]:
            if isinstance(v, SCALARS):
                line.append(_scalar_text(v))
            else:
                line.append("")
                json_tables(v, emit_table, emit_text, emit_key, depth=depth + 1)
        flat.append(line)
    emit_table(header, flat)


# -- figures --------------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_text(data: bytes) -> tuple[str, str | None]:
    """(the text of a PNG's text chunks, the reason it is not a plain PNG or None)."""
    if not data.startswith(PNG_MAGIC):
        return "", "not a PNG image"
    texts = []
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        chunk = data[i + 8 : i + 8 + length]
        if len(chunk) < length:
            return "", "a PNG chunk runs past the end of the file"
        if kind == b"tEXt":
            texts.append(chunk.replace(b"\x00", b": ").decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = chunk.partition(b"\x00")
            try:
                texts.append(
                    key.decode("latin-1")
                    + ": "
                    + zlib.decompressobj().decompress(rest[1:], 1 << 20).decode("latin-1")
                )
            except zlib.error:
                return "", "a compressed PNG text chunk does not decompress"
        elif kind == b"iTXt":
            parts = chunk.split(b"\x00", 5)
            if len(parts) == 6:
                body = parts[5]
                if parts[1][:1] == b"\x01":
                    try:
                        body = zlib.decompressobj().decompress(body, 1 << 20)
                    except zlib.error:
                        return "", "a compressed PNG text chunk does not decompress"
                texts.append(parts[0].decode("latin-1") + ": " + body.decode("utf-8", "replace"))
        elif kind == b"IEND":
            if data[i + 12 :].strip(b"\x00"):
                return "\n".join(texts), "bytes after the end of the image (hidden content)"
            return "\n".join(texts), None
        i += 12 + length
    return "\n".join(texts), "the PNG image has no end"


def jpeg_text(data: bytes) -> tuple[str, str | None]:
    """(the comments of a JPEG, the reason it is not a plain JPEG or None)."""
    if not data.startswith(b"\xff\xd8"):
        return "", "not a JPEG image"
    texts = []
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: image data follows
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker == 0xFE:
            texts.append(data[i + 4 : i + 2 + length].decode("latin-1"))
        i += 2 + length
    end = data.rstrip(b"\x00").rfind(b"\xff\xd9")
    if end < 0:
        return "\n".join(texts), "the JPEG image has no end"
    if data[end + 2 :].strip(b"\x00"):
        return "\n".join(texts), "bytes after the end of the image (hidden content)"
    return "\n".join(texts), None


def svg_text(svg: str) -> Html:
    """The text inside an SVG figure: text elements, titles, comments (matplotlib writes
    each label as a comment beside its glyphs) and readable attributes."""
    return Html(svg)
