"""The embedded first-run login, where nobody can borrow another person's identity.

JupyterHub's SharedPasswordAuthenticator lets anyone who knows the shared password log in
under any name. Here the shared password opens only ordinary accounts in the default
(student) group:

* everyone the settings name as an admin or as a member of any other group (researchers,
  stewards, instructors...) has a personal password, generated into a file of mode 0600
  of their own (``<state_dir>/secrets/passwords/<username>``), and the shared password
  never opens their account;
* an account that has since been given a group or admin rights in the hub's database
  is refused with the shared password too (deny by default).

University single sign-on (``auth.kind: oidc``) is the login for anything public; the hub
refuses to start with the first-run login on a non-loopback address while the ledger or
the promotion service is on (see :func:`check_exposure`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from hmac import compare_digest
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from traitlets import Dict, List, Unicode

from .settings import SettingsError

PASSWORDS_DIR = "passwords"
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class FirstRunAuthenticator(SharedPasswordAuthenticator):
    """Shared password for students; a personal password for everyone with more rights."""

    personal_passwords = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        config=True,
        help="""Username -> personal password of the users who may not use the shared
        password: admins and members of any group other than default_groups.""",
    )
    default_groups = List(
        Unicode(),
        config=True,
        help="Groups a shared-password account may belong to (the student group).",
    )

    async def authenticate(self, handler, data):
        username = self.normalize_username(data.get("username") or "")
        password = data.get("password") or ""
        own = self.personal_passwords.get(username)
        if own is not None:
            if compare_digest(password.encode(), own.encode()):
                return {"name": username, "admin": username in self.admin_users}
            self.log.warning("first-run login refused for %s: wrong personal password", username)
            return None
        if not self.user_password or not compare_digest(
            password.encode(), self.user_password.encode()
        ):
            return None
        reason = self.shared_password_refusal(username, handler)
        if reason:
            self.log.warning("first-run login refused for %s: %s", username, reason)
            return None
        return {"name": username, "admin": False}

    def shared_password_refusal(self, username: str, handler: Any) -> str:
        """Why the shared password may not open ``username`` ('' when it may)."""
        if username in self.admin_users:
            return "an admin logs in with a personal password"
        user = handler.find_user(username) if handler is not None else None
        if user is None:
            return ""
        if user.admin:
            return "the account has admin rights"
        extra = sorted({g.name for g in user.groups} - set(self.default_groups))
        if extra:
            return f"the account is in group(s) {', '.join(extra)}"
        return ""


def privileged_users(settings: Mapping[str, Any]) -> list[str]:
    """Admins and members of every group but the default ones, as the settings name them."""
    default = set(settings["auth"].get("default_groups", []))
    names = set(settings["hub"].get("admin_users", []))
    for group, members in (settings.get("groups") or {}).items():
        if group not in default:
            names.update(members)
    return sorted(names)


def password_file(state_dir: str | Path, username: str) -> Path:
    """Where ``username``'s personal password is kept (the name is checked: no paths)."""
    if username != "USERNAME" and not USERNAME_RE.fullmatch(username):
        raise SettingsError(
            f"the user name {username!r} in the settings is not a valid hub user name "
            "(lower-case letters, digits, '.', '_' or '-', starting with a letter or digit)"
        )
    return Path(state_dir, "secrets", PASSWORDS_DIR, username)


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Mapping[str, Any], services_on: Iterable[str]) -> str:
    """A refusal message when the first-run login would guard restricted data in public."""
    on = [s for s in services_on if s]
    if settings["auth"]["kind"] != "firstrun" or not on or is_loopback(settings["hub"]["bind_url"]):
        return ""
    return (
        f"hub.bind_url {settings['hub']['bind_url']} is not a loopback address, and the "
        f"first-run login (auth.kind: firstrun) must not guard the {' and '.join(on)} "
        "service(s) in public: use university single sign-on (auth.kind: oidc), or bind "
        "the hub to 127.0.0.1 behind the TLS front for a trial"
    )
