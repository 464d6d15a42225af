"""The OIDC settings and helpers, without a hub: pure functions and a bare Config()."""

from __future__ import annotations

import copy

import pytest
from hdss_common.secretfiles import SecretFileError
from hdss_hub.configure import apply_groups
from hdss_hub.oidc import (
    SandboxOAuthenticator,
    apply_oidc,
    callback_url,
    claim_groups,
    client_secret,
    fetch_problem,
    is_admin,
    map_groups,
    redact,
    static_groups_of,
)
from hdss_hub.settings import SettingsError, load_settings
from tornado.web import HTTPError
from traitlets.config import Config

from tests.conftest import PROJECT_DIR
from tests.oidc.provider import GROUP_MAP


@pytest.fixture
def settings(tmp_path):
    base = load_settings(None, PROJECT_DIR)
    secret = tmp_path / "client-secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    s = copy.deepcopy(base)
    s["auth"] = {
        "kind": "oidc",
        "default_groups": ["students"],
        "oidc": {
            "authorize_url": "https://login.example.dk/authorize",
            "token_url": "https://login.example.dk/token",
            "userdata_url": "https://login.example.dk/userinfo",
            "client_id": "sandbox",
            "client_secret_file": str(secret),
            "group_map": GROUP_MAP,
            "admin_groups": ["admins"],
        },
    }
    s["groups"] = {"researchers": ["rita"], "students": []}
    return s


def test_claim_groups_reads_lists_strings_and_nested_claims():
    assert claim_groups({"groups": ["a", "b"]}, "groups") == ["a", "b"]
    assert claim_groups({"groups": "a b,c"}, "groups") == ["a", "b", "c"]
    assert claim_groups({"realm": {"roles": ["x"]}}, "realm.roles") == ["x"]
    assert claim_groups({"groups": None}, "groups") == []
    assert claim_groups({}, "groups") == []
    assert claim_groups({"groups": 5}, "groups") == []


def test_map_groups_ignores_unknown_provider_groups():
    assert map_groups(["ku-hds-course-2026", "ku-physics"], GROUP_MAP) == {"students"}
    assert map_groups(["ku-physics"], GROUP_MAP) == set()


def test_static_groups_and_admin():
    assert static_groups_of("rita", {"researchers": ["rita"], "students": []}) == {"researchers"}
    assert static_groups_of("bo", {"researchers": ["rita"]}) == set()
    assert is_admin({"admins"}, [], ["admins"])
    assert is_admin(set(), ["ku-hds-admins"], ["ku-hds-admins"])
    assert not is_admin({"students"}, ["ku-all"], ["admins"])
    assert not is_admin({"admins"}, [], [])


def test_apply_oidc_configures_the_generic_authenticator(settings):
    c = Config()
    apply_oidc(settings, c)
    a = c.SandboxOAuthenticator
    assert c.JupyterHub.authenticator_class == "hdss_hub.oidc.SandboxOAuthenticator"
    assert a.authorize_url == "https://login.example.dk/authorize"
    assert a.client_secret == "s3cret"
    assert a.manage_groups is True and a.allow_all is False
    assert a.username_claim == "preferred_username"
    assert a.group_map == GROUP_MAP
    assert a.static_groups == {"researchers": ["rita"], "students": []}
    assert a.oauth_callback_url == "http://127.0.0.1:8000/hub/oauth_callback"
    assert a.sandbox_admin_groups == "admins"


def test_firstrun_leaves_the_authenticator_alone(settings):
    settings["auth"]["kind"] = "firstrun"
    c = Config()
    apply_oidc(settings, c)
    assert "authenticator_class" not in c.JupyterHub
    assert "SandboxOAuthenticator" not in c


def test_oidc_mode_loads_no_groups_firstrun_does(settings):
    c = Config()
    apply_groups(settings, c)
    assert c.JupyterHub.load_groups == {}
    settings["auth"]["kind"] = "firstrun"
    apply_groups(settings, c)
    assert c.JupyterHub.load_groups["researchers"] == {"users": ["rita"]}


def test_callback_url_from_settings_wins(settings):
    settings["auth"]["oidc"]["callback_url"] = "https://sandbox.example.dk/hub/oauth_callback"
    assert callback_url(settings) == "https://sandbox.example.dk/hub/oauth_callback"


def test_client_secret_from_env_when_no_file(settings):
    oidc = {k: v for k, v in settings["auth"]["oidc"].items() if k != "client_secret_file"}
    assert client_secret(oidc, {"OAUTH_CLIENT_SECRET": " abc \n"}) == "abc"
    with pytest.raises(SettingsError, match="OAUTH_CLIENT_SECRET"):
        client_secret(oidc, {})


def test_client_secret_file_must_be_private_and_exist(settings, tmp_path):
    path = tmp_path / "client-secret"
    path.chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        client_secret(settings["auth"]["oidc"], {})
    with pytest.raises(SettingsError, match="does not exist"):
        client_secret({"client_secret_file": str(tmp_path / "missing")}, {})


def test_oidc_without_its_section_says_what_to_give(settings):
    del settings["auth"]["oidc"]
    with pytest.raises(SettingsError, match="authorize_url"):
        apply_oidc(settings, Config())


def test_fetch_problem_messages_for_people():
    status, msg = fetch_problem("http://idp.example:9/token?code=secret", None, "token")
    assert status == 503 and "idp.example:9" in msg and "secret" not in msg
    assert fetch_problem("http://x/token", 404, "token")[0] == 502
    assert "auth.oidc.token_url" in fetch_problem("http://x/token", 404, "token")[1]
    assert fetch_problem("http://x/token", 400, "token")[0] == 403
    assert fetch_problem("http://x/token", 500, "token")[0] == 502
    assert redact("http://u:p@idp:9/t?code=1#f") == "http://idp:9/t"


def authenticator(**kw) -> SandboxOAuthenticator:
    cfg = Config()
    cfg.SandboxOAuthenticator.manage_groups = True
    cfg.SandboxOAuthenticator.username_claim = "preferred_username"
    for key, value in kw.items():
        setattr(cfg.SandboxOAuthenticator, key, value)
    return SandboxOAuthenticator(config=cfg)


def test_groups_are_mapped_plus_static():
    a = authenticator(group_map=GROUP_MAP, static_groups={"researchers": ["rita"]})
    state = {"oauth_user": {"preferred_username": "Rita", "groups": ["ku-hds-course-2026"]}}
    assert a.get_user_groups(state) == {"students", "researchers"}


async def test_a_user_with_no_recognised_group_is_refused_by_name():
    a = authenticator(group_map=GROUP_MAP)
    model = {
        "name": "paul",
        "admin": None,
        "groups": [],
        "auth_state": {"oauth_user": {"groups": ["ku-physics"]}},
    }
    with pytest.raises(HTTPError) as e:
        await a.check_allowed("paul", model)
    assert e.value.status_code == 403 and "ku-physics" in e.value.log_message
    assert await a.check_allowed("anna", {**model, "groups": ["students"]}) is True
    assert await a.check_allowed("ada", {**model, "admin": True}) is True


def test_missing_username_claim_is_a_403_not_a_500():
    a = authenticator()
    with pytest.raises(HTTPError) as e:
        a.user_info_to_username({"sub": "x", "email": "x@ku.dk"})
    assert e.value.status_code == 403 and "preferred_username" in e.value.log_message
