"""Audit reports from a secure server to the hub.

The server posts each read and each refusal to the hub's endpoint
``<JUPYTERHUB_API_URL>/hdss/secure-audit`` with its own ``JUPYTERHUB_API_TOKEN``; the hub
checks that the token is this server's and appends the entry to the audit log (see
``hdss_hub.secure_audit``). A read is answered only once its entry is written.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

ENDPOINT = "hdss/secure-audit"
TIMEOUT = 60.0  # the hub may wait up to 30 s for the audit database's write lock

log = logging.getLogger("hdss_secure")


class ReportError(Exception):
    """The hub did not write the entry; ``busy`` when it refused for the rate limit."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


class HubReporter:
    """Posts audit reports to the hub with the server's own API token."""

    def __init__(self, api_url: str, api_token: str, ssl_options: Any = None) -> None:
        self.url = f"{api_url.rstrip('/')}/{ENDPOINT}"
        self.api_token = api_token
        self.ssl_options = ssl_options

    async def send(self, report: dict[str, Any]) -> None:
        """Write one entry; ReportError if the hub did not."""
        request = HTTPRequest(
            self.url,
            method="POST",
            headers={
                "Authorization": f"token {self.api_token}",
                "Content-Type": "application/json",
            },
            body=json.dumps(report),
            request_timeout=TIMEOUT,
            ssl_options=self.ssl_options,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as e:  # no answer, or none in time
            raise ReportError(f"the hub did not answer: {e}") from e
        if response.code == 429:
            raise ReportError("the hub's audit rate limit for this server is reached", busy=True)
        if response.code != 201:
            raise ReportError(f"the hub answered {response.code}: {response.body[:200]!r}")
