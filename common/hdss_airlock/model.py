"""What a check reports: settings, severities, positions, findings and file reports.

A :class:`Finding` keeps what may be shown to anyone apart from what may not:

* ``rule`` and ``severity`` come from a fixed vocabulary;
* ``position`` says where, in numbers and fixed words only (:class:`Position`): a
  researcher may see it before release;
* ``detail`` says what was found in words that can quote the output (a header, a value,
  a file name): data stewards only.

``where`` is the position as a phrase ("cell 3, output 1 (text/html), table 1, row 2,
column 3"), made from the position alone, so it is as safe to show as the position.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

PASS, FLAG, BLOCK = "pass", "flag", "block"
ORDER = {PASS: 0, FLAG: 1, BLOCK: 2}
# At most this many findings of one rule are kept per file; the rest are counted.
MAX_PER_RULE = 25


@dataclass
class Settings:
    threshold: int = 5  # the smallest count that may be released
    max_table_rows: int = 500  # a table (or same-shaped tables together) with more is row-level
    max_file_bytes: int = 20 * 1024 * 1024


# The parts a position can name. A fixed vocabulary: nothing an output can choose.
PARTS = frozenset(
    {
        "name",  # the file's own name
        "file",  # the file as a whole
        "table",  # a table file (CSV/TSV) or a table inside a document
        "text",  # a text file, or the text of a document outside its tables
        "json",  # a JSON file
        "figure",  # an image file, or the text inside a figure
        "code",  # a code cell's source
        "markdown",  # a markdown cell
        "raw",  # a raw cell
        "attachment",  # an attachment of a markdown cell
        "cell-id",
        "metadata",  # the notebook's metadata
        "cell-metadata",
        "output-metadata",
        "widget-state",
        "stdout",
        "stderr",
        "error",
        "output",  # a notebook output of an unknown kind
        "outbox",  # the outbox as a whole (checks across files)
        "text/plain",
        "text/html",
        "text/markdown",
        "text/latex",
        "application/json",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/svg+xml",
        "application/pdf",
        "unknown-type",  # an output MIME type not on this list (its name is in the detail)
    }
)


@dataclass(frozen=True)
class Position:
    """Where a finding is, in numbers and fixed words only (safe to show a researcher).

    ``part``: one of :data:`PARTS`. ``cell``: the notebook cell, from 1. ``output``: the
    output within the cell, from 1. ``table``: the table within the part, from 1.
    ``row``: the table row, 0 for the header row, data rows from 1. ``column``: from 1.
    ``line``: the line within the part's text, from 1. Each is left out when unknown.
    """

    part: str | None = None
    cell: int | None = None
    output: int | None = None
    table: int | None = None
    row: int | None = None
    column: int | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        if self.part is not None and self.part not in PARTS:
            raise ValueError(f"not a part a position may name: {self.part!r}")

    def at(self, **changes: Any) -> Position:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def text(self) -> str:
        """The position as a phrase: ``cell 3, output 1 (text/html), table 1, row 2``."""
        out = []
        if self.cell is not None:
            out.append(f"cell {self.cell}")
        if self.output is not None:
            out.append(f"output {self.output}")
        if self.part and self.part not in ("table", "file"):
            if out:
                out[-1] += f" ({self.part})"
            else:
                out.append(self.part)
        for name in ("table", "row", "column", "line"):
            value = getattr(self, name)
            if value is not None:
                out.append("header row" if name == "row" and value == 0 else f"{name} {value}")
        return ", ".join(out)


@dataclass
class Finding:
    """A rule that fired. ``detail`` can quote the output: data stewards only."""

    rule: str
    severity: str
    detail: str = ""
    position: Position = field(default_factory=Position)

    @property
    def where(self) -> str:
        return self.position.text()

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "where": self.where,
            "position": self.position.to_json(),
            "detail": self.detail,
        }


@dataclass
class FileReport:
    """The check of one file. It passes only with no finding at all."""

    path: str
    size: int
    sha256: str = ""
    findings: list[Finding] = field(default_factory=list)
    # rule -> (severity, how many findings past MAX_PER_RULE were not kept)
    more: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False)
    counts: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    # What the outbox-wide checks need (never in the JSON): shape key -> row digests.
    shapes: dict[tuple, set[int]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str:
        severities = [f.severity for f in self.findings] + [s for s, _ in self.more.values()]
        return max(severities, key=ORDER.__getitem__, default=PASS)

    def add(
        self,
        rule: str,
        severity: str,
        detail: str = "",
        position: Position | None = None,
    ) -> None:
        if severity not in ORDER or severity == PASS:
            raise ValueError(f"a finding is a {FLAG} or a {BLOCK}, not {severity!r}")
        position = position or Position()
        if any(f.rule == rule and f.position == position for f in self.findings[-50:]):
            return
        if self.counts.get(rule, 0) >= MAX_PER_RULE:
            old_severity, count = self.more.get(rule, (severity, 0))
            worse = max(old_severity, severity, key=ORDER.__getitem__)
            self.more[rule] = (worse, count + 1)
            return
        self.counts[rule] = self.counts.get(rule, 0) + 1
        self.findings.append(Finding(rule, severity, detail, position))

    def all_findings(self) -> list[Finding]:
        """The findings kept, and one per rule that had more, saying how many more."""
        extra = [
            Finding(rule, severity, f"{count} more findings of this rule", Position(part="file"))
            for rule, (severity, count) in sorted(self.more.items())
        ]
        return self.findings + extra

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "status": self.status,
            "findings": [f.to_json() for f in self.all_findings()],
        }
