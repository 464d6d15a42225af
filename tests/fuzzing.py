"""Fuzzing a hub service's REST API from its own OpenAPI description (schemathesis CLI).

The ledger's and the promotion service's fuzz tests run the schemathesis CLI against their
service in the test process (schemathesis' lazy pytest fixture loader does not work with
pytest 9 yet), as one caller, bounded by examples per operation and a time budget, with a
fixed seed. Their checks are schemathesis' own plus the hooks a test names
(``SCHEMATHESIS_HOOKS``); an unknown check name or a hook that fails to import makes
schemathesis exit non-zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261101
# Never a 5xx, status codes, content types and answers as documented, invalid requests
# refused, and (tests/ledger/st_hooks.py) every 4xx with a message.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "message_on_4xx",
)


def schemathesis_run(
    openapi_url: str,
    user: str,
    report_dir: Path,
    *,
    hooks: str,
    checks: Sequence[str] = CHECKS,
    max_examples: int,
    time_budget: int,
) -> subprocess.CompletedProcess:
    """Run schemathesis on the API described at ``openapi_url`` as ``user`` (the tests'
    ``Authorization: test <user>``), with the hooks module ``hooks``, in the parent of
    ``report_dir``; the finished process, its output captured."""
    cli = Path(sys.executable).with_name("schemathesis")
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": hooks,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [
            str(cli),
            "run",
            openapi_url,
            "--header",
            f"Authorization: test {user}",
            "--checks",
            ",".join(checks),
            "--max-examples",
            str(max_examples),
            "--max-time",
            str(time_budget),
            "--seed",
            str(SEED),
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
        timeout=time_budget + 60,
    )
