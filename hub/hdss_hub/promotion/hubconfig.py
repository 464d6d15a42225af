"""Register the promotion service in the hub configuration (pure functions of the settings).

``apply_services`` in :mod:`hdss_hub.configure` calls :func:`with_promotion` once, which
returns the service and role lists with the promotion service added (and everyone's
``user`` role given access to it). The service needs no hub API scopes: it only learns who
a caller is through the hub's OAuth, and asks the ledger (same database) about permissions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hdss_common.access import READ_SCOPE, WRITE_SCOPE
from hdss_common.db import DB_ENV
from hdss_common.naming import HOME_VOLUME_TEMPLATE

from ..ledger.hubconfig import audit_anchor, db_url
from ..settings import SettingsError
from .runner import limits_problem

SERVICE = "promotion"
DEFAULTS = {
    "enabled": False,
    "port": 8092,
    "threshold": 5,
    "max_table_rows": 500,
    "reviewers_required": 1,
    "run_limits": {"seconds": 1800, "memory": "2G", "cpus": 1.0, "disk": "1G", "output": "100M"},
}


def _promotion(settings: dict[str, Any]) -> dict[str, Any]:
    p = {**DEFAULTS, **(settings.get("promotion") or {})}
    p["run_limits"] = {**DEFAULTS["run_limits"], **(p.get("run_limits") or {})}
    return p


def enabled(settings: dict[str, Any]) -> bool:
    return bool(_promotion(settings)["enabled"] and (settings.get("ledger") or {}).get("enabled"))


def promotion_services(settings: dict[str, Any]) -> list[dict[str, Any]]:
    if not enabled(settings):
        return []
    p = _promotion(settings)
    limits = p["run_limits"]
    problem = limits_problem(limits["memory"], limits["cpus"], limits["disk"], limits["output"])
    if problem:
        raise SettingsError(f"{problem}. Fix it and start again.")
    docker_cfg = settings.get("docker") or {}
    data = settings.get("data") or {}
    state_dir = Path((settings.get("hub") or {}).get("state_dir", "var")).absolute()
    command = [
        sys.executable,
        "-m",
        "hdss_hub.promotion.service",
        f"--prefix={docker_cfg.get('prefix', 'hdss')}",
        f"--home-volume={docker_cfg.get('home_volume', HOME_VOLUME_TEMPLATE)}",
        f"--image={docker_cfg.get('image', 'hdss/singleuser:latest')}",
        f"--restricted-root={Path(data.get('restricted_root', '')).absolute()}",
        f"--synthetic-root={Path(data.get('synthetic_root', '')).absolute()}",
        f"--airlock-dir={state_dir / 'airlock'}",
        f"--steward-group={(settings.get('ledger') or {}).get('steward_group', 'stewards')}",
        f"--threshold={p['threshold']}",
        f"--max-table-rows={p['max_table_rows']}",
        f"--reviewers-required={p['reviewers_required']}",
        f"--timeout-seconds={limits['seconds']}",
        f"--mem-limit={limits['memory']}",
        f"--cpus={limits['cpus']}",
        f"--disk-limit={limits['disk']}",
        f"--output-limit={limits['output']}",
    ]
    environment = {DB_ENV: db_url(settings), **audit_anchor(settings).env()}
    if docker_cfg.get("host"):
        environment["DOCKER_HOST"] = docker_cfg["host"]
    return [
        {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{p['port']}",
            "command": command,
            "environment": environment,
            "display": True,
            # A hub-managed service of this deployment: no "Authorize access" page.
            "oauth_no_confirm": True,
            "info": {
                "description": "Promote notebooks to restricted data; release checked results"
            },
            "oauth_client_allowed_scopes": [WRITE_SCOPE, READ_SCOPE],
        }
    ]


def with_promotion(
    settings: dict[str, Any], services: list[dict], roles: list[dict]
) -> tuple[list[dict], list[dict]]:
    """``services`` and ``roles`` with the promotion service added (new lists)."""
    if not enabled(settings):
        return services, roles
    access = f"access:services!service={SERVICE}"
    roles = [dict(r) for r in roles]
    user = next((r for r in roles if r["name"] == "user"), None)
    if user is None:
        roles.append(
            {"name": "user", "description": "Standard user privileges", "scopes": ["self", access]}
        )
    else:
        user["scopes"] = [*user.get("scopes", []), access]
    return [*services, *promotion_services(settings)], roles
