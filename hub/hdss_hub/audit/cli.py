"""``hdss-audit``: verify or export the audit log.

    hdss-audit verify --db sqlite:///var/ledger.sqlite [--anchor SEQ:HASH]
    hdss-audit export --db URL [--since SEQ|ISO-TIME] [--output FILE]

``verify`` exits 0 when the chain is intact and 1 naming the first broken entry.
The database URL may also come from ``HDSS_LEDGER_DB_URL`` (so a password need not
appear on a command line).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from hdss_common.db import DB_ENV
from sqlalchemy.exc import SQLAlchemyError

from .log import AuditLog


def _since(text: str) -> int | datetime:
    if text.isdigit():
        return int(text)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give an entry number or an ISO time such as 2026-11-01T00:00Z"
        ) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _anchor(text: str) -> tuple[int, str]:
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise argparse.ArgumentTypeError(f"--anchor {text!r}: expected SEQ:SHA256HEX")
    return int(seq), digest


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hdss-audit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("verify", "recompute the hash chain; exit 1 naming a broken entry"),
        ("export", "write entries as JSON lines"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument(
            "--db",
            default=os.environ.get(DB_ENV),
            help=f"SQLAlchemy URL of the ledger database (default ${DB_ENV})",
        )
    sub.choices["verify"].add_argument(
        "--anchor", type=_anchor, help="SEQ:HASH of an entry recorded earlier"
    )
    sub.choices["export"].add_argument("--since", type=_since, help="first seq or ISO time")
    sub.choices["export"].add_argument("--output", "-o", help="file to write (default stdout)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.db:
        print(f"hdss-audit: give --db URL or set {DB_ENV}", file=sys.stderr)
        return 2
    try:
        audit = AuditLog(args.db, migrate=False)
        if args.command == "verify":
            result = audit.verify(anchor=args.anchor)
            print(result.message(), file=sys.stdout if result.ok else sys.stderr)
            return 0 if result.ok else 1
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fp:
                n = audit.export_jsonl(fp, since=args.since)
        else:
            n = audit.export_jsonl(sys.stdout, since=args.since)
        print(f"exported {n} entries", file=sys.stderr)
        return 0
    except SQLAlchemyError as e:
        print(
            f"hdss-audit: cannot read the audit log at {args.db}: {e.__class__.__name__}: "
            f"{e}. Check the URL and that the ledger service has created the database.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
