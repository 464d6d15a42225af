"""Differencing: a new table that, set against one released before, reveals a small group.

Two safe tables can disclose together: counts by region for everyone, released last month,
and the same counts without the persons aged 90 or over, submitted now, differ by the
persons aged 90+ in each region, and those differences may be 1 or 2. So the airlock keeps
every table it released for a project (its header and cells, stored by the service), and
each table of a new request is set against them, and against the tables before it in the
same request (a total and the total without a subgroup, submitted together): where both
tables count the same row and column and the counts differ by 1 to ``threshold - 1``, the
new file is flagged (``differencing``) for the data steward, naming the other table.

Tables are read from CSV/TSV files (delimiter sniffed), HTML files and the HTML tables of
a notebook's outputs. A row is known by its label cells (text, and columns named like
labels: year, age, sex, region, code, ...), or by its position when it has none; only
cells that are whole numbers in both tables are compared (means and rates are not counts).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

RULE = "differencing"
MAX_ROWS = 2000  # rows of one table kept and compared
MAX_TABLES = 200  # tables of one file
LABEL_COLUMNS = re.compile(
    r"^(|index|unnamed.*|year|aar|år|age|alder|age_?group|aldersgruppe|sex|koen|køn|gender|"
    r"region|kom|kommune|municipality|code|kode|.*_code|.*_kode|group|gruppe|category|"
    r"period|month|maaned|week|uge|date|dato|.*_year|.*_aar|level|niveau|atc|icd.*|diag.*)$",
    re.I,
)


@dataclass
class Table:
    """One table of a file: where it is (``table 2``, ``cell 5, table 1``) and its cells."""

    where: str
    header: list[str]
    rows: list[list[str]]

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "header": self.header, "rows": self.rows}


def number(text: str) -> float | None:
    text = str(text).strip().replace("\u2212", "-").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Tables(HTMLParser):
    """The tables of an HTML fragment (tags in any case) as rows of text cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            self._stack[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str, where: str = "") -> list[Table]:
    parser = _Tables()
    parser.feed(text)
    parser.close()
    out = []
    for n, rows in enumerate(parser.tables[:MAX_TABLES], 1):
        rows = [r for r in rows if r]
        if len(rows) >= 2:
            at = f"{where}, table {n}" if where else f"table {n}"
            out.append(_table(at, rows))
    return out


def _table(where: str, rows: list[list[str]]) -> Table:
    """A table from its rows of text (the first its header; pandas' two-line header of a
    named index folded into one)."""
    header, body = rows[0], rows[1 : MAX_ROWS + 1]
    if (
        body
        and len(header) > 1
        and len(body[0]) == len(header)
        and not header[0]
        and body[0][0]
        and not any(body[0][1:])
    ):
        header = [body[0][0], *header[1:]]  # pandas: index name on a line of its own
        body = body[1:]
    return Table(where, header, body)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def tables_of(path: str, data: bytes) -> list[Table]:
    """The tables of an outbox file ([] for anything that holds none or is not readable)."""
    lower = path.lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    if lower.endswith((".csv", ".tsv")):
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if lower.endswith(".tsv") else ","
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(r)]
        return [_table("table 1", rows)] if len(rows) >= 2 else []
    if lower.endswith((".html", ".htm")):
        return html_tables(text)
    if lower.endswith(".ipynb"):
        try:
            cells = json.loads(text)["cells"]
        except (ValueError, KeyError, TypeError):
            return []
        out = []
        for n, cell in enumerate(cells if isinstance(cells, list) else [], 1):
            for output in (cell.get("outputs") or []) if isinstance(cell, dict) else []:
                bundle = output.get("data") if isinstance(output, dict) else None
                if isinstance(bundle, dict) and "text/html" in bundle:
                    out += html_tables(_text(bundle["text/html"]), f"cell {n}")
        return out[:MAX_TABLES]
    return []


# -- comparing ------------------------------------------------------------------------------


def _cells(header: list[str], rows: list[list[str]]) -> dict[tuple, dict[str, float]]:
    """Each row's key (its label cells, or its position) -> {column: whole number}."""
    labels = {
        i
        for i, name in enumerate(header)
        if LABEL_COLUMNS.match(name.strip())
        or any(i < len(r) and r[i].strip() and number(r[i]) is None for r in rows)
    }
    out: dict[tuple, dict[str, float]] = {}
    for pos, row in enumerate(rows):
        key = tuple(row[i].strip() for i in sorted(labels) if i < len(row)) or (f"#{pos}",)
        values = {}
        for i, cell in enumerate(row):
            if i in labels or i >= len(header):
                continue
            v = number(cell)
            if v is not None and v.is_integer():
                values[header[i].strip()] = v
        out.setdefault(key, values)
    return out


@dataclass
class Released:
    """A table released before: the request and file it came from, and its cells."""

    request_id: int
    path: str
    where: str
    header: list[str]
    rows: list[list[str]]


def compare(new: Table, old: Released, threshold: int) -> tuple[str, str, str] | None:
    """(row key, column, "a vs b") of the first cell whose count differs from the released
    table's by 1 to ``threshold - 1``; None when no cell does (or the tables are the same,
    or share no counted cell)."""
    a, b = _cells(new.header, new.rows), _cells(old.header, old.rows)
    small = None
    differs = False
    for key in a.keys() & b.keys():
        for column in a[key].keys() & b[key].keys():
            d = abs(a[key][column] - b[key][column])
            if d:
                differs = True
            if 0 < d < threshold and small is None:
                small = (" / ".join(key), column, f"{b[key][column]:g} vs {a[key][column]:g}")
    return small if differs else None


def check(
    outputs: dict[str, list[Table]],
    released: list[Released],
    threshold: int,
    request_id: int | None = None,
    passing: set[str] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Findings per file path: each new table set against each released one and, with
    ``request_id`` (the new request's), against the tables before it in the same request
    that could be released (files in ``passing`` not flagged here): both made at once
    disclose as well, so the later one is flagged and the earlier can still be released
    alone."""
    findings: dict[str, list[dict[str, str]]] = {}
    earlier: list[Released] = []
    for path, tables in outputs.items():
        for table in tables:
            for old in [*released, *earlier]:
                hit = compare(table, old, threshold)
                if hit is None:
                    continue
                key, column, values = hit
                source = (
                    "earlier in this request"
                    if old.request_id == request_id
                    else f"released by request {old.request_id}"
                )
                findings.setdefault(path, []).append(
                    {
                        "rule": RULE,
                        "severity": "flag",
                        "where": table.where,
                        "detail": (
                            f"differs from {old.path} ({old.where}) {source} by fewer than "
                            f"{threshold} in row {key!r}, column {column!r} ({values}): set "
                            "side by side, the two tables reveal a group that small"
                        ),
                    }
                )
                break  # one finding per new table is enough to flag it
            if request_id is not None and path in (passing or set()) and path not in findings:
                earlier.append(Released(request_id, path, table.where, table.header, table.rows))
    return findings
