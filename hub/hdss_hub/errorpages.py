"""Error pages that say what happened, and where to go next.

Two parts:

- ``error_page``: the heading, message and next link of ``templates/error.html``, from the
  status code, the message, the exception and (for the proxy's errors) what the hub found
  out about the server. A page is about the login service only when the login raised it
  (an exception tagged ``hdss_kind = "login"``, or OAuth's own 400), about the container
  engine when the engine does not answer, about the user's server when the proxy could
  not reach it; anything else gets a heading for its status and the message below.
- ``ServerErrorHandler``: the page the proxy shows when a user's server does not answer
  (configurable-http-proxy asks the hub for ``/hub/error/503?url=<the request>``).
  JupyterHub's own handler says "Your server appears to be down" whatever happened, and
  the hub keeps believing the server runs until its next poll (up to 30 s), so "Start"
  only loops back to the dead route. This handler polls that one server: a stopped one
  is cleaned up at once (route and state, as the periodic poll would) and the page offers
  "Start it again" with the spawn URL; an engine that does not answer is named as such;
  a running server that did not answer is said to be busy.

The proxy's request carries no credentials, so anyone may ask about any ``/user/`` URL; the
page then tells no more than the proxy's 503 already did, and the only action is the poll
the hub runs every 30 s anyway, done at most once per ``POLL_EVERY`` seconds per server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote, unquote, urlencode

from hdss_spawner.engine import engine_unreachable

log = logging.getLogger(__name__)

POLL_EVERY = 5.0  # seconds: the proxy's error page polls one server at most this often
POLL_TIMEOUT = 15.0  # seconds to wait for the engine's answer about one container

LOGIN = "login"
ENGINE = "engine"
SERVER_STOPPED = "server-stopped"
SERVER_NOT_ANSWERING = "server-not-answering"
SERVER_STARTING = "server-starting"

GENERIC_TITLES = {
    400: "This request is not valid",
    403: "Not allowed",
    404: "Not found",
    500: "Something went wrong on our side",
    502: "A service the sandbox uses gave a wrong answer",
    503: "A service the sandbox needs is not available",
}
LOGIN_TITLES = {
    400: "This login link is not valid",
    403: "The login service refused this login",
    502: "The login service is misconfigured",
    503: "The login service is not answering",
}
ENGINE_TITLE = "The container engine is not answering"
ENGINE_MESSAGE = (
    "Servers cannot be started or reached right now: the sandbox's container engine "
    "(Docker) does not answer. Your files are safe in your home folder. Try again in a few "
    "minutes; if it persists, tell the sandbox operator."
)
SERVER_TITLES = {
    SERVER_STOPPED: "Your server has stopped",
    SERVER_NOT_ANSWERING: "Your server is not answering",
    SERVER_STARTING: "Your server is starting or stopping",
}
SERVER_MESSAGES = {
    SERVER_STOPPED: (
        "Your server {server} is no longer running: it was stopped outside the sandbox "
        "(for example when the host or its container engine restarted). Your files are "
        "safe in your home folder. Start it again and you are back where you saved."
    ),
    SERVER_NOT_ANSWERING: (
        "Your server {server} is running but did not answer; it may be busy. Reload this "
        "page in a moment. If it keeps happening, stop it and start it again from the home "
        "page (your files are safe in your home folder)."
    ),
    SERVER_STARTING: (
        "Your server {server} is starting or stopping right now. Follow it from the home "
        "page; your files are safe in your home folder."
    ),
}
SHORT = 60  # a status message longer than this is a sentence for below the heading


def error_kind(status_code: int, message: str, exception: BaseException | None) -> str:
    """What a hub page's error is about: login, engine, or '' (its status says enough)."""
    kind = getattr(exception, "hdss_kind", "")
    if kind:
        return kind
    if engine_unreachable(exception):
        return ENGINE
    if status_code == 400 and "oauth" in (message or "").lower():  # OAuth's state checks
        return LOGIN
    return ""


def error_page(
    status_code: int,
    status_message: str = "",
    message: str = "",
    exception: BaseException | None = None,
    kind: str = "",
    *,
    base_url: str = "/hub/",
    user: Any = None,
    server: str = "",
    next_url: str = "",
) -> dict[str, str]:
    """The page's ``title``, ``message`` (plain text, '' to keep the hub's) and the
    ``next_url``/``next_text`` link below it."""
    kind = kind or error_kind(status_code, message, exception)
    home = f"{base_url}home"
    login = f"{base_url}login"
    page = {"title": "", "message": "", "next_url": "", "next_text": ""}
    if kind in SERVER_TITLES:
        page["title"] = SERVER_TITLES[kind]
        label = f"“{server}”" if server else ""
        page["message"] = " ".join(SERVER_MESSAGES[kind].format(server=label).split())
        if kind == SERVER_STOPPED and next_url:
            page.update(next_url=next_url, next_text="Start your server again")
        else:
            page.update(next_url=home, next_text="Go to the home page")
        return page
    if kind == ENGINE:
        page.update(title=ENGINE_TITLE, message=ENGINE_MESSAGE)
        page.update(next_url=home, next_text="Go to the home page")
        return page
    if kind == LOGIN:
        page["title"] = LOGIN_TITLES.get(status_code, GENERIC_TITLES.get(status_code, ""))
        page.update(next_url=login, next_text="Back to the login page")
        return page
    short = status_message and len(status_message) <= SHORT
    if short and status_code not in (403, 502, 503):
        page["title"] = status_message
    else:
        page["title"] = GENERIC_TITLES.get(status_code, status_message or "Error")
    if status_code == 403 and user is None:  # refused at login
        page.update(next_url=login, next_text="Back to the login page")
    return page


