"""The ledger service's tornado handlers: REST API under ``api/`` and pages for people.

Authentication is JupyterHub's (``HubOAuthenticated``: hub login cookie for pages, API
token in the ``Authorization`` header for scripts); authorisation is in :mod:`.access`.
Every denial of an identified caller is an audit entry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tornado import web

from .. import metrics, webservice
from ..webservice import ApiHandler, ApiNotFound, PageHandler, ServiceHandler
from .core import STATES, Ledger
from .errors import LedgerError
from .hubapi import HubAPI, HubAPIError
from .metrics import registry as metrics_registry
from .openapi import MAX_ID, MAX_SEQ, spec
from .schemas import PROJECT_ID_RE, USERNAME_RE

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
MAX_BODY = 1024 * 1024


@dataclass
class ServiceContext:
    """What the handlers share: the ledger, the hub client and the settings."""

    ledger: Ledger
    hub: HubAPI | None
    prefix: str = "/services/ledger/"
    steward_group: str = "stewards"
    # For tests without a hub: a fixed set of usernames instead of asking the hub.
    static_users: Collection[str] | None = None
    extra: dict = field(default_factory=dict)
    # The Prometheus registry of GET metrics (make_app builds it when None).
    metrics: Any = None

    async def known_users(self) -> Collection[str]:
        if self.static_users is not None:
            return self.static_users
        if self.hub is None:
            raise web.HTTPError(503, "the hub's user list is not available")
        try:
            return await self.hub.usernames()
        except HubAPIError as e:
            raise web.HTTPError(503, f"cannot check members against the hub: {e}") from e


class Base(ServiceHandler):
    """The ledger's handlers: the ledger's audit log, stewards change the ledger."""

    steward_action = "change the ledger"
    ctx: ServiceContext

    @property
    def ledger(self) -> Ledger:
        return self.ctx.ledger

    @property
    def audit(self) -> Any:
        return self.ledger.audit

    async def visible(self, permission_id: int):
        """The permission, if the caller may see it; otherwise a (audited) 404."""
        caller = self.caller
        target = f"permission:{permission_id}"
        try:
            perm = await self.blocking(self.ledger.get, permission_id)
        except LedgerError as e:
            raise web.HTTPError(e.status, str(e)) from None
        if caller is None or not (caller.reads_all or caller.name in perm.members):
            await self.deny(404, target, f"no permission with id {permission_id}")
        return perm


# -- REST API -----------------------------------------------------------------------------


class ApiBase(ApiHandler, Base):
    async def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.blocking(fn, *args, **kwargs)
        except LedgerError as e:
            raise web.HTTPError(e.status, str(e)) from None


def _permission_id(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise web.HTTPError(404, f"no permission with id {raw}")
    return value


class OpenAPIHandler(webservice.OpenAPIHandler):
    spec = staticmethod(spec)


class MeHandler(ApiBase):
    def get(self) -> None:
        caller = self.caller
        self.send({"name": caller.name, "role": caller.role})


class PermissionsHandler(ApiBase):
    async def get(self) -> None:
        caller = self.caller
        state = self.get_query_argument("state", None)
        project_id = self.get_query_argument("project_id", None)
        member = self.get_query_argument("member", None)
        if state is not None and state not in STATES:
            raise web.HTTPError(400, f"state must be one of {', '.join(STATES)}")
        if project_id is not None and not re.match(PROJECT_ID_RE, project_id):
            raise web.HTTPError(400, "project_id is not a valid project id")
        if member is not None and not re.match(USERNAME_RE, member):
            raise web.HTTPError(400, "member is not a valid username")
        if not caller.reads_all:
            if member not in (None, caller.name):
                await self.deny(
                    403, f"member:{member}", "researchers may list only their own projects"
                )
            member = caller.name
        perms = await self.call(self.ledger.list, member=member, project_id=project_id, state=state)
        self.send([p.to_json() for p in perms])

    async def post(self) -> None:
        caller = await self.require_steward("permissions")
        data = self.body()
        known = await self.ctx.known_users()
        perm = await self.call(self.ledger.log, data, steward=caller.name, known_users=known)
        self.set_header("Location", f"{self.ctx.prefix}api/permissions/{perm.id}")
        self.send(perm.to_json(), 201)


class PermissionHandler(ApiBase):
    async def get(self, raw_id: str) -> None:
        perm = await self.visible(_permission_id(raw_id))
        self.send(perm.to_json())

    async def patch(self, raw_id: str) -> None:
        pid = _permission_id(raw_id)
        caller = await self.require_steward(f"permission:{pid}")
        data = self.body()
        known = await self.ctx.known_users()
        perm = await self.call(self.ledger.amend, pid, data, steward=caller.name, known_users=known)
        self.send(perm.to_json())


class RevokeHandler(ApiBase):
    async def post(self, raw_id: str) -> None:
        pid = _permission_id(raw_id)
        caller = await self.require_steward(f"permission:{pid}")
        perm = await self.call(self.ledger.revoke, pid, self.body(), steward=caller.name)
        self.send(perm.to_json())


class AuditHandler(ApiBase):
    async def get(self) -> None:
        if not self.caller.reads_all:
            await self.deny(403, "audit", "only data stewards and auditors may read the audit log")
        since = self.int_arg("since", 1, MAX_SEQ)
        limit = self.int_arg("limit", 1, 1000) or 100

        def read():
            return [e.to_json() for e in self.ledger.audit.entries(since=since, limit=limit)]

        self.send(await self.blocking(read))


class MetricsHandler(metrics.MetricsHandler, Base):
    pass


class VerifyHandler(ApiBase):
    async def get(self) -> None:
        if not self.caller.reads_all:
            await self.deny(403, "audit", "only data stewards and auditors may verify the log")
        result = await self.blocking(self.ledger.audit.verify)
        self.send(
            {
                "ok": result.ok,
                "checked": result.checked,
                "broken_seq": result.broken_seq,
                "message": result.message(),
            }
        )


# -- pages --------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def _day(text: str) -> str | None:
    """A date field (YYYY-MM-DD, UTC midnight) as an ISO time; None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat() + "T00:00:00Z"
    except ValueError:
        return text  # left for validation to refuse with a message


