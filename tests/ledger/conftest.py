"""Fixtures of the ledger tests: a throwaway PostgreSQL server, a restricted catalogue, a clock.

The ``db_url`` fixture runs each test on SQLite and on a real PostgreSQL (``-m postgres``
selects or deselects the latter). PostgreSQL comes from Debian's packages; without them the
PostgreSQL tests are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_BIN = Path(os.environ.get("HDSS_PG_BIN", "/usr/lib/postgresql/15/bin"))
START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RESTRICTED = ("lpr_adm", "lmdb", "dod")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this test run; yields its base URL."""
    if not (PG_BIN / "initdb").exists():
        msg = f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    base = Path(tempfile.mkdtemp(prefix="hdss-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)
    log = open(base / "postgres.log", "wb")
    proc = subprocess.Popen(_as_postgres([
        str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
        "-k", str(sock), "-c", "fsync=off", "-c", "max_connections=60"]),
        stdout=log, stderr=subprocess.STDOUT)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    engine = sa.create_engine(f"{url}/postgres")
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with engine.connect():
                    break
            except sa.exc.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("PostgreSQL did not start:\n"
                                + (base / "postgres.log").read_text(errors="replace"))
                time.sleep(0.1)
        engine.dispose()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _pg_database(base_url: str) -> Iterator[str]:
    name = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base_url}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        yield from _pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def restricted_root(tmp_path) -> Path:
    """A small restricted catalogue: each dataset with one published version."""
    root = tmp_path / "restricted"
    for name in RESTRICTED:
        version = root / name / "2026.1"
        version.mkdir(parents=True)
        (version / "datapackage.json").write_text(json.dumps({"name": name}))
        (root / name / "current").symlink_to("2026.1")
    return root


class Clock:
    """A settable clock: ``clock()`` is now, ``clock.advance(days=...)`` moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


USERS = {"alice", "bob", "carol", "steve"}


@pytest.fixture
def ledger(db_url, restricted_root, clock):
    from hdss_hub.ledger import Ledger

    led = Ledger(db_url, clock=clock, restricted_root=restricted_root,
                 known_users=lambda: USERS)
    yield led
    led.engine.dispose()


def _permission(**over) -> dict:
    """A valid permission request, with ``over`` replacing fields."""
    data = {
        "project_id": "diab-2026",
        "members": ["alice"],
        "datasets": ["lpr_adm"],
        "authority": "Sundhedsdatastyrelsen",
        "reference": "FSEID-00001234",
        "legal_basis": "Sundhedsloven section 46; GDPR art. 6(1)(e) and 9(2)(j)",
        "valid_from": "2026-11-01T00:00:00Z",
        "valid_until": "2027-11-01T00:00:00Z",
    }
    data.update(over)
    return data


@pytest.fixture
def permission():
    """``permission(**over)``: a valid permission request with some fields replaced."""
    return _permission
