"""The apply functions, run against a bare traitlets Config."""

import sys
from pathlib import Path

import pytest
from hdss_hub import configure
from hdss_hub.settings import load_settings
from traitlets.config import Config


@pytest.fixture
def settings(tmp_path):
    return load_settings(None, tmp_path)


def test_apply_hub_sets_urls_db_and_secrets(settings, tmp_path):
    c = Config()
    configure.apply_hub(settings, c, "172.30.0.1", tmp_path)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.JupyterHub.hub_bind_url == "http://172.30.0.1:8081"
    assert c.JupyterHub.hub_connect_url == "http://172.30.0.1:8081"
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path}/var/jupyterhub.sqlite"
    assert c.JupyterHub.cleanup_servers is False
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8001"
    token_file = tmp_path / "var" / "secrets" / "proxy_token"
    assert c.ConfigurableHTTPProxy.auth_token == token_file.read_text().strip()
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert c.Authenticator.admin_users == {"admin"}


def test_postgres_url_is_used_when_set(settings, tmp_path):
    settings["hub"]["db_url"] = "postgresql+psycopg://hub@db/hub"
    c = Config()
    configure.apply_hub(settings, c, "10.0.0.1", tmp_path)
    assert c.JupyterHub.db_url == "postgresql+psycopg://hub@db/hub"


def test_firstrun_auth_generates_a_password_per_privileged_user(settings, tmp_path):
    settings["hub"]["admin_users"] = ["admin"]
    settings["groups"] = {"stewards": ["sofie"], "researchers": ["rita"], "students": ["sam"]}
    settings["auth"]["default_groups"] = ["students"]
    c = Config()
    configure.apply_firstrun_auth(settings, c)
    a = c.FirstRunAuthenticator
    assert c.JupyterHub.authenticator_class == "hdss_hub.firstrun.FirstRunAuthenticator"
    assert len(a.user_password) >= 8
    assert sorted(a.personal_passwords) == ["admin", "rita", "sofie"]
    passwords = [a.user_password, *a.personal_passwords.values()]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 16 for p in passwords)
    for name in ("admin", "rita", "sofie"):
        path = tmp_path / "var" / "secrets" / "passwords" / name
        assert path.read_text().strip() == a.personal_passwords[name]
        assert path.stat().st_mode & 0o077 == 0
    again = Config()
    configure.apply_firstrun_auth(settings, again)
    assert again.FirstRunAuthenticator.personal_passwords == a.personal_passwords


def test_oidc_kind_leaves_the_firstrun_login_off(settings):
    settings["auth"]["kind"] = "oidc"
    c = Config()
    configure.apply_firstrun_auth(settings, c)
    assert "authenticator_class" not in c.JupyterHub


def test_groups_loaded_from_settings(settings):
    settings["groups"] = {"researchers": ["alice"], "students": []}
    c = Config()
    configure.apply_groups(settings, c)
    assert c.JupyterHub.load_groups == {
        "researchers": {"users": ["alice"]},
        "students": {"users": []},
    }


def test_spawner_settings(settings):
    c = Config()
    configure.apply_spawner(settings, c)
    assert c.JupyterHub.spawner_class == "hdss_spawner.spawner.SandboxSpawner"
    s = c.SandboxSpawner
    assert s.image == "hdss/singleuser:latest"
    assert s.pull_policy == "never"
    assert s.network_name == "hdss-sandbox"
    assert set(s.profiles) == {"course", "research", "secure"}
    assert s.default_groups == ["students"]
    assert s.synthetic_root.endswith("var/data/synthetic")


