"""The reconciler and the hub API client against a small fake hub API over HTTP, and the
production authentication path (HubOAuth) of the service."""

from __future__ import annotations

import json

import pytest
import requests
from hdss_hub.ledger import Ledger
from hdss_hub.ledger.hubapi import HubAPI
from hdss_hub.ledger.reconcile import reconcile_once
from hdss_hub.ledger.web import ServiceContext, make_app
from tornado import web

from .helpers import ServerThread

TOKEN = "test-service-token"


class FakeHub:
    """The parts of the hub REST API the ledger uses, with pagination and server stops."""

    def __init__(self):
        self.servers = {
            "alice": {"": {}, "secure-diab-2026": {}, "secure-old-2025": {}},
            "bob": {"secure-diab-2026": {}},
            "stu": {},
        }
        self.groups = {"alice": ["researchers"], "bob": ["researchers"], "stu": ["students"]}
        self.stopped: list[tuple[str, str]] = []

    def app(self) -> web.Application:
        hub = self

        class Users(web.RequestHandler):
            def get(self):
                assert self.request.headers["Authorization"] == f"token {TOKEN}"
                names = sorted(hub.servers)
                if self.get_argument("state", None) == "active":
                    names = [n for n in names if hub.servers[n]]
                offset, limit = int(self.get_argument("offset", 0)), 2
                page = names[offset : offset + limit]
                nxt = {"offset": offset + limit} if offset + limit < len(names) else None
                self.finish(
                    json.dumps(
                        {
                            "items": [
                                {"name": n, "servers": hub.servers[n], "groups": hub.groups[n]}
                                for n in page
                            ],
                            "_pagination": {"offset": offset, "limit": limit, "next": nxt},
                        }
                    )
                )

        class Server(web.RequestHandler):
            def delete(self, user, name):
                if name not in hub.servers.get(user, {}):
                    raise web.HTTPError(404)
                del hub.servers[user][name]
                hub.stopped.append((user, name))
                self.set_status(204)

        return web.Application(
            [(r"/hub/api/users", Users), (r"/hub/api/users/([^/]+)/servers/([^/]+)", Server)]
        )


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    with ServerThread(hub.app()) as server:
        hub.api = HubAPI(f"{server.url}/hub/api", TOKEN)
        yield hub


async def test_hub_usernames_follow_pagination(fake_hub):
    assert await fake_hub.api.usernames() == {"alice", "bob", "stu"}


async def test_reconciler_stops_servers_without_active_permission(
    fake_hub, db_url, restricted_root, clock, permission
):
    ledger = Ledger(db_url, clock=clock, restricted_root=restricted_root)
    p = ledger.log(
        permission(members=["alice", "bob"], valid_until="2026-12-01T00:00:00Z"), steward="steve"
    )
    # alice's secure-old-2025 has no permission at all: stopped now; diab-2026 stays.
    assert await reconcile_once(ledger, fake_hub.api) == [("alice", "secure-old-2025")]
    ledger.amend(p.id, {"reason": "bob left", "members": ["alice"]}, steward="steve")
    assert await reconcile_once(ledger, fake_hub.api) == [("bob", "secure-diab-2026")]
    assert await reconcile_once(ledger, fake_hub.api) == []
    clock.advance(days=31)  # past valid_until
    assert await reconcile_once(ledger, fake_hub.api) == [("alice", "secure-diab-2026")]
    assert fake_hub.servers["alice"] == {"": {}}  # the sandbox server is never touched
    stops = list(ledger.audit.entries(action="server.stop"))
    assert [(e.target, e.outcome) for e in stops] == [
        ("server:alice/secure-old-2025", "stopped"),
        ("server:bob/secure-diab-2026", "stopped"),
        ("server:alice/secure-diab-2026", "stopped"),
    ]
    assert "no permission" in stops[0].details["reason"]
    assert "not a member" in stops[1].details["reason"]
    assert "expired" in stops[2].details["reason"]
    assert ledger.audit.verify().ok
    ledger.engine.dispose()


def started(ledger, user, project, *datasets):
    """The spawner's audit entry for a secure server that mounted ``datasets``."""
    ledger.audit.append(
        user,
        "secure.start",
        f"server:{user}/secure-{project}",
        "started",
        project_id=project,
        datasets=[f"{d}@1.0.0" for d in datasets],
    )


@pytest.mark.abuse
async def test_an_amendment_that_drops_a_mounted_dataset_stops_the_server(
    fake_hub, db_url, restricted_root, clock, permission
):
    ledger = Ledger(db_url, clock=clock, restricted_root=restricted_root)
    fake_hub.servers = {"alice": {"secure-diab-2026": {}}}
    p = ledger.log(permission(members=["alice"], datasets=["lpr_adm", "lmdb"]), steward="steve")
    started(ledger, "alice", "diab-2026", "lpr_adm", "lmdb")
    # Positive control: the permission covers both mounted datasets.
    assert await reconcile_once(ledger, fake_hub.api, ["researchers"]) == []
    ledger.amend(p.id, {"reason": "lmdb withdrawn", "datasets": ["lpr_adm"]}, steward="steve")
    assert await reconcile_once(ledger, fake_hub.api, ["researchers"]) == [
        ("alice", "secure-diab-2026")
    ]
    stop = ledger.audit.latest("server.stop", "server:alice/secure-diab-2026")
    assert "lmdb" in stop.details["reason"] and stop.outcome == "stopped"
    ledger.engine.dispose()


@pytest.mark.abuse
async def test_leaving_the_secure_group_stops_the_server(
    fake_hub, db_url, restricted_root, clock, permission
):
    ledger = Ledger(db_url, clock=clock, restricted_root=restricted_root)
    fake_hub.servers = {"alice": {"secure-diab-2026": {}}}
    ledger.log(permission(members=["alice"]), steward="steve")
    started(ledger, "alice", "diab-2026", "lpr_adm")
    assert await reconcile_once(ledger, fake_hub.api, ["researchers"]) == []  # control
    fake_hub.groups["alice"] = ["students"]
    assert await reconcile_once(ledger, fake_hub.api, ["researchers"]) == [
        ("alice", "secure-diab-2026")
    ]
    stop = ledger.audit.latest("server.stop", "server:alice/secure-diab-2026")
    assert "no longer in a group" in stop.details["reason"]
    ledger.engine.dispose()


def test_production_app_uses_hub_oauth(tmp_path, monkeypatch):
    """Without the test mixin the service authenticates through JupyterHub's HubOAuth."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:9/hub/api")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/ledger/")
    monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-ledger")
    monkeypatch.setenv("JUPYTERHUB_OAUTH_CALLBACK_URL", "/services/ledger/oauth_callback")
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    app = make_app(ServiceContext(ledger=ledger, hub=None))
    with ServerThread(app) as server:
        r = requests.get(f"{server.url}/services/ledger/api/permissions", timeout=10)
        assert r.status_code == 403 and "authentication required" in r.json()["message"]
        r = requests.get(f"{server.url}/services/ledger/", timeout=10, allow_redirects=False)
        assert r.status_code == 302 and "/hub/api/oauth2/authorize" in r.headers["Location"]
    ledger.engine.dispose()
