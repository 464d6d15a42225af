"""``hdss-audit``: verify or export the audit log.

    hdss-audit verify [--db URL] [--anchor-log FILE --anchor-key FILE | --no-anchors]
                      [--anchor SEQ:HASH]
    hdss-audit export [--db URL] [--since SEQ|ISO-TIME] [--output FILE]

``verify`` exits 0 when the chain is intact and agrees with every checkpoint of its anchor
log, and 1 naming what is wrong (an altered, missing or rewritten entry, removed newest
entries, a forged checkpoint, a missing anchor log or key). Each of the database URL and
the anchor files comes from the first of: the option, the environment
(``$HDSS_LEDGER_DB_URL``; ``$HDSS_AUDIT_ANCHOR_LOG`` and ``$HDSS_AUDIT_ANCHOR_KEY``, which
the hub sets for its services), and the hub's settings file (``$HDSS_SETTINGS``, else the
embedded defaults) when run as the installed ``hdss-audit`` (see ``hdss_hub.cli``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hdss_common.db import DB_ENV
from hdss_common.errors import HdssError
from sqlalchemy.exc import SQLAlchemyError

from .anchor import ANCHOR_KEY_ENV, ANCHOR_LOG_ENV, AnchorLog
from .log import AuditLog


@dataclass(frozen=True)
class Defaults:
    """What a settings file says: the database and the anchor (None: not anchored)."""

    db: str | None
    anchor: AnchorLog | None
    origin: str


#: Returns the settings' :class:`Defaults`; raises HdssError when the settings are unusable.
Fallback = Callable[[], Defaults]


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
        ("verify", "recompute the hash chain and check its checkpoints; exit 1 naming a problem"),
        ("export", "write entries as JSON lines"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument(
            "--db",
            default=os.environ.get(DB_ENV),
            help=f"SQLAlchemy URL of the ledger database (default ${DB_ENV}, else the settings)",
        )
    verify = sub.choices["verify"]
    verify.add_argument("--anchor", type=_anchor, help="SEQ:HASH of an entry recorded by hand")
    verify.add_argument(
        "--anchor-log",
        help=f"the anchor log of checkpoints (default ${ANCHOR_LOG_ENV}, else the settings)",
    )
    verify.add_argument(
        "--anchor-key",
        help=f"the anchor log's HMAC key file (default ${ANCHOR_KEY_ENV}, else the settings)",
    )
    verify.add_argument(
        "--no-anchors",
        action="store_true",
        help="check the chain alone (e.g. a copy from elsewhere); removed newest entries "
        "and a re-hashed chain then go unnoticed",
    )
    sub.choices["export"].add_argument("--since", type=_since, help="first seq or ISO time")
    sub.choices["export"].add_argument("--output", "-o", help="file to write (default stdout)")
    return p


class _Usage(HdssError):
    """The command line or environment cannot be used; exit 2 with the message."""


def _resolve(args: argparse.Namespace, fallback: Fallback | None) -> tuple[str, AnchorLog | None]:
    """The database URL and the anchor to check, each from option, environment or settings."""
    settings: list[Defaults] = []

    def from_settings() -> Defaults | None:
        if fallback is None:
            return None
        if not settings:
            settings.append(fallback())
        return settings[0]

    db = args.db or getattr(from_settings(), "db", None)
    if not db:
        raise _Usage(f"give --db URL or set {DB_ENV}")
    anchor: AnchorLog | None = None
    if args.command != "verify" or args.no_anchors:
        if args.command == "verify" and (args.anchor_log or args.anchor_key):
            raise _Usage("--no-anchors and --anchor-log/--anchor-key contradict each other")
        return db, None
    if args.anchor_log or args.anchor_key:
        if not (args.anchor_log and args.anchor_key):
            raise _Usage("give both --anchor-log and --anchor-key")
        anchor = AnchorLog(args.anchor_log, args.anchor_key)
    else:
        anchor = AnchorLog.from_env()
        if anchor is None:
            defaults = from_settings()
            anchor = defaults.anchor if defaults else None
            if anchor is not None:
                print(f"hdss-audit: checkpoints from {defaults.origin}", file=sys.stderr)
    return db, anchor


def main(argv: list[str] | None = None, fallback: Fallback | None = None) -> int:
    """Run the command; ``fallback`` gives the settings' defaults (None: options and env only)."""
    args = parser().parse_args(argv)
    try:
        db, anchor = _resolve(args, fallback)
    except HdssError as e:
        print(f"hdss-audit: {e}", file=sys.stderr)
        return 2
    audit = None
    try:
        audit = AuditLog(db, migrate=False, anchor=anchor)
        if args.command == "verify":
            result = audit.verify(anchor=args.anchor)
            print(result.message(), file=sys.stdout if result.ok else sys.stderr)
            if not result.ok and anchor is not None:
                print(
                    f"hdss-audit: checked against {anchor.log_path} (key {anchor.key_path}); "
                    "for a database copied from another hub give that hub's --anchor-log "
                    "and --anchor-key",
                    file=sys.stderr,
                )
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
            f"hdss-audit: cannot read the audit log at {db}: {e.__class__.__name__}: "
            f"{e}. Check the URL and that the ledger service has created the database.",
            file=sys.stderr,
        )
        return 2
    finally:
        if audit is not None:
            audit.engine.dispose()  # a one-shot command leaves no connection behind


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
