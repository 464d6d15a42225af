"""Backups that restore: a real hub, real restic, the real engine, SQLite and PostgreSQL.

The backup runs while the hub serves and a student's server runs. Then the hub's state is
destroyed (hub stopped, its database and the ledger database deleted) and so is the
student's home volume; ``hdss-backup restore`` brings both back, and the student logs in,
finds their file at home, ``hdss-audit verify`` passes on the restored chain and the
ledger holds the same permissions.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import sqlalchemy as sa
from hdss_common.naming import home_volume

from tests.conftest import VENV_BIN
from tests.integration.ledger_helpers import ledger_hub, publish_restricted, service_api
from tests.integration.secure_helpers import exec_in, hub_login, log_permission
from tests.pg import pg_database

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GROUPS = {"students": ["stu"], "researchers": ["res"], "stewards": ["steward"]}
WORK = "/home/jovyan/analysis/cohort.txt"
WORK_TEXT = "incident diabetes 2019-2023, my own notes"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def bhub(request, engine, synthetic_root, tmp_path_factory):
    """A hub with the ledger on, its databases in SQLite or in PostgreSQL (``db_urls``)."""
    restricted = tmp_path_factory.mktemp("restricted")
    publish_restricted(restricted, "dk-restricted", 301)
    extra, gens, urls = {}, [], ()
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        gens = [pg_database(server), pg_database(server)]
        urls = tuple(next(g) for g in gens)
        extra = {"hub": {"db_url": urls[0]}}
    try:
        for hub in ledger_hub(
            engine,
            tmp_path_factory.mktemp(f"backup-{request.param}"),
            "bak",
            synthetic_root,
            restricted,
            GROUPS,
            reconcile_seconds=60,
            ledger={"db_url": urls[1]} if urls else None,
            **extra,
        ):
            hub.db_urls = urls
            yield hub
    finally:
        for gen in gens:
            gen.close()


def run(hub, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / args[0]), *args[1:]],
        env={**os.environ, "HDSS_SETTINGS": str(hub.settings_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def permissions(hub) -> list[dict]:
    token = hub.user_token(hub.users["steward"])
    r = service_api(hub, "ledger", "GET", "/permissions", token)
    assert r.status_code == 200, r.text
    return r.json()


def destroy_state(hub, engine) -> None:
    """Stop the hub and lose its database, the ledger database and nothing else."""
    hub.stop()
    if not hub.db_urls:
        for name in ("jupyterhub.sqlite", "ledger.sqlite"):
            (hub.state / name).unlink()
        assert not (hub.state / "ledger.sqlite").exists()
        return
    for url in hub.db_urls:
        db = sa.make_url(url)
        admin = sa.create_engine(db.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE "{db.database}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{db.database}"'))
        admin.dispose()


def test_restore_after_losing_hub_state_and_a_home(bhub, engine):
    student, researcher = bhub.users["stu"], bhub.users["res"]
    # A student's work at home, a permission in the ledger, a server running.
    assert bhub.spawn(student, profile="course").status_code in (201, 202)
    bhub.wait_ready(student)
    container = engine.containers.get(bhub.container_name(student))
    code, output = exec_in(
        container,
        "import pathlib,sys; p=pathlib.Path(sys.argv[1]); p.parent.mkdir(); p.write_text(sys.argv[2])",
        WORK,
        WORK_TEXT,
    )
    assert code == 0, output
    log_permission(bhub, "diab-bak", [researcher], ["dk-restricted"], "FSEID-00009999")
    before = permissions(bhub)
    assert [p["project_id"] for p in before] == ["diab-bak"]

    # The backup runs while the hub serves and the student's server runs.
    done = run(bhub, "hdss-backup", "backup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"volume:{home_volume(bhub.prefix, student)}" in done.stdout
    listed = run(bhub, "hdss-backup", "snapshots")
    assert listed.returncode == 0 and "complete" in listed.stdout, listed.stderr

    # Lose the hub's state and the student's home.
    bhub.stop_server(student)
    destroy_state(bhub, engine)
    engine.volumes.get(home_volume(bhub.prefix, student)).remove()

    restored = run(bhub, "hdss-backup", "restore")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    bhub.start()

    # The student logs in with their password and finds their work at home.
    hub_login(bhub, student)
    assert bhub.spawn(student, profile="course").status_code in (201, 202)
    bhub.wait_ready(student)
    container = engine.containers.get(bhub.container_name(student))
    code, output = exec_in(container, "import sys; print(open(sys.argv[1]).read())", WORK)
    assert code == 0 and WORK_TEXT in output, output
    bhub.stop_server(student)

    # The restored chain verifies against the restored anchors; the ledger is intact.
    verified = run(bhub, "hdss-audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit log intact" in verified.stdout
    assert permissions(bhub) == before
    exported = run(bhub, "hdss-audit", "export")
    actions = [line for line in exported.stdout.splitlines() if '"backup.restore"' in line]
    assert len(actions) == 1 and '"outcome":"ok"' in actions[0], exported.stdout[-2000:]
