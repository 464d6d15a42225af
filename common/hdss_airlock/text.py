"""Printed text (stdout, stderr, ``text/plain``, text files): person ids, hidden
characters, tables printed as text (a DataFrame or Series repr, CSV, a dict), numbers
that may be counts, and lines that add up to row-level data.

A printed DataFrame is read as a table, so its index (0, 1, 2, ...) is a position, not
a count, while the numbers in its columns get the table rules.
"""

from __future__ import annotations

import ast
import re
import unicodedata

from . import cells as C
from .formats import json_tables
from .model import BLOCK
from .scope import Scope
from .tables import check_table
from .textscan import DATES, register_lines, scan_encoded, scan_ids, scan_numbers

HIDDEN = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
CHUNK = re.compile(r"\S+(?: \S+)*")  # cells of an aligned line: split on two or more spaces
WORD = re.compile(r"\S+")
FOOTER = re.compile(
    r"^(?:Name: (?P<name>.*?), )?(?:Length: \d+, )?dtype: \S+$|^\[\d+ rows x \d+ columns\]$"
)
MAX_LITERAL = 256 * 1024
RULE_CHARS = set("-=+|: ─━═┬┼┴╭╮╰╯├┤┌┐└┘╞╡╪╤╧╥╨╫│┃║")
BARS = str.maketrans({"|": " ", "│": " ", "┃": " ", "║": " "})
EMBEDDED = re.compile(r"[{\[].*[}\]]")


def normal(text: str, scope: Scope, *, line_base: int = 0) -> str:
    """The text as a reader sees it (NFKC: full-width and superscript digits are digits);
    zero-width and direction characters, which can hide content, block."""
    if text.isascii():
        return text
    m = HIDDEN.search(text.lstrip("\ufeff"))
    if m:
        line = text.lstrip("\ufeff").count("\n", 0, m.start()) + 1 + line_base
        scope.add(
            "hidden-characters",
            BLOCK,
            "invisible characters (zero-width, direction or tag characters) can hide content",
            line=line,
        )
    return unicodedata.normalize("NFKC", text)


def check_text(
    text: str, scope: Scope, *, numbers: bool = True, line_base: int = 0
) -> list[tuple[int, int]]:
    """Every text rule on ``text``; the (first, last) line of each table found in it."""
    if not text or not text.strip():
        return []
    text = normal(text, scope, line_base=line_base)
    scan_ids(text, scope, line_base=line_base)
    scan_encoded(text, scope, line_base=line_base)
    whole = text.strip()
    if whole[:1] in "{[(" and len(whole) < MAX_LITERAL and _literal(whole, scope.at(table=1)):
        return [(1, text.count("\n") + 1)]
    spans: list[tuple[int, int]] = []
    lines = text.split("\n")
    table_no = 0
    for start, block in _blocks(lines):
        found = _table_in(block)
        if found is not None:
            table_no += 1
            header, rows = found
            check_table(header, rows, scope.at(table=table_no, line=start + line_base + 1))
            spans.append((start + 1, start + len(block)))
        else:  # free text: its lines add up to row-level data too
            block = [_embedded(line, scope) for line in block]
            block_text = "\n".join(block)
            register_lines(block_text, scope, line_base=start + line_base)
            if numbers:
                scan_numbers(block_text, scope, line_base=start + line_base)
    return spans


def _embedded(line: str, scope: Scope) -> str:
    """A dict or list printed inside a line (``INFO: {'n': 3}``) is read as data; the line
    is returned without it."""
    if "{" not in line and "[" not in line:
        return line
    m = EMBEDDED.search(line)
    if m and len(m.group()) < MAX_LITERAL and m.end() - m.start() > 2:
        if _literal(m.group(), scope):
            return line[: m.start()] + " " * (m.end() - m.start()) + line[m.end() :]
    return line


