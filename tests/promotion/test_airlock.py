"""The airlock without Docker: volume names, states, and its database across upgrades."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from hdss_common import naming
from hdss_common.db import make_engine
from hdss_hub.ledger.core import Ledger
from hdss_hub.promotion import service
from hdss_hub.promotion.core import VERSION_TABLE, Airlock, AirlockConfig
from hdss_hub.promotion.hubconfig import promotion_services
from hdss_hub.promotion.models import FINAL, STATES, State
from hdss_hub.webservice import ConfigError

from tests.pg import pg_database

TEMPLATE = "{prefix}-u-{username}-home"


def test_home_volume_follows_the_configured_template_as_the_spawner_does():
    cfg = AirlockConfig(prefix="site", home_volume_template=TEMPLATE)
    name = cfg.home_volume("Ann.B-1")
    assert name == naming.home_volume("site", "Ann.B-1", TEMPLATE)
    assert name == "site-u--41nn-2e-42-2d1-home"  # escaped as DockerSpawner escapes
    assert AirlockConfig(prefix="site").home_volume("ann") == "site-home-ann"
    assert cfg.project_volume("diab-2026") == naming.project_volume("site", "diab-2026")


def settings(tmp_path, **docker) -> dict:
    return {
        "ledger": {"enabled": True, "steward_group": "stewards"},
        "promotion": {"enabled": True},
        "docker": {"prefix": "site", "image": "img:1", **docker},
        "data": {"restricted_root": str(tmp_path / "r"), "synthetic_root": str(tmp_path / "s")},
        "hub": {"state_dir": str(tmp_path / "state")},
    }


def service_args(tmp_path, **docker) -> list[str]:
    """The service's arguments as the hub starts it, and a database of its own."""
    (svc,) = promotion_services(settings(tmp_path, **docker))
    command_line = svc["command"]
    args = command_line[command_line.index("hdss_hub.promotion.service") + 1 :]
    return [*args, f"--db-url=sqlite:///{tmp_path / 'hub.sqlite'}"]


def build(args: list[str], monkeypatch) -> service.PromotionService:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8092")
    monkeypatch.setattr(service.docker, "from_env", lambda **_: None)  # no engine needed
    app = service.PromotionService()
    app.initialize(args)
    return app


def test_the_service_takes_the_template_from_the_settings(tmp_path, monkeypatch):
    args = service_args(tmp_path, home_volume=TEMPLATE)
    assert f"--home-volume={TEMPLATE}" in args
    ctx, _, port = build(args, monkeypatch).build()
    assert port == 8092
    assert ctx.airlock.cfg.home_volume("Ann.B-1") == naming.home_volume("site", "Ann.B-1", TEMPLATE)
    ctx.airlock.engine.dispose()


def test_without_the_setting_the_default_template_is_used(tmp_path, monkeypatch):
    args = service_args(tmp_path)
    assert f"--home-volume={naming.HOME_VOLUME_TEMPLATE}" in args
    ctx, _, _ = build(args, monkeypatch).build()
    assert ctx.airlock.cfg.home_volume("ann") == "site-home-ann"
    ctx.airlock.engine.dispose()


def test_a_template_that_cannot_be_filled_in_stops_the_service(tmp_path, monkeypatch):
    app = build(service_args(tmp_path, home_volume="{prefix}-home-{user}"), monkeypatch)
    with pytest.raises(ConfigError, match="--home-volume"):
        app.build()


def test_states_are_an_enum_with_the_stored_values():
    assert STATES == (
        "queued",
        "running",
        "failed",
        "timed-out",
        "awaiting-review",
        "released",
        "rejected",
    )
    assert set(FINAL) == {State.FAILED, State.TIMED_OUT, State.RELEASED, State.REJECTED}
    assert State("timed-out") is State.TIMED_OUT and "released" in FINAL
    assert json.dumps({"state": State.AWAITING_REVIEW}) == '{"state": "awaiting-review"}'


# -- the database: p0001 (JSON as text) upgraded to the JSON columns --------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database: SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        yield from pg_database(request.getfixturevalue("pg_server"))


def migrate(engine: sa.Engine, action, revision: str) -> None:
    """Upgrade or downgrade the promotion schema to ``revision`` (as hdss_common.db does)."""
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("hdss_hub.promotion").joinpath("migrations"))
    )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["version_table"] = VERSION_TABLE
        action(cfg, revision)


