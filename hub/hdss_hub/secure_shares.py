"""Secure servers cannot be shared: the hub refuses the share, and audits the attempt.

JupyterHub (5+) lets a holder of the ``shares`` scope (every hub admin) grant another
user or group access to a server, directly or through a share code; it has no hook to
refuse that for some servers. So the hub's routes for creating shares and share codes are
pointed at subclasses of JupyterHub's own handlers that refuse a server named
``secure-<project>`` with 403 and an audit entry (actor: the hub's identity of the
caller), and hand everything else to JupyterHub unchanged (listing and revoking too).

Even a share that existed (made before this guard, or in the database by hand) opens
nothing: a secure server serves only its owner (``hdss_secure``).
"""

from __future__ import annotations

from hdss_common.naming import project_of
from jupyterhub import apihandlers
from jupyterhub.apihandlers import shares
from tornado import web

REFUSED = (
    "Secure servers cannot be shared: a project's data is opened only by its members, each "
    "on their own secure server. Data stewards add members to the project's permission."
)


class _RefuseSecure:
    """Refuse creating a share of a secure server before JupyterHub's own checks run."""

    async def post(self, user_name, server_name=None):
        if server_name and project_of(server_name) is not None:
            await self.refuse_secure_share(user_name, server_name)
        return await super().post(user_name, server_name)

    async def refuse_secure_share(self, user_name: str, server_name: str) -> None:
        caller, owner = self.current_user, self.find_user(user_name)
        source = None
        if owner is not None and server_name in owner.orm_user.orm_spawners:
            source = getattr(owner.spawners[server_name], "permission_source", None)
        if caller is not None and source is not None:
            await source.audit(
                caller.name,
                "secure.share",
                f"server:{user_name}/{server_name}",
                "denied",
                kind=getattr(caller, "kind", "user"),
                via=self.share_kind,
            )
        raise web.HTTPError(403, REFUSED)


class SecureServerShareAPIHandler(_RefuseSecure, shares.ServerShareAPIHandler):
    share_kind = "share"


class SecureServerShareCodeAPIHandler(_RefuseSecure, shares.ServerShareCodeAPIHandler):
    share_kind = "share code"


GUARDED = {
    shares.ServerShareAPIHandler: SecureServerShareAPIHandler,
    shares.ServerShareCodeAPIHandler: SecureServerShareCodeAPIHandler,
}


def refuse_secure_shares(routes: list | None = None) -> int:
    """Point the hub's share routes at the guarded handlers; how many routes point there.

    Runs in the hub process before JupyterHub builds its routes (the config step); more
    than once is harmless. RuntimeError if JupyterHub's routes are not as expected (a
    JupyterHub upgrade): the hub then does not start with sharing unguarded.
    """
    routes = apihandlers.default_handlers if routes is None else routes
    guarded = set(GUARDED.values())
    for i, (pattern, handler, *rest) in enumerate(routes):
        if handler in GUARDED:
            routes[i] = (pattern, GUARDED[handler], *rest)
    count = sum(1 for _, handler, *_ in routes if handler in guarded)
    if count != 4 or any(handler in GUARDED for _, handler, *_ in routes):
        raise RuntimeError(
            f"JupyterHub's share routes are not the four this hub guards (found {count}): "
            "secure servers could be shared. Check hdss_hub.secure_shares against this "
            "JupyterHub version."
        )
    return count
