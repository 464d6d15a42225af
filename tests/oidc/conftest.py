"""The OIDC tests' hub: a real hub that logs in through the provider (tests.oidc_fixtures)."""

from __future__ import annotations

from tests.oidc_fixtures import oidc_hub_fixture

hub = oidc_hub_fixture("oidchub", "oidc")