class PageBase(PageHandler, Base):
    pass


class IndexPage(PageBase):
    @web.authenticated
    async def get(self) -> None:
        caller = self.caller
        if caller is None:
            raise web.HTTPError(403, "you are not allowed to use the ledger")
        member = None if caller.reads_all else caller.name
        perms = await self.blocking(self.ledger.list, member=member)
        self.render_page("index.html", permissions=perms)


class NewPermissionPage(PageBase):
    @web.authenticated
    async def get(self) -> None:
        await self.require_steward("page:new")
        self.render_page(
            "new.html", form={}, error=None, datasets=sorted(self.ledger.restricted_datasets())
        )

    @web.authenticated
    async def post(self) -> None:
        caller = await self.require_steward("page:new")
        form = {
            k: self.get_body_argument(k, "")
            for k in (
                "project_id",
                "members",
                "datasets",
                "authority",
                "reference",
                "legal_basis",
                "valid_from",
                "valid_until",
            )
        }
        form["datasets"] = " ".join(self.get_body_arguments("datasets"))
        data = {
            **form,
            "members": _split(form["members"]),
            "datasets": _split(form["datasets"]),
            "valid_from": _day(form["valid_from"]),
            "valid_until": _day(form["valid_until"]),
        }
        data = {k: v for k, v in data.items() if v not in (None, "")}
        try:
            known = await self.ctx.known_users()
            perm = await self.blocking(
                self.ledger.log, data, steward=caller.name, known_users=known
            )
        except LedgerError as e:
            self.render_page(
                "new.html",
                status=e.status,
                form=form,
                error=str(e),
                datasets=sorted(self.ledger.restricted_datasets()),
            )
            return
        self.redirect(f"{self.ctx.prefix}permissions/{perm.id}")


