"""Cells of a table as the rules read them: a number, a count with its percentage
(``8,855 (34.6%)``), an estimate with its interval (``48 (34-63)``), a fraction
(``3/120``), a range (``18-39``, a label), suppressed (``<5``, ``x``) or text."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

EMPTY, NUMBER, COUNT_PCT, ESTIMATE, FRACTION, RANGE, TEXT = (
    "empty",
    "number",
    "count-pct",
    "estimate",
    "fraction",
    "range",
    "text",
)

SUPPRESSED = re.compile(
    r"^\s*(<\s*=?\s*\d+|≤\s*\d+|x+|\*+|-|–|—|\.{1,3}|n/?a|nan|nat|none|null|<na>|"
    r"suppressed|redacted|masked|hidden|small|skjult|diskretioneret|true|false|inf|-inf)?\s*$",
    re.I,
)
_NUM = r"[-+−–]?\s*(?:\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][-+]?\d+)?"
NUMBER_RE = re.compile(rf"^\s*\(?\s*(?P<n>{_NUM})\s*(?P<pct>%)?\s*\)?\s*$")
COUNT_PCT_RE = re.compile(
    rf"^\s*(?P<a>{_NUM})\s*(?P<apct>%)?\s*[(\[]\s*(?P<b>{_NUM})\s*(?P<bpct>%)?\s*[)\]]\s*$"
)
ESTIMATE_RE = re.compile(
    rf"^\s*(?P<a>{_NUM})\s*%?\s*(?:[(\[]\s*(?:iqr|ci|95%\s*ci)?[:\s]*(?P<b>{_NUM})\s*%?\s*"
    rf"(?:-|–|—|to|;|,)\s*(?P<c>{_NUM})\s*%?\s*[)\]]|(?:±|\+/-|\+-)\s*(?P<d>{_NUM}))\s*$",
    re.I,
)
FRACTION_RE = re.compile(rf"^\s*(?P<a>{_NUM})\s*/\s*(?P<b>{_NUM})\s*$")
RANGE_RE = re.compile(
    r"^\s*(?:[<>≤≥]=?\s*\d[\d,.]*|\d[\d,.]*\s*\+|\d[\d,.]*\s*(?:-|–|—|to)\s*\d[\d,.]*)"
    r"\s*(?:years?|år|y)?\s*$",
    re.I,
)
COUNT_IN_TEXT = re.compile(r"(?<![\w])[nN]\s*[=:]\s*(\d[\d,.]*)")


@dataclass(frozen=True, slots=True)
class Cell:
    kind: str
    value: float | None = None  # the number; a count-pct's count; an estimate's value; a numerator
    floaty: bool = False  # written with a decimal point (3.0)
    percent: bool = False  # written with a percent sign
    second: float | None = None  # a count-pct's percentage; a fraction's denominator

    @property
    def numeric(self) -> bool:
        return self.kind in (NUMBER, COUNT_PCT, ESTIMATE, FRACTION)


def to_number(text: str) -> tuple[float, bool] | None:
    """(value, written with a decimal point) of one number as tables print it."""
    t = text.strip().replace("−", "-").replace("–", "-").replace("\u00a0", "").replace("\u202f", "")
    t = t.replace(" ", "")
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    elif re.fullmatch(r"[-+]?\d{1,3}(\.\d{3}){2,}(,\d+)?", t):
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[-+]?\d+,\d+", t):
        t = t.replace(",", ".")  # a decimal comma (3,5)
    try:
        value = float(t)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value, ("." in t or "e" in t.lower())


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> Cell:
    """What one cell of a table holds."""
    if len(text) > 200:
        return Cell(TEXT)
    if SUPPRESSED.match(text):
        return Cell(EMPTY)
    m = NUMBER_RE.match(text)
    if m:
        got = to_number(m.group("n"))
        if got is not None:
            return Cell(NUMBER, got[0], got[1], bool(m.group("pct")))
    m = COUNT_PCT_RE.match(text)
    if m:
        a, b = to_number(m.group("a")), to_number(m.group("b"))
        if a is not None and b is not None:
            if m.group("apct") and not m.group("bpct"):  # 34.6% (8,855)
                return Cell(COUNT_PCT, b[0], b[1], True, a[0])
            return Cell(COUNT_PCT, a[0], a[1], True, b[0])
    m = ESTIMATE_RE.match(text)
    if m:
        a = to_number(m.group("a"))
        if a is not None:
            return Cell(ESTIMATE, a[0], a[1])
    m = FRACTION_RE.match(text)
    if m:
        a, b = to_number(m.group("a")), to_number(m.group("b"))
        if a is not None and b is not None:
            return Cell(FRACTION, a[0], a[1], False, b[0])
    if RANGE_RE.match(text):
        return Cell(RANGE)
    return Cell(TEXT)


def small(value: float | None, threshold: int, *, integral: bool = False) -> bool:
    """A count from 1 to ``threshold - 1`` (sign ignored: -3 reveals 3)."""
    if value is None:
        return False
    v = abs(value)
    if integral and not float(v).is_integer():
        return False
    return 0 < v < threshold
