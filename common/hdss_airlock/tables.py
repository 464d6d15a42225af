"""The table rules, applied alike to every table wherever it is found (a CSV file, an
HTML, markdown or LaTeX table, a DataFrame printed as text, JSON records).

Every column is read, the first one too, and the header row. A cell's role comes from
its column's name and its row's label (``count``, ``min``, ``mean``, ``25%`` as in
``describe()``), the more telling of the two; a column with no telling name is a count
column when its values are whole numbers (one odd cell does not change that), unless it
is a printed index (0, 1, 2, ... in order, without a name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import cells as C
from . import ids
from . import names as N
from .model import BLOCK, FLAG
from .scope import Scope
from .textscan import small_numbers

PRIORITY = {
    N.MINMAX: 7,
    N.STAT: 6,
    N.RATE: 5,
    N.PERCENT: 4,
    N.COUNT: 3,
    N.MODEL: 2,
    N.PERSON_TIME: 1,
    N.LABEL: 0,
    None: -1,
}
ROW_COUNT_LABEL = re.compile(
    r"^(n|count|counts|total|totals|sum|antal|i alt|nobs|number|persons|people|patients|"
    r"cases|deaths|died|events|population|individuals|subjects|users|n total|total n|"
    r"emigrated|censored|at risk|number at risk|denominator|numerator)$"
)
INDEX_NAMES = {"", "index", "#", "nr", "no", "row", "unnamed: 0", "level_0"}
COUNT_NAMED, COUNT_BY_VALUE = "named", "value"


def check_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    scope: Scope,
    *,
    register: bool = True,
    row_labels: bool = True,
) -> None:
    """Apply the table rules to one table (header and rows of text cells). ``scope``
    carries the position of the table; findings add ``row`` and ``column``.
    ``row_labels=False``: the text cells of a row are values, not labels (a dict shown as
    a one-row table)."""
    width = max([len(header), *(len(r) for r in rows)]) if (header or rows) else 0
    if not width:
        return
    head = [str(h if h is not None else "").strip() for h in header]
    head += [""] * (width - len(head))
    if len(rows) > scope.cfg.max_table_rows:
        _header_ids(head, scope)
        scope.add(
            "row-level",
            BLOCK,
            f"more rows than the {scope.cfg.max_table_rows} an aggregate table may have: "
            "looks like row-level data",
        )
        return
    body = [[str(c if c is not None else "").strip() for c in r] for r in rows]
    body = [r + [""] * (width - len(r)) for r in body]
    if register and (any(head) or width >= 3):
        # rows of one shape add up over the file and the outbox (a table split in pieces)
        key = ("table", tuple(h.lower() for h in head)) if any(head) else ("rows", width)
        scope.shape(key, {hash(tuple(r)) for r in body})
    found = _header_ids(head, scope)
    if _cell_ids(head, body, scope) or found:
        return
    _Table(head, body, scope, row_labels).check()


def _header_ids(head: list[str], scope: Scope) -> bool:
    """Block a column named like person ids, and a header holding one."""
    found = False
    for c, name in enumerate(head):
        if N.role(name).kind == N.ID:
            scope.add(
                "person-id", BLOCK, f"column {name!r} is named like person ids", row=0, column=c + 1
            )
            found = True
        elif kind := ids.find(name):
            scope.add("person-id", BLOCK, f"the header holds {kind}", row=0, column=c + 1)
            found = True
    return found


LOOSE_LINES = re.compile(r"(?m)^[A-Za-z][0-9A-Za-z]{9}$")


def _cell_ids(head: list[str], body: list[list[str]], scope: Scope) -> bool:
    """Block a cell holding a person id (one finding per column), and a column whose
    values are shaped like pseudonymised ids even without a digit."""
    found = False
    for c in range(len(head)):
        column = [r[c] for r in body]
        joined = "\n".join(column)
        if ids.find(joined):
            for r, value in enumerate(column, 1):
                if value and (kind := ids.find(value)):
                    scope.add("person-id", BLOCK, f"a value looks like {kind}", row=r, column=c + 1)
                    found = True
                    break
            continue
        filled = sum(1 for v in column if v)
        if filled >= 3:
            shaped = sum(1 for m in LOOSE_LINES.finditer(joined) if ids.loose(m.group()))
            if shaped >= 0.8 * filled:
                scope.add(
                    "person-id",
                    BLOCK,
                    "the column's values are shaped like pseudonymised person ids",
                    column=c + 1,
                )
                found = True
    return found


class _Table:
    """One table's cells, roles and counts, and the rules run over them."""

    def __init__(
        self, head: list[str], body: list[list[str]], scope: Scope, row_labels: bool = True
    ) -> None:
        self.head, self.body, self.scope = head, body, scope
        self.t = scope.cfg.threshold
        self.width = len(head)
        self.cells = [[C.parse(v) for v in row] for row in body]
        self.col_roles = [N.role(h) for h in head]
        self.label_cols = [self._is_label_column(c) for c in range(self.width)]
        # row labels: the label columns left of the first column of values
        self.row_label_cols: list[int] = []
        for c in range(self.width):
            if not self.label_cols[c]:
                break
            self.row_label_cols.append(c)
        self.row_roles = [self._row_role(r) if row_labels else N.NONE for r in range(len(body))]
        self.by_value = [self._count_by_value(c) for c in range(self.width)]
        # the role of each cell, and where the counts are
        self.roles: list[list[N.Role]] = [
            [self._cell_role(r, c) for c in range(self.width)] for r in range(len(body))
        ]

    # -- classification ---------------------------------------------------------------

    def _column(self, c: int) -> list[C.Cell]:
        return [row[c] for row in self.cells]

    def _is_label_column(self, c: int) -> bool:
        col = self._column(c)
        numeric = sum(1 for x in col if x.numeric)
        texty = sum(1 for x in col if x.kind in (C.TEXT, C.RANGE))
        return texty > numeric

    def _row_role(self, r: int) -> N.Role:
        labels = [
            v
            for c in self.row_label_cols
            if (v := self.body[r][c]) and len(v) <= 60 and not re.search(r"[/\\]\S", v)
        ]
        if not labels:
            return N.NONE
        joined = " ".join(labels)
        role = N.role(joined)
        if role.kind == N.COUNT:
            plain = re.sub(r"[^a-zæøå ]+", " ", joined.lower()).strip()
            plain = " ".join(plain.split())
            return role if ROW_COUNT_LABEL.match(plain) else N.NONE
        if role.kind in (N.LABEL, N.ID, N.MODEL):
            return N.NONE
        return role

    def _count_by_value(self, c: int) -> bool:
        """Whole numbers in a column with no telling name are counts."""
        if self.label_cols[c]:
            return False
        kind = self.col_roles[c].kind
        if kind not in (None, N.LABEL):
            return False
        nums = [x for x in self._column(c) if x.kind == C.NUMBER and not x.percent]
        if not nums:
            return False
        whole = [x for x in nums if float(x.value).is_integer()]  # type: ignore[arg-type]
        if len(whole) < len(nums) - 1 and len(whole) < 0.8 * len(nums):
            return False
        if not whole or (all(x.floaty for x in nums) and len(whole) < 2):
            return False
        values = [int(x.value) for x in nums]  # type: ignore[arg-type]
        in_order = values == list(range(values[0], values[0] + len(values)))
        if in_order and values[0] in (0, 1) and self.head[c].lower() in INDEX_NAMES:
            return False  # a printed index
        if kind == N.LABEL:
            return self._suspicious_label(c, values, in_order)
        return True

    def _suspicious_label(self, c: int, values: list[int], in_order: bool) -> bool:
        """A column named like a label holds counts only when nothing else in the table
        could be the counts and its values do not look like labels."""
        for other in range(self.width):
            if other == c or self.label_cols[other]:
                continue
            if any(x.numeric for x in self._column(other)):
                return False
        distinct = sorted(set(values))
        consecutive = distinct == list(range(distinct[0], distinct[0] + len(distinct)))
        years = all(1800 <= v <= 2200 for v in values)
        repeats = len(distinct) < len(values)
        return not (in_order or consecutive or years or repeats)

    def _cell_role(self, r: int, c: int) -> N.Role:
        if self.label_cols[c]:
            return N.Role(N.LABEL)
        col, row = self.col_roles[c], self.row_roles[r]
        role = col if PRIORITY[col.kind] >= PRIORITY[row.kind] else row
        if role.kind in (None, N.LABEL) and self.by_value[c]:
            return N.Role(N.COUNT, scale=None, denominator=False, share=False)
        return role

    def _is_count(self, r: int, c: int) -> bool:
        return self.roles[r][c].kind == N.COUNT or self.cells[r][c].kind in (
            C.COUNT_PCT,
            C.FRACTION,
        )

    def _counts(self, r: int | None = None, c: int | None = None) -> list[float]:
        """The counts in row ``r`` (or column ``c``)."""
        places = (
            [(r, j) for j in range(self.width)]
            if r is not None
            else [(i, c) for i in range(len(self.body))]
        )
        out = []
        for i, j in places:
            cell = self.cells[i][j]
            if cell.value and cell.kind != C.ESTIMATE and self._is_count(i, j):
                out.append(abs(cell.value))
        return out

    def _denominators(self, r: int, c: int) -> list[float]:
        def of(places):
            return [
                self.cells[i][j].value
                for i, j in places
                if self.roles[i][j].denominator
                and self.cells[i][j].kind == C.NUMBER
                and self.cells[i][j].value
            ]

        found = of([(r, j) for j in range(self.width) if j != c])
        return found or of([(i, c) for i in range(len(self.body)) if i != r])

    # -- rules -----------------------------------------------------------------------------

    def check(self) -> None:
        self._header_numbers()
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                if cell.kind == C.TEXT:
                    self._text_cell(r, c)
                elif cell.kind == C.RANGE:
                    if self.roles[r][c].kind == N.MINMAX:
                        self._flag("min-max", r, c, f"{self.head[c]} is a range of persons' values")
                elif cell.kind != C.EMPTY and not self.label_cols[c]:
                    self._number(r, c, cell)

    def _flag(self, rule: str, r: int, c: int, detail: str) -> None:
        self.scope.add(rule, FLAG, detail, row=r + 1, column=c + 1)

    def _header_numbers(self) -> None:
        """The header row: counts written as names (``Treated (n=3)``, a transposed table's
        whole numbers), and any text in it."""
        values = []
        for c, name in enumerate(self.head):
            cell = C.parse(name) if name else C.Cell(C.EMPTY)
            if cell.kind == C.NUMBER and float(cell.value).is_integer() and not cell.floaty:  # type: ignore[arg-type]
                values.append((c, int(cell.value)))  # type: ignore[arg-type]
            elif cell.kind == C.TEXT:
                for _offset, v in small_numbers(name, self.t):
                    self.scope.add(
                        "small-count", FLAG, f"the header {name!r} shows {v:g}", row=0, column=c + 1
                    )
        if not values:
            return
        nums = [v for _, v in values]
        distinct = sorted(set(nums))
        if len(nums) >= 2 and (
            distinct == list(range(distinct[0], distinct[0] + len(distinct)))
            or all(a < b for a, b in zip(nums, nums[1:], strict=False))
        ):
            return  # 0, 1, 2, ... (perhaps with a gap where pandas left columns out): positions
        for c, v in values:
            if 1800 <= v <= 2200:
                continue
            if C.small(v, self.t):
                self.scope.add(
                    "small-count",
                    FLAG,
                    f"the header shows {v}, below {self.t}",
                    row=0,
                    column=c + 1,
                )

    def _text_cell(self, r: int, c: int) -> None:
        text = self.body[r][c]
        for _offset, v in small_numbers(text, self.t):
            self._flag("small-count", r, c, f"the text {text!r} shows {v:g}, below {self.t}")
            return

    def _number(self, r: int, c: int, cell: C.Cell) -> None:
        role = self.roles[r][c]
        name = self.head[c] or f"column {c + 1}"
        t = self.t
        if cell.kind == C.COUNT_PCT:
            self._count(r, c, cell.value, named=True)
            self._rest_of_percentage(r, c, cell)
            return
        if cell.kind == C.FRACTION:
            self._count(r, c, cell.value, named=True)
            self._count(r, c, cell.second, named=True)
            return
        kind = role.kind
        if kind == N.MINMAX:
            self._flag(
                "min-max",
                r,
                c,
                f"{name} is one person's value; give a percentile of {t} or more persons",
            )
        elif kind == N.STAT or cell.kind == C.ESTIMATE:
            self._statistic(r, c, name)
        elif kind == N.RATE:
            self._rate(r, c, cell, role, name)
        elif kind == N.PERCENT or (cell.percent and kind in (None, N.LABEL, N.COUNT)):
            self._percentage(
                r, c, cell, role if kind == N.PERCENT else N.Role(N.PERCENT, 100.0), name
            )
        elif kind == N.COUNT:
            named = not (self.by_value[c] and self.col_roles[c].kind in (None, N.LABEL))
            named = named or self.row_roles[r].kind == N.COUNT
            self._count(r, c, cell.value, named=named)

    def _count(self, r: int, c: int, value: float | None, *, named: bool) -> None:
        if C.small(value, self.t, integral=not named):
            self._flag("small-count", r, c, f"count {abs(value):g} is below {self.t}")  # type: ignore[arg-type]

    def _rest_of_percentage(self, r: int, c: int, cell: C.Cell) -> None:
        """``n (p%)``: the persons not counted (100 - p percent) are a count too."""
        n, p = cell.value, cell.second
        if not n or not p or not 0 < p < 100:
            return
        rest = n * 100 / p - n
        if 0 < round(rest) < self.t:
            self._flag(
                "small-percentage",
                r,
                c,
                f"{n:g} ({p:g}%) leaves about {rest:.0f} persons, below {self.t}",
            )

    def _percentage(self, r: int, c: int, cell: C.Cell, role: N.Role, name: str) -> None:
        p = cell.value
        if not p:
            return
        share = role.share and abs(p) <= 1 and not cell.percent
        frac = abs(p) if share else abs(p) / 100
        denoms = self._denominators(r, c)
        if denoms:
            d = abs(denoms[0])
            implied, rest = frac * d, d - frac * d
            if 0 < round(implied) < self.t:
                self._flag(
                    "small-percentage",
                    r,
                    c,
                    f"{name} {p:g} of {d:g} reveals about {implied:.0f}, below {self.t}",
                )
            elif 0 < round(rest) < self.t:
                self._flag(
                    "small-percentage",
                    r,
                    c,
                    f"{name} {p:g} of {d:g} leaves about {rest:.0f}, below {self.t}",
                )
        elif not self._counts(r=r) and not self._counts(c=c):
            self._flag(
                "percentage-unchecked",
                r,
                c,
                f"{name} {p:g} has no count or denominator beside it, so a small count cannot be ruled out",
            )

    def _rate(self, r: int, c: int, cell: C.Cell, role: N.Role, name: str) -> None:
        rate = cell.value
        if not rate:
            return
        denoms = self._denominators(r, c)
        if denoms and role.scale:
            implied = abs(rate) * abs(denoms[0]) / role.scale
            if 0 < round(implied) < self.t:
                self._flag(
                    "small-rate",
                    r,
                    c,
                    f"{name} {rate:g} of {denoms[0]:g} is about {implied:.0f} events, below {self.t}",
                )
        elif not self._counts(r=r) and not self._counts(c=c):
            why = (
                "its scale is not in its name (rate_per_1000)"
                if denoms
                else "no count or denominator is beside it"
            )
            self._flag(
                "rate-unchecked",
                r,
                c,
                f"{name} {rate:g}: {why}, so a small count cannot be ruled out",
            )

    def _statistic(self, r: int, c: int, name: str) -> None:
        backing = self._counts(r=r) or self._counts(c=c)
        if not backing:
            self._flag(
                "statistic-unbacked",
                r,
                c,
                f"{name} has no count beside it: cannot tell whether {self.t} or more persons back it",
            )
        elif min(backing) < self.t:
            self._flag(
                "statistic-small", r, c, f"{name} rests on {min(backing):g} persons, below {self.t}"
            )
