"""The promotion service's tornado handlers: REST API under ``api/`` and pages.

Authentication is JupyterHub's (``HubOAuthenticated``); who may do what is decided here
with the ledger's rules (:mod:`hdss_common.access`): data stewards (the steward group,
or scope ``custom:ledger:write``) see the queue, the outputs and decide; researchers
submit and follow their own requests, and never see outputs before they are released.
Every denial of an identified caller is an audit entry. Request bodies are checked and
answers are dumped with the pydantic models of :mod:`.schemas`, from which the OpenAPI
document is generated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from hdss_common.access import Caller
from pydantic import ValidationError
from tornado import web

from .. import metrics, webservice
from ..apimodels import M
from ..webservice import ApiHandler, ApiNotFound, PageHandler, ServiceHandler, run_blocking
from . import render
from .core import Airlock, PromotionError, Request
from .metrics import registry as metrics_registry
from .models import STATES
from .openapi import spec
from .paths import UnsafePath
from .schemas import BodyInvalid, ReviewIn, RunLog, SubmitIn, error_view, parse, request_view
from .schemas import Caller as CallerOut
from .workspace import WorkspaceError

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
MAX_BODY = 256 * 1024
# Pages hold outputs rendered for stewards: nothing on them may run or fetch from elsewhere.
PAGE_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class Context:
    airlock: Airlock
    prefix: str = "/services/promotion/"
    steward_group: str = "stewards"
    runs: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    # The Prometheus registry of GET metrics (make_app builds it when None).
    metrics: Any = None

    def schedule(self, request_id: int) -> None:
        """Run a queued request in the background (one at a time by default)."""

        def go() -> None:
            try:
                self.airlock.run(request_id)
            except Exception:  # recorded by run(); keep the worker alive
                log.exception("promotion run %s failed", request_id)

        self.runs.submit(go)


class Base(ServiceHandler):
    """The promotion handlers: the airlock's audit log, stewards review requests."""

    steward_action = "review promotion requests"
    ctx: Context

    @property
    def airlock(self) -> Airlock:
        return self.ctx.airlock

    @property
    def audit(self) -> Any:
        return self.airlock.audit

    async def blocking(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run off the event loop; promotion, path and Docker errors become HTTP errors."""
        try:
            return await super().blocking(fn, *args, **kwargs)
        except PromotionError as e:
            raise web.HTTPError(e.status, "%s", str(e)) from None
        except (UnsafePath, WorkspaceError) as e:
            raise web.HTTPError(422, "%s", str(e)) from None
        except DockerException as e:
            log.error("Docker engine error: %s", e)
            raise web.HTTPError(
                503,
                "the Docker engine did not answer as expected; try "
                "again later or tell the operator",
            ) from None

    async def visible(self, raw_id: str) -> Request:
        """The request, if the caller made it or is a steward; otherwise an audited 404."""
        request_id = int(raw_id)
        caller = self.caller
        try:
            req = await run_blocking(self.airlock.get, request_id)
        except PromotionError:
            req = None
        if req is None or caller is None or not (caller.steward or caller.name == req.requester):
            await self.deny(404, f"promotion:{raw_id}", f"no promotion request with id {raw_id}")
        return req  # type: ignore[return-value]


def public(req: Request, caller: Caller) -> dict[str, Any]:
    """A request as the caller may see it (the :class:`.schemas.PromotionRequest` model).

    Findings can quote cell values ("count 3 is below 5"), so researchers get each
    finding's rule and place but not its detail, in the checks and in the receipt.
    """
    return request_view(req, steward=caller.steward)


def parse_body(model: type[M], data: Any) -> M:
    """``data`` as ``model``; a 422 naming each bad field otherwise."""
    try:
        return parse(model, data)
    except BodyInvalid as e:
        raise web.HTTPError(422, "%s", str(e)) from None


# -- REST API -----------------------------------------------------------------------------


class ApiBase(ApiHandler, Base):
    not_object = "the request body must be a JSON object"

    def error_body(self, status_code: int, **kwargs: Any) -> dict[str, Any]:
        """The :class:`.schemas.Error`; a refused submission's contract reports (the
        error's ``details``) as ``contract``."""
        message = self.error_message(**kwargs)
        exc = kwargs.get("exc_info", (None, None, None))[1]
        contract = getattr(exc, "details", None) or None
        try:
            return error_view(status_code, message, contract)
        except ValidationError:  # a bug: say so in the log, still answer the refusal
            log.exception("an error answer that does not fit the API's model")
            return {"status": status_code, "message": message or self._reason or "refused"}


class OpenAPIHandler(webservice.OpenAPIHandler):
    spec = staticmethod(spec)


class MeHandler(ApiBase):
    def get(self) -> None:
        caller = self.caller
        role = "steward" if caller.steward else "researcher"
        self.send(CallerOut(name=caller.name, role=role).model_dump(mode="json"))


async def submit(handler: Base, caller: Caller, data: dict[str, Any]) -> Request:
    body = parse_body(SubmitIn, data)
    if caller.kind != "user":
        raise web.HTTPError(403, "only hub users submit promotion requests")
    try:
        req = await run_blocking(
            handler.airlock.submit,
            caller.name,
            body.project_id,
            body.paths,
            dataset=body.dataset,
            synthetic=body.synthetic,
        )
    except PromotionError as e:
        err = web.HTTPError(e.status, "%s", str(e))
        err.details = getattr(e, "details", None)  # type: ignore[attr-defined]
        raise err from None
    except WorkspaceError as e:  # e.g. no sandbox home volume yet
        raise web.HTTPError(422, "%s", str(e)) from None
    except DockerException as e:
        log.error("Docker engine error during a submission: %s", e)
        raise web.HTTPError(
            503,
            "the Docker engine did not answer as expected; nothing was "
            "promoted; try again later or tell the operator",
        ) from None
    handler.ctx.schedule(req.id)
    return req


class RequestsHandler(ApiBase):
    async def get(self) -> None:
        caller = self.caller
        state = self.get_query_argument("state", None)
        if state is not None and state not in STATES:
            raise web.HTTPError(400, f"state must be one of {', '.join(STATES)}")
        requester = None if caller.steward else caller.name
        reqs = await self.blocking(self.airlock.list, requester=requester, state=state)
        self.send([public(r, caller) for r in reqs])

    async def post(self) -> None:
        req = await submit(self, self.caller, self.body())
        self.set_header("Location", f"{self.ctx.prefix}api/requests/{req.id}")
        self.send(public(req, self.caller), 201)


class RequestHandler(ApiBase):
    async def get(self, raw_id: str) -> None:
        self.send(public(await self.visible(raw_id), self.caller))


class LogHandler(ApiBase):
    async def get(self, raw_id: str) -> None:
        req = await self.visible(raw_id)
        text = await self.blocking(self.airlock.run_log, req.id, self.caller.steward)
        answer = RunLog(id=req.id, state=req.state, run_outcome=req.run_outcome, log=text)
        self.send(answer.model_dump(mode="json"))


class OutputHandler(ApiBase):
    """Stewards read an outbox file (as text) to review it; researchers never do."""

    async def get(self, raw_id: str, path: str) -> None:
        await self.require_steward(f"promotion:{raw_id}/{path}")
        req = await self.visible(raw_id)
        data = await self.blocking(self.airlock.output, req.id, path)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Content-Disposition", "inline")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        self.finish(data)


class MetricsHandler(metrics.MetricsHandler, Base):
    pass


class ReviewHandler(ApiBase):
    async def post(self, raw_id: str) -> None:
        caller = await self.require_steward(f"promotion:{raw_id}")
        req = await self.visible(raw_id)
        body = parse_body(ReviewIn, self.body())
        req = await self.blocking(
            self.airlock.review, caller.name, req.id, body.decision, body.reason
        )
        self.send(public(req, caller))


# -- pages --------------------------------------------------------------------------------


class PageBase(PageHandler, Base):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", PAGE_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")


