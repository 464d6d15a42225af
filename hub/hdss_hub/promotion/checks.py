"""Automated output checks: run on every file of the outbox before any person sees it.

Rules (statistical disclosure control as Danish register research practises it; the
thresholds follow SACRO/acro's defaults where they fit files checked after the fact):

* **person ids** anywhere (a ``pnr``/``cpr``-like column, or a value shaped like a CPR
  number or a pseudonymised person id) -> *block*;
* **row-level data**: a table with more rows than ``max_table_rows`` -> *block*;
* **small counts**: a count cell from 1 to ``threshold - 1`` (count-named columns, and every
  cell of an all-integer cross table) -> *flag*;
* **percentages that reveal a small count** (percentage x denominator < threshold), or a
  percentage with no count beside it to check -> *flag*;
* **minimum and maximum** (one person's value) -> *flag*; **percentiles, medians, means**
  backed by fewer than ``threshold`` persons, or by an unknown number -> *flag*;
* figures and free text cannot be checked by a program -> *flag* for the steward's eye;
  binary or unknown file types and files over the size limit -> *block*.

A file *passes* only with no finding at all; only passing files are ever released.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

PASS, FLAG, BLOCK = "pass", "flag", "block"
ORDER = {PASS: 0, FLAG: 1, BLOCK: 2}

PERSON_ID_COLUMNS = re.compile(
    r"^(pnr|cpr|cprnr|v_cpr|k_cprnr|person_?id|patient_?id|pid|subject_?id|id)$", re.I
)
PERSON_ID_VALUES = [
    ("a CPR number", re.compile(r"(?<![\d-])\d{6}-?\d{4}(?![\d-])")),
    ("a pseudonymised person id (pnr)", re.compile(r"\b[A-Z](?=[0-9A-Z]{0,8}\d)[0-9A-Z]{9}\b")),
]
COUNT_COLUMNS = re.compile(
    r"^(n|n_.*|.*_n|count|.*_count|count_.*|antal|.*_antal|freq|frequency|cases|events|"
    r"deaths|persons|patients|people|individuals|users|new_users|incident_cases|numerator)$",
    re.I,
)
DENOMINATOR_COLUMNS = re.compile(
    r"^(total|n_total|denominator|population|persons_at_risk|at_risk|n_at_risk|.*_total)$", re.I
)
PERCENT_COLUMNS = re.compile(
    r"(^|_)(pct|percent|percentage|prop|proportion|share|andel)(_|$)|%", re.I
)
MINMAX_COLUMNS = re.compile(r"(^|_)(min|max|minimum|maximum|first|last)(_|$)", re.I)
QUANTILE_COLUMNS = re.compile(
    r"(^|_)(median|mean|avg|average|sd|std|p\d{1,2}|q[1-3]|iqr|percentile|quantile)(_|$)", re.I
)
NOT_COUNTS = re.compile(r"(^|_)(year|aar|age|alder|code|kode|id|period|month|week)(_|$)", re.I)
SUPPRESSED = re.compile(
    r"^\s*(<\s*\d+|x|\*|-|–|\.|na|nan|none|null|suppressed|redacted)?\s*$", re.I
)
TEXT_TYPES = (".txt", ".md", ".log", ".json")
IMAGE_TYPES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


@dataclass
class Settings:
    threshold: int = 5
    max_table_rows: int = 500
    max_file_bytes: int = 20 * 1024 * 1024


@dataclass
class Finding:
    rule: str
    severity: str
    detail: str
    where: str = ""

    def to_json(self) -> dict[str, str]:
        return self.__dict__.copy()


@dataclass
class FileReport:
    path: str
    size: int
    sha256: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        return max((f.severity for f in self.findings), key=ORDER.__getitem__, default=PASS)

    def add(self, rule: str, severity: str, detail: str, where: str = "") -> None:
        self.findings.append(Finding(rule, severity, detail, where))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "status": self.status,
            "findings": [f.to_json() for f in self.findings],
        }


def number(text: str) -> float | None:
    text = text.strip().replace("\u2212", "-")
    if not text or SUPPRESSED.match(text):
        return None
    text = text.rstrip("%").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_int(v: float | None) -> bool:
    return v is not None and float(v).is_integer()


# -- tables -------------------------------------------------------------------------------


def check_table(
    header: list[str], rows: list[list[str]], cfg: Settings, report: FileReport, where: str = ""
) -> None:
    """Apply the table rules to one table (header and rows of text cells).

    Person ids and row-level data block; only a table that nothing blocks so far is read
    for numbers, row by row: small counts, percentages, min/max and other statistics.
    """
    at = f"{where} " if where else ""
    header = [h.strip() for h in header]
    _check_person_ids(header, rows, report, at)
    _check_row_level(rows, cfg, report, where)
    if any(f.severity == BLOCK for f in report.findings):
        return
    values = [[number(cell) for cell in row] for row in rows]
    cols = _Columns.of(header, values)
    t = cfg.threshold
    for r, row in enumerate(values, 1):
        loc = f"{at}row {r}"
        row_counts = [row[i] for i in cols.counts if i < len(row) and row[i] is not None]
        _check_counts(header, row, cols.counts, t, report, loc)
        _check_percents(header, row, cols, row_counts, t, report, loc)
        _check_minmax(header, row, cols.minmax, report, loc)
        _check_statistics(header, row, cols.quantiles, row_counts, t, report, loc)


def _check_person_ids(
    header: list[str], rows: list[list[str]], report: FileReport, at: str
) -> None:
    """Block person-id columns, and every cell whose value looks like a person id."""
    for i, name in enumerate(header):
        if PERSON_ID_COLUMNS.match(name):
            report.add(
                "person-id", BLOCK, f"column {name!r} holds person ids", f"{at}column {i + 1}"
            )
    for r, row in enumerate(rows, 1):
        for c, cell in enumerate(row):
            for label, pattern in PERSON_ID_VALUES:
                if pattern.search(cell):
                    report.add(
                        "person-id",
                        BLOCK,
                        f"a value looks like {label}",
                        f"{at}row {r}, column {c + 1}",
                    )
                    break


def _check_row_level(rows: list[list[str]], cfg: Settings, report: FileReport, where: str) -> None:
    """Block a table with more rows than an aggregate table may have."""
    if len(rows) > cfg.max_table_rows:
        report.add(
            "row-level",
            BLOCK,
            f"{len(rows)} rows, more than the {cfg.max_table_rows} "
            "an aggregate table may have: looks like row-level data",
            where,
        )


@dataclass
class _Columns:
    """Which columns (indexes into the header) a table's rules read, and as what."""

    counts: list[int]
    denominators: list[int]
    percents: list[int]
    minmax: list[int]
    quantiles: list[int]

    @classmethod
    def of(cls, header: list[str], values: list[list[float | None]]) -> _Columns:
        """Classify by column name; an all-integer cross table counts every value column."""

        def col(name_re: re.Pattern) -> list[int]:
            return [i for i, h in enumerate(header) if name_re.search(h)]

        counts = [i for i, h in enumerate(header) if COUNT_COLUMNS.match(h)]
        if not counts:
            counts = _cross_table_counts(header, values)
        minmax = [i for i in col(MINMAX_COLUMNS) if i not in counts]
        return cls(
            counts=counts,
            denominators=col(DENOMINATOR_COLUMNS),
            percents=[i for i in col(PERCENT_COLUMNS) if i not in counts],
            minmax=minmax,
            quantiles=[i for i in col(QUANTILE_COLUMNS) if i not in counts and i not in minmax],
        )


