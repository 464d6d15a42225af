"""The first-run login: the shared password opens student accounts only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hdss_hub import firstrun
from hdss_hub.configure import check_login_exposure
from hdss_hub.settings import SettingsError, load_settings

SHARED = "shared-password-123"
OWN = {"sofie": "sofie-own-password-1", "admin": "admin-own-password-1"}


def account(admin=False, *groups):
    return SimpleNamespace(admin=admin, groups=[SimpleNamespace(name=g) for g in groups])


class Handler:
    """Stands in for the login handler: only find_user is used."""

    def __init__(self, users):
        self.users = users

    def find_user(self, name):
        return self.users.get(name)


@pytest.fixture
def auth():
    return firstrun.FirstRunAuthenticator(
        user_password=SHARED,
        personal_passwords=OWN,
        admin_users={"admin"},
        default_groups=["students"],
    )


async def login(auth, name, password, users=None):
    return await auth.authenticate(Handler(users or {}), {"username": name, "password": password})


async def test_a_student_logs_in_with_the_shared_password(auth):
    assert await login(auth, "sam", SHARED) == {"name": "sam", "admin": False}
    assert await login(auth, "sam", SHARED, {"sam": account(False, "students")})


@pytest.mark.abuse
async def test_the_shared_password_does_not_open_a_stewards_account(auth):
    assert await login(auth, "sofie", SHARED) is None
    # Positive control: the steward's own password does.
    assert await login(auth, "sofie", OWN["sofie"]) == {"name": "sofie", "admin": False}


@pytest.mark.abuse
async def test_the_shared_password_does_not_open_an_admin_account(auth):
    assert await login(auth, "admin", SHARED) is None
    assert await login(auth, "admin", OWN["sofie"]) is None
    assert await login(auth, "admin", OWN["admin"]) == {"name": "admin", "admin": True}


@pytest.mark.abuse
async def test_the_shared_password_does_not_open_an_account_given_rights_later(auth):
    """An account an admin put in a group (or made admin) after the settings were written."""
    users = {"rita": account(False, "researchers"), "boss": account(True)}
    assert await login(auth, "rita", SHARED, users) is None
    assert await login(auth, "boss", SHARED, users) is None
    assert await login(auth, "newcomer", SHARED, users) == {"name": "newcomer", "admin": False}


async def test_wrong_passwords_open_nothing(auth):
    assert await login(auth, "sam", "wrong-password-1") is None
    assert await login(auth, "sam", "") is None
    assert await login(auth, "sofie", "") is None


def test_privileged_users_are_admins_and_every_non_default_group():
    settings = {
        "hub": {"admin_users": ["admin"]},
        "auth": {"default_groups": ["students"]},
        "groups": {"students": ["sam"], "stewards": ["sofie"], "researchers": ["rita", "sofie"]},
    }
    assert firstrun.privileged_users(settings) == ["admin", "rita", "sofie"]


@pytest.fixture
def settings(tmp_path):
    return load_settings(None, tmp_path)


@pytest.mark.abuse
def test_firstrun_in_public_with_the_ledger_stops_the_hub(settings):
    settings["hub"]["bind_url"] = "http://0.0.0.0:8000"
    settings["ledger"]["enabled"] = True
    with pytest.raises(SettingsError) as e:
        check_login_exposure(settings)
    assert "auth.kind: oidc" in str(e.value) and "0.0.0.0" in str(e.value)


@pytest.mark.parametrize(
    ("bind_url", "kind", "ledger"),
    [
        ("http://127.0.0.1:8000", "firstrun", True),
        ("http://[::1]:8000", "firstrun", True),
        ("http://localhost:8000", "firstrun", True),
        ("https://sandbox.example.dk", "oidc", True),
        ("http://0.0.0.0:8000", "firstrun", False),
    ],
)
def test_loopback_oidc_or_no_restricted_services_may_start(settings, bind_url, kind, ledger):
    settings["hub"]["bind_url"] = bind_url
    settings["auth"]["kind"] = kind
    settings["ledger"]["enabled"] = ledger
    check_login_exposure(settings)  # does not raise


@pytest.mark.abuse
def test_a_user_name_cannot_point_a_password_file_elsewhere(tmp_path):
    with pytest.raises(SettingsError, match="not a valid hub user name"):
        firstrun.password_file(tmp_path, "../../etc/cron.d/x")
    assert firstrun.password_file(tmp_path, "sofie") == tmp_path / "secrets" / "passwords" / "sofie"
