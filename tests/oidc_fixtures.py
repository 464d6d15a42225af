"""Shared by the OIDC and browser tests: the provider, and a hub logging in through it.

A pytest plugin (``pytest_plugins`` in tests/conftest.py): the ``provider`` fixture is
everyone's; each conftest makes its own ``hub`` with ``oidc_hub_fixture``. The engine and
the tiny dataset come from tests.integration.fixtures.
"""

from __future__ import annotations

import pytest

from tests.oidc.provider import MockProvider, run_oidc_hub


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