def _literal(text: str, scope: Scope) -> bool:
    """A Python literal (a dict, list or tuple as ``print`` shows it) read as data."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return False
    if isinstance(value, tuple):
        value = list(value)
    check_data(value, scope)
    return True


def check_data(value, scope: Scope) -> None:
    """JSON-like data: tables and text inside it."""
    count = [0]

    def table(header, rows, row_labels=True):
        count[0] += 1
        check_table(header, rows, scope.at(table=count[0]), row_labels=row_labels)

    def text(s: str) -> None:
        check_text(s, scope.at(table=None))

    def key(k: str) -> None:
        scan_ids(k, scope)

    json_tables(value, table, text, key)


def _blocks(lines: list[str]):
    """(first line index, lines) of each run of non-blank lines."""
    start, block = 0, []
    for i, line in enumerate(lines):
        if line.strip():
            if not block:
                start = i
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _table_in(block: list[str]) -> tuple[list[str], list[list[str]]] | None:
    if len(block) < 2:
        return None
    whole = "\n".join(block).strip()
    if whole[:1] in "{[" and len(whole) < MAX_LITERAL:
        return None  # a literal that did not parse: text
    return _delimited(block) or _aligned(block)


def _delimited(block: list[str]):
    """Lines that all hold the same number (one or more) of one delimiter: CSV printed."""
    for d in (",", ";", "\t", "|"):
        counts = {line.count(d) for line in block}
        if (
            len(counts) == 1
            and counts != {0}
            and (d == "\t" or not any("  " in x.strip() for x in block))
        ):
            from .formats import read_csv

            header, rows = read_csv("\n".join(block), d)
            if len(header) >= 2:
                return header, rows
    return None


def _numericish(piece: str) -> bool:
    if DATES.fullmatch(piece) or piece in ("NaN", "NaT", "None", "<NA>", "nan", "True", "False"):
        return True
    if piece[:1] in "([±" and any(ch.isdigit() for ch in piece):
        return True
    return C.parse(piece).kind in (C.NUMBER, C.RANGE, C.EMPTY, C.FRACTION)


def _tokens(line: str) -> list[tuple[int, int, str]]:
    out = []
    for m in CHUNK.finditer(line):
        chunk = m.group()
        pieces = [
            (p.start() + m.start(), p.end() + m.start(), p.group()) for p in WORD.finditer(chunk)
        ]
        if len(pieces) > 1 and all(_numericish(p[2]) for p in pieces):
            merged: list[tuple[int, int, str]] = []
            for s, e, tx in pieces:
                if merged and tx[:1] in "([±":
                    ps, _, ptx = merged[-1]
                    merged[-1] = (ps, e, f"{ptx} {tx}")
                else:
                    merged.append((s, e, tx))
            out.extend(merged)
        else:
            out.append((m.start(), m.end(), chunk))
    return out


def _prose(token: str) -> bool:
    words = token.split()
    return len(words) >= 4 and sum(1 for w in words if w.strip(".,;:()").isalpha()) >= 3


def _aligned(block: list[str]):
    """A table printed with aligned columns (pandas, polars, statsmodels, tabulate)."""
    series_name = None
    lines = []
    for line in block:
        stripped = line.rstrip().removesuffix("\\").rstrip()
        m = FOOTER.match(stripped.strip())
        if m:
            series_name = m.group("name") if m.groupdict().get("name") else series_name
            continue
        if set(stripped.strip()) <= RULE_CHARS:
            continue  # rules of tabulate-like tables
        lines.append(stripped.translate(BARS))
    if len(lines) < 2:
        return None
    toks = [_tokens(line) for line in lines]
    if any(_prose(t[2]) for line in toks for t in line):
        return None
    numeric = [any(_numericish(t[2]) for t in line) for line in toks]

    def numbers(line):
        return sum(1 for t in line if _numericish(t[2]))

    first_data = next((i for i in range(1, len(toks)) if len(toks[i]) >= 2), None)
    head_lines = 0
    if (
        lines[0][:1] == " "
        or not numeric[0]
        or (first_data is not None and numbers(toks[0]) < numbers(toks[first_data]))
    ):
        head_lines = 1
        while (
            head_lines < len(lines) - 1
            and not numeric[head_lines]
            and len(toks[head_lines]) < len(toks[head_lines + 1])
        ):
            head_lines += 1
    data = toks[head_lines:]
    if not data or any(len(line) < 2 for line in data):
        return None
    # columns: spans of data tokens that overlap, merged
    spans = sorted((s, e) for line in data for s, e, _ in line)
    columns: list[list[int]] = []
    for s, e in spans:
        if columns and s < columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], e)
        else:
            columns.append([s, e])
    if len(columns) < 2:
        return None
    names = [""] * len(columns)
    for line in lines[:head_lines]:
        for w in WORD.finditer(line):
            c = _nearest(columns, w.start(), w.end())
            names[c] = f"{names[c]} {w.group()}".strip()
    rows = []
    for line in data:
        row = [""] * len(columns)
        for s, e, tx in line:
            c = _nearest(columns, s, e)
            row[c] = f"{row[c]} {tx}".strip()
        rows.append(row)
    if series_name:
        for c in range(len(columns) - 1, -1, -1):
            if not names[c]:
                names[c] = series_name
                break
    return names, rows


def _nearest(columns: list[list[int]], s: int, e: int) -> int:
    best, best_d = 0, None
    for i, (cs, ce) in enumerate(columns):
        overlap = min(e, ce) - max(s, cs)
        d = -overlap if overlap > 0 else max(cs - e, s - ce) + 1
        if best_d is None or d < best_d:
            best, best_d = i, d
    return best
