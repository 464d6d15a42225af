"""University single sign-on: OpenID Connect through OAuthenticator's GenericOAuthenticator.

Choices (see also the README's configuration section):

- **Groups follow the identity provider.** In ``auth.kind: oidc`` the authenticator manages
  hub groups (``manage_groups = True``): at every login the user's hub groups are set to the
  provider groups named in ``auth.oidc.group_map`` (provider group -> hub group), plus any
  hub group the settings' ``groups`` section lists the user in. Hence ``apply_groups`` loads
  no groups in this mode (JupyterHub refuses ``load_groups`` with ``manage_groups``).
- **Deny by default.** A user whose claim holds no recognised group (and whom the settings
  place in no group) is refused at login with a 403 page naming their groups and saying who
  to ask; no hub user or server is created. ``auth.default_groups`` is *not* used to let
  such a user in: it only places users of the first-run login.
- **Admins** are the members of ``auth.oidc.admin_groups``: a hub group after mapping or,
  equivalently, a provider group as the claim spells it.
- **The provider down or misconfigured** gives the user a short page (503 or 502) saying
  what failed and what to do; the details (URL, status, provider's answer) go to the log.
  The login button first checks that the provider answers, so a person never lands on a
  browser "connection refused" page.
- **The client secret** comes from ``client_secret_file`` (mode 0600, read by
  ``secrets.read_secret``) or else the environment variable ``OAUTH_CLIENT_SECRET``;
  never from the settings file itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from hdss_common.secretfiles import read_secret_file as read_secret
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.oauth2 import OAuthLoginHandler
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.web import HTTPError
from traitlets import Dict, Float, Unicode
from traitlets.config import Config

from .settings import SettingsError

SECRET_ENV = "OAUTH_CLIENT_SECRET"
DEFAULT_SCOPE = ["openid", "profile", "email"]
DEFAULT_USERNAME_CLAIM = "preferred_username"
DEFAULT_GROUPS_CLAIM = "groups"
PROBE_TIMEOUT = 5.0


# -- pure helpers --------------------------------------------------------------------------


def claim_groups(user_info: Mapping[str, Any], claim: str) -> list[str]:
    """The provider groups in ``user_info[claim]`` (a list, or one space/comma separated string).

    A dotted claim (``realm_access.roles``) is followed into nested objects.
    """
    value: Any = user_info
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    if isinstance(value, Iterable):
        return [str(g) for g in value if isinstance(g, str | int) and str(g)]
    return []


def map_groups(provider_groups: Iterable[str], group_map: Mapping[str, str]) -> set[str]:
    """The hub groups that the provider groups map to; unknown provider groups are ignored."""
    return {group_map[g] for g in provider_groups if g in group_map}


def static_groups_of(username: str, groups: Mapping[str, Iterable[str]]) -> set[str]:
    """The hub groups the settings' ``groups`` section lists ``username`` in."""
    return {group for group, users in groups.items() if username in set(users)}


def is_admin(
    hub_groups: Iterable[str], provider_groups: Iterable[str], admin_groups: Iterable[str]
) -> bool:
    """True when any hub group or provider group of the user is an admin group."""
    wanted = set(admin_groups)
    return bool(wanted & (set(hub_groups) | set(provider_groups)))


def refusal_message(username: str, provider_groups: Iterable[str]) -> str:
    """What a person without a recognised group reads: their groups, and who to ask."""
    shown = ", ".join(sorted(provider_groups)) or "none"
    return (
        f"Your university account {username} is not in a group this sandbox serves "
        f"(your groups at the university: {shown}). "
        "Students: ask your course teacher to add you to the course group. "
        "Researchers: ask a data steward to add you to the researchers group. "
        "Then log in again."
    )


