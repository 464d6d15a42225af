"""apply_ledger against a bare traitlets Config."""

from __future__ import annotations

import sys

from hdss_hub.ledger.hubconfig import apply_ledger, ledger_roles, ledger_services
from traitlets.config import Config

SETTINGS = {
    "hub": {"state_dir": "/srv/hdss/state"},
    "data": {"restricted_root": "/srv/r"},
    "ledger": {"enabled": True, "port": 8091, "steward_group": "dm", "reconcile_seconds": 30},
}


def test_disabled_ledger_sets_nothing():
    c = Config()
    apply_ledger({"ledger": {"enabled": False}}, c)
    assert "services" not in c.JupyterHub and "load_roles" not in c.JupyterHub


def test_service_role_and_scopes():
    c = Config()
    apply_ledger(SETTINGS, c)
    (svc,) = c.JupyterHub.services
    assert svc["name"] == "ledger" and svc["url"] == "http://127.0.0.1:8091"
    assert svc["command"][:3] == [sys.executable, "-m", "hdss_hub.ledger.service"]
    assert "--steward-group=dm" in svc["command"] and "--reconcile-seconds=30" in svc["command"]
    assert "--restricted-root=/srv/r" in svc["command"]
    assert svc["environment"] == {
        "HDSS_LEDGER_DB_URL": "sqlite:////srv/hdss/state/ledger.sqlite",
        # The audit chain's anchor: outside the database, found by `hdss-audit verify`.
        "HDSS_AUDIT_ANCHOR_LOG": "/srv/hdss/state/audit-anchors.log",
        "HDSS_AUDIT_ANCHOR_KEY": "/srv/hdss/state/secrets/audit-anchor-key",
    }
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["ledger-service"]["scopes"] == [
        "list:users",
        "read:users:name",
        "read:servers",
        "read:users:groups",
        "delete:servers",
    ]
    assert roles["ledger-stewards"]["groups"] == ["dm"]
    assert "custom:ledger:write" in roles["ledger-stewards"]["scopes"]
    assert "access:services!service=ledger" in roles["user"]["scopes"]
    assert set(c.JupyterHub.custom_scopes) == {"custom:ledger:write", "custom:ledger:read"}


def test_db_url_setting_wins():
    settings = {**SETTINGS, "ledger": {**SETTINGS["ledger"], "db_url": "postgresql://db/l"}}
    assert ledger_services(settings)[0]["environment"]["HDSS_LEDGER_DB_URL"] == "postgresql://db/l"
    assert len(ledger_roles(settings)) == 3


def test_the_reconciler_learns_the_secure_profiles_groups():
    settings = {
        **SETTINGS,
        "profiles": {
            "course": {"groups": ["students"]},
            "secure": {"groups": ["researchers", "fellows"], "kind": "secure"},
        },
    }
    c = Config()
    apply_ledger(settings, c)
    (svc,) = c.JupyterHub.services
    assert [a for a in svc["command"] if a.startswith("--secure-group")] == [
        "--secure-group=fellows",
        "--secure-group=researchers",
    ]
    from hdss_hub.ledger.service import LedgerService

    service = LedgerService()
    service.parse_command_line(svc["command"][3:])
    assert service.secure_groups == ["fellows", "researchers"]
