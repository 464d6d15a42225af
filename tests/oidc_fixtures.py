"""Fixtures shared by the OIDC and browser tests: the provider, a hub logging in through it.

Each conftest imports them; the integration fixtures (engine, tiny dataset, log dumps on
failure) come along.
"""

from __future__ import annotations

import pytest

from tests.integration import conftest as integration
from tests.oidc.provider import MockProvider, run_oidc_hub

# The integration fixtures, re-used: the engine, the published tiny dataset, log dumps.
engine = integration.engine
synthetic_root = integration.synthetic_root
dump_logs_on_failure = integration.dump_logs_on_failure
pytest_runtest_makereport = integration.pytest_runtest_makereport


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    instance = MockProvider(tmp_path_factory.mktemp("oidc"))
    instance.start()
    yield instance
    instance.stop()


def oidc_hub_fixture(workdir: str, kind: str):
    """A module-scoped ``hub`` fixture: a real hub logging in through ``provider``."""

    @pytest.fixture(scope="module")
    def hub(engine, synthetic_root, provider, tmp_path_factory):
        yield from run_oidc_hub(
            tmp_path_factory.mktemp(workdir), kind, provider, engine, synthetic_root
        )

    return hub