class IndexPage(PageBase):
    @web.authenticated
    async def get(self) -> None:
        await self.show()

    async def show(
        self, error: str | None = None, status: int = 200, form: dict | None = None
    ) -> None:
        caller = self.caller
        if caller is None:
            raise web.HTTPError(403, "you are not allowed to use promotion")
        mine = await self.blocking(self.airlock.list, requester=caller.name)
        queue = (
            await self.blocking(self.airlock.list, state="awaiting-review")
            if caller.steward
            else []
        )
        projects = await self.blocking(self.airlock.ledger.projects_for, caller.name)
        self.render_page(
            "index.html",
            status=status,
            mine=mine,
            queue=queue,
            projects=projects,
            error=error,
            form=form or {},
        )

    @web.authenticated
    async def post(self) -> None:
        caller = self.caller
        if caller is None:
            raise web.HTTPError(403, "you are not allowed to use promotion")
        form = {
            "project_id": self.get_body_argument("project_id", ""),
            "paths": self.get_body_argument("paths", ""),
        }
        data = {
            "project_id": form["project_id"],
            "paths": [p.strip() for p in form["paths"].splitlines() if p.strip()],
        }
        try:
            req = await submit(self, caller, data)
        except web.HTTPError as e:
            await self.show(
                error=e.log_message % e.args if e.args else e.log_message,
                status=e.status_code,
                form=form,
            )
            return
        self.redirect(f"{self.ctx.prefix}requests/{req.id}")


