"""The guard of a secure server, applied to jupyterhub-singleuser's Jupyter server.

* The identity provider (JupyterHub's, which jupyterhub-singleuser forces) is wrapped, not
  replaced: a request that presents an API token (Authorization header or ``token``
  parameter) is refused before the token is looked at, and a user the hub identifies
  who is not the server's owner (an admin, someone a share was granted to) is refused.
  JupyterLab's page gets no token, so the browser works with its OAuth cookie and XSRF.
* ``/files/``, ``/nbconvert/`` and ``/view/`` are refused, and so is a contents read with
  ``download``; a contents read of a non-notebook file larger than the bound is refused.
* Every refusal and every contents read of a file is reported to the hub's audit log; a
  read is answered only after its entry is written.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.services.contents import handlers as contents
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from .policy import (
    DOWNLOAD_REFUSED,
    TOKEN_REFUSED,
    SecureSettings,
    content_bytes,
    lab_page_config,
    not_owner_message,
    presented_credential,
    read_refusal,
    requested_type,
    too_large_message,
)
from .report import HubReporter, ReportError

READ_BUSY = "Too many reads from this secure server in a short time: wait a minute and try again."
READ_UNAUDITED = (
    "This read cannot be written to the audit log now, so it is refused: try again shortly."
)


class Guard:
    """Refuses and reports, for the handlers and the identity provider of one server."""

    def __init__(self, settings: SecureSettings, reporter: HubReporter, log) -> None:
        self.settings = settings
        self.reporter = reporter
        self.log = log

    async def refuse(self, handler, route: str, message: str, **details: Any) -> NoReturn:
        """Report the refusal (once per request), then answer 403 with ``message``."""
        if getattr(handler, "_hdss_refused", None) is None:
            handler._hdss_refused = message
            report = {
                "event": "refused",
                "route": route,
                "method": handler.request.method,
                "path": handler.request.path,
                **details,
            }
            try:
                await self.reporter.send(report)
            except ReportError as e:
                self.log.error("hdss_secure: a refusal is not in the audit log: %s", e)
        raise web.HTTPError(403, handler._hdss_refused)

    async def read(self, path: str, model: dict[str, Any]) -> None:
        """Report a read of a file; 503 (nothing is served) if the entry is not written."""
        report = {
            "event": "read",
            "route": "contents",
            "path": path,
            "type": model.get("type"),
            "format": model.get("format"),
            "size": content_bytes(model),
        }
        try:
            await self.reporter.send(report)
        except ReportError as e:
            self.log.error("hdss_secure: a read of %s is refused, not audited: %s", path, e)
            raise web.HTTPError(503, READ_BUSY if e.busy else READ_UNAUDITED) from e


def _forget_user(handler) -> None:
    # As jupyter_server does before refusing in prepare: error pages then render anonymous.
    handler.current_user = handler._jupyter_current_user = None


class SecureIdentity:
    """Mixed into the server's identity provider (JupyterHub's) by :func:`load`."""

    hdss_guard: Guard

    async def get_user(self, handler):
        guard = self.hdss_guard
        request = handler.request
        credential = presented_credential(request.headers, request.arguments)
        if credential:
            _forget_user(handler)
            await guard.refuse(handler, "token", TOKEN_REFUSED, reason=f"presented {credential}")
        user = await super().get_user(handler)
        if user is not None and user.username != guard.settings.owner:
            _forget_user(handler)
            owner, project = guard.settings.owner, guard.settings.project
            await guard.refuse(
                handler,
                "not-owner",
                not_owner_message(user.username, owner, project),
                requester=user.username,
            )
        return user

    def page_config_hook(self, handler, page_config):
        return lab_page_config(super().page_config_hook(handler, page_config))


class RefusedRoute(JupyterHandler):
    """A download or export route: every method refused and reported."""

    def initialize(self, route: str) -> None:
        self.route = route

    async def _refuse(self, path: str = "", **_: Any) -> NoReturn:
        await self.settings["hdss_secure_guard"].refuse(self, self.route, DOWNLOAD_REFUSED)

    get = web.authenticated(_refuse)
    head = get
    post = web.authenticated(_refuse)
    put = post
    patch = post
    delete = post


class SecureContentsHandler(contents.ContentsHandler):
    """The contents API with a bound on non-notebook reads and an audit entry per read."""

    _hdss_hold = False
    _hdss_held: dict[str, Any] | None = None

    @property
    def guard(self) -> Guard:
        return self.settings["hdss_secure_guard"]

    async def _metadata(self, path: str) -> dict[str, Any] | None:
        kind = requested_type(self.get_query_argument("type", None))
        try:
            return await ensure_async(self.contents_manager.get(path, content=False, type=kind))
        except web.HTTPError:
            return None  # not there, or not of that type: the real read answers as usual

    @web.authenticated
    @authorized
    async def get(self, path=""):
        if self.get_query_argument("download", None) is not None:
            await self.guard.refuse(self, "contents-download", DOWNLOAD_REFUSED)
        if self.get_query_argument("content", "1") == "0":
            return await super().get(path)  # the model without the file: nothing read
        bound = self.guard.settings.max_read_bytes
        before = await self._metadata(path)
        if before is not None and (size := read_refusal(before, bound)) is not None:
            await self.guard.refuse(
                self, "contents-size", too_large_message(size, bound), size=size, bound=bound
            )
        self._hdss_hold = True
        try:
            await super().get(path)  # the model comes to _finish_model, held there
        finally:
            self._hdss_hold = False
        model, self._hdss_held = self._hdss_held, None
        if model is None:
            return  # an error was answered already
        if model.get("type") in ("file", "notebook"):
            if (size := read_refusal(model, bound)) is not None:  # grew since the check
                await self.guard.refuse(
                    self, "contents-size", too_large_message(size, bound), size=size, bound=bound
                )
            await self.guard.read(path.strip("/"), model)
        super()._finish_model(model, location=False)

    def _finish_model(self, model, location=True):
        if self._hdss_hold:
            self._hdss_held = model
            return
        super()._finish_model(model, location)


def secure_handlers(base_url: str) -> list[tuple]:
    """The routes the guard takes over; added before the server's own, so they win."""
    routes: list[tuple] = [
        (r"/files/(?P<path>.*)", RefusedRoute, {"route": "files"}),
        (r"/nbconvert/(?P<path>.*)", RefusedRoute, {"route": "nbconvert"}),
        (r"/view/(?P<path>.*)", RefusedRoute, {"route": "view"}),
    ]
    # The contents routes in the server's order (checkpoints before the catch-all path).
    for pattern, handler, *rest in contents.default_handlers:
        if handler is contents.ContentsHandler:
            handler = SecureContentsHandler
        routes.append((pattern, handler, *rest))
    return [(url_path_join(base_url, pattern), *rest) for pattern, *rest in routes]