def client_secret(oidc: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str:
    """The client secret: from ``client_secret_file`` (0600), else env OAUTH_CLIENT_SECRET.

    Raises SettingsError (no secret at all) or SecretFileError (file readable by others).
    """
    env = os.environ if env is None else env
    path = oidc.get("client_secret_file")
    if path:
        if not Path(path).is_file():
            raise SettingsError(
                f"auth.oidc.client_secret_file {path} does not exist: write the client secret "
                f"the identity provider issued into it (chmod 600), or unset the key and "
                f"export {SECRET_ENV}"
            )
        return read_secret(Path(path))
    value = env.get(SECRET_ENV, "").strip()
    if not value:
        raise SettingsError(
            "auth.kind is oidc but no client secret is configured: set "
            f"auth.oidc.client_secret_file (a file of mode 0600) or export {SECRET_ENV}"
        )
    return value


def callback_url(settings: Mapping[str, Any]) -> str:
    """``auth.oidc.callback_url``, else the public URL (hub.bind_url) + /hub/oauth_callback."""
    oidc = settings["auth"]["oidc"]
    if oidc.get("callback_url"):
        return oidc["callback_url"]
    return settings["hub"]["bind_url"].rstrip("/") + "/hub/oauth_callback"


def redact(url: str) -> str:
    """A URL fit for logs and pages: no query string, no credentials."""
    parts = urlparse(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunparse(parts._replace(netloc=netloc, query="", fragment=""))


def fetch_problem(url: str, code: int | None, endpoint: str) -> tuple[int, str]:
    """(status, message for the user) when a request to the provider failed.

    ``code`` is the provider's HTTP status, or None when it could not be reached.
    """
    host = urlparse(url).netloc
    if code is None or code == 599:
        return 503, (
            f"The university login service ({host}) does not answer right now, so you cannot "
            "log in. Try again in a few minutes; if it persists, tell the sandbox operator."
        )
    if code in (404, 405):
        return 502, (
            f"The university login service answered {code} at the {endpoint} endpoint: the "
            f"sandbox's login settings (auth.oidc.{endpoint}_url) look wrong. Please tell the "
            "sandbox operator; there is nothing you can fix yourself."
        )
    if code in (400, 401, 403):
        return 403, (
            "The university login service refused this login (the sign-in code was invalid, "
            "expired or already used). Start again from the login page."
        )
    return 502, (
        f"The university login service failed ({code} at the {endpoint} endpoint). "
        "Try again in a few minutes; if it persists, tell the sandbox operator."
    )


def login_error(status: int, message: str) -> HTTPError:
    """An error of the login service: its page is headed as one (hdss_hub.errorpages)."""
    error = HTTPError(status, message)
    error.hdss_kind = "login"
    return error


# -- the authenticator ---------------------------------------------------------------------


class ProbingLoginHandler(OAuthLoginHandler):
    """The "Sign in" button: check the provider answers before sending the browser there."""

    async def get(self):
        problem = await self.authenticator.provider_problem()
        if problem:
            raise login_error(*problem)
        return super().get()


class SandboxOAuthenticator(GenericOAuthenticator):
    """GenericOAuthenticator with the sandbox's group mapping, deny-by-default and clear errors."""

    login_handler = ProbingLoginHandler

    group_map = Dict(
        Unicode(),
        config=True,
        help="""Provider group (as the groups claim spells it) -> hub group.
        Provider groups not listed are ignored; a user left with no hub group is refused.""",
    )
    provider_groups_claim = Unicode(
        DEFAULT_GROUPS_CLAIM,
        config=True,
        help="Claim of the userinfo answer holding the user's groups (dots for nesting).",
    )
    static_groups = Dict(
        config=True,
        help="""Hub group -> usernames, added to the mapped groups at each login
        (the settings' `groups` section).""",
    )
    sandbox_admin_groups = Unicode(
        "",
        config=True,
        help="Space-separated hub or provider groups whose members are hub admins.",
    )
    probe_timeout = Float(
        PROBE_TIMEOUT, config=True, help="Seconds to wait for the provider at the login button."
    )

    async def fetch(self, req: HTTPRequest, label: str = "fetching", parse_json=True, **kwargs):
        """Every call to the provider: failures become a short page, details go to the log."""
        endpoint = "token" if req.url.startswith(self.token_url) else "userdata"
        try:
            return await super().fetch(req, label=label, parse_json=parse_json, **kwargs)
        except HTTPClientError as e:
            status, message = fetch_problem(req.url, e.code, endpoint)
            self.log.error(
                "OIDC %s request %s %s failed: %s", endpoint, req.method, redact(req.url), e
            )
            raise login_error(status, message) from None
        except (OSError, TimeoutError) as e:
            status, message = fetch_problem(req.url, None, endpoint)
            self.log.error("OIDC provider unreachable at %s %s: %s", req.method, redact(req.url), e)
            raise login_error(status, message) from None
        except ValueError as e:  # the answer was not JSON
            self.log.error("OIDC %s answer from %s is not JSON: %s", endpoint, redact(req.url), e)
            raise login_error(*fetch_problem(req.url, 502, endpoint)) from None

    async def provider_problem(self) -> tuple[int, str] | None:
        """None if the authorize endpoint answers; else (status, message for the user)."""
        try:
            resp = await self.http_client.fetch(
                self.authorize_url,
                raise_error=False,
                request_timeout=self.probe_timeout,
                connect_timeout=self.probe_timeout,
                validate_cert=self.validate_server_cert,
                follow_redirects=False,
            )
        except (OSError, TimeoutError, HTTPClientError) as e:
            self.log.error("OIDC provider unreachable at %s: %s", redact(self.authorize_url), e)
            return fetch_problem(self.authorize_url, None, "authorize")
        if resp.code == 599 or resp.code in (404, 405) or resp.code >= 500:
            self.log.error(
                "OIDC authorize endpoint %s answered %s", redact(self.authorize_url), resp.code
            )
            return fetch_problem(self.authorize_url, resp.code, "authorize")
        return None

    def user_info_to_username(self, user_info: dict) -> str:
        """The username claim; a 403 that says which claim is missing instead of a 500."""
        value = user_info.get(self.username_claim) if isinstance(user_info, dict) else None
        if not value or not isinstance(value, str):
            self.log.error(
                "OIDC userinfo has no %r claim (claims present: %s)",
                self.username_claim,
                ", ".join(sorted(user_info or {})),
            )
            raise HTTPError(
                403,
                f"The university login did not say who you are (no {self.username_claim} in "
                "its answer), so the sandbox cannot log you in. Please tell the sandbox "
                "operator.",
            )
        return value

    def get_user_groups(self, auth_state: dict) -> set[str]:
        """Hub groups: the mapped provider groups plus the settings' static memberships."""
        user_info = auth_state.get(self.user_auth_state_key) or {}
        provider = claim_groups(user_info, self.provider_groups_claim)
        username = self.normalize_username(self.user_info_to_username(user_info))
        return map_groups(provider, self.group_map) | static_groups_of(username, self.static_groups)

    async def update_auth_model(self, auth_model: dict) -> dict:
        """Admin from ``sandbox_admin_groups`` (hub or provider groups)."""
        auth_model = await super().update_auth_model(auth_model)
        user_info = auth_model["auth_state"].get(self.user_auth_state_key) or {}
        provider = claim_groups(user_info, self.provider_groups_claim)
        hub_groups = self.get_user_groups(auth_model["auth_state"])
        admin_groups = self.sandbox_admin_groups.split()
        if admin_groups and not auth_model.get("admin"):
            # True or False (not None), so leaving an admin group also revokes admin.
            auth_model["admin"] = is_admin(hub_groups, provider, admin_groups)
        return auth_model

    async def check_allowed(self, username: str, auth_model: dict) -> bool:
        """Deny by default: in at least one hub group (or admin), else a 403 that says why."""
        if auth_model is None:
            return True
        if auth_model.get("admin") or auth_model.get("groups"):
            return True
        user_info = (auth_model.get("auth_state") or {}).get(self.user_auth_state_key) or {}
        provider = claim_groups(user_info, self.provider_groups_claim)
        self.log.warning(
            "Refusing %s: no recognised group in claim %r (provider groups: %s)",
            username,
            self.provider_groups_claim,
            ", ".join(provider) or "none",
        )
        raise HTTPError(403, refusal_message(username, provider))


# -- settings -> config ----------------------------------------------------------------------


def apply_oidc(settings: dict[str, Any], c: Config) -> None:
    """University login from ``auth.oidc`` when ``auth.kind`` is oidc; else nothing."""
    auth = settings["auth"]
    if auth.get("kind") != "oidc":
        return
    oidc = auth.get("oidc")
    if not oidc:
        raise SettingsError(
            "auth.kind is oidc but auth.oidc is missing: give authorize_url, token_url, "
            "userdata_url and client_id of the university's identity provider"
        )
    c.JupyterHub.authenticator_class = "hdss_hub.oidc.SandboxOAuthenticator"
    a = c.SandboxOAuthenticator
    a.authorize_url = oidc["authorize_url"]
    a.token_url = oidc["token_url"]
    a.userdata_url = oidc["userdata_url"]
    a.client_id = oidc["client_id"]
    a.client_secret = client_secret(oidc)
    a.oauth_callback_url = callback_url(settings)
    a.scope = list(oidc.get("scope") or DEFAULT_SCOPE)
    a.username_claim = oidc.get("username_claim") or DEFAULT_USERNAME_CLAIM
    a.login_service = "your university account"
    a.manage_groups = True
    a.provider_groups_claim = oidc.get("groups_claim") or DEFAULT_GROUPS_CLAIM
    a.group_map = dict(oidc.get("group_map") or {})
    a.static_groups = {g: list(users) for g, users in (settings.get("groups") or {}).items()}
    a.sandbox_admin_groups = " ".join(oidc.get("admin_groups") or [])
    a.allow_all = False
    a.custom_403_message = (
        "The sandbox cannot log you in with this university account (its user name must be "
        "lower-case letters, digits, '.', '_' or '-'). Please tell the sandbox operator."
    )
    # Groups come from the provider at each login; the hub keeps no tokens of its own.
    a.enable_auth_state = False