def head() -> str:
    """The newest revision of the promotion schema."""
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("hdss_hub.promotion").joinpath("migrations"))
    )
    return ScriptDirectory.from_config(cfg).get_current_head()


CHECKS = [{"path": "t.csv", "size": 9, "sha256": "0" * 64, "status": "pass", "findings": []}]
RECEIPT = {"request": 1, "decision": "approve", "released": ["t.csv"]}
FILES = [{"path": "a.ipynb", "sha256": "1" * 64, "size": 10}]


def insert_at_p0001(conn, state: str, checks: str | None, receipt: str | None) -> None:
    """A request row as the p0001 code wrote it: JSON serialised into text columns."""
    now = datetime(2026, 11, 30, 12, 0)
    conn.execute(
        sa.text(
            "INSERT INTO promotion_requests (project_id, requester, state, dataset, "
            "dataset_version, developed_on, image, image_id, files, notebooks, contract, "
            "run_outcome, checks, receipt, created_at, updated_at) VALUES (:p, 'alice', :state, "
            "'dk', '1', :dev, 'img', 'sha256:1', :files, :nbs, '[]', NULL, :checks, :receipt, "
            ":now, :now)"
        ),
        {
            "p": "diab-2026",
            "state": state,
            "dev": json.dumps({"dataset": "dk-registers", "version": "2026.1"}),
            "files": json.dumps(FILES),
            "nbs": json.dumps(["a.ipynb"]),
            "checks": checks,
            "receipt": receipt,
            "now": now,
        },
    )


def test_requests_stored_as_text_read_back_after_the_json_upgrade(db_url, tmp_path):
    engine = make_engine(db_url)
    migrate(engine, command.upgrade, "p0001")
    with engine.begin() as conn:
        insert_at_p0001(conn, "released", json.dumps(CHECKS), json.dumps(RECEIPT))
        insert_at_p0001(conn, "running", None, None)
    engine.dispose()

    airlock = Airlock(db_url, Ledger(db_url), None, AirlockConfig(airlock_dir=str(tmp_path)))
    with airlock.engine.connect() as c:
        assert c.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == head()
    inspector = sa.inspect(airlock.engine)
    types = {c["name"]: c["type"] for c in inspector.get_columns("promotion_requests")}
    json_columns = ("developed_on", "files", "notebooks", "contract", "checks", "receipt")
    assert all(isinstance(types[name], sa.JSON) for name in json_columns), types
    indexed = {i["column_names"][0] for i in inspector.get_indexes("promotion_requests")}
    assert {"project_id", "requester"} <= indexed  # kept through SQLite's table rebuild
    released = airlock.get(1)
    assert released.state is State.RELEASED
    assert released.developed_on == {"dataset": "dk-registers", "version": "2026.1"}
    assert released.files == FILES and released.notebooks == ["a.ipynb"]
    assert released.contract == [] and released.checks == CHECKS
    assert released.receipt == RECEIPT
    assert released.to_json()["state"] == "released"
    running = airlock.get(2)
    assert running.state is State.RUNNING and running.checks is None and running.receipt is None

    # Written through the new columns, and found by state.
    airlock.recover()  # the interrupted run fails
    assert airlock.get(2).state is State.FAILED
    updated = airlock._update(2, checks=CHECKS, receipt={"withheld": ["x.csv"]})
    assert updated.checks == CHECKS and airlock.get(2).receipt == {"withheld": ["x.csv"]}
    assert [r.id for r in airlock.list(state=State.FAILED)] == [2]
    with airlock.engine.connect() as c:
        stored = c.execute(sa.text("SELECT checks FROM promotion_requests WHERE id = 2")).scalar()
    if isinstance(stored, str):  # SQLite keeps JSON as text; psycopg parses it
        stored = json.loads(stored)
    assert stored == CHECKS

    # And back: the downgrade leaves JSON text that p0001's code read.
    migrate(airlock.engine, command.downgrade, "p0001")
    with airlock.engine.connect() as c:
        text = c.execute(sa.text("SELECT receipt FROM promotion_requests WHERE id = 1")).scalar()
    assert isinstance(text, str) and json.loads(text) == RECEIPT
    airlock.engine.dispose()
    airlock.ledger.engine.dispose()
