"""Container hardening shared by user servers and promotion runs.

Every container we start runs as a non-root uid with every capability dropped,
no-new-privileges and a pids limit, whatever extra host config a site adds.
"""

from __future__ import annotations

from .errors import PolicyViolation

NON_ROOT_USER = "1000:100"
FORBIDDEN_HOST_CONFIG = ("privileged", "cap_add", "devices", "pid_mode", "ipc_mode", "userns_mode")


def hardened_host_config(extra: dict | None, pids_limit: int) -> dict:
    """``extra`` host config with the hardening laid over it (hardening always wins).

    Raises PolicyViolation when ``extra`` asks for something the policy forbids.
    """
    config = dict(extra or {})
    for key in FORBIDDEN_HOST_CONFIG:
        if config.pop(key, None):
            raise PolicyViolation(
                f"Refusing to start: host config {key!r} breaks the sandbox policy."
            )
    security_opt = [o for o in config.get("security_opt", []) if "no-new-privileges" not in o]
    config.update(
        cap_drop=["ALL"],
        security_opt=[*security_opt, "no-new-privileges:true"],
        pids_limit=pids_limit,
        privileged=False,
    )
    return config
