"""What a secure server refuses and what it reports, as plain functions (no Jupyter imports).

A secure server is opened only by its owner's browser session, which the hub's OAuth
gives. Everything here decides from plain values, so the rules are tested without a
Jupyter server; ``hdss_secure.extension`` applies them to requests.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Used when the spawner sets no bound: never "no bound at all".
DEFAULT_MAX_READ_BYTES = 1024 * 1024

# JupyterLab plugins that download or export a document (the server refuses the routes
# they call as well; hiding them only spares the researcher a refusal).
DISABLED_LAB_PLUGINS = (
    "@jupyterlab/docmanager-extension:download",  # File > Download
    "@jupyterlab/filebrowser-extension:download",  # file browser: Download, Copy Download Link
    "@jupyterlab/notebook-extension:export",  # File > Save and Export Notebook As
)

AIRLOCK = (
    "Results leave a secure server only through the airlock: promote the notebook at "
    "/services/promotion/ and a data steward reviews what it makes."
)
TOKEN_REFUSED = (
    "Secure servers accept only the browser session of the project's member, opened from "
    "the hub's home page: API tokens are refused here."
)
DOWNLOAD_REFUSED = "Downloads and exports are turned off in secure servers. " + AIRLOCK


def not_owner_message(requester: str, owner: str, project: str) -> str:
    return (
        f"Secure servers are for the project's members only: this is {owner}'s server of "
        f"project {project}, and {requester} cannot open it (hub admins and shared access "
        "are refused too)."
    )


def too_large_message(size: int, bound: int) -> str:
    return (
        f"This file is {size} bytes; a secure server shows files of up to {bound} bytes "
        f"in the browser (notebooks are not limited). {AIRLOCK}"
    )


@dataclass(frozen=True)
class SecureSettings:
    """The secure server's identity and bounds, from the environment the spawner sets."""

    project: str
    owner: str
    server_name: str
    api_url: str
    api_token: str
    max_read_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SecureSettings | None:
        """None on a sandbox server (no ``HDSS_PROJECT``); ValueError if a value is missing."""
        project = env.get("HDSS_PROJECT", "")
        if not project:
            return None
        needed = ("JUPYTERHUB_USER", "JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN")
        missing = [name for name in needed if not env.get(name)]
        if missing:
            raise ValueError(f"a secure server needs {', '.join(missing)} in its environment")
        bound = env.get("HDSS_SECURE_MAX_READ_BYTES", "")
        try:
            max_read = int(bound) if bound else DEFAULT_MAX_READ_BYTES
        except ValueError:
            raise ValueError(f"HDSS_SECURE_MAX_READ_BYTES is not a number: {bound!r}") from None
        if max_read < 0:
            raise ValueError("HDSS_SECURE_MAX_READ_BYTES must not be negative")
        return cls(
            project=project,
            owner=env["JUPYTERHUB_USER"],
            server_name=env.get("JUPYTERHUB_SERVER_NAME", ""),
            api_url=env["JUPYTERHUB_API_URL"].rstrip("/"),
            api_token=env["JUPYTERHUB_API_TOKEN"],
            max_read_bytes=max_read,
        )


_AUTH_SCHEME = re.compile(r"\s*(\S+)")


def presented_credential(headers: Mapping[str, str], query: Mapping[str, Any]) -> str:
    """What kind of credential a request presents besides the session cookie ('' if none).

    Any ``Authorization`` header and any ``token`` URL parameter counts: a secure server
    takes no API token, whoever it belongs to.
    """
    auth = headers.get("Authorization", "")
    if auth.strip():
        scheme = _AUTH_SCHEME.match(auth)
        return f"an Authorization header ({scheme.group(1).lower() if scheme else 'empty'})"
    if "token" in query:
        return "a token URL parameter"
    return ""


def requested_type(value: str | None) -> str | None:
    """The contents API's ``type`` argument as jupyter_server reads it."""
    if value not in {None, "directory", "file", "notebook"}:
        return "file"
    return value


def content_bytes(model: Mapping[str, Any]) -> int:
    """How many bytes of a file a contents model carries (its content, else its size)."""
    content = model.get("content")
    if isinstance(content, str):
        if model.get("format") == "base64":  # jupyter_server wraps the lines
            encoded = "".join(content.split())
            return len(encoded) * 3 // 4 - encoded[-2:].count("=")
        return len(content.encode("utf-8", "surrogatepass"))
    if content is not None:
        return len(json.dumps(content))
    size = model.get("size")
    return int(size) if isinstance(size, int) else 0


def read_refusal(model: Mapping[str, Any], bound: int) -> int | None:
    """The size that makes a read of ``model`` too large, else None.

    Notebooks are shown whole (they are the work); any other file only up to ``bound``.
    """
    if model.get("type") != "file":
        return None
    size = max(content_bytes(model), model.get("size") or 0)
    return size if size > bound else None


def lab_page_config(page_config: dict[str, Any]) -> dict[str, Any]:
    """JupyterLab's page config for a secure server: no token, download plugins off.

    Without a token in the page JupyterLab authenticates with the session cookie and the
    XSRF cookie (and the cookie on its websockets), never with an Authorization header.
    """
    page_config["token"] = ""
    disabled = page_config.get("disabledExtensions") or []
    if isinstance(disabled, dict):  # some versions keep {name: bool}
        disabled = [name for name, off in disabled.items() if off]
    page_config["disabledExtensions"] = sorted(set(disabled) | set(DISABLED_LAB_PLUGINS))
    return page_config
