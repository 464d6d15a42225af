"""The few JupyterHub REST API calls the ledger service makes, with its own token.

Scopes used (see README-ledger.md): ``list:users`` + ``read:users:name`` to list usernames,
``read:servers`` to see running servers, ``read:users:groups`` to see their owners' groups,
``delete:servers`` to stop secure ones.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from hdss_common.errors import HdssError
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import url_concat

log = logging.getLogger(__name__)
PAGINATION = "application/jupyterhub-pagination+json"


class HubAPIError(HdssError):
    """The hub API could not be reached or refused the call."""


class HubAPI:
    """Async client of the hub API at ``api_url`` (``$JUPYTERHUB_API_URL``)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        page_size: int = 200,
        users_cache_seconds: float = 30.0,
        request_timeout: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.page_size = page_size
        self.users_cache_seconds = users_cache_seconds
        self.request_timeout = request_timeout
        self._user_cache: tuple[float, frozenset[str]] | None = None

    async def _call(
        self, method: str, path: str, params: dict | None = None, accept: str = "application/json"
    ) -> tuple[int, Any]:
        url = url_concat(f"{self.api_url}{path}", params or {})
        req = HTTPRequest(
            url,
            method=method,
            request_timeout=self.request_timeout,
            headers={"Authorization": f"token {self.token}", "Accept": accept},
        )
        try:
            resp = await AsyncHTTPClient().fetch(req, raise_error=False)
        except (OSError, HTTPClientError) as e:
            raise HubAPIError(f"hub API {method} {path} failed: {e}") from e
        body = json.loads(resp.body) if resp.body else None
        if resp.code >= 400 and resp.code != 404:
            message = body.get("message") if isinstance(body, dict) else resp.reason
            raise HubAPIError(f"hub API {method} {path}: {resp.code} {message}")
        return resp.code, body

    async def _users(self, **params: Any) -> AsyncIterator[dict]:
        offset = 0
        while True:
            _, page = await self._call(
                "GET",
                "/users",
                {**params, "offset": offset, "limit": self.page_size},
                accept=PAGINATION,
            )
            if isinstance(page, list):  # a hub without pagination support
                for user in page:
                    yield user
                return
            for user in page["items"]:
                yield user
            nxt = (page.get("_pagination") or {}).get("next")
            if not nxt:
                return
            offset = nxt["offset"]

    async def usernames(self) -> frozenset[str]:
        """Every hub username (cached for ``users_cache_seconds``)."""
        now = time.monotonic()
        if self._user_cache and now - self._user_cache[0] < self.users_cache_seconds:
            return self._user_cache[1]
        names = frozenset([u["name"] async for u in self._users()])
        self._user_cache = (now, names)
        return names

    async def running_servers(self) -> list[tuple[str, str, dict, frozenset[str]]]:
        """``(username, server_name, server_model, user's groups)`` of every active server."""
        out = []
        async for user in self._users(state="active"):
            groups = frozenset(user.get("groups") or ())
            for name, server in (user.get("servers") or {}).items():
                out.append((user["name"], name, server, groups))
        return out

    async def stop_server(self, username: str, server_name: str) -> int:
        """Ask the hub to stop a named server; returns the status (202/204 ok, 404 gone)."""
        code, _ = await self._call(
            "DELETE", f"/users/{quote(username, safe='')}/servers/{quote(server_name, safe='')}"
        )
        return code
