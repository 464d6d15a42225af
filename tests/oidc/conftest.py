"""Fixtures: a real OIDC provider process, and a real hub that logs in through it."""

from __future__ import annotations

import pytest

from tests.conftest import unique_prefix
from tests.integration.conftest import (  # noqa: F401 (fixtures re-used here)
    dump_logs_on_failure,
    engine,
    pytest_runtest_makereport,
    synthetic_root,
)
from tests.integration.hubproc import Hub, cleanup_docker
from tests.oidc.provider import MockProvider, write_client_secret


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    instance = MockProvider(tmp_path_factory.mktemp("oidc"))
    instance.start()
    yield instance
    instance.stop()


def start_oidc_hub(workdir, kind, provider, engine, synthetic_root):
    """A hub whose login is the provider; yields it and removes what it made."""
    prefix = unique_prefix(kind)
    secret = write_client_secret(workdir / "client-secret")
    instance = Hub(workdir, prefix, synthetic_root, extra={"auth": provider.oidc_settings(secret)})
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        cleanup_docker(engine, prefix)


@pytest.fixture(scope="module")
def hub(engine, synthetic_root, provider, tmp_path_factory):
    yield from start_oidc_hub(
        tmp_path_factory.mktemp("oidchub"), "oidc", provider, engine, synthetic_root
    )