# -- the proxy's error page -------------------------------------------------------------


def server_of_url(url: str, base_url: str = "/") -> tuple[str, str] | None:
    """(user name, second path segment or '') of a ``<base_url>user/<name>/...`` URL."""
    path = url.split("?", 1)[0]
    prefix = f"{base_url.rstrip('/')}/user/"
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix) :].split("/")
    name = unquote(parts[0])
    if not name:
        return None
    second = unquote(parts[1]) if len(parts) > 1 else ""
    return name, second


def spawn_url(base_url: str, user_name: str, server_name: str, next_path: str) -> str:
    """The hub's spawn page for this server, coming back to ``next_path`` once it runs."""
    path = f"{base_url}spawn/{quote(user_name, safe='')}"
    if server_name:
        path += f"/{quote(server_name, safe='')}"
    return f"{path}?{urlencode({'next': next_path})}" if next_path else path


_last_poll: dict[tuple[str, str], tuple[float, str]] = {}
_in_flight: dict[tuple[str, str], asyncio.Task] = {}


def make_handler():
    """``ServerErrorHandler``, built on JupyterHub's handler when the hub imports it."""
    from jupyterhub.handlers.pages import ProxyErrorHandler

    class ServerErrorHandler(ProxyErrorHandler):
        """The proxy's error page, knowing what happened to the server it could not reach."""

        async def get(self, status_code_s):
            status_code = int(status_code_s)
            url = self.get_argument("url", "")
            found = server_of_url(url, self.base_url) if status_code == 503 else None
            user = self.find_user(found[0]) if found else None
            if user is None:
                return await super().get(status_code_s)
            name, second = found
            server_name = second if second in user.orm_user.orm_spawners else ""
            kind = await self.what_happened(user, server_name)
            page = error_page(
                status_code,
                kind=kind,
                base_url=self.hub.base_url,
                server=server_name or "",
                next_url=spawn_url(self.hub.base_url, user.name, server_name, url),
            )
            self.set_header("Content-Type", "text/html")
            html = await self.render_template(
                "error.html",
                status_code=status_code,
                status_message=page["title"],
                message=page["message"],
                message_html="",
                logo_url=f"{self.hub.base_url}home",
                hdss_kind=kind,
                hdss_next_url=page["next_url"],
            )
            self.write(html)

        async def what_happened(self, user, server_name: str) -> str:
            """Ask the engine about this one server (at most every POLL_EVERY seconds)."""
            key = (user.name, server_name)
            spawner = user.spawners[server_name]
            if spawner.pending:
                return SERVER_STARTING
            if not spawner.active:
                return SERVER_STOPPED
            last = _last_poll.get(key)
            if last and time.monotonic() - last[0] < POLL_EVERY:
                return last[1]
            task = _in_flight.get(key)
            if task is None:
                task = asyncio.ensure_future(self._poll(user, server_name))
                _in_flight[key] = task
                task.add_done_callback(lambda _: _in_flight.pop(key, None))
            kind = await asyncio.shield(task)
            if kind == SERVER_NOT_ANSWERING:  # the one answer worth keeping a few seconds
                _last_poll[key] = (time.monotonic(), kind)
            return kind

        async def _poll(self, user, server_name: str) -> str:
            spawner = user.spawners[server_name]
            try:
                status = await asyncio.wait_for(spawner.poll(), POLL_TIMEOUT)
            except Exception as e:  # the engine did not answer, or answered an error
                self.log.warning("error page: polling %s failed: %r", spawner._log_name, e)
                return (
                    ENGINE
                    if engine_unreachable(e) or isinstance(e, TimeoutError)
                    else (SERVER_NOT_ANSWERING)
                )
            if status is None:
                return SERVER_NOT_ANSWERING
            self.log.warning(
                "error page: %s is not running (%s); cleaning it up", spawner._log_name, status
            )
            if spawner.active and not spawner.pending:
                await self.user_stopped(user, server_name)
            return SERVER_STOPPED

    return ServerErrorHandler


def install_handler() -> None:
    """Put ``ServerErrorHandler`` in place of JupyterHub's at ``/error/<code>``.

    JupyterHub adds ``extra_handlers`` after its own, so the first match would stay its
    handler; the list of default handlers is read when the hub starts, after the config
    file ran, so replacing the entry there is enough. Idempotent.
    """
    import jupyterhub.handlers as hub_handlers
    from jupyterhub.handlers.pages import ProxyErrorHandler

    ours = make_handler() if not hasattr(install_handler, "handler") else install_handler.handler
    install_handler.handler = ours
    for i, entry in enumerate(hub_handlers.default_handlers):
        route, handler = entry[0], entry[1]
        if route == r"/error/(\d+)" and (
            handler is ProxyErrorHandler or handler.__name__ == "ServerErrorHandler"
        ):
            hub_handlers.default_handlers[i] = (route, ours, *entry[2:])
            return
    raise RuntimeError("JupyterHub's /error/<code> handler was not found; cannot replace it")