def hub_ssl_options(hub_auth) -> Any:
    """The SSL context for the hub's API when the hub uses internal SSL, else None."""
    if not hub_auth.certfile:
        return None
    from jupyterhub.utils import make_ssl_context

    return make_ssl_context(hub_auth.keyfile, hub_auth.certfile, cafile=hub_auth.client_ca)


def load(serverapp) -> None:
    """Guard this server if it is a secure one (``HDSS_PROJECT`` set); else do nothing.

    Any problem raises: the spawner starts secure servers with
    ``--ServerApp.reraise_server_extension_failures=True``, so a guard that cannot be put
    in place stops the server instead of leaving it open.
    """
    settings = SecureSettings.from_env(os.environ)
    if settings is None:
        return
    provider = serverapp.identity_provider
    if not hasattr(provider, "hub_auth"):
        raise RuntimeError(
            "hdss_secure guards only servers started by jupyterhub-singleuser "
            f"(the identity provider is {type(provider).__name__})"
        )
    reporter = HubReporter(settings.api_url, settings.api_token, hub_ssl_options(provider.hub_auth))
    guard = Guard(settings, reporter, serverapp.log)
    base = type(provider)
    secure = type(base)(f"Secure{base.__name__}", (SecureIdentity, base), {"__module__": __name__})
    provider.__class__ = secure
    provider.hdss_guard = guard
    web_app = serverapp.web_app
    web_app.settings["hdss_secure_guard"] = guard
    # jupyterhub-singleuser sets the hook to the provider's method too (it may load later).
    web_app.settings["page_config_hook"] = provider.page_config_hook
    web_app.add_handlers(".*$", secure_handlers(web_app.settings["base_url"]))
    serverapp.log.info(
        "hdss_secure: secure server of project %s; only %s's browser session is served, "
        "downloads are off, non-notebook reads up to %d bytes, every read audited",
        settings.project,
        settings.owner,
        settings.max_read_bytes,
    )