class RequestPage(PageBase):
    @web.authenticated
    async def get(self, raw_id: str) -> None:
        await self.show(raw_id)

    async def show(self, raw_id: str, error: str | None = None, status: int = 200) -> None:
        req = await self.visible(raw_id)
        caller = self.caller
        outputs: list[render.Shown] = []
        if caller.steward and req.checks:
            outputs = await self.blocking(rendered, self.airlock, req)
        log_text = await self.blocking(self.airlock.run_log, req.id, caller.steward)
        if not caller.steward:
            view = public(req, caller)
            hidden = {"checks": view["checks"], "receipt": view["receipt"], "acro": None}
            req = Request(**{**req.__dict__, **hidden})
        self.render_page(
            "request.html", status=status, r=req, outputs=outputs, log_text=log_text, error=error
        )


class ReviewPage(RequestPage):
    @web.authenticated
    async def post(self, raw_id: str) -> None:
        caller = await self.require_steward(f"promotion:{raw_id}")
        req = await self.visible(raw_id)
        form = {k: self.get_body_argument(k, "") for k in ("decision", "reason")}
        try:
            body = parse_body(ReviewIn, form)
            await self.blocking(
                self.airlock.review, caller.name, req.id, body.decision, body.reason
            )
        except web.HTTPError as e:
            await self.show(
                raw_id,
                error=e.log_message % e.args if e.args else e.log_message,
                status=e.status_code,
            )
            return
        self.redirect(f"{self.ctx.prefix}requests/{req.id}")


def rendered(airlock: Airlock, req: Request) -> list[render.Shown]:
    """Every checked output of ``req`` as a data steward reviews it (see :mod:`.render`)."""
    out = []
    for r in req.checks or []:
        try:
            data = airlock.output(req.id, r["path"])
        except (PromotionError, OSError):
            shown = render.Shown(r["path"], r["status"], [render.Part("file", "")])
            shown.parts[0].html = "<p>(not in the airlock: it was not copied out of the run)</p>"
            shown.parts[0].findings = list(r.get("findings") or [])
            out.append(shown)
            continue
        out.append(render.shown(r["path"], data, r["status"], r.get("findings")))
    return out


ID = r"([0-9]{1,9})"
HANDLERS: list[tuple[str, type]] = [
    (r"api/openapi\.json", OpenAPIHandler),
    (r"api/me", MeHandler),
    (r"api/requests", RequestsHandler),
    (rf"api/requests/{ID}", RequestHandler),
    (rf"api/requests/{ID}/log", LogHandler),
    (rf"api/requests/{ID}/outputs/(.+)", OutputHandler),
    (rf"api/requests/{ID}/review", ReviewHandler),
    (r"api/.*", ApiNotFound),
    (r"metrics", MetricsHandler),
    (r"", IndexPage),
    (rf"requests/{ID}", RequestPage),
    (rf"requests/{ID}/review", ReviewPage),
]


def make_app(ctx: Context, *, auth_mixin: type | None = None, **settings: Any) -> web.Application:
    """The tornado application; ``auth_mixin`` (tests only) replaces how callers are known."""
    if ctx.metrics is None:
        ctx.metrics = metrics_registry(ctx.airlock)
    return webservice.make_app(ctx, HANDLERS, TEMPLATES, auth_mixin=auth_mixin, **settings)
