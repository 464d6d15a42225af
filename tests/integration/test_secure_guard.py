"""The guard of secure servers against a real hub, proxy, engine and audit log.

Nothing copies a secure server's data out in bulk but the airlock: API tokens are
refused (only the owner's browser session, from the hub's OAuth, works), downloads and
exports are off, non-notebook reads past ``ledger.secure_max_read_bytes`` are refused,
and every read and every refusal is an audit entry. Admins are not stewards: a hub admin
cannot open, start or share a member's secure server, and each attempt is audited.
Each attack is marked ``abuse`` and sits beside the legitimate path that still works.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests

from tests.integration.ledger_helpers import SECURE_PROFILES, ledger_hub_fixture, service_api
from tests.integration.secure_helpers import (
    audit_entries,
    exec_in,
    hub_login,
    log_permission,
    open_server,
    server_url,
    xsrf_header,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROJECT = "guard-2026"
SERVER = f"secure-{PROJECT}"
OTHER = "guard2-2026"
BOUND = 4096  # ledger.secure_max_read_bytes of this hub
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["A notebook larger than the bound: " + "x" * (3 * BOUND)],
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


ghub = ledger_hub_fixture(
    "ghub",
    "grd",
    {"dk-restricted": 301},
    {"researchers": ["res", "res2"], "stewards": ["steward"]},
    reconcile_seconds=60,
    ledger={"secure_max_read_bytes": BOUND},  # the bound is what this module is about
    profiles=SECURE_PROFILES,
)


def user_api(hub, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return hub.api(method, path, token=token, **kwargs)


@pytest.fixture(scope="module")
def secure_container(ghub, engine):
    """res's secure server, started by res (their own token), with files in its workspace."""
    res = ghub.users["res"]
    log_permission(ghub, PROJECT, [res], ["dk-restricted"], "SDS-2026-0301")
    r = user_api(ghub, "POST", f"/users/{res}/servers/{SERVER}", ghub.user_token(res), json={})
    assert r.status_code in (201, 202), r.text
    ghub.wait_ready(res, SERVER)
    container = engine.containers.get(ghub.container_name(res, SERVER))
    setup = (
        "import json, os, pathlib\n"
        "home = pathlib.Path.home()\n"
        "(home / 'small.csv').write_text('koen,n\\n1,40\\n2,42\\n')\n"
        f"(home / 'big.csv').write_text('pnr,koen\\n' + 'p0000001,1\\n' * {BOUND})\n"
        f"(home / 'analysis.ipynb').write_text({json.dumps(NOTEBOOK)!r})\n"
        "tables = pathlib.Path('/data/restricted/dk-restricted').rglob('*.parquet')\n"
        "table = max(tables, key=lambda p: p.stat().st_size)\n"
        f"assert table.stat().st_size > {BOUND}, table\n"
        "os.symlink(table, home / 'restricted.parquet')\n"
    )
    code, out = exec_in(container, setup)
    assert code == 0, out
    return container


@pytest.fixture(scope="module")
def owner(ghub, secure_container):
    """res's browser session on their secure server (the hub's login form, then OAuth)."""
    res = ghub.users["res"]
    session = hub_login(ghub, res)
    lab = open_server(session, ghub, res, SERVER)
    assert lab.status_code == 200 and lab.url.endswith(f"/user/{res}/{SERVER}/lab"), lab.url
    return session


def base(ghub) -> str:
    return server_url(ghub, ghub.users["res"], SERVER)


def refusals(ghub, route: str) -> list[dict]:
    return [
        e
        for e in audit_entries(ghub, ghub.users["steward"])
        if e["action"] == "secure.refused" and e["details"].get("route") == route
    ]


# -- the owner's session, and API tokens --------------------------------------------------


