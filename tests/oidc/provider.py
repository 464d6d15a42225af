"""A real OpenID Connect provider for the tests: oidc-provider-mock on 127.0.0.1.

Started as a subprocess on a free port. Users and their claims are set through its
``PUT /users/<sub>`` endpoint; a login is a POST of ``sub=<user>`` to the authorize URL
(the provider's own consent form does the same).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import requests
from hdss_harness.procs import free_port, log_tail, start_server, stop_server

from tests.conftest import VENV_BIN, unique_prefix
from tests.integration.hubproc import running_hub

CLIENT_ID = "hdss-sandbox-test"
GROUP_MAP = {
    "ku-hds-course-2026": "students",
    "ku-hds-researchers": "researchers",
    "ku-sds-data-stewards": "stewards",
    "ku-hds-admins": "admins",
}
ADMIN_GROUPS = ["admins"]


class MockProvider:
    """One oidc-provider-mock process; ``stop``/``start`` again keep the same port."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "oidc-provider.log"
        self.proc: subprocess.Popen | None = None

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth2/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/token"

    @property
    def userdata_url(self) -> str:
        return f"{self.url}/userinfo"

    def start(self) -> None:
        self.proc = start_server(
            [str(VENV_BIN / "python"), "-m", "oidc_provider_mock", "--port", str(self.port)],
            self.log_path,
            f"{self.url}/.well-known/openid-configuration",
            what="oidc-provider-mock",
            env={"NO_COLOR": "1"},
            timeout=30,
            interval=0.2,
        )

    def stop(self) -> None:
        stop_server(self.proc, group=True, wait=10)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def set_user(self, sub: str, **claims) -> None:
        """Create or replace the user ``sub`` with these claims (e.g. groups=[...])."""
        r = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert r.status_code == 204, r.text

    def oidc_settings(self, secret_file: Path, **overrides) -> dict:
        """The hub's ``auth`` section for this provider."""
        oidc = {
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
            "userdata_url": self.userdata_url,
            "client_id": CLIENT_ID,
            "client_secret_file": str(secret_file),
            "username_claim": "preferred_username",
            "groups_claim": "groups",
            "group_map": GROUP_MAP,
            "admin_groups": ADMIN_GROUPS,
            **overrides,
        }
        return {"kind": "oidc", "oidc": oidc}


def write_client_secret(path: Path) -> Path:
    """A client secret file of mode 0600 (the mock accepts any secret)."""
    path.write_text(os.urandom(16).hex() + "\n")
    path.chmod(0o600)
    return path


def replace_query(url: str, **params: str) -> str:
    """``url`` with some query parameters replaced (to tamper with state or code)."""
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(params)
    return urlunparse(parts._replace(query=urlencode(query)))


def query_param(url: str, name: str) -> str:
    return parse_qs(urlparse(url).query)[name][0]


def start_login(hub_url: str, sub: str) -> tuple[requests.Session, str]:
    """Click "Sign in" and authorize as ``sub`` at the provider.

    Returns the session and the hub callback URL the provider redirects to (not yet followed).
    """
    session = requests.Session()
    r = session.get(f"{hub_url}/hub/oauth_login", timeout=30, allow_redirects=False)
    assert r.status_code == 302, f"{r.status_code}: {r.text[:500]}"
    authorize = r.headers["Location"]
    r = session.post(authorize, data={"sub": sub}, timeout=30, allow_redirects=False)
    assert r.status_code == 302, f"{r.status_code}: {r.text[:500]}"
    return session, r.headers["Location"]


def login(hub_url: str, sub: str) -> tuple[requests.Session, requests.Response]:
    """The whole login; returns the session and the hub's answer to the callback."""
    session, callback = start_login(hub_url, sub)
    return session, session.get(callback, timeout=60, allow_redirects=False)


def run_oidc_hub(workdir: Path, kind: str, provider: MockProvider, engine, synthetic_root: Path):
    """A real hub whose login is ``provider``; yields it, then removes all it made."""
    secret = write_client_secret(workdir / "client-secret")
    yield from running_hub(
        engine,
        workdir,
        unique_prefix(kind),
        synthetic_root,
        extra={"auth": provider.oidc_settings(secret)},
    )
