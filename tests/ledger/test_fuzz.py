"""Fuzz the REST API from its own OpenAPI description (schemathesis CLI, bounded).

Valid and invalid requests (positive and negative generation) as a data steward: the service
must never answer 5xx, every 4xx must carry a message (hook in st_hooks.py), invalid requests
must be refused, responses must match the description. The run is bounded by examples per
operation and a time budget. (Schemathesis' lazy pytest fixture loader does not work with
pytest 9 yet, so the CLI runs against the service in this process.)
"""

from __future__ import annotations

import pytest
from hdss_hub.ledger import Ledger
from hdss_hub.ledger.web import ServiceContext, make_app

from tests.fuzzing import schemathesis_run

from .helpers import HUB_USERS, PREFIX, HeaderAuth, ServerThread

MAX_EXAMPLES = 50
TIME_BUDGET = 25


@pytest.fixture
def fuzz_service(tmp_path):
    restricted = tmp_path / "restricted" / "lpr_adm" / "2026.1"
    restricted.mkdir(parents=True)
    (restricted / "datapackage.json").write_text("{}")
    ledger = Ledger(
        f"sqlite:///{tmp_path / 'ledger.sqlite'}", restricted_root=tmp_path / "restricted"
    )
    ledger.log(
        {
            "project_id": "seed-1",
            "members": ["alice"],
            "datasets": ["lpr_adm"],
            "authority": "Sundhedsdatastyrelsen",
            "reference": "SEED-1",
            "legal_basis": "seed",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2199-01-01T00:00:00Z",
        },
        steward="steve",
    )
    ctx = ServiceContext(ledger=ledger, hub=None, prefix=PREFIX, static_users=HUB_USERS)
    with ServerThread(make_app(ctx, auth_mixin=HeaderAuth)) as server:
        server.ledger = ledger
        yield server
    ledger.engine.dispose()


@pytest.mark.slow
def test_api_fuzz(fuzz_service, tmp_path):
    proc = schemathesis_run(
        f"{fuzz_service.url}{PREFIX}api/openapi.json",
        "steve",
        tmp_path / "report",
        hooks="tests.ledger.st_hooks",
        max_examples=MAX_EXAMPLES,
        time_budget=TIME_BUDGET,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # (An unknown check name or a hook that fails to import makes schemathesis exit non-zero.)
    assert fuzz_service.ledger.audit.verify().ok
