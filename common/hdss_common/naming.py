"""How servers and volumes are named: one rule, used by the spawner and the airlock alike.

* A secure server is the named server ``secure-<project_id>``.
* A user's sandbox home is the volume rendered from a template (default
  ``{prefix}-home-{username}``), with the user name escaped as DockerSpawner escapes it.
* A project's secure workspace is the volume ``{prefix}-project-<project_id>``.
* A project's secure servers share the ``--internal`` network ``<secure base>-<project_id>``
  (no other project's containers on it), whose host bridge is named so that one firewall
  rule per deployment matches every project's bridge (see :func:`secure_bridge`).
"""

from __future__ import annotations

import hashlib
import string

from escapism import escape as _escapism

SECURE_PREFIX = "secure-"
HOME_VOLUME_TEMPLATE = "{prefix}-home-{username}"
_SAFE = frozenset(string.ascii_lowercase + string.digits)


def escape(text: str) -> str:
    """A DNS-label-safe form of ``text`` (DockerSpawner's default escape: ``-`` escapes)."""
    return _escapism(text, _SAFE, escape_char="-").lower()


def project_of(server_name: str) -> str | None:
    """The project id of a secure server name, None for any other server."""
    if server_name.startswith(SECURE_PREFIX) and len(server_name) > len(SECURE_PREFIX):
        return server_name[len(SECURE_PREFIX) :]
    return None


def secure_server_name(project_id: str) -> str:
    return f"{SECURE_PREFIX}{project_id}"


def home_volume(prefix: str, username: str, template: str = HOME_VOLUME_TEMPLATE) -> str:
    """The name of a user's sandbox home volume."""
    return template.format(prefix=prefix, username=escape(username), safe_username=escape(username))


def project_volume(prefix: str, project_id: str) -> str:
    """The name of a project's secure workspace volume."""
    return f"{prefix}-project-{project_id}"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def secure_network(base: str, project_id: str) -> str:
    """The Docker network of one project's secure servers (``base``: the deployment's)."""
    return f"{base}-{project_id}"


def secure_bridge_prefix(base: str) -> str:
    """The start of every secure bridge's interface name in one deployment (7 characters)."""
    return "hs" + _digest(base, 5)


def secure_bridge(base: str, project_id: str) -> str:
    """The host interface of a project's secure network: 15 characters, Linux's limit."""
    return secure_bridge_prefix(base) + _digest(project_id, 8)


def firewall_chain(base: str) -> str:
    """The iptables chain holding one deployment's rules for its secure bridges."""
    return "HDSS-" + _digest(base, 10)
