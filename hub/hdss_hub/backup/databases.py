"""Consistent copies of a live database, and putting them back.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a database that the
hub and the services keep writing, page by page under SQLite's own locking, so the copy is
a state the database was in; copying the file itself could catch half a transaction.
PostgreSQL: ``pg_dump`` (custom format) of one snapshot of the database, and
``pg_restore --clean --if-exists`` into it. The password of a URL goes to the tools through
``PGPASSWORD``, never on a command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .restic import BackupError

SQLITE_TIMEOUT = 60.0


def kind(url: str) -> str:
    """``sqlite`` or ``postgresql`` (anything else is refused with a message)."""
    backend = sa.make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(
            f"cannot back up a {backend} database ({_safe(url)}): only SQLite and "
            "PostgreSQL are supported"
        )
    return backend


def _safe(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a SQLite database file")
    return Path(database)


def dump_name(label: str, url: str) -> str:
    """The file name of a database's copy in the staging folder."""
    return f"{label}.sqlite" if kind(url) == "sqlite" else f"{label}.pgdump"


def copy_out(url: str, dest: Path, label: str) -> None:
    """Write a consistent copy of the database at ``url`` to ``dest``."""
    if kind(url) == "sqlite":
        _sqlite_copy(sqlite_path(url), dest, label)
    else:
        _pg("pg_dump", url, ["--format=custom", "--no-owner", f"--file={dest}"], label)


def _sqlite_copy(src: Path, dest: Path, label: str) -> None:
    if not src.is_file():
        raise BackupError(
            f"the {label} database {src} does not exist: start the hub once so that it "
            "is created, or correct the database setting"
        )
    # Opened read-write (never written): a read-only connection could not roll back a
    # hot journal left by a writer that crashed, and would fail instead.
    source = sqlite3.connect(src, timeout=SQLITE_TIMEOUT)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as e:
        raise BackupError(f"online backup of the {label} database {src} failed: {e}") from e
    finally:
        source.close()
        target.close()
    if ok != "ok":
        raise BackupError(f"the copy of the {label} database {src} fails its check: {ok}")


def put_back(url: str, copy: Path, label: str) -> str:
    """Replace the database at ``url`` with ``copy``; returns what was done, for the report.

    A SQLite file that is there is kept beside it as ``<name>.replaced-<time>``.
    """
    if kind(url) == "sqlite":
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        note = f"{label} database restored to {target}"
        if target.exists():
            aside = target.with_name(f"{target.name}.replaced-{_stamp()}")
            target.rename(aside)
            note += f" (the one there is kept as {aside})"
        for suffix in ("-wal", "-shm", "-journal"):
            stale = target.with_name(target.name + suffix)
            if stale.exists():
                stale.unlink()
        tmp = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(copy, tmp)
        if os.geteuid() == 0:  # the hub's user, who owns its folder, must write it
            folder = target.parent.stat()
            os.chown(tmp, folder.st_uid, folder.st_gid)
        os.replace(tmp, target)
        return note
    _pg(
        "pg_restore",
        url,
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(copy)],
        label,
        database_flag=True,
    )
    return f"{label} database restored into {_safe(url)}"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _pg(tool: str, url: str, args: list[str], label: str, database_flag: bool = False) -> None:
    u = sa.make_url(url)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    for key, value in (
        ("PGHOST", u.host),
        ("PGPORT", u.port),
        ("PGUSER", u.username),
        ("PGPASSWORD", u.password),
        ("PGDATABASE", u.database),
    ):
        if value is not None:
            env[key] = str(value)
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(
            f"{tool} is not installed but the {label} database is PostgreSQL: "
            "apt-get install postgresql-client (the same major version as the server or newer)"
        )
    db_args = [f"--dbname={u.database}"] if database_flag and u.database else []
    proc = subprocess.run(
        [binary, "--no-password", *db_args, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        detail = "; ".join(proc.stderr.strip().splitlines()[-3:]) or "no message"
        raise BackupError(f"{tool} of the {label} database {_safe(url)} failed: {detail}")
