"""``hdss-airlock`` in the single-user image: a researcher checks outputs in the sandbox
with exactly the checks the service runs (same package, no hub code in the image)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.fixtures import IMAGE
from tests.promotion.corpus import BY_NAME, SAFE
from tests.promotion.test_corpus import check

pytestmark = pytest.mark.docker

SAMPLE = [
    "html-upper-case-table",
    "rate-with-population",
    "ids-in-header-row",
    "rows-split-across-files",
]


@pytest.fixture
def outbox_dir():
    """A folder the container's uid 1000 can read (bind-mounted read-only)."""
    root = Path(tempfile.mkdtemp(prefix="hdss-airlock-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_in_image(engine, folder: Path, *args: str) -> tuple[int, str]:
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    container = engine.containers.run(
        IMAGE,
        ["hdss-airlock", *args],
        volumes={str(folder): {"bind": "/outbox", "mode": "ro"}},
        network_mode="none",
        detach=True,
    )
    try:
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs(stdout=True, stderr=False).decode()
    finally:
        container.remove(force=True)


@pytest.mark.abuse
@pytest.mark.parametrize("name", SAMPLE)
def test_the_image_command_catches_what_the_service_catches(engine, outbox_dir, name):
    case = BY_NAME[name]
    outbox = case.make(case.bad)
    for rel, data in outbox.items():
        (outbox_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (outbox_dir / rel).write_bytes(data)
    code, out = run_in_image(engine, outbox_dir, "check", "--json", "/outbox")
    assert code == 1, out
    answer = json.loads(out)
    status, rules, _ = check(outbox)
    assert answer["status"] == status
    assert {f["rule"] for r in answer["files"] for f in r["findings"]} == rules


def test_the_image_command_passes_safe_outputs(engine, outbox_dir):
    for rel, data in SAFE["incidence-table"].items():
        (outbox_dir / rel).write_bytes(data)
    code, out = run_in_image(engine, outbox_dir, "check", "/outbox")
    assert code == 0, out
    assert "1 file(s): 1 pass" in out