def test_the_owners_browser_session_works_and_every_read_is_audited(ghub, owner):
    res = ghub.users["res"]
    listing = owner.get(f"{base(ghub)}/api/contents", timeout=30)
    assert listing.status_code == 200, listing.text
    assert {"small.csv", "big.csv", "analysis.ipynb"} <= {
        i["name"] for i in listing.json()["content"]
    }
    notebook = owner.get(f"{base(ghub)}/api/contents/analysis.ipynb?content=1", timeout=30)
    assert notebook.status_code == 200 and notebook.json()["type"] == "notebook", notebook.text
    small = owner.get(f"{base(ghub)}/api/contents/small.csv?content=1&format=base64", timeout=30)
    assert small.status_code == 200 and small.json()["content"], small.text
    # Writing (JupyterLab saves with the XSRF cookie it reads) works too.
    saved = owner.put(
        f"{base(ghub)}/api/contents/notes.txt",
        json={"type": "file", "format": "text", "content": "plan"},
        headers=xsrf_header(owner, res, SERVER),
        timeout=30,
    )
    assert saved.status_code in (200, 201), saved.text
    reads = [e for e in audit_entries(ghub, ghub.users["steward"]) if e["action"] == "secure.read"]
    paths = {e["details"]["path"]: e for e in reads}
    assert {"analysis.ipynb", "small.csv"} <= set(paths), reads
    entry = paths["small.csv"]
    assert entry["actor"] == res and entry["target"] == f"server:{res}/{SERVER}"
    assert entry["outcome"] == "ok" and entry["details"]["reported_by"] == "server"
    assert entry["details"]["size"] == len("koen,n\n1,40\n2,42\n")
    assert paths["analysis.ipynb"]["details"]["type"] == "notebook"
    # A folder listing is no read of restricted data: not an entry.
    assert "" not in paths


@pytest.mark.abuse
def test_a_personal_api_token_is_refused(ghub, owner):
    res = ghub.users["res"]
    token = ghub.user_token(res)
    url = f"{base(ghub)}/api/contents/small.csv?content=1&format=base64"  # the route
    for how in (
        {"headers": {"Authorization": f"token {token}"}},
        {"headers": {"Authorization": f"Bearer {token}"}},
        {"params": {"token": token}},
    ):
        r = requests.get(url, timeout=30, **how)
        assert r.status_code == 403, (how.keys(), r.status_code, r.text[:300])
        assert "API tokens are refused" in r.json()["message"]
    # Nor can a token start a kernel (code execution) or open a page of the server.
    kernel = requests.post(
        f"{base(ghub)}/api/sessions",
        headers={"Authorization": f"token {token}"},
        json={"path": "x.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
        timeout=30,
    )
    assert kernel.status_code == 403, kernel.text
    page = requests.get(f"{base(ghub)}/lab", params={"token": token}, timeout=30)
    assert page.status_code == 403 and "jupyterhub-user" not in str(page.cookies)
    # A kernel's websocket (code in, output out) takes no token either; the browser test
    # (tests/browser/test_steward_researcher_journey.py) runs a cell on the cookie alone.
    xsrf = xsrf_header(owner, res, SERVER)
    kernel = owner.post(
        f"{base(ghub)}/api/kernels", json={"name": "python3"}, headers=xsrf, timeout=60
    )
    assert kernel.status_code == 201, kernel.text
    channels = f"{base(ghub)}/api/kernels/{kernel.json()['id']}/channels"
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "c2VjdXJlLXNlcnZlci10ZXN0",
    }
    ws = requests.get(channels, params={"token": token}, headers=upgrade, timeout=30)
    assert ws.status_code == 403, ws.status_code
    owner.delete(f"{base(ghub)}/api/kernels/{kernel.json()['id']}", headers=xsrf, timeout=30)
    # Positive control: the owner's browser session reads the same file.
    assert owner.get(url, timeout=30).status_code == 200
    entries = refusals(ghub, "token")
    assert len(entries) >= 6, entries
    assert all(e["actor"] == res and e["target"] == f"server:{res}/{SERVER}" for e in entries)
    assert {"presented an Authorization header (token)", "presented a token URL parameter"} <= {
        e["details"]["reason"] for e in entries
    }


@pytest.mark.abuse
def test_jupyterlab_gets_no_token_and_no_download_commands(ghub, owner):
    page = owner.get(f"{base(ghub)}/lab", timeout=30)
    assert page.status_code == 200
    data = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page.text, re.S
    )
    config = json.loads(data.group(1))
    assert config["token"] == "", "JupyterLab would send the token as an Authorization header"
    assert {
        "@jupyterlab/docmanager-extension:download",
        "@jupyterlab/filebrowser-extension:download",
        "@jupyterlab/notebook-extension:export",
    } <= set(config["disabledExtensions"])
    assert config["hubUser"] == ghub.users["res"]


