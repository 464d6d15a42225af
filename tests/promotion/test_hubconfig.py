"""Registration of the promotion service (pure functions of the settings)."""

from __future__ import annotations

from hdss_hub.configure import apply_services
from hdss_hub.promotion.hubconfig import with_promotion
from hdss_hub.settings import load_settings
from traitlets.config import Config


def settings(**promotion):
    return {
        "ledger": {
            "enabled": True,
            "port": 8091,
            "steward_group": "stewards",
            "reconcile_seconds": 60,
        },
        "promotion": {"enabled": True, **promotion},
        "docker": {"prefix": "hdss", "image": "img:1", "host": "unix:///x.sock"},
        "data": {"restricted_root": "/r", "synthetic_root": "/s"},
        "hub": {"state_dir": "/state"},
        "culler": {"enabled": False},
    }


def test_service_command_carries_the_settings():
    services, roles = with_promotion(
        settings(threshold=10, run_limits={"seconds": 60}),
        [],
        [{"name": "user", "scopes": ["self"]}],
    )
    (svc,) = services
    assert svc["name"] == "promotion"
    assert "--threshold=10" in svc["command"] and "--timeout-seconds=60" in svc["command"]
    assert "--airlock-dir=/state/airlock" in svc["command"]
    assert svc["environment"]["DOCKER_HOST"] == "unix:///x.sock"
    assert roles == [{"name": "user", "scopes": ["self", "access:services!service=promotion"]}]


def test_spawner_and_airlock_get_the_same_home_volume_template(tmp_path):
    from hdss_hub.configure import apply_spawner

    path = tmp_path / "s.yaml"
    path.write_text("docker:\n  home_volume: '{prefix}-sandbox-{username}'\n")
    loaded = load_settings(path, tmp_path)
    c = Config()
    apply_spawner(loaded, c)
    assert c.SandboxSpawner.home_volume == "{prefix}-sandbox-{username}"
    (svc,) = with_promotion(loaded, [], [])[0]
    assert "--home-volume={prefix}-sandbox-{username}" in svc["command"]


def test_disabled_without_the_ledger_or_the_switch():
    s = settings()
    s["ledger"]["enabled"] = False
    assert with_promotion(s, [], []) == ([], [])
    assert with_promotion(settings(enabled=False), [], []) == ([], [])


def test_apply_services_registers_it_beside_the_ledger():
    c = Config()
    apply_services(settings(), c)
    names = [s["name"] for s in c.JupyterHub.services]
    assert "ledger" in names and "promotion" in names
    user = [r for r in c.JupyterHub.load_roles if r["name"] == "user"]
    assert len(user) == 1 and "access:services!service=promotion" in user[0]["scopes"]


def test_settings_schema_accepts_the_defaults_and_rejects_unknown_keys(tmp_path):
    import pytest
    from hdss_hub.settings import SettingsError

    assert load_settings(None, tmp_path)["promotion"]["threshold"] == 5
    bad = tmp_path / "s.yaml"
    bad.write_text("promotion:\n  treshold: 3\n")
    with pytest.raises(SettingsError, match="treshold"):
        load_settings(bad, tmp_path)