def _cross_table_counts(header: list[str], values: list[list[float | None]]) -> list[int]:
    """The value columns of an all-integer cross table (every one a count unless named
    otherwise); [] when the table has no rows or a value column holds a non-integer."""
    value_cols = [
        i
        for i in range(1, len(header))
        if not NOT_COUNTS.search(header[i])
        and not PERCENT_COLUMNS.search(header[i])
        and not QUANTILE_COLUMNS.search(header[i])
        and not MINMAX_COLUMNS.search(header[i])
    ]
    if (
        value_cols
        and values
        and all(
            all(_is_int(v[i]) or v[i] is None for v in values if i < len(v)) for i in value_cols
        )
    ):
        return value_cols
    return []


def _check_counts(
    header: list[str],
    row: list[float | None],
    counts: list[int],
    t: int,
    report: FileReport,
    loc: str,
) -> None:
    """Flag a count from 1 to ``t - 1``."""
    for i in counts:
        v = row[i] if i < len(row) else None
        if v is not None and 0 < v < t:
            report.add(
                "small-count",
                FLAG,
                f"count {v:g} is below {t}",
                f"{loc}, column {header[i]!r}",
            )


def _check_percents(
    header: list[str],
    row: list[float | None],
    cols: _Columns,
    row_counts: list[float],
    t: int,
    report: FileReport,
    loc: str,
) -> None:
    """Flag a percentage that, with the row's denominator, reveals a count below ``t``,
    or that has neither a denominator nor a count beside it to check it against."""
    for i in cols.percents:
        v = row[i] if i < len(row) else None
        if v is None or v == 0:
            continue
        denoms = [row[d] for d in cols.denominators if d < len(row) and row[d]]
        if denoms:
            share = (
                v
                if v <= 1
                and "%" not in header[i]
                and re.search(r"prop|share|andel", header[i], re.I)
                else v / 100
            )
            implied = share * denoms[0]
            if 0 < round(implied) < t:
                report.add(
                    "small-percentage",
                    FLAG,
                    f"{header[i]} {v:g} of {denoms[0]:g} "
                    f"reveals a count of about {implied:.0f}, below {t}",
                    loc,
                )
        elif not row_counts:
            report.add(
                "percentage-unchecked",
                FLAG,
                f"{header[i]} {v:g} has no count or "
                "denominator beside it, so a small count cannot be ruled out",
                loc,
            )


