"""Where the checks are while they walk a file: the report, the settings and the position."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import BLOCK, FileReport, Position, Settings


@dataclass
class Shape:
    """Rows of one shape (a table's header, or a kind of printed line) seen in a file."""

    rows: set[int] = field(default_factory=set)
    where: Position = field(default_factory=Position)


class Scope:
    """``authored``: the cell sources of the notebooks that were run (written before the
    run saw any data), or None when they are not known."""

    __slots__ = ("report", "cfg", "pos", "authored")

    def __init__(
        self,
        report: FileReport,
        cfg: Settings,
        pos: Position | None = None,
        authored: frozenset[str] | None = None,
    ) -> None:
        self.report, self.cfg, self.pos = report, cfg, pos or Position()
        self.authored = authored

    def at(self, **changes: Any) -> Scope:
        return Scope(self.report, self.cfg, self.pos.at(**changes), self.authored)

    def add(self, rule: str, severity: str, detail: str = "", **changes: Any) -> None:
        self.report.add(rule, severity, detail, self.pos.at(**changes) if changes else self.pos)

    @property
    def blocked(self) -> bool:
        return any(f.severity == BLOCK for f in self.report.findings)

    def shape(self, key: tuple, digests: set[int], **changes: Any) -> None:
        """Rows of a shape, added up over the file (and, by check_outbox, the outbox)."""
        shapes: dict[tuple, Shape] = self.report.shapes  # type: ignore[assignment]
        got = shapes.get(key)
        if got is None:
            got = shapes[key] = Shape(where=self.pos.at(**changes) if changes else self.pos)
        got.rows |= digests
