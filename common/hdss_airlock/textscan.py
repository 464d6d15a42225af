"""Free text: person ids, and numbers below the threshold that may be counts.

A number in prose is a possible count unless its context says otherwise: part of a date,
time, range, version or code (``2015-01-01``, ``18-39``, ``A10BA02``), a list or heading
marker (``1. Open``), a unit (``1 year``, ``2 mmol``), a structural word before it (``type
2``, ``cell 3``, ``step 1``), or an enumeration of codes (``1 man, 2 woman``). Next to a
count word (``n=3``, ``deaths: 3``, ``3 patients``) it is always taken for a count, also
written ``3.0`` or ``-3``, or spelled out (``three patients``).
"""

from __future__ import annotations

import bisect
import re

from . import ids
from .cells import small
from .model import BLOCK, FLAG
from .scope import Scope

COUNT_BEFORE = {
    "n",
    "count",
    "counts",
    "cases",
    "deaths",
    "died",
    "dead",
    "persons",
    "people",
    "patients",
    "events",
    "antal",
    "total",
    "users",
    "individuals",
    "subjects",
    "obs",
    "nobs",
    "freq",
    "frequency",
    "numerator",
    "denominator",
    "population",
    "personer",
    "patienter",
    "døde",
    "births",
    "admissions",
    "survivors",
    "censored",
}
COUNT_AFTER = {
    "person",
    "persons",
    "people",
    "patient",
    "patients",
    "death",
    "deaths",
    "died",
    "case",
    "cases",
    "event",
    "events",
    "user",
    "users",
    "individual",
    "individuals",
    "subject",
    "subjects",
    "birth",
    "births",
    "men",
    "women",
    "boys",
    "girls",
    "children",
    "admissions",
    "prescriptions",
    "diagnoses",
    "visits",
    "contacts",
    "observations",
    "pregnancies",
    "personer",
    "patienter",
    "døde",
    "survivors",
    "residents",
    "inhabitants",
    "citizens",
    "participants",
    "respondents",
    "controls",
    "cohort",
}
UNIT_AFTER = {
    "year",
    "years",
    "yr",
    "yrs",
    "y",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "h",
    "minute",
    "minutes",
    "min",
    "second",
    "seconds",
    "s",
    "ms",
    "år",
    "dage",
    "mmol",
    "mg",
    "g",
    "kg",
    "ml",
    "l",
    "cm",
    "mm",
    "m",
    "km",
    "ddd",
    "x",
    "times",
    "fold",
    "dose",
    "doses",
    "decimal",
    "decimals",
    "digit",
    "digits",
    "character",
    "characters",
    "chars",
    "letter",
    "letters",
    "column",
    "columns",
    "row",
    "rows",
    "cell",
    "cells",
    "table",
    "tables",
    "file",
    "files",
    "notebook",
    "notebooks",
    "step",
    "steps",
    "page",
    "pages",
    "level",
    "levels",
    "group",
    "groups",
    "category",
    "categories",
    "class",
    "classes",
    "value",
    "values",
    "variable",
    "variables",
    "axes",
    "axis",
    "subplot",
    "subplots",
    "figure",
    "figures",
    "plot",
    "plots",
    "line",
    "lines",
    "artists",
    "bins",
    "bin",
    "sex",
    "sexes",
    "point",
    "points",
    "parameter",
    "parameters",
    "argument",
    "arguments",
    "kernel",
    "kernels",
    "thread",
    "threads",
    "cpu",
    "cpus",
    "core",
    "cores",
    "gb",
    "mb",
    "kb",
    "gib",
    "mib",
    "bytes",
}
NOT_COUNT_BEFORE = {
    "type",
    "step",
    "cell",
    "table",
    "figure",
    "fig",
    "notebook",
    "chapter",
    "section",
    "version",
    "v",
    "line",
    "column",
    "row",
    "page",
    "level",
    "stage",
    "grade",
    "class",
    "group",
    "model",
    "week",
    "day",
    "month",
    "year",
    "age",
    "aged",
    "top",
    "p",
    "chi2",
    "df",
    "lag",
    "dose",
    "code",
    "kode",
    "icd",
    "atc",
    "python",
    "round",
    "decile",
    "quintile",
    "quartile",
    "tertile",
    "phase",
    "wave",
    "period",
    "window",
    "part",
    "no",
    "nr",
    "item",
    "number",
    "axis",
    "seed",
    "threshold",
    "degree",
    "order",
    "exercise",
    "task",
    "question",
    "appendix",
    "box",
    "option",
    "scenario",
    "sensitivity",
    "lpr",
    "washout",
    "grace",
    "at",
    "from",
    "since",
    "until",
    "per",
    "than",
}
CODE_VALUE_AFTER = {
    "when",
    "if",
    "means",
    "meaning",
    "indicates",
    "denotes",
    "for",
    "otherwise",
    "else",
}
FILLERS = {"is", "was", "were", "are", "of", "equals", "=", "are:", "is:", "the", "a"}
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "single": 1,
    "lone": 1,
    "couple": 2,
}
SPELLED = re.compile(
    r"\b(" + "|".join(NUMBER_WORDS) + r")\s+(?:[a-zæøå-]+\s+)?(" + "|".join(COUNT_AFTER) + r")\b",
    re.I,
)
MONTHS = (
    r"jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch|ts)?|apr(?:il)?|ma[yj]|jun[ei]?|jul[yi]?|"
    r"aug(?:ust)?|sep(?:t|tember)?|o[ck]t(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
DATES = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    rf"|\b\d{{1,2}}\.?\s+(?:{MONTHS})\b\.?(?:\s+\d{{4}})?"
    r"|\bshape:\s*\(\d+,\s*\d+\)|\[\d+ rows x \d+ columns\]|\b(?:In|Out)\s*\[\s*\d+\s*\]",
    re.I,
)
CANDIDATE = re.compile(r"\d+(?:[.,]\d+)*")
PREV_WORD = re.compile(r"([A-Za-zÆØÅæøå_][\wæøå]*)[^\w\n]{0,4}$")
NEXT_WORD = re.compile(r"^[ \t]{0,2}\(?([A-Za-zÆØÅæøå][\wæøå]*)")
LIST_MARKER = re.compile(r"^(?:[\s>*+-]*\(?\d+[.)]\s|\s*#+\s*\d+\b)")
THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
MAX_SCAN = 25  # small numbers reported per part