def _check_minmax(
    header: list[str], row: list[float | None], minmax: list[int], report: FileReport, loc: str
) -> None:
    """Flag every minimum or maximum: it is one person's value."""
    for i in minmax:
        if i < len(row) and row[i] is not None:
            report.add(
                "min-max",
                FLAG,
                f"{header[i]} is one person's value; report a percentile of enough persons instead",
                loc,
            )


def _check_statistics(
    header: list[str],
    row: list[float | None],
    quantiles: list[int],
    row_counts: list[float],
    t: int,
    report: FileReport,
    loc: str,
) -> None:
    """Flag a percentile, median or mean with no count beside it, or resting on fewer
    than ``t`` persons."""
    for i in quantiles:
        if i >= len(row) or row[i] is None:
            continue
        if not row_counts:
            report.add(
                "statistic-unbacked",
                FLAG,
                f"{header[i]} has no count beside it: "
                f"cannot tell whether {t} or more persons back it",
                loc,
            )
        elif min(row_counts) < t:
            report.add(
                "statistic-small",
                FLAG,
                f"{header[i]} rests on {min(row_counts):g} persons, below {t}",
                loc,
            )


def read_csv(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    rows = [r for r in rows if any(c.strip() for c in r)]
    return (rows[0], rows[1:]) if rows else ([], [])


# -- notebooks ----------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The tables of an HTML fragment (pandas/polars ``_repr_html_``) as header + rows."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[list[str]], list[list[str]]]] = []
        self._head: list[list[str]] = []
        self._body: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
            self._head, self._body = [], []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self._head if self._in_head else self._body).append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._depth:
            self._depth -= 1
            self.tables.append((self._head, self._body))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> list[tuple[list[str], list[list[str]]]]:
    parser = _Tables()
    parser.feed(html)
    out = []
    for head, body in parser.tables:
        if not head and body:
            head, body = [body[0]], body[1:]
        width = max((len(r) for r in head + body), default=0)
        header = [""] * width
        for hr in head:
            for i, text in enumerate(hr):
                if text:
                    header[i] = text
        # polars prints the dtype under the name; pandas prints "shape" footers: skip both.
        body = [
            r
            for r in body
            if not (
                r
                and all(
                    re.fullmatch(
                        r"(str|i64|f64|i32|date|bool|"
                        r"u32|f32|\w+\[\w+\])?",
                        c,
                    )
                    for c in r
                )
            )
        ]
        out.append((header, body))
    return out


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def check_notebook(data: bytes, cfg: Settings, report: FileReport) -> None:
    try:
        nb = json.loads(data)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as e:
        report.add("unreadable", BLOCK, f"not a readable notebook: {e}")
        return
    for n, cell in enumerate(cells, 1):
        for output in cell.get("outputs") or []:
            where = f"cell {n}"
            kind = output.get("output_type")
            if kind == "stream":
                _check_text(_text(output.get("text")), report, where, cfg.threshold)
            elif kind == "error":
                _check_text("\n".join(output.get("traceback") or []), report, where)
            elif kind in ("execute_result", "display_data"):
                bundle = output.get("data") or {}
                if "text/html" in bundle and "<table" in _text(bundle["text/html"]):
                    for header, rows in html_tables(_text(bundle["text/html"])):
                        check_table(header, rows, cfg, report, where)
                elif "text/plain" in bundle:
                    _check_text(_text(bundle["text/plain"]), report, where, cfg.threshold)
                if any(k.startswith("image/") for k in bundle):
                    report.add(
                        "figure", FLAG, "a figure cannot be checked by a program; look at it", where
                    )


