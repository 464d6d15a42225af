"""``hdss-airlock check [--threshold N] [--max-table-rows N] [--code PATH] [--json] PATH...``

Checks files or folders laid out as an outbox with exactly the checks the promotion
service runs, and prints a report per file: each finding's rule, severity and where.
Exit status: 0 when every file passes, 1 when any is flagged or blocked, 2 on a usage
error (a path that does not exist included).
"""

from __future__ import annotations

import argparse
import json
import sys

from .model import BLOCK, FLAG, PASS, Settings
from .outbox import check_paths


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hdss-airlock",
        description="Check outputs as the airlock will, before you submit them for release.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="check files or outbox folders",
        description="Check files or folders (laid out as an outbox) with the airlock's output "
        "checks. Exit 0: every file passes; 1: a file is flagged or blocked; 2: usage error.",
    )
    defaults = Settings()
    check.add_argument("paths", nargs="+", metavar="PATH", help="a file, or a folder of files")
    check.add_argument(
        "--threshold",
        type=_positive,
        default=defaults.threshold,
        metavar="N",
        help=f"smallest count that may be released (default {defaults.threshold})",
    )
    check.add_argument(
        "--max-table-rows",
        type=_positive,
        default=defaults.max_table_rows,
        metavar="N",
        help=f"more rows of one shape are row-level data (default {defaults.max_table_rows})",
    )
    check.add_argument(
        "--code",
        action="append",
        metavar="PATH",
        help="a notebook (or a folder of them) that made the outputs: its own cells in an "
        "executed notebook are not taken for outputs, as in the service (repeatable)",
    )
    check.add_argument("--json", action="store_true", help="print the reports as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command != "check":
        p.print_usage(sys.stderr)
        print("hdss-airlock: error: give a command: check", file=sys.stderr)
        return 2
    cfg = Settings(threshold=args.threshold, max_table_rows=args.max_table_rows)
    try:
        reports = check_paths(args.paths, cfg, code=args.code)
    except FileNotFoundError as e:
        print(f"hdss-airlock: error: {e}", file=sys.stderr)
        return 2
    worst = max((r.status for r in reports), key=[PASS, FLAG, BLOCK].index, default=PASS)
    if args.json:
        out = {"status": worst, "threshold": cfg.threshold, "files": [r.to_json() for r in reports]}
        print(json.dumps(out, indent=1))
    else:
        _print(reports)
    return 0 if worst == PASS else 1


def _print(reports) -> None:
    for r in reports:
        print(f"{r.status.upper():5}  {r.path}")
        for f in r.all_findings():
            where = f.where or "whole file"
            print(f"         {f.rule} ({f.severity}) at {where}: {f.detail}")
    counts = {s: sum(1 for r in reports if r.status == s) for s in (PASS, FLAG, BLOCK)}
    print(
        f"{len(reports)} file(s): {counts[PASS]} pass, {counts[FLAG]} flagged, {counts[BLOCK]} blocked"
        + ("" if reports else " (nothing to check)")
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
