"""Shared test helpers: real-engine gating and the project's paths.

In CI (CI=true) a missing Docker engine, image or server binary is a failure, never a
skip: `require()` turns the reason into pytest.fail there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

# Fixtures and hooks every test directory may use. pytest reads pytest_plugins only here,
# in the rootdir's conftest; no conftest re-exports another's fixtures.
pytest_plugins = [
    "tests.integration.fixtures",  # engine, synthetic_root, hub logs on any failure
    "tests.oidc_fixtures",  # provider (the mock OIDC provider)
    "tests.pg",  # pg_server (a throwaway PostgreSQL)
]

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
    import requests

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError) as e:
        require(False, f"no Docker engine answers ({e!r}); start dockerd")
    yield client
    client.close()