SMALL_NUMBER = re.compile(r"(?<![\w.,:/-])(\d+)(?![\w.,:/-])")


def _check_text(text: str, report: FileReport, where: str, threshold: int = 0) -> None:
    """Person ids block; with ``threshold``, a bare number below it in printed text is
    flagged (it may be a small count that a program cannot tell from anything else)."""
    for label, pattern in PERSON_ID_VALUES:
        if pattern.search(text):
            report.add("person-id", BLOCK, f"text output contains {label}", where)
            return
    if threshold:
        small = [m for m in SMALL_NUMBER.findall(text) if 0 < int(m) < threshold]
        if small:
            report.add(
                "small-number-in-text",
                FLAG,
                f"printed text shows {small[0]}, below "
                f"{threshold}: make sure it is not a count of persons",
                where,
            )


# -- files --------------------------------------------------------------------------------


def check_file(path: str, data: bytes, cfg: Settings, sha256: str = "") -> FileReport:
    """The report for one outbox file (its relative path and content)."""
    report = FileReport(path=path, size=len(data), sha256=sha256)
    lower = path.lower()
    if len(data) > cfg.max_file_bytes:
        report.add(
            "too-large", BLOCK, f"{len(data):,} bytes, over the limit of {cfg.max_file_bytes:,}"
        )
        return report
    if lower.endswith(IMAGE_TYPES):
        report.add("figure", FLAG, "a figure cannot be checked by a program; look at it")
        return report
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.add(
            "binary",
            BLOCK,
            "binary content: only text tables, notebooks and figures leave the secure environment",
        )
        return report
    if "\x00" in text:
        report.add("binary", BLOCK, "binary content (NUL bytes)")
    elif lower.endswith(".ipynb"):
        check_notebook(data, cfg, report)
    elif lower.endswith((".csv", ".tsv")):
        header, rows = read_csv(text, "\t" if lower.endswith(".tsv") else ",")
        check_table(header, rows, cfg, report)
    elif lower.endswith(TEXT_TYPES):
        _check_text(text, report, "")
        if report.status == PASS:
            report.add(
                "free-text",
                FLAG,
                "free text cannot be checked for small counts by a program; read it",
            )
    else:
        report.add(
            "unknown-type", BLOCK, "unknown file type: write tables as .csv, figures as .png/.svg"
        )
    return report
