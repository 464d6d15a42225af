"""Fuzz the promotion API from its own OpenAPI description (schemathesis CLI, bounded).

As the ledger's fuzz (tests/ledger/test_fuzz.py): valid and invalid requests against the
service in this process, on a real SQLite database with a real ledger, seeded as in
test_web.py. No Docker: the client is a fake engine with the image and empty volumes
(test_web.EmptyHomes), so a submission gets as far as reading the sandbox home and an
approval writes its receipt there. Once as a researcher with a permission, once as a data steward. The service must
never answer 5xx, every 4xx carries a message, invalid requests are refused, answers
match the document, and no answer to the researcher holds a restricted value (hooks in
st_hooks.py).
"""

from __future__ import annotations

import pytest

from tests.fuzzing import CHECKS, schemathesis_run

from .test_web import PREFIX, EmptyHomes, seeded_airlock, serving

MAX_EXAMPLES = 40
TIME_BUDGET = 20
# (st_hooks.py: the ledger's message_on_4xx, and no restricted value to a researcher)
PROMOTION_CHECKS = (*CHECKS, "no_restricted_values_for_researchers")


@pytest.fixture
def fuzz_service(tmp_path):
    airlock = seeded_airlock(tmp_path, EmptyHomes())
    with serving(airlock) as server:
        server.airlock = airlock
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("user", ["alice", "steve"])
def test_api_fuzz(fuzz_service, tmp_path, user):
    proc = schemathesis_run(
        f"{fuzz_service.url}{PREFIX}api/openapi.json",
        user,
        tmp_path / "report",
        hooks="tests.promotion.st_hooks",
        checks=PROMOTION_CHECKS,
        max_examples=MAX_EXAMPLES,
        time_budget=TIME_BUDGET,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # (An unknown check name or a hook that fails to import makes schemathesis exit non-zero.)
    assert fuzz_service.airlock.audit.verify().ok
