"""Audit reports from secure servers, taken in by the hub process.

A secure server sits on an ``--internal`` network and reaches nothing but the hub's API,
so its guard (``hdss_secure`` in the single-user image) reports each contents read and
each refused request to ``POST /hub/api/hdss/secure-audit``. The hub writes the entry
with the permission source of that server's spawner (the ledger's audit log):

* only with the server's own ``JUPYTERHUB_API_TOKEN``: a token of user U whose note and
  ``access:servers!server=U/secure-P`` scope are those JupyterHub gives the server it
  starts, for a server that is running (no cookie, no personal or service token);
* the actor is U and the target ``server:U/secure-P``, from the token, never from the
  body. A refusal of another user (an admin, a share) names them as the actor only if
  the hub itself issued them a token for that server's OAuth client, else they appear
  as ``requester_claimed``;
* the body is small JSON of known fields (``MAX_BODY`` bytes), anything else is 400;
* at most ``RATE_LIMIT`` entries per ``RATE_WINDOW`` seconds per server; more are
  answered 429 (the guard then refuses reads) and counted into the next entry.

The server's kernels run as the same user and see the same token, so a researcher can
add entries of their own, but only under their own name and server.
"""

from __future__ import annotations

import hmac
import json
import time
from collections import defaultdict, deque
from typing import Any

from hdss_common.naming import SECURE_PREFIX
from jupyterhub import orm
from jupyterhub.apihandlers import APIHandler
from jupyterhub.user import User
from tornado import web

ENDPOINT = r"/api/hdss/secure-audit"
MAX_BODY = 8 * 1024
RATE_LIMIT = 120
RATE_WINDOW = 60.0

# event -> (action, outcome)
EVENTS = {"read": ("secure.read", "ok"), "refused": ("secure.refused", "refused")}
# field -> (type, longest); anything else in a report is refused
FIELDS: dict[str, tuple[type, int]] = {
    "route": (str, 40),
    "method": (str, 10),
    "path": (str, 1024),
    "reason": (str, 300),
    "type": (str, 20),
    "format": (str, 20),
    "requester": (str, 255),
    "size": (int, 0),
    "bound": (int, 0),
}


class ReportInvalid(ValueError):
    """A report the hub does not write; the message says what is wrong."""


def parse_report(body: bytes) -> tuple[str, str, dict[str, Any]]:
    """(action, outcome, details) of a report body; ReportInvalid if it is not one."""
    if len(body) > MAX_BODY:
        raise ReportInvalid(f"a report is at most {MAX_BODY} bytes")
    try:
        report = json.loads(body or b"null")
    except ValueError as e:
        raise ReportInvalid("a report is a JSON object") from e
    if not isinstance(report, dict):
        raise ReportInvalid("a report is a JSON object")
    event = report.pop("event", None)
    if event not in EVENTS:
        raise ReportInvalid(f"event must be one of {', '.join(sorted(EVENTS))}")
    details: dict[str, Any] = {}
    for key, value in report.items():
        if key not in FIELDS:
            raise ReportInvalid(f"unknown field {key!r}")
        kind, longest = FIELDS[key]
        if value is None:
            continue
        if kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ReportInvalid(f"{key} must be a whole number of bytes")
        elif not isinstance(value, str) or len(value) > longest:
            raise ReportInvalid(f"{key} must be text of at most {longest} characters")
        details[key] = value
    action, outcome = EVENTS[event]
    return action, outcome, details


def secure_server_of(username: str, scopes: list[str]) -> str | None:
    """The secure server a token may access, from its ``access:servers!server=`` scope.

    Exactly one such scope, for a server of ``username`` named ``secure-<project>``, as
    JupyterHub gives the API token of a server it starts; None for any other token.
    """
    prefix = f"access:servers!server={username}/"
    servers = [s[len(prefix) :] for s in scopes if s.startswith(prefix)]
    if len(servers) != 1 or not servers[0].startswith(SECURE_PREFIX):
        return None
    if len(servers[0]) == len(SECURE_PREFIX) or "/" in servers[0]:
        return None
    if any(s.startswith("access:servers") and not s.startswith(prefix) for s in scopes):
        return None
    return servers[0]