def test_culler_is_a_service_with_least_privilege(settings):
    settings["culler"]["timeout_seconds"] = 900
    settings["ledger"]["enabled"] = False
    c = Config()
    configure.apply_services(settings, c)
    (service,) = [s for s in c.JupyterHub.services if s["name"] != "prometheus"]
    assert service["name"] == "idle-culler"
    assert service["command"][:3] == [sys.executable, "-m", "hdss_hub.culler"]
    assert "--timeout=900" in service["command"]
    (role,) = [r for r in c.JupyterHub.load_roles if r["name"] != "prometheus"]
    assert role["services"] == ["idle-culler"]
    assert set(role["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }
    assert "admin:users" not in role["scopes"]


def test_culler_can_be_switched_off(settings):
    settings["culler"]["enabled"] = False
    settings["ledger"]["enabled"] = False
    c = Config()
    configure.apply_services(settings, c)
    assert [s["name"] for s in c.JupyterHub.services] == ["prometheus"]  # a token, no process
    assert [r["name"] for r in c.JupyterHub.load_roles] == ["prometheus"]


def test_extra_config_files_sorted(settings, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "b.py").write_text("")
    (extra / "a.py").write_text("")
    (extra / "notes.txt").write_text("")
    settings["hub"]["extra_config_dir"] = str(extra)
    assert [p.name for p in configure.extra_config_files(settings)] == ["a.py", "b.py"]


def test_configure_reports_missing_data_root_before_anything_starts(tmp_path):
    settings_file = tmp_path / "s.yaml"
    settings_file.write_text(f"data:\n  synthetic_root: {tmp_path}/missing\n")
    with pytest.raises(configure.HubStartError, match="does not exist.*make dataset"):
        configure.configure(Config(), str(settings_file), tmp_path)


def test_configure_reports_a_silent_engine(tmp_path):
    (tmp_path / "data").mkdir()
    settings_file = tmp_path / "s.yaml"
    settings_file.write_text(
        f"data:\n  synthetic_root: {tmp_path}/data\n"
        f"hub:\n  bind_url: http://127.0.0.1:0\n"
        f"docker:\n  host: unix://{tmp_path}/no-engine.sock\n"
    )
    with pytest.raises(configure.HubStartError, match="does not answer.*dockerd"):
        configure.configure(Config(), str(settings_file), tmp_path)


def test_configure_reports_a_port_in_use(tmp_path):
    import socket

    (tmp_path / "data").mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        settings_file = tmp_path / "s.yaml"
        settings_file.write_text(
            f"data:\n  synthetic_root: {tmp_path}/data\nhub:\n  bind_url: http://127.0.0.1:{port}\n"
        )
        with pytest.raises(configure.HubStartError, match=f"port {port} .* in use"):
            configure.configure(Config(), str(settings_file), Path(tmp_path))


def test_config_file_is_thin():
    lines = (Path(__file__).parents[2] / "jupyterhub_config.py").read_text().splitlines()
    assert len(lines) < 60


def test_ledger_on_opens_the_secure_profile_wiring(settings, tmp_path):
    settings["ledger"]["enabled"] = True
    c = Config()
    configure.apply_spawner(settings, c)
    configure.apply_services(settings, c)
    s = c.SandboxSpawner
    assert s.permission_source.db_url == f"sqlite:///{tmp_path}/var/ledger.sqlite"
    assert s.permission_source.restricted_root == settings["data"].get("restricted_root", "")
    assert s.secure_network == "hdss-sandbox-secure"
    assert s.secure_max_read_bytes == 1048576  # ledger.secure_max_read_bytes
    assert {svc["name"] for svc in c.JupyterHub.services} == {
        "idle-culler",
        "ledger",
        "promotion",
        "prometheus",
    }
    assert "custom:ledger:write" in c.JupyterHub.custom_scopes


def test_ledger_off_leaves_secure_servers_closed(settings):
    settings["ledger"]["enabled"] = False
    c = Config()
    configure.apply_spawner(settings, c)
    assert "permission_source" not in c.SandboxSpawner


def test_university_login_gives_nobody_a_default_group(settings):
    settings["auth"]["kind"] = "oidc"
    c = Config()
    configure.apply_spawner(settings, c)
    assert c.SandboxSpawner.default_groups == []


def test_the_configured_permission_source_survives_jupyterhubs_config_copy(settings):
    """JupyterHub deep-copies its config: the ledger handle must stay one shared object."""
    import copy

    settings["ledger"]["enabled"] = True
    c = Config()
    configure.apply_spawner(settings, c)
    copied = copy.deepcopy(c)
    assert copied.SandboxSpawner.permission_source is c.SandboxSpawner.permission_source


def test_prometheus_token_reads_metrics_and_nothing_else(settings, tmp_path):
    settings["ledger"]["enabled"] = True
    c = Config()
    configure.apply_services(settings, c)
    (service,) = [s for s in c.JupyterHub.services if s["name"] == "prometheus"]
    assert "command" not in service  # a token only
    token_file = tmp_path / "var" / "secrets" / "prometheus-token"
    assert service["api_token"] == token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o777 == 0o600
    (role,) = [r for r in c.JupyterHub.load_roles if r["name"] == "prometheus"]
    assert role["services"] == ["prometheus"]
    assert set(role["scopes"]) == {
        "read:metrics",
        "access:services!service=ledger",
        "access:services!service=promotion",
    }
    # The same token on the next start (Prometheus keeps reading the same file).
    again = Config()
    configure.apply_services(settings, again)
    assert [s for s in again.JupyterHub.services if s["name"] == "prometheus"] == [service]


def test_docker_is_the_default_backend(settings):
    c = Config()
    configure.apply_spawner(settings, c)
    configure.apply_slurm(settings, c)
    assert settings["backend"] == "docker"
    assert c.JupyterHub.spawner_class == "hdss_spawner.spawner.SandboxSpawner"
    assert "SlurmSandboxSpawner" not in c


def test_the_slurm_backend_gets_the_same_policy_and_its_cluster_settings(settings):
    settings["backend"] = "slurm"
    settings["slurm"].update(
        slurm_conf="/etc/hdss/slurm.conf", job_uid=1000, node_addresses={"n1": "10.1.0.5"}
    )
    c = Config()
    configure.apply_spawner(settings, c)
    c.SandboxSpawner.home_notice = notice = object()  # as pages.apply_pages sets it
    configure.apply_slurm(settings, c)
    assert c.JupyterHub.spawner_class == "hdss_slurm.spawner.SlurmSandboxSpawner"
    s = c.SlurmSandboxSpawner
    assert s.profiles == c.SandboxSpawner.profiles and s.home_notice is notice
    assert s.synthetic_root == settings["data"]["synthetic_root"]
    assert (s.default_partition, s.secure_partition) == ("sandbox", "secure")
    assert s.slurm_env == {"SLURM_CONF": "/etc/hdss/slurm.conf"}
    assert (s.job_uid, s.node_addresses) == (1000, {"n1": "10.1.0.5"})
    assert "hub_bind_url" not in c.JupyterHub  # the nodes reach the preflight's address
    settings["slurm"]["hub_ip"] = "10.1.0.1"
    configure.apply_slurm(settings, c)
    assert c.JupyterHub.hub_connect_url == f"http://10.1.0.1:{settings['hub']['hub_port']}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("backend", "kubernetes"),
        ("slurm", {"partition": "bad name; rm -rf /"}),
        ("slurm", {"home_root": "relative/home"}),
        ("profiles", {"course": {"cpu_limit": 1, "mem_limit": "1G", "groups": ["s"],
                                 "time_limit": "forever"}}),
    ],
)  # fmt: skip
def test_bad_slurm_settings_stop_the_hub_naming_the_key(tmp_path, key, value):
    import yaml
    from hdss_hub.settings import SettingsError

    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({key: value}))
    with pytest.raises(SettingsError, match=key):
        load_settings(path, tmp_path)
