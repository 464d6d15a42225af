"""Fixtures: a real OIDC provider process, and a real hub that logs in through it."""

from __future__ import annotations

from tests.oidc_fixtures import (  # noqa: F401 (fixtures and hook)
    dump_logs_on_failure,
    engine,
    oidc_hub_fixture,
    provider,
    pytest_runtest_makereport,
    synthetic_root,
)

hub = oidc_hub_fixture("oidchub", "oidc")
