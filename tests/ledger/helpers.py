"""Test-only helpers: run a tornado app in a thread on 127.0.0.1, identify callers by header;
fill an audit log, in order or from many threads at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

PREFIX = "/services/ledger/"  # the service's URL prefix in the tests
# Hub user models as JupyterHub's OAuth identify endpoint returns them.
MODELS = {
    "steve": {"name": "steve", "kind": "user", "groups": ["stewards"], "scopes": []},
    "sam": {"name": "sam", "kind": "user", "groups": [], "scopes": ["custom:ledger:write"]},
    "audrey": {"name": "audrey", "kind": "user", "groups": [], "scopes": ["custom:ledger:read"]},
    "alice": {"name": "alice", "kind": "user", "groups": ["researchers"], "scopes": []},
    "bob": {"name": "bob", "kind": "user", "groups": ["researchers"], "scopes": []},
    "stu": {"name": "stu", "kind": "user", "groups": ["students"], "scopes": []},
}
HUB_USERS = set(MODELS) | {"carol"}


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": f"test {name}"}


class HeaderAuth:
    """Replaces HubOAuth in tests: ``Authorization: test <name>`` names the caller."""

    def get_current_user(self):
        auth = self.request.headers.get("Authorization", "")
        return MODELS.get(auth[5:]) if auth.startswith("test ") else None

    def check_xsrf_cookie(self) -> None:
        pass

    xsrf_token = web.RequestHandler.xsrf_token

    def get_login_url(self) -> str:
        return "/login"


class ServerThread:
    """Serve ``app`` on 127.0.0.1 from a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.sock, self.port = bind_unused_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = HTTPServer(self.app)
        server.add_sockets([self.sock])
        self.loop.run_forever()
        server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def fill(audit: Any, clock: Any, n: int = 5, start: int = 0) -> None:
    """Append ``n`` permission entries (``permission:<start>`` on), a minute apart."""
    for i in range(start, start + n):
        audit.append("steve", "permission.log", f"permission:{i}", "ok", n=i)
        clock.advance(minutes=1)


def append_from_threads(audit: Any, threads: int, per_thread: int) -> list[Exception]:
    """``threads`` threads at once, each appending ``per_thread`` entries (actor
    ``worker<t>``, target ``item:<t>:<i>``); what they raised (a test wants nothing)."""
    errors: list[Exception] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                audit.append(f"worker{t}", "test.append", f"item:{t}:{i}", "ok")
        except Exception as e:  # reported to the test
            errors.append(e)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return errors
