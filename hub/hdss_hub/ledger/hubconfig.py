"""Wire the ledger service into the hub configuration (pure functions of the settings).

``apply_ledger(settings, c)`` is the whole thing; ``apply_all`` in the hub config can
instead concatenate :func:`ledger_services`, :func:`ledger_roles` and merge
:func:`ledger_custom_scopes` with the other services' pieces.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hdss_common.access import READ_SCOPE, WRITE_SCOPE
from hdss_common.db import DB_ENV
from traitlets.config import Config

from ..audit import AnchorLog

SERVICE = "ledger"
DEFAULTS = {"enabled": False, "port": 8091, "steward_group": "stewards", "reconcile_seconds": 60}

# The service's own role: each scope is explained in hub/README-ledger.md.
SERVICE_SCOPES = [
    "list:users",  # list hub users (GET /users)...
    "read:users:name",  # ...and their names: members must be hub users
    "read:servers",  # see which servers run (the reconciler)...
    "read:users:groups",  # ...and whether their owners are still in a secure profile's group
    "delete:servers",  # stop a secure server whose permission ended
]


def _ledger(settings: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS, **(settings.get("ledger") or {})}


def db_url(settings: dict[str, Any]) -> str:
    """The ledger database: ``ledger.db_url``, else SQLite in the hub's state directory."""
    ledger = _ledger(settings)
    if ledger.get("db_url"):
        return ledger["db_url"]
    state_dir = Path((settings.get("hub") or {}).get("state_dir", "var")).absolute()
    return f"sqlite:///{state_dir / 'ledger.sqlite'}"


def audit_anchor(settings: dict[str, Any]) -> AnchorLog:
    """The audit chain's anchor: ``<hub.state_dir>/audit-anchors.log`` and its HMAC key in
    ``<hub.state_dir>/secrets/audit-anchor-key``, outside the ledger database."""
    return AnchorLog.in_state_dir((settings.get("hub") or {}).get("state_dir", "var"))


def secure_groups(settings: dict[str, Any]) -> list[str]:
    """The groups any secure profile is offered to (the reconciler's group check)."""
    groups = {
        g
        for profile in (settings.get("profiles") or {}).values()
        if profile.get("kind") == "secure"
        for g in profile.get("groups", [])
    }
    return sorted(groups)


def ledger_services(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``c.JupyterHub.services`` entries (empty when the ledger is disabled)."""
    ledger = _ledger(settings)
    if not ledger["enabled"]:
        return []
    command = [
        sys.executable,
        "-m",
        "hdss_hub.ledger.service",
        f"--steward-group={ledger['steward_group']}",
        f"--reconcile-seconds={ledger['reconcile_seconds']}",
    ]
    restricted = (settings.get("data") or {}).get("restricted_root")
    if restricted:
        command.append(f"--restricted-root={restricted}")
    command += [f"--secure-group={group}" for group in secure_groups(settings)]
    return [
        {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{ledger['port']}",
            "command": command,
            "environment": {DB_ENV: db_url(settings), **audit_anchor(settings).env()},
            "display": True,
            # A hub-managed service of this deployment: no "Authorize access" page.
            "oauth_no_confirm": True,
            "info": {"description": "Research permissions and the audit log"},
            # What the service may learn about a user who logs in to it: who they are and
            # whether they hold the ledger's own scopes (granted only if the user has them).
            "oauth_client_allowed_scopes": [WRITE_SCOPE, READ_SCOPE],
        }
    ]


def ledger_custom_scopes() -> dict[str, dict[str, str]]:
    return {
        WRITE_SCOPE: {
            "description": "Log, amend and revoke research permissions in the "
            "ledger; read every permission and the audit log"
        },
        READ_SCOPE: {"description": "Read every research permission and the audit log"},
    }


def ledger_roles(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Roles: the service's least-privilege role, stewards, and everyone's access."""
    ledger = _ledger(settings)
    if not ledger["enabled"]:
        return []
    return [
        {
            "name": "ledger-service",
            "description": "The permission ledger service",
            "scopes": list(SERVICE_SCOPES),
            "services": [SERVICE],
        },
        {
            "name": "ledger-stewards",
            "description": "Data stewards: manage the ledger",
            "scopes": [WRITE_SCOPE, READ_SCOPE, f"access:services!service={SERVICE}"],
            "groups": [ledger["steward_group"]],
        },
        # Everyone may open the ledger (researchers see their own projects, others nothing);
        # the default 'user' role keeps 'self'. If another piece also redefines 'user',
        # merge the scopes into one role.
        {
            "name": "user",
            "description": "Standard user privileges",
            "scopes": ["self", f"access:services!service={SERVICE}"],
        },
    ]


def apply_ledger(settings: dict[str, Any], c: Config) -> None:
    """Register the ledger service, its scopes and roles (sets whole values, never appends)."""
    services = ledger_services(settings)
    if not services:
        return
    c.JupyterHub.services = services
    c.JupyterHub.custom_scopes = ledger_custom_scopes()
    c.JupyterHub.load_roles = ledger_roles(settings)
