"""Shared test helpers: real-engine gating and the project's paths.

In CI (CI=true) a missing Docker engine, image or server binary is a failure, never a
skip: `require()` turns the reason into pytest.fail there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
DOCKER = "/usr/bin/docker"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, or fail when running in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def unique_prefix(kind: str) -> str:
    """A name prefix for the Docker objects one test creates (removed afterwards)."""
    return f"hdsstest-{kind}-{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def docker_client():
    """A client of the real engine (gated by `require`)."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as e:  # any failure to reach the engine means "no engine"
        require(False, f"no Docker engine answers ({e.__class__.__name__}); start dockerd")
    yield client
    client.close()
