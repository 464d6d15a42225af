"""How servers and volumes are named: one rule, used by the spawner and the airlock alike.

* A secure server is the named server ``secure-<project_id>``.
* A user's sandbox home is the volume rendered from a template (default
  ``{prefix}-home-{username}``), with the user name escaped as DockerSpawner escapes it.
* A project's secure workspace is the volume ``{prefix}-project-<project_id>``.
"""

from __future__ import annotations

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