class RateLimit:
    """At most ``limit`` events per ``window`` seconds per key; counts what it turned away."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self.turned_away: dict[str, int] = defaultdict(int)

    def allow(self, key: str) -> bool:
        now = self.clock()
        seen = self._seen[key]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            self.turned_away[key] += 1
            return False
        seen.append(now)
        return True

    def take_turned_away(self, key: str) -> int:
        return self.turned_away.pop(key, 0)


RATES = RateLimit()


class SecureAuditHandler(APIHandler):
    """``POST /hub/api/hdss/secure-audit``: one audit entry from a secure server."""

    _accept_cookie_auth = False  # a server's token only; a browser session never reports

    def refuse(self, status: int, message: str) -> None:
        self.log.warning("secure audit report refused (%s): %s", status, message)
        raise web.HTTPError(status, message)

    def reporting_server(self):
        """(user, spawner) whose API token made this request; 403 for any other caller."""
        token, user = self.get_token(), self.current_user
        if token is None or token.user is None or not isinstance(user, User):
            self.refuse(403, "only a secure server reports here, with its own API token")
        name = secure_server_of(user.name, list(token.scopes))
        orm_spawner = user.orm_user.orm_spawners.get(name) if name else None
        if orm_spawner is None:
            self.refuse(403, "this token is not the API token of a secure server")
        spawner = user.spawners[name]
        server = spawner.server
        if not spawner.active or server is None or token.note != f"Server at {server.base_url}":
            self.refuse(403, "this token is not the API token of a running secure server")
        presented = self.get_auth_token() or ""
        if spawner.api_token and not hmac.compare_digest(spawner.api_token, presented):
            self.refuse(403, "this token is not the current API token of that server")
        return user, spawner

    def requester_actor(self, spawner, details: dict[str, Any]) -> str | None:
        """The name of another user the server refused, if the hub issued them a token
        for that server's OAuth client (so the name is the hub's, not the server's word)."""
        name = details.get("requester")
        if not name or name == spawner.user.name:
            return None
        other = orm.User.find(self.db, name)
        if other is None:
            return None
        issued = (
            self.db.query(orm.APIToken)
            .filter_by(user_id=other.id, client_id=spawner.oauth_client_id)
            .first()
        )
        return name if issued is not None else None

    async def post(self):
        user, spawner = self.reporting_server()
        try:
            action, outcome, details = parse_report(self.request.body)
        except ReportInvalid as e:
            self.refuse(400, str(e))
        source = getattr(spawner, "permission_source", None)
        if source is None:
            self.refuse(503, "this hub has no audit log for secure servers")
        key = f"{user.name}/{spawner.name}"
        if not RATES.allow(key):
            self.refuse(429, f"more than {RATE_LIMIT} reports in {RATE_WINDOW:.0f} s")
        actor = user.name
        requester = self.requester_actor(spawner, details)
        if requester is not None:
            actor = details.pop("requester")
        elif "requester" in details:
            details["requester_claimed"] = details.pop("requester")
        if missed := RATES.take_turned_away(key):
            details["unaudited_before"] = missed
        details["reported_by"] = "server"
        target = f"server:{user.name}/{spawner.name}"
        # An entry that cannot be written fails the request (500): the guard then refuses.
        await source.audit(actor, action, target, outcome, **details)
        self.set_status(201)
        self.finish(json.dumps({"written": action}))


def secure_audit_handlers() -> list[tuple[str, type]]:
    """``c.JupyterHub.extra_handlers`` for the secure servers' reports."""
    return [(ENDPOINT, SecureAuditHandler)]


def apply_secure_audit(settings: dict[str, Any], c) -> None:
    """With the ledger on: the endpoint for secure servers' reports, and no shares of them.

    ``extra_handlers`` is how JupyterHub adds a route to the hub's own API, which is all a
    secure server can reach (JupyterHub logs it as deprecated in favour of services, but
    a service is not reachable from the secure networks). Pointing JupyterHub's share
    routes at guarded handlers (``secure_shares``) is the one step here that is not a
    config value; it is done once per process.
    """
    if not settings["ledger"].get("enabled"):
        return
    from .secure_shares import refuse_secure_shares

    c.JupyterHub.extra_handlers = secure_audit_handlers()
    refuse_secure_shares()
