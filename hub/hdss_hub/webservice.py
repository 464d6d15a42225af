"""What the hub's tornado services (ledger, promotion) share: handler bases and start-up.

Both run as JupyterHub managed services: authentication is JupyterHub's
(``HubOAuthenticated``), callers are classified with :mod:`hdss_common.access`, every
denial of an identified caller is an audit entry, the REST API answers JSON (errors as
``{"status": ..., "message": ...}``) and the service listens where the hub tells it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from hdss_common.access import Caller, caller_from_model
from hdss_common.db import DB_ENV
from hdss_common.errors import HdssError
from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.ioloop import IOLoop
from traitlets import List, Unicode, default
from traitlets.config import Application


async def run_blocking(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call (database, Docker) in the default executor."""
    return await IOLoop.current().run_in_executor(None, partial(fn, *args, **kwargs))


# -- handlers -----------------------------------------------------------------------------


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """Base of a service's authenticated handlers; ``ctx`` is the service's shared state
    (it has at least ``prefix`` and ``steward_group``)."""

    #: what stewards alone may do, ending "only data stewards (...) may ..."
    steward_action: ClassVar[str] = "do this"

    def initialize(self, ctx: Any) -> None:
        self.ctx = ctx

    @property
    def caller(self) -> Caller | None:
        """Who calls, or None for anonymous and unknown callers."""
        return caller_from_model(self.current_user, self.ctx.steward_group)

    @property
    def audit(self) -> Any:
        """The audit log denials go to (an :class:`hdss_hub.audit.AuditLog`)."""
        raise NotImplementedError

    async def blocking(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking call off the event loop."""
        return await run_blocking(fn, *args, **kwargs)

    async def deny(self, status: int, target: str, reason: str) -> None:
        """Audit the denial (for an identified caller) and refuse."""
        caller = self.caller
        if caller is not None:
            await run_blocking(
                self.audit.append,
                caller.name,
                "access.denied",
                target,
                "denied",
                method=self.request.method,
                path=self.request.path,
                role=caller.role,
                reason=reason,
            )
        raise web.HTTPError(status, "%s", reason)

    async def require_steward(self, target: str) -> Caller:
        """The caller, if a data steward; otherwise an audited 403."""
        caller = self.caller
        if caller is None or not caller.steward:
            await self.deny(
                403,
                target,
                "only data stewards (group "
                f"'{self.ctx.steward_group}' or scope custom:ledger:write) may "
                f"{self.steward_action}",
            )
        return caller  # type: ignore[return-value]

    def error_message(self, **kwargs: Any) -> str:
        """The message of the error being written: the HTTPError's text, else the reason."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            return exc.log_message % exc.args if exc.args else exc.log_message
        return self._reason


class ApiHandler(ServiceHandler):
    """Base of the REST API: JSON in and out, callers must be known."""

    #: the 422 message for a body that is JSON but not an object; ``{type}`` is its type
    not_object: ClassVar[str] = "the request body must be a JSON object, not {type}"

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        if self.caller is None:
            raise web.HTTPError(
                403,
                "authentication required: send 'Authorization: token "
                "<your hub API token>' or log in to the hub",
            )

    def error_body(self, status_code: int, **kwargs: Any) -> dict[str, Any]:
        """The JSON body of an error answer."""
        return {"status": status_code, "message": self.error_message(**kwargs)}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.error_body(status_code, **kwargs)))

    def send(self, data: Any, status: int = 200) -> None:
        """Answer ``data`` as JSON."""
        self.set_status(status)
        self.finish(json.dumps(data))

    def body(self) -> dict[str, Any]:
        """The request body, which must be a JSON object (400 if not JSON, 422 if no object)."""
        try:
            data = json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPError(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPError(422, self.not_object.format(type=type(data).__name__))
        return data

    def int_arg(self, name: str, low: int, high: int) -> int | None:
        """An optional integer query parameter from ``low`` to ``high`` (400 otherwise)."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return None
        if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
            raise web.HTTPError(
                400, f"query parameter {name} must be an integer from {low} to {high}"
            )
        return int(raw)


class ApiNotFound(ApiHandler):
    """Any other ``api/`` path: a JSON 404 pointing at the API description."""

    def prepare(self) -> None:
        raise web.HTTPError(
            404,
            f"no such API endpoint: {self.request.method} "
            f"{self.request.path}; see {self.ctx.prefix}api/openapi.json",
        )


class OpenAPIHandler(web.RequestHandler):
    """The API description; public (it says what the API accepts, nothing about data).
    Subclasses set ``spec`` (a function of the API's URL prefix)."""

    spec: ClassVar[Callable[[str], dict[str, Any]]]

    def initialize(self, ctx: Any) -> None:
        self.ctx = ctx

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(type(self).spec(self.ctx.prefix + "api")))


class PageHandler(ServiceHandler):
    """Base of the pages (templates from the application's ``template_path``)."""

    def render_page(self, template: str, status: int = 200, **kwargs: Any) -> None:
        self.set_status(status)
        self.render(template, caller=self.caller, prefix=self.ctx.prefix, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.render(
            "error.html",
            caller=None,
            prefix=self.ctx.prefix,
            status=status_code,
            message=self.error_message(**kwargs),
        )


def make_app(
    ctx: Any,
    handlers: list[tuple[str, type]],
    templates: Path,
    *,
    auth_mixin: type | None = None,
    **settings: Any,
) -> web.Application:
    """The tornado application: ``handlers`` (patterns relative to ``ctx.prefix``) and the
    OAuth callback. ``auth_mixin`` (tests only) is put in front of every handler that
    authenticates, replacing how the caller is identified."""
    prefix = ctx.prefix
    routes: list[tuple] = []
    for pattern, handler in handlers:
        if auth_mixin is not None and issubclass(handler, ServiceHandler):
            handler = type(handler.__name__, (auth_mixin, handler), {})
        routes.append((prefix + pattern + "/?" if pattern else prefix + "?", handler, {"ctx": ctx}))
    if auth_mixin is None:
        routes.append((prefix + "oauth_callback", HubOAuthCallbackHandler))
    settings.setdefault("cookie_secret", os.urandom(32))
    return web.Application(routes, template_path=str(templates), **settings)


# -- start-up -----------------------------------------------------------------------------


class ConfigError(HdssError):
    """The service cannot start; the message names the setting to fix."""


#: seconds that blocking calls under way (database, Docker) get to finish after SIGTERM
STOP_GRACE = 5.0


class HubService(Application):
    """A managed service on the ledger's database; subclasses add settings and ``start``,
    which ends by calling :meth:`run`."""

    #: URL prefix when the hub gives none
    default_prefix: ClassVar[str] = "/"
    #: what to say when a hub variable is missing ("$X is not set: <this>")
    not_managed: ClassVar[str] = "the service runs as a JupyterHub managed service"
    #: largest request body accepted
    max_body: ClassVar[int] = 1024 * 1024
    #: send the ``hdss_hub`` loggers to the application's log handler
    log_to_app: ClassVar[bool] = False

    db_url = Unicode(help=f"SQLAlchemy URL of the ledger database (default ${DB_ENV})").tag(
        config=True
    )
    service_prefix = Unicode(help="URL prefix ($JUPYTERHUB_SERVICE_PREFIX)").tag(config=True)
    http_servers = List(help="the HTTP servers :meth:`listen` started")

    @default("db_url")
    def _db_url_default(self) -> str:
        return os.environ.get(DB_ENV, "")

    @default("service_prefix")
    def _prefix_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", self.default_prefix)

    def require_db(self) -> str:
        """The database URL (ConfigError if none)."""
        if not self.db_url:
            raise ConfigError(f"no database: set ${DB_ENV} or --db-url")
        return self.db_url

    def require_env(self, name: str) -> str:
        """An environment variable the hub sets (ConfigError if missing)."""
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"${name} is not set: {self.not_managed}")
        return value

    def bind_address(self) -> tuple[str, int]:
        """Where to listen: ``$JUPYTERHUB_SERVICE_URL``'s host (127.0.0.1) and port (80)."""
        bind = urlparse(self.require_env("JUPYTERHUB_SERVICE_URL"))
        return bind.hostname or "127.0.0.1", bind.port or 80

    def listen(self, app: web.Application, address: str, port: int) -> None:
        """Serve ``app`` (behind the hub's proxy, so trusting its X-headers)."""
        self.http_servers.append(
            app.listen(port, address, max_body_size=self.max_body, xheaders=True)
        )

    def run(self, *executors: Executor) -> None:
        """Serve until SIGINT or SIGTERM, then stop within :data:`STOP_GRACE` seconds.

        The hub stops a managed service with SIGINT (SIGTERM 30 s later), and a service
        started from a background shell inherits SIGINT *ignored*: both are handled here,
        whatever was inherited. On either, the service stops listening, lets blocking calls
        under way (the event loop's executor and ``executors``: their queued work is
        dropped) finish for up to :data:`STOP_GRACE` seconds and exits; work still running
        then is cut off (a promotion run is failed, and its container removed, at the next
        start: ``Airlock.recover``).
        """
        ioloop = IOLoop.current()
        loop = ioloop.asyncio_loop  # type: ignore[attr-defined]
        blocking = ThreadPoolExecutor(thread_name_prefix=f"{self.name}-blocking")
        loop.set_default_executor(blocking)

        def on_signal(signum: int) -> None:
            self.log.info("%s: stopping", signal.Signals(signum).name)
            for server in self.http_servers:
                server.stop()
            loop.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        ioloop.start()
        for executor in (blocking, *executors):
            executor.shutdown(wait=False, cancel_futures=True)

        def cut_off() -> None:  # the interpreter's exit waits for running work: not long
            self.log.warning("work still running after %s s is cut off", STOP_GRACE)
            logging.shutdown()
            os._exit(0)

        watchdog = threading.Timer(STOP_GRACE, cut_off)
        watchdog.daemon = True
        watchdog.start()
        self.log.info("stopped")

    @classmethod
    def main(cls, argv: list[str] | None = None) -> None:
        """Parse the arguments, set up logging and start; exit 2 on a ConfigError."""
        app = cls()
        app.initialize(argv)
        hdss_log = logging.getLogger("hdss_hub")
        hdss_log.setLevel(app.log_level)
        if cls.log_to_app and not hdss_log.handlers:
            hdss_log.addHandler(
                app.log.handlers[0] if app.log.handlers else logging.StreamHandler()
            )
        try:
            app.start()
        except ConfigError as e:
            app.log.critical("%s", e)
            sys.exit(2)