class PermissionPage(PageBase):
    @web.authenticated
    async def get(self, raw_id: str) -> None:
        perm = await self.visible(_permission_id(raw_id))
        self.render_page("permission.html", p=perm, error=None)


class AmendPage(PageBase):
    @web.authenticated
    async def post(self, raw_id: str) -> None:
        pid = _permission_id(raw_id)
        caller = await self.require_steward(f"permission:{pid}")
        current = await self.visible(pid)
        data: dict[str, Any] = {"reason": self.get_body_argument("reason", "")}
        members = _split(self.get_body_argument("members", ""))
        if members and tuple(sorted(members)) != current.members:
            data["members"] = members
        datasets = _split(self.get_body_argument("datasets", ""))
        if datasets and tuple(sorted(datasets)) != current.datasets:
            data["datasets"] = datasets
        until = _day(self.get_body_argument("valid_until", ""))
        if until and until[:10] != current.valid_until.date().isoformat():
            data["valid_until"] = until
        basis = self.get_body_argument("legal_basis", "").strip()
        if basis and basis != current.legal_basis:
            data["legal_basis"] = basis
        try:
            known = await self.ctx.known_users()
            perm = await self.blocking(
                self.ledger.amend, pid, data, steward=caller.name, known_users=known
            )
        except LedgerError as e:
            self.render_page("permission.html", status=e.status, p=current, error=str(e))
            return
        self.render_page("permission.html", p=perm, error=None)


class RevokePage(PageBase):
    @web.authenticated
    async def post(self, raw_id: str) -> None:
        pid = _permission_id(raw_id)
        caller = await self.require_steward(f"permission:{pid}")
        current = await self.visible(pid)
        try:
            perm = await self.blocking(
                self.ledger.revoke,
                pid,
                {"reason": self.get_body_argument("reason", "")},
                steward=caller.name,
            )
        except LedgerError as e:
            self.render_page("permission.html", status=e.status, p=current, error=str(e))
            return
        self.render_page("permission.html", p=perm, error=None)


class AuditPage(PageBase):
    @web.authenticated
    async def get(self) -> None:
        caller = self.caller
        if caller is None or not caller.reads_all:
            await self.deny(
                403, "page:audit", "only data stewards and auditors may read the audit log"
            )

        def read():
            head = self.ledger.audit.head()
            first = max(1, head.seq - 199) if head else 1
            return list(self.ledger.audit.entries(since=first)), self.ledger.audit.verify()

        entries, result = await self.blocking(read)
        self.render_page("audit.html", entries=list(reversed(entries)), result=result)


HANDLERS: list[tuple[str, type]] = [
    (r"api/openapi\.json", OpenAPIHandler),
    (r"api/me", MeHandler),
    (r"api/permissions", PermissionsHandler),
    (r"api/permissions/([0-9]{1,10})", PermissionHandler),
    (r"api/permissions/([0-9]{1,10})/revoke", RevokeHandler),
    (r"api/audit", AuditHandler),
    (r"api/audit/verify", VerifyHandler),
    (r"api/.*", ApiNotFound),
    (r"metrics", MetricsHandler),
    (r"", IndexPage),
    (r"permissions/new", NewPermissionPage),
    (r"permissions/([0-9]{1,10})", PermissionPage),
    (r"permissions/([0-9]{1,10})/amend", AmendPage),
    (r"permissions/([0-9]{1,10})/revoke", RevokePage),
    (r"audit", AuditPage),
]


def make_app(
    ctx: ServiceContext, *, auth_mixin: type | None = None, **settings: Any
) -> web.Application:
    """The tornado application. ``auth_mixin`` (tests only) is put in front of every handler
    that authenticates, replacing how the caller is identified."""
    if ctx.metrics is None:
        ctx.metrics = metrics_registry(ctx.ledger)
    return webservice.make_app(ctx, HANDLERS, TEMPLATES, auth_mixin=auth_mixin, **settings)
