"""A hub with the ledger (and optionally the promotion service), restricted data, permissions.

Shared by the secure-profile integration tests and the promotion path end to end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    **extra,
):
    """A started hub with the ledger on, for a fixture to yield from.

    ``groups`` maps each group to roles; each role is a user ``<prefix>-<role>``, and
    ``hub.users`` maps the roles to those names. ``promotion`` (its settings) turns the
    promotion service on too; ``extra`` are further settings sections.
    """
    prefix = unique_prefix(kind)
    users = {role: f"{prefix}-{role}" for roles in groups.values() for role in roles}
    settings = {
        "data": {"restricted_root": str(restricted_root)},
        "ledger": {"enabled": True, "port": free_port(), "reconcile_seconds": reconcile_seconds},
        "groups": {group: [users[role] for role in roles] for group, roles in groups.items()},
        **extra,
    }
    if promotion is not None:
        settings["promotion"] = {"enabled": True, "port": free_port(), **promotion}
    yield from running_hub(engine, workdir, prefix, synthetic_root, settings, users=users)


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
