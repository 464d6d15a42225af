"""The outbox as a whole: files checked one by one, then rows of one shape added up over
all of them (row-level data split across many small files)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import NAME_PART, check_file
from .model import BLOCK, FileReport, Position, Settings
from .notebook import authored_cells

MAX_DEPTH = 8


def _authored(code: Iterable[Any] | frozenset[str] | None) -> frozenset[str] | None:
    if code is None or isinstance(code, frozenset):
        return code
    datas = []
    for f in code:
        if isinstance(f, (bytes, str)):
            datas.append(f)
        elif isinstance(f, tuple):
            if str(f[0]).endswith(".ipynb"):
                datas.append(f[1])
        elif str(getattr(f, "path", "")).endswith(".ipynb"):
            datas.append(f.data)
    return authored_cells(datas)


def check_outbox(
    files: Iterable[Any], cfg: Settings, *, code: Iterable[Any] | None = None
) -> list[FileReport]:
    """Check every file of an outbox, then the outbox as a whole.

    ``files``: objects with ``path`` and ``data`` (and ``sha256``, optional), or tuples
    ``(path, data[, sha256])``. ``code``: the notebooks that were run (the same kinds of
    objects, or their bytes): the researcher's own cells in the executed notebooks are
    then not taken for outputs. Returns one report per file, in order."""
    authored = _authored(code)
    reports = []
    for f in files:
        if isinstance(f, tuple):
            path, data, *rest = f
            sha = rest[0] if rest else ""
        else:
            path, data, sha = f.path, f.data, getattr(f, "sha256", "")
        reports.append(check_file(path, data, cfg, sha, authored=authored))
    add_outbox_findings(reports, cfg)
    return reports


def add_outbox_findings(reports: list[FileReport], cfg: Settings) -> None:
    """Block every file holding rows of a shape (a table's header, or a kind of printed
    record) whose distinct rows over all files exceed ``max_table_rows``."""
    seen: dict[tuple, list[FileReport]] = {}
    rows: dict[tuple, set[int]] = {}
    for report in reports:
        for key, shape in report.shapes.items():  # type: ignore[attr-defined]
            if key[0] == "lines" and len(key[1]) < 3:
                continue
            seen.setdefault(key, []).append(report)
            rows.setdefault(key, set()).update(shape.rows)
    for key, holders in seen.items():
        if len(holders) < 2 or len(rows[key]) <= cfg.max_table_rows:
            continue
        what = "printed lines" if key[0] == "lines" else "table rows"
        for report in holders:
            report.add(
                "row-level-across-files",
                BLOCK,
                f"{len(rows[key])} distinct {what} of one shape across {len(holders)} files, more "
                f"than the {cfg.max_table_rows} an aggregate may have: row-level data split up",
                Position(part="outbox"),
            )


@dataclass
class Found:
    """A file of an outbox folder as found on disk."""

    path: str  # relative to the folder (what the checks see)
    shown: str  # as the command shows it
    data: bytes | None = None
    problem: tuple[str, str] | None = None  # (rule, detail) when it cannot be checked


def walk(root: str) -> list[Found]:
    """Every file under ``root`` (a folder laid out as an outbox, or one file), without
    following links. Links, special files, hidden or badly named files and unreadable
    files are found too, each with the rule that blocks it."""
    top = Path(root)
    try:
        st = os.lstat(top)
    except OSError as e:
        raise FileNotFoundError(f"{root}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        return [_one(top, top.name, root, st)]
    found: list[Found] = []
    _walk_dir(top, "", root, found, 0)
    return found


def _walk_dir(folder: Path, rel: str, shown_root: str, found: list[Found], depth: int) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        found.append(
            Found(
                rel or ".",
                _join(shown_root, rel or "."),
                problem=("unreadable", f"the folder cannot be read: {e.strerror}"),
            )
        )
        return
    for entry in entries:
        rel_path = f"{rel}/{entry.name}" if rel else entry.name
        shown = _join(shown_root, rel_path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as e:
            found.append(
                Found(rel_path, shown, problem=("unreadable", f"cannot be read: {e.strerror}"))
            )
            continue
        if stat.S_ISDIR(st.st_mode):
            if not NAME_PART.match(entry.name):
                found.append(
                    Found(
                        rel_path,
                        shown,
                        problem=(
                            "bad-name",
                            "a hidden or badly named folder: nothing in it is copied",
                        ),
                    )
                )
            elif depth + 1 >= MAX_DEPTH:
                found.append(
                    Found(
                        rel_path, shown, problem=("bad-name", f"more than {MAX_DEPTH} folders deep")
                    )
                )
            else:
                _walk_dir(Path(entry.path), rel_path, shown_root, found, depth + 1)
            continue
        found.append(_one(Path(entry.path), rel_path, shown, st))


def _one(path: Path, rel: str, shown: str, st: os.stat_result) -> Found:
    name = path.name
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return Found(
            rel,
            shown,
            problem=("link", f"a link (to {target}): links never leave the secure environment"),
        )
    if not stat.S_ISREG(st.st_mode):
        return Found(
            rel, shown, problem=("not-a-file", "not a regular file (a pipe, socket or device)")
        )
    if not NAME_PART.match(name):
        return Found(
            rel,
            shown,
            problem=(
                "bad-name",
                "a hidden or badly named file (letters, digits, '.', '_', '-' and spaces; not starting with '.')",
            ),
        )
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return Found(rel, shown, problem=("unreadable", f"cannot be read: {e.strerror}"))
    return Found(rel, shown, data=data)


def _join(root: str, rel: str) -> str:
    return rel if root in ("", ".") else os.path.join(root, rel)


def notebooks_under(paths: list[str]) -> list[bytes]:
    """The .ipynb files at or under ``paths`` (links not followed)."""
    out = []
    for p in paths:
        for f in walk(p):
            if f.data is not None and f.path.endswith(".ipynb"):
                out.append(f.data)
    return out


def check_paths(
    paths: list[str], cfg: Settings, *, code: list[str] | None = None
) -> list[FileReport]:
    """The command's check: every file under each path, then the outbox as a whole.
    ``code``: files or folders of the notebooks the outputs were made with."""
    authored = authored_cells(notebooks_under(code)) if code else None
    found: list[Found] = []
    for p in paths:
        found.extend(walk(p))
    reports: list[FileReport] = []
    for f in found:
        if f.problem is not None:
            report = FileReport(path=f.shown, size=0)
            report.add(f.problem[0], BLOCK, f.problem[1], Position(part="file"))
        else:
            assert f.data is not None
            sha = hashlib.sha256(f.data).hexdigest()
            report = check_file(f.path, f.data, cfg, sha, authored=authored)
            report.path = f.shown
        reports.append(report)
    add_outbox_findings(reports, cfg)
    return reports