# -- downloads and large reads --------------------------------------------------------


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("files", "/files/small.csv"),
        ("files", "/files/small.csv?download=1"),
        ("nbconvert", "/nbconvert/html/analysis.ipynb?download=true"),
        ("nbconvert", "/nbconvert/script/analysis.ipynb"),
        ("view", "/view/small.csv"),
        ("contents-download", "/api/contents/small.csv?download=1"),
    ],
)
def test_download_and_export_routes_are_refused(ghub, owner, route, path):
    before = len(refusals(ghub, route))
    r = owner.get(f"{base(ghub)}{path}", timeout=30)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert "airlock" in r.text
    after = refusals(ghub, route)
    assert len(after) == before + 1 and after[-1]["actor"] == ghub.users["res"]
    # Positive control: the same file through the contents API, as JupyterLab opens it.
    name = path.split("/")[-1].split("?")[0]
    assert owner.get(f"{base(ghub)}/api/contents/{name}?content=1", timeout=30).status_code == 200


@pytest.mark.abuse
@pytest.mark.parametrize(
    "path",
    [
        "/api/contents/big.csv?content=1",
        "/api/contents/big.csv?content=1&format=base64&type=file",
        "/api/contents/analysis.ipynb?type=file&format=text",  # a notebook read as a file
        "/api/contents/restricted.parquet?content=1&format=base64",  # a link to the data
    ],
)
def test_a_large_non_notebook_read_is_refused(ghub, owner, path):
    before = len(refusals(ghub, "contents-size"))
    r = owner.get(f"{base(ghub)}{path}", timeout=30)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert f"up to {BOUND} bytes" in r.json()["message"] and "airlock" in r.json()["message"]
    after = refusals(ghub, "contents-size")
    assert len(after) == before + 1
    assert after[-1]["details"]["size"] > BOUND and after[-1]["details"]["bound"] == BOUND
    # Positive controls: its metadata, and the whole notebook (larger than the bound too).
    assert owner.get(f"{base(ghub)}{path.split('?')[0]}?content=0", timeout=30).status_code == 200
    nb = owner.get(f"{base(ghub)}/api/contents/analysis.ipynb?content=1", timeout=30)
    assert nb.status_code == 200 and len(nb.content) > BOUND


# -- admins are not stewards ----------------------------------------------------------


@pytest.mark.abuse
def test_an_admin_cannot_open_a_members_secure_server(ghub, owner):
    res = ghub.users["res"]
    admin = hub_login(ghub, "admin")
    page = open_server(admin, ghub, res, SERVER)
    assert page.status_code == 403, (page.url, page.status_code, page.text[:300])
    assert "members only" in page.text
    api = admin.get(f"{base(ghub)}/api/contents/small.csv?content=1", timeout=30)
    assert api.status_code == 403, api.status_code
    assert "koen" not in api.text
    entries = [e for e in refusals(ghub, "not-owner") if e["actor"] == "admin"]
    assert entries, refusals(ghub, "not-owner")
    assert entries[-1]["target"] == f"server:{res}/{SERVER}"
    assert entries[-1]["details"]["reported_by"] == "server"
    # Positive control: the owner's session, at the same moment.
    assert owner.get(f"{base(ghub)}/lab", timeout=30).status_code == 200


@pytest.mark.abuse
def test_an_admin_cannot_start_a_members_secure_server(ghub, secure_container):
    res = ghub.users["res"]
    log_permission(ghub, OTHER, [res], ["dk-restricted"], "SDS-2026-0302", timedelta(days=1))
    server = f"secure-{OTHER}"
    admin_token = ghub.user_token("admin")
    refused = user_api(ghub, "POST", f"/users/{res}/servers/{server}", admin_token, json={})
    assert refused.status_code == 403, refused.text
    assert "hub admins are not data stewards" in refused.json()["message"]
    assert ghub.server_state(res, server) is None
    denied = [
        e
        for e in audit_entries(ghub, ghub.users["steward"])
        if e["action"] == "secure.start" and e["outcome"] == "denied" and e["actor"] == "admin"
    ]
    assert denied and denied[-1]["target"] == f"server:{res}/{server}", denied
    # Positive control: the member starts it.
    own = user_api(ghub, "POST", f"/users/{res}/servers/{server}", ghub.user_token(res), json={})
    assert own.status_code in (201, 202), own.text
    ghub.wait_ready(res, server)
    ghub.stop_server(res, server)