class Lines:
    """Line numbers of positions in a text (computed only when a finding needs one)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def of(self, offset: int) -> int:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self._starts, offset)


ENCODED = re.compile(r"(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]{64,}={0,2}|\d{40,})(?![A-Za-z0-9+/])")
SCIENTIFIC = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?[eE][-+]?\d{1,3}(?![\w.])")


def scan_encoded(text: str, scope: Scope, *, line_base: int = 0) -> bool:
    """Block base64 or long digit runs: encoded data no rule can read."""
    for m in ENCODED.finditer(text):
        token = m.group()
        if token.isdigit() or (
            any(c.isupper() for c in token)
            and any(c.islower() for c in token)
            and any(c.isdigit() for c in token)
        ):
            line = text.count("\n", 0, m.start()) + 1 + line_base
            scope.add(
                "encoded-data", BLOCK, "encoded data (base64 or a long run of digits)", line=line
            )
            return True
    return False


def scan_ids(text: str, scope: Scope, *, line_base: int = 0, hashes: bool = True) -> bool:
    """Block the first person id in ``text``; True if one was found."""
    kind = ids.find(text, hashes=hashes)
    if kind is None:
        return False
    line = None
    for n, piece in enumerate(text.split("\n"), 1):
        if ids.find(piece, hashes=hashes):
            line = n + line_base
            break
    scope.add("person-id", BLOCK, f"the text holds {kind}", line=line)
    return True


def _prev_word(before: str) -> str:
    """The last word before a number, skipping fillers such as ``was`` or ``of``."""
    tail = before[-40:]
    for _ in range(3):
        m = PREV_WORD.search(tail)
        if not m:
            return ""
        word = m.group(1).lower()
        if word not in FILLERS:
            return word
        tail = tail[: m.start()]
    return ""


def _next_word(after: str) -> str:
    m = NEXT_WORD.match(after)
    return m.group(1).lower() if m else ""


def small_numbers(line: str, threshold: int, following: str = "") -> list[tuple[int, float]]:
    """(offset, value) of every number in ``line`` that may be a count below ``threshold``
    (``following``: the next line, where the word after a number at the end may be)."""
    if not any(ch.isdigit() for ch in line) and not SPELLED.search(line):
        return []
    found: list = []  # (offset, value, next word, in a count's context)
    for m in SCIENTIFIC.finditer(line):
        value = float(m.group())
        if small(value, threshold, integral=True):
            found.append((m.start(), abs(value), "", True))
    masked = SCIENTIFIC.sub(lambda m: "E" * len(m.group()), line)
    masked = DATES.sub(lambda m: "D" * len(m.group()), masked)
    for m in CANDIDATE.finditer(masked):
        s, e = m.span()
        raw = m.group()
        prev = masked[s - 1] if s else " "
        nxt = masked[e] if e < len(masked) else " "
        if prev.isalnum() or prev == "_" or nxt.isalnum() or nxt == "_":
            continue
        if prev in ".:/-–" and s >= 2 and masked[s - 2].isdigit():
            continue
        if prev in "-−–+×*/^" and s >= 2 and (masked[s - 2].isalnum() or masked[s - 2] in ")]"):
            continue  # arithmetic: y−1, (n+1)
        if nxt in "-–:" and e + 1 < len(masked) and masked[e + 1].isdigit():
            continue
        if nxt == "%" or masked[e : e + 2] == " %":
            continue
        if prev == "[" and s >= 2 and (masked[s - 2].isalnum() or masked[s - 2] in "_])"):
            continue
        if raw.count(".") > 1:
            continue
        if re.fullmatch(r"\d+,\d{1,2}", raw):  # a decimal comma: 6,1
            raw = raw.replace(",", ".")
        if "," in raw and not THOUSANDS.fullmatch(raw):
            parts = [p for p in raw.split(",") if p]
            values = [(float(p), "." in p) for p in parts if p.replace(".", "", 1).isdigit()]
        else:
            values = [(float(raw.replace(",", "")), "." in raw)]
        count_ctx = None
        for value, floaty in values:
            if not small(value, threshold, integral=True):
                continue
            if count_ctx is None:
                after = masked[e:]
                pw, nw = _prev_word(masked[:s]), _next_word(after if after.strip() else following)
                count_ctx = (pw, nw)
            pw, nw = count_ctx
            counting = pw in COUNT_BEFORE or nw in COUNT_AFTER
            if not counting:
                if floaty and abs(value) == 1:
                    continue
                if nw in UNIT_AFTER or nw in CODE_VALUE_AFTER or pw in NOT_COUNT_BEFORE:
                    continue
                if s <= 12 and LIST_MARKER.match(masked[: e + 2]):
                    continue
                if re.match(r"\s*(?:-|–|to|and)\s*\d", masked[e:]) or re.search(
                    r"\d\s*(?:to|and)\s*$", masked[:s]
                ):
                    continue
            found.append((s, abs(value), "" if counting else nw, counting))  # type: ignore[arg-type]
    found = _without_enumerations(found)
    for m in SPELLED.finditer(line):
        value = NUMBER_WORDS[m.group(1).lower()]
        if 0 < value < threshold:
            found.append((m.start(), float(value), "", True))  # type: ignore[arg-type]
    return [(s, v) for s, v, *_ in found]


def _without_enumerations(found: list) -> list:
    """Drop code lists such as ``Sex: 1 man, 2 woman``: numbers each followed by a word,
    counting up from 0 or 1."""
    free = [f for f in found if not f[3]]
    if len(free) >= 2 and all(f[2] for f in free):
        values = [int(f[1]) for f in free]
        if values[0] in (0, 1) and values == list(range(values[0], values[0] + len(values))):
            return [f for f in found if f[3]]
    return found


def scan_numbers(text: str, scope: Scope, *, line_base: int = 0) -> int:
    """Flag numbers below the threshold that may be counts; how many were flagged."""
    t = scope.cfg.threshold
    flagged = 0
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        for _offset, value in small_numbers(line, t, lines[n] if n < len(lines) else ""):
            scope.add(
                "small-number-in-text",
                FLAG,
                f"printed text shows {value:g}, below {t}: it may be a count of persons",
                line=n + line_base,
            )
            flagged += 1
            if flagged >= MAX_SCAN:
                return flagged
    return flagged


TOKEN_CLASS = re.compile(r"\S+")


def signature(line: str) -> tuple[str, ...] | None:
    """The shape of a printed line (number, date, id or word per token), or None for a
    line too short to be a record."""
    toks = line.split()
    if len(toks) < 2:
        return None
    out = []
    for tok in toks[:40]:
        t = tok.strip(",;|()[]{}'\"")
        if not t:
            out.append("p")
        elif DATES.fullmatch(t):
            out.append("d")
        elif t.replace(".", "", 1).replace("-", "", 1).replace(",", "").isdigit():
            out.append("n")
        elif ids.find(t):
            out.append("i")
        else:
            out.append("w")
    return tuple(out)


def register_lines(text: str, scope: Scope, *, line_base: int = 0) -> None:
    """Add the text's lines to the file's shapes (row-level data printed line by line)."""
    groups: dict[tuple, set[int]] = {}
    first: dict[tuple, int] = {}
    for n, line in enumerate(text.split("\n"), 1):
        sig = signature(line)
        if sig is None:
            continue
        groups.setdefault(sig, set()).add(hash(line.strip()))
        first.setdefault(sig, n + line_base)
    for sig, rows in groups.items():
        scope.shape(("lines", sig), rows, line=first[sig])


def scan(text: str, scope: Scope, *, numbers: bool = True, line_base: int = 0) -> None:
    """Every text rule: ids (block), small numbers (flag) and lines for row-level data."""
    if not text:
        return
    register_lines(text, scope, line_base=line_base)
    scan_ids(text, scope, line_base=line_base)
    scan_encoded(text, scope, line_base=line_base)
    if numbers:
        scan_numbers(text, scope, line_base=line_base)
