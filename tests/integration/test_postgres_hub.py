"""The hub and the ledger on a real PostgreSQL server, as production runs them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import unique_prefix
from tests.integration.hubproc import free_port, running_hub
from tests.pg import pg_database

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def pg_hub(engine, synthetic_root, pg_server, tmp_path_factory):
    hub_db = pg_database(pg_server)
    ledger_db = pg_database(pg_server)
    hub_url, ledger_url = next(hub_db), next(ledger_db)
    try:
        yield from running_hub(
            engine,
            tmp_path_factory.mktemp("pghub"),
            unique_prefix("pg"),
            synthetic_root,
            extra={
                "hub": {"db_url": hub_url},
                "ledger": {"enabled": True, "db_url": ledger_url, "port": free_port()},
            },
            db_urls=(hub_url, ledger_url),
        )
    finally:
        for gen in (hub_db, ledger_db):
            gen.close()


def test_hub_state_lives_in_postgres_and_survives_a_restart(pg_hub):
    name = f"{pg_hub.prefix}-stu"
    assert pg_hub.spawn(name, profile="course").status_code in (201, 202)
    pg_hub.wait_ready(name)
    hub_url, _ = pg_hub.db_urls
    engine = sa.create_engine(hub_url)
    with engine.connect() as conn:
        users = {row[0] for row in conn.execute(sa.text("select name from users"))}
    engine.dispose()
    assert name in users
    assert not (pg_hub.state / "jupyterhub.sqlite").exists()
    pg_hub.restart()
    assert pg_hub.server_state(name)["ready"]
    pg_hub.stop_server(name)


def test_ledger_audit_lives_in_postgres(pg_hub):
    name = f"{pg_hub.prefix}-stu"
    refused = pg_hub.spawn(name, "secure-p-2026")
    assert refused.status_code == 403
    _, ledger_url = pg_hub.db_urls
    engine = sa.create_engine(ledger_url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        audit = next(t for t in tables if "audit" in t and "version" not in t)
        rows = conn.execute(sa.text(f"select action, outcome from {audit}")).all()
    engine.dispose()
    assert ("secure.start", "denied") in [tuple(r) for r in rows]
    assert not (pg_hub.state / "ledger.sqlite").exists()
