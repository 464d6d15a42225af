"""A hub with the ledger (and optionally the promotion service), restricted data, permissions.

Shared by the secure-profile integration tests, the browser journeys and the promotion path
end to end: a module's hub is ``ledger_hub_fixture(...)``, or ``ledger_hub`` for a fixture
that brings its own restricted data.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import unique_prefix
from tests.integration.hubproc import free_port, publish, running_hub


def publish_restricted(root: Path, name: str, seed: int) -> None:
    """Publish a tiny restricted dataset ``name`` under ``root``."""
    publish(root, seed, "--sensitivity", "restricted", "--name", name)


def ledger_hub(
    engine,
    workdir: Path,
    kind: str,
    synthetic_root: Path,
    restricted_root: Path,
    groups: dict[str, list[str]],
    *,
    reconcile_seconds: int,
    promotion: dict | None = None,
    ledger: dict | None = None,
    **extra,
):
    """A started hub with the ledger on, for a fixture to yield from.

    ``groups`` maps each group to roles; each role is a user ``<prefix>-<role>``, and
    ``hub.users`` maps the roles to those names. ``promotion`` (its settings) turns the
    promotion service on too; ``ledger`` are further ledger settings, ``extra`` further
    settings sections.
    """
    prefix = unique_prefix(kind)
    users = {role: f"{prefix}-{role}" for roles in groups.values() for role in roles}
    settings = {
        "data": {"restricted_root": str(restricted_root)},
        "ledger": {
            "enabled": True,
            "port": free_port(),
            "reconcile_seconds": reconcile_seconds,
            **(ledger or {}),
        },
        "groups": {group: [users[role] for role in roles] for group, roles in groups.items()},
        **extra,
    }
    if promotion is not None:
        settings["promotion"] = {"enabled": True, "port": free_port(), **promotion}
    yield from running_hub(engine, workdir, prefix, synthetic_root, settings, users=users)


def ledger_hub_fixture(
    name: str,
    kind: str,
    restricted: dict[str, int],
    groups: dict[str, list[str]],
    **settings,
):
    """A module's hub with the ledger on, as a module-scoped fixture called ``name``
    (assign it to that name): the ``restricted`` datasets (name: seed) published in a
    directory of their own, then :func:`ledger_hub` with ``groups`` and ``settings``
    (``reconcile_seconds``, ``promotion``, ``ledger``, further sections)."""

    @pytest.fixture(scope="module", name=name)
    def hub(engine, synthetic_root, tmp_path_factory):
        """The module's hub with the ledger on (``hub.users``: role -> username)."""
        restricted_root = tmp_path_factory.mktemp("restricted")
        for dataset, seed in restricted.items():
            publish_restricted(restricted_root, dataset, seed)
        yield from ledger_hub(
            engine,
            tmp_path_factory.mktemp(name),
            kind,
            synthetic_root,
            restricted_root,
            groups,
            **copy.deepcopy(settings),
        )

    return hub


# The secure profile of the hubs that start secure servers (``profiles=SECURE_PROFILES``).
SECURE_PROFILES = {
    "secure": {"cpu_limit": 1, "mem_limit": "2G", "groups": ["researchers"], "kind": "secure"}
}


def permission_body(
    project: str,
    members: list[str],
    datasets: list[str],
    reference: str,
    legal_basis: str,
    valid_for: timedelta = timedelta(days=30),
) -> dict:
    """A permission as a steward logs it, valid from a minute ago for ``valid_for``."""
    now = datetime.now(UTC)
    return {
        "project_id": project,
        "members": members,
        "datasets": datasets,
        "authority": "Sundhedsdatastyrelsen",
        "reference": reference,
        "legal_basis": legal_basis,
        "valid_from": (now - timedelta(minutes=1)).isoformat(),
        "valid_until": (now + valid_for).isoformat(),
    }


def service_api(hub, service: str, method: str, path: str, token: str, **kwargs):
    """A request to a hub service's REST API (``/services/<service>/api<path>``)."""
    return requests.request(
        method,
        f"{hub.url}/services/{service}/api{path}",
        headers={"Authorization": f"token {token}"},
        timeout=60,
        **kwargs,
    )
