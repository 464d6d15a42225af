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

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_web import PREFIX, EmptyHomes, seeded_airlock, serving

MAX_EXAMPLES = 40
TIME_BUDGET = 20
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "message_on_4xx",
    "no_restricted_values_for_researchers",
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fuzz_service(tmp_path):
    airlock = seeded_airlock(tmp_path, EmptyHomes())
    with serving(airlock) as server:
        server.airlock = airlock
        yield server


def schemathesis_run(url: str, user: str, report_dir: Path) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("schemathesis")
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.promotion.st_hooks",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [
            str(cli),
            "run",
            f"{url}{PREFIX}api/openapi.json",
            "--header",
            f"Authorization: test {user}",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(TIME_BUDGET),
            "--seed",
            "20261101",
            "--request-timeout",
            "10",
            "--workers",
            "1",
            "--report-dir",
            str(report_dir),
        ],
        cwd=report_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET + 60,
    )


@pytest.mark.slow
@pytest.mark.parametrize("user", ["alice", "steve"])
def test_api_fuzz(fuzz_service, tmp_path, user):
    proc = schemathesis_run(fuzz_service.url, user, tmp_path / "report")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # (An unknown check name or a hook that fails to import makes schemathesis exit non-zero.)
    assert fuzz_service.airlock.audit.verify().ok
