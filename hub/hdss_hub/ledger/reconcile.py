"""The reconciler: stops running secure servers whose permission is no longer active.

Secure servers are named servers called ``secure-<project_id>`` (the spawner's convention).
Every stop is an audit entry with the reason (revoked, expired, no longer a member...).
"""

from __future__ import annotations

import logging

from hdss_common.naming import project_of

from .core import Ledger
from .hubapi import HubAPI, HubAPIError

log = logging.getLogger(__name__)

ACTOR = "ledger-reconciler"


async def reconcile_once(ledger: Ledger, hub: HubAPI) -> list[tuple[str, str]]:
    """One pass; returns the ``(username, server_name)`` pairs asked to stop."""
    stopped = []
    for username, name, server in await hub.running_servers():
        project_id = project_of(name)
        if project_id is None or server.get("pending") == "stop":
            continue
        if ledger.active_permission(username, project_id) is not None:
            continue
        reason = ledger.why_not(username, project_id)
        target = f"server:{username}/{name}"
        try:
            code = await hub.stop_server(username, name)
        except HubAPIError as e:
            log.error("could not stop %s: %s", target, e)
            ledger.audit.append(
                ACTOR,
                "server.stop",
                target,
                "failed",
                user=username,
                project_id=project_id,
                reason=reason,
                error=str(e),
            )
            continue
        outcome = "stopped" if code in (202, 204) else "gone"
        log.warning("stopped %s (%s): %s", target, code, reason)
        ledger.audit.append(
            ACTOR,
            "server.stop",
            target,
            outcome,
            user=username,
            project_id=project_id,
            reason=reason,
            status=code,
        )
        stopped.append((username, name))
    return stopped
