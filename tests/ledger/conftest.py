"""Fixtures of the ledger tests: a throwaway PostgreSQL server, a restricted catalogue, a clock,
the ledger, and the ledger service over HTTP.

The ``db_url`` fixture runs each test on SQLite and on a real PostgreSQL (``-m postgres``
selects or deselects the latter). PostgreSQL comes from Debian's packages; without them the
PostgreSQL tests are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.pg import pg_database

from .helpers import HUB_USERS, PREFIX, HeaderAuth, ServerThread

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RESTRICTED = ("lpr_adm", "lmdb", "dod")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        yield from pg_database(request.getfixturevalue("pg_server"))


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

    led = Ledger(db_url, clock=clock, restricted_root=restricted_root, known_users=lambda: USERS)
    yield led
    led.engine.dispose()


@pytest.fixture
def service(db_url, restricted_root, clock):
    """The ledger service on 127.0.0.1 (callers named by ``as_user``); ``service.ledger``
    is its ledger, ``service.api`` its REST API's URL."""
    from hdss_hub.ledger import Ledger
    from hdss_hub.ledger.web import ServiceContext, make_app

    ledger = Ledger(db_url, clock=clock, restricted_root=restricted_root)
    ctx = ServiceContext(ledger=ledger, hub=None, prefix=PREFIX, static_users=HUB_USERS)
    with ServerThread(make_app(ctx, auth_mixin=HeaderAuth)) as server:
        server.ledger = ledger
        server.api = f"{server.url}{PREFIX}api"
        yield server
    ledger.engine.dispose()


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
