"""A throwaway PostgreSQL server (Debian's binaries) for the tests that claim PostgreSQL.

A pytest plugin (``pytest_plugins`` in tests/conftest.py) for the ``pg_server`` fixture;
``pg_database`` is a helper that fixtures import. Without the binaries the tests are
skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hdss_harness.procs import free_port
from hdss_harness.wait import wait_until

from tests.conftest import require

PG_BIN = Path(os.environ.get("HDSS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this test run; yields its base URL."""
    require(
        (PG_BIN / "initdb").exists(),
        f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)",
    )
    base = Path(tempfile.mkdtemp(prefix="hdss-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    log = open(base / "postgres.log", "wb")
    proc = subprocess.Popen(
        _as_postgres(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(sock),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=60",
            ]
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    engine = sa.create_engine(f"{url}/postgres")

    def server_log() -> str:
        return (base / "postgres.log").read_text(errors="replace")

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"PostgreSQL exited with {proc.returncode}:\n{server_log()}")
        with engine.connect():
            return True

    try:
        wait_until(
            answers,
            30,
            0.1,
            lambda: f"PostgreSQL did not start:\n{server_log()}",
            expect=(sa.exc.OperationalError,),
        )
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


def pg_database(base_url: str) -> Iterator[str]:
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
