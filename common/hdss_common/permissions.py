"""What the spawner needs to know about research permissions, without knowing the ledger.

The hub's configure step hands the spawner an object of this shape (the ledger's
``hdss_hub.ledger.hubside.LedgerPermissions``); tests may hand it any other. Every method
is a coroutine: implementations do their blocking work off the hub's event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Grant(Protocol):
    """An active permission as the spawner uses it."""

    project_id: str
    reference: str
    datasets: Sequence[str]
    members: Sequence[str]


class PermissionSource(Protocol):
    async def active_permission(self, username: str, project_id: str) -> Grant | None:
        """The permission that lets ``username`` open ``project_id`` now, else None."""

    async def why_not(self, username: str, project_id: str) -> str:
        """A sentence saying why ``username`` may not open ``project_id`` now."""

    async def audit(
        self, actor: str, action: str, target: str, outcome: str, **details: Any
    ) -> None:
        """Append an entry to the audit log (never dropped: raises if it cannot be written)."""
