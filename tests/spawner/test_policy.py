from pathlib import Path

import pytest
from hdss_common.catalog import CatalogEntry, Sensitivity
from hdss_spawner import policy
from hdss_spawner.form import render_form
from hdss_spawner.profiles import parse_profiles
from tornado.web import HTTPError

SYN = CatalogEntry(
    "dk-registers", "v1", Sensitivity.SYNTHETIC, Path("/srv/data/syn/dk-registers/v1")
)
RES = CatalogEntry(
    "dk-restricted", "v1", Sensitivity.RESTRICTED, Path("/srv/data/res/dk-restricted/v1")
)


def test_only_synthetic_datasets_are_bound_for_the_sandbox():
    binds = policy.dataset_binds([SYN, RES], Sensitivity.SYNTHETIC)
    assert binds == {"/srv/data/syn/dk-registers/v1": "/data/synthetic/dk-registers"}


def test_host_paths_are_refused_as_writable_volumes():
    policy.check_volumes({"hdss-home-{username}": "/home/jovyan"})
    with pytest.raises(HTTPError, match="host path"):
        policy.check_volumes({"/etc": "/mnt/etc"})


def test_hardening_wins_over_operator_config():
    config = policy.hardened_host_config(
        {"security_opt": ["label=disable"], "mem_swappiness": 0}, 256
    )
    assert config["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in config["security_opt"]
    assert "label=disable" in config["security_opt"]
    assert config["pids_limit"] == 256
    assert config["privileged"] is False
    assert config["mem_swappiness"] == 0


@pytest.mark.parametrize("key", ["privileged", "cap_add", "devices", "pid_mode"])
def test_dangerous_host_config_is_refused(key):
    with pytest.raises(HTTPError, match=key):
        policy.hardened_host_config({key: True}, 256)


def test_docker_socket_and_unlisted_paths_never_reach_docker():
    allowed = ["/srv/data/syn/dk-registers/v1"]
    policy.check_binds(
        {"/srv/data/syn/dk-registers/v1": {"bind": "/data/x", "mode": "ro"}}, allowed
    )
    policy.check_binds({"hdss-home-a": {"bind": "/home/jovyan", "mode": "rw"}}, allowed)
    with pytest.raises(HTTPError, match="socket"):
        policy.check_binds({"/var/run/docker.sock": {"bind": "/s", "mode": "ro"}}, allowed)
    with pytest.raises(HTTPError, match="not a catalogued"):
        policy.check_binds({"/home": {"bind": "/h", "mode": "ro"}}, allowed)
    with pytest.raises(HTTPError, match="read-only"):
        policy.check_binds({"/srv/data/syn/dk-registers/v1": {"bind": "/d", "mode": "rw"}}, allowed)


def test_form_shows_only_offered_profiles_and_the_data():
    profiles = parse_profiles({"course": {"cpu_limit": 1, "mem_limit": "2G", "groups": ["s"]}})
    html = render_form(list(profiles.values()), [SYN])
    assert 'value="course"' in html and "checked" in html
    assert "research" not in html
    assert "/data/synthetic/dk-registers" in html


def test_form_escapes_and_explains_when_nothing_is_offered():
    assert "administrator" in render_form([], [])
    profiles = parse_profiles(
        {"x": {"cpu_limit": 1, "mem_limit": "1G", "groups": ["s"], "description": "<b>"}}
    )
    assert "<b>" not in render_form(list(profiles.values()), [])


def test_secure_form_shows_the_permission_and_restricted_data():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from hdss_spawner.form import render_secure_form

    profile = parse_profiles(
        {"secure": {"cpu_limit": 2, "mem_limit": "8G", "groups": ["r"], "kind": "secure"}}
    )["secure"]
    permission = SimpleNamespace(
        reference="SDS-1",
        authority="Sundhedsdatastyrelsen",
        valid_until=datetime(2027, 1, 1, tzinfo=UTC),
        datasets=("dk-restricted",),
    )
    html = render_secure_form("p1", profile, permission)
    assert "/data/restricted/dk-restricted" in html and "SDS-1" in html
    assert "synthetic" not in html and 'name="profile"' not in html
    refused = render_secure_form("p1", profile, None, "the permission was revoked")
    assert "cannot start" in refused and "revoked" in refused
