"""``hdss-backup``: back up the sandbox to restic, list the runs, restore one.

    hdss-backup backup                 one run: databases, state files, volumes, archives
    hdss-backup snapshots              the runs in the repository, newest first
    hdss-backup restore [--run ID] [--only state,volumes,archives] [--volume NAME]...
    hdss-backup init                   make a new (remote) repository and its password file

The settings file is ``$HDSS_SETTINGS`` (else the embedded defaults); its ``backup``
section names the repository, the password file and the retention policy. Exit status: 0
when everything was done, 1 when any part failed (each failure named, and an audit
entry written), 2 for unusable settings or options.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..settings import SETTINGS_ENV, SettingsError, load_settings
from .config import Config, Outcome
from .restic import BackupError
from .restore import restore, runs
from .run import backup

PROJECT_DIR = Path(__file__).resolve().parents[3]
PARTS = ("state", "volumes", "archives")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hdss-backup", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", help="back up everything now (the hub may keep serving)")
    sub.add_parser("snapshots", help="list the backup runs, newest first")
    sub.add_parser("init", help="make a new repository (a local one is made by the first backup)")
    r = sub.add_parser("restore", help="restore a run (stop the hub first for the state)")
    r.add_argument("--run", help="the run id (default: the newest complete run)")
    r.add_argument(
        "--only",
        default=",".join(PARTS),
        help="comma-separated parts: state (databases, secrets, anchor log, settings), "
        "volumes (those missing on the engine, or --volume), archives (default all)",
    )
    r.add_argument(
        "--volume",
        action="append",
        help="restore only this volume (repeatable); it must not exist on the engine",
    )
    return p


def _report(out: Outcome, verb: str) -> int:
    for note in out.notes:
        print(f"hdss-backup: {note}")
    for part, snapshot in sorted(out.done.items()):
        print(f"hdss-backup: {verb} {part} (snapshot {snapshot[:8]})")
    if out.ok:
        print(f"hdss-backup: {verb} run {out.run}: done")
        return 0
    for failure in out.failures:
        print(f"hdss-backup: FAILED: {failure}", file=sys.stderr)
    print(
        f"hdss-backup: run {out.run} failed ({len(out.failures)} problem(s)); "
        "recorded in the audit log",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        path = os.environ.get(SETTINGS_ENV)
        cfg = Config.from_settings(load_settings(path, PROJECT_DIR), path, PROJECT_DIR)
    except SettingsError as e:
        print(f"hdss-backup: {e}", file=sys.stderr)
        return 2
    if args.command == "backup":
        return _report(backup(cfg), "backed up")
    if args.command == "restore":
        what = {p.strip() for p in args.only.split(",") if p.strip()}
        if not what or what - set(PARTS):
            print(
                f"hdss-backup: --only {args.only!r}: choose from {', '.join(PARTS)}",
                file=sys.stderr,
            )
            return 2
        if args.volume and "volumes" not in what:
            print("hdss-backup: --volume needs volumes in --only", file=sys.stderr)
            return 2
        return _report(restore(cfg, args.run, what, args.volume), "restored")
    try:
        restic = cfg.restic()
        if args.command == "init":
            restic.init()
            print(f"hdss-backup: repository {cfg.shown_repository()} made")
            print(f"hdss-backup: keep a copy of {cfg.password_file} away from this host")
            return 0
        restic.open(create=False)
        for found in runs(restic):
            state = "complete" if found["complete"] else "INCOMPLETE"
            print(f"{found['run']}  {found['time'][:19]}  {state}")
    except BackupError as e:
        print(f"hdss-backup: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
