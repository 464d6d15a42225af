"""The lighter jupyterhub-singleuser (images/singleuser/slim), run against the hub's own
JupyterHub package in this venv (the same version as the image's): in a process started
as jupyterhub-singleuser, importing what the single-user server imports loads none of the
hub's database layer; the modules deferred still work when something does use them; any
other process is left alone. tests/integration/test_singleuser_slim.py checks a real
server spawned by a real hub."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_DIR

SLIM = PROJECT_DIR / "images" / "singleuser" / "slim"


def run_python(code: str) -> str:
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SLIM), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


PRELUDE = "import sys, hdss_singleuser_slim as slim\n"
# What jupyterhub.singleuser imports from the hub package (jupyter_server aside).
SINGLEUSER_IMPORTS = (
    "import jupyterhub.services.auth, jupyterhub.log, jupyterhub.utils, jupyterhub.httpclient\n"
)


def test_the_singleuser_server_imports_none_of_the_hubs_database_layer():
    out = run_python(
        PRELUDE
        + "print(slim.install('/opt/venv/bin/jupyterhub-singleuser'))\n"
        + SINGLEUSER_IMPORTS
        + "loaded = lambda n: n in sys.modules and not slim.is_lazy(sys.modules[n])\n"
        "print(*[loaded(n) for n in ('sqlalchemy', 'alembic', 'mako', 'jupyterhub.orm',\n"
        "      'jupyterhub.roles', 'jupyterhub.handlers', 'jupyterhub.metrics')])\n"
        "print(callable(jupyterhub.log.log_request), 'jupyterhub.handlers.pages' in sys.modules)\n"
    )
    assert out == ["True"] + ["False"] * 7 + ["True", "False"]


def test_deferred_modules_still_work_when_used():
    out = run_python(
        PRELUDE
        + "slim.install('jupyterhub-singleuser')\n"
        + SINGLEUSER_IMPORTS
        + "import jupyterhub.orm as orm, jupyterhub.scopes as scopes\n"
        "print(slim.is_lazy(orm), orm.User.__tablename__, slim.is_lazy(orm))\n"
        "from sqlalchemy.exc import SQLAlchemyError\n"
        "import sqlalchemy.orm\n"
        "print(SQLAlchemyError.__module__, sqlalchemy.orm.Session.__name__)\n"
    )
    assert out == ["True", "users", "False", "sqlalchemy.exc", "Session"]


def test_a_submodule_imported_first_brings_the_real_package():
    out = run_python(
        PRELUDE
        + "slim.install('jupyterhub-singleuser')\n"
        + SINGLEUSER_IMPORTS
        + "import sqlalchemy.orm\n"
        "import jupyterhub.scopes as scopes\n"
        "print(sqlalchemy.orm.Session.__name__, scopes.sa.inspect.__name__)\n"
    )
    assert out == ["Session", "inspect"]


def test_other_processes_are_left_alone():
    out = run_python(
        PRELUDE + "print(slim.install('/opt/venv/bin/python'), slim.install('ipykernel'))\n"
        "import jupyterhub.utils\n"
        "print(any(slim.is_lazy(m) for m in list(sys.modules.values())))\n"
        "print(jupyterhub.utils.SQLAlchemyError.__module__, 'sqlalchemy' in sys.modules)\n"
    )
    assert out == ["False", "False", "False", "sqlalchemy.exc", "True"]


def test_it_can_be_switched_off():
    code = (
        "import os; os.environ['HDSS_SLIM_SINGLEUSER'] = '0'\n"
        + PRELUDE
        + "print(slim.install('jupyterhub-singleuser'))\n"
    )
    assert run_python(code) == ["False"]


def test_the_image_runs_it_at_every_start_and_documents_it():
    dockerfile = (PROJECT_DIR / "images" / "singleuser" / "Dockerfile").read_text()
    assert "slim/hdss_singleuser_slim.py /opt/hdss/lib/" in dockerfile
    assert "hdss_singleuser_slim.install()" in dockerfile
    assert "hdss_slim.pth" in dockerfile  # sorts after hdss.pth, which adds /opt/hdss/lib
    assert sorted(["hdss_slim.pth", "hdss.pth"]) == ["hdss.pth", "hdss_slim.pth"]