@pytest.mark.abuse
def test_secure_servers_cannot_be_shared(ghub, secure_container):
    res, res2 = ghub.users["res"], ghub.users["res2"]
    admin_token = ghub.user_token("admin")
    share = user_api(ghub, "POST", f"/shares/{res}/{SERVER}", admin_token, json={"user": res2})
    assert share.status_code == 403 and "cannot be shared" in share.json()["message"], share.text
    code = user_api(ghub, "POST", f"/share-codes/{res}/{SERVER}", admin_token, json={})
    assert code.status_code == 403 and "cannot be shared" in code.json()["message"], code.text
    listed = user_api(ghub, "GET", f"/shares/{res}/{SERVER}", admin_token)
    assert listed.status_code == 200 and listed.json()["items"] == []
    entries = [
        e for e in audit_entries(ghub, ghub.users["steward"]) if e["action"] == "secure.share"
    ]
    assert {e["details"]["via"] for e in entries if e["actor"] == "admin"} == {
        "share",
        "share code",
    }
    assert all(e["target"] == f"server:{res}/{SERVER}" for e in entries)
    # Positive control: the same admin shares a sandbox server, as JupyterHub allows.
    ghub.ensure_user(res2)
    sandbox = user_api(ghub, "POST", f"/users/{res2}/servers/notes", ghub.token, json={})
    assert sandbox.status_code in (201, 202), sandbox.text
    try:
        ok = user_api(ghub, "POST", f"/shares/{res2}/notes", admin_token, json={"user": res})
        assert ok.status_code == 200, ok.text
    finally:
        ghub.stop_server(res2, "notes")


# -- the hub's endpoint for the reports ---------------------------------------------------


AUDIT_POST = (
    "import json, os, sys, urllib.request, urllib.error\n"
    "req = urllib.request.Request(os.environ['JUPYTERHUB_API_URL'] + '/hdss/secure-audit',\n"
    "    data=sys.argv[1].encode(), method='POST', headers={\n"
    "    'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN'],\n"
    "    'Content-Type': 'application/json'})\n"
    "try:\n"
    "    print(urllib.request.urlopen(req, timeout=60).status)\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
)


def post_from_server(container, report: dict | str) -> str:
    """POST a report from inside the secure server, with its own token: the status."""
    body = report if isinstance(report, str) else json.dumps(report)
    return exec_in(container, AUDIT_POST, body)[1].strip()


@pytest.mark.abuse
def test_only_the_secure_servers_own_token_reports(ghub, owner, secure_container):
    res = ghub.users["res"]
    url = f"{ghub.url}/hub/api/hdss/secure-audit"
    report = {"event": "read", "route": "contents", "path": "forged.csv", "size": 1}
    personal = requests.post(
        url, headers={"Authorization": f"token {ghub.user_token(res)}"}, json=report, timeout=30
    )
    assert personal.status_code == 403, personal.text
    # A token made to look like the server's: same note, same scopes.
    forged = ghub.api(
        "POST",
        f"/users/{res}/tokens",
        json={
            "note": f"Server at /user/{res}/{SERVER}/",
            "scopes": [f"access:servers!server={res}/{SERVER}", "users:activity!user"],
        },
    )
    assert forged.status_code == 201, forged.text
    lookalike = requests.post(
        url, headers={"Authorization": f"token {forged.json()['token']}"}, json=report, timeout=30
    )
    assert lookalike.status_code == 403, lookalike.text
    session = owner.post(url, json=report, headers={"X-XSRFToken": "x"}, timeout=30)
    assert session.status_code == 403, session.text
    assert not [e for e in audit_entries(ghub, ghub.users["steward"]) if "forged" in json.dumps(e)]
    # The server's own token: names in the body do not choose the actor or the target.
    assert post_from_server(secure_container, {**report, "actor": "steward"}) == "400"
    assert post_from_server(secure_container, "x" * 9000) == "400"
    claim = {"event": "refused", "route": "not-owner", "requester": ghub.users["steward"]}
    assert post_from_server(secure_container, claim) == "201"
    entry = [
        e for e in audit_entries(ghub, ghub.users["steward"]) if e["action"] == "secure.refused"
    ][-1]
    assert entry["actor"] == res, "the steward never asked: the hub issued them no token"
    assert entry["details"]["requester_claimed"] == ghub.users["steward"]
    assert entry["target"] == f"server:{res}/{SERVER}"


def test_the_audit_chain_still_verifies(ghub):
    r = service_api(ghub, "ledger", "GET", "/audit/verify", ghub.user_token(ghub.users["steward"]))
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
