"""A person's browser session on a secure server, as requests sees it, and the audit log.

A secure server serves only its owner's browser session: the hub's login form, then the
OAuth redirects from the server to the hub and back (the hub asks someone who is not the
owner to confirm first). ``open_server`` follows them as a browser would.
"""

from __future__ import annotations

import re
from datetime import timedelta

import requests

from tests.integration.ledger_helpers import permission_body, service_api


def hub_login(hub, username: str) -> requests.Session:
    """A session logged in through the hub's first-run login form, as a person would."""
    session = requests.Session()
    page = session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = session.post(
        f"{hub.url}/hub/login",
        data={"username": username, "password": hub.password(username), "_xsrf": xsrf},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text[:500]
    return session


def open_server(session: requests.Session, hub, owner: str, server: str, path: str = "lab"):
    """GET a page of ``owner``'s server, through the OAuth redirects (and the hub's
    authorize page, confirmed, if it asks); the last response."""
    r = session.get(f"{hub.url}/user/{owner}/{server}/{path}", timeout=60)
    if "/hub/api/oauth2/authorize" in r.url and r.status_code == 200 and "scopes" in r.text:
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        scopes = re.findall(r'type="hidden" name="scopes" value="([^"]+)"', r.text)
        r = session.post(r.url, data={"_xsrf": xsrf, "scopes": scopes}, timeout=60)
    return r


def server_url(hub, owner: str, server: str) -> str:
    return f"{hub.url}/user/{owner}/{server}"


def xsrf_header(session: requests.Session, owner: str, server: str) -> dict[str, str]:
    """The header JupyterLab sends with its requests: the server's XSRF cookie."""
    value = session.cookies.get("_xsrf", path=f"/user/{owner}/{server}/")
    assert value, f"no _xsrf cookie for /user/{owner}/{server}/: {session.cookies}"
    return {"X-XSRFToken": value}


def audit_entries(hub, steward: str, action_prefix: str = "secure.") -> list[dict]:
    """Every audit entry whose action starts with ``action_prefix``, oldest first."""
    token = hub.user_token(steward)
    found, since = [], 1
    while True:
        r = service_api(hub, "ledger", "GET", f"/audit?since={since}&limit=1000", token)
        assert r.status_code == 200, r.text
        page = r.json()
        found += [e for e in page if e["action"].startswith(action_prefix)]
        if len(page) < 1000:
            return found
        since = page[-1]["seq"] + 1


def log_permission(hub, project, members, datasets, reference, valid_for=timedelta(days=30)):
    """A permission logged by the hub's steward (``hub.users["steward"]``) through the API."""
    body = permission_body(
        project, members, datasets, reference, "Danish Data Protection Act section 10", valid_for
    )
    token = hub.user_token(hub.users["steward"])
    r = service_api(hub, "ledger", "POST", "/permissions", token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def exec_in(container, code: str, *args: str) -> tuple[int, str]:
    """Run Python in ``container`` as the user (uid 1000): (exit code, output)."""
    result = container.exec_run(["/opt/venv/bin/python", "-c", code, *args], user="1000")
    return result.exit_code, result.output.decode(errors="replace")
