"""The ledger as the hub process uses it: a permission source for the spawner.

The spawner (``hdss_spawner``) never imports the ledger. The hub's configure step hands
it a :class:`LedgerPermissions` (see ``hdss_common.permissions.PermissionSource``), and
the home page gets its projects from the same object. Every ledger and audit call runs in
a small thread pool of its own, never on the hub's event loop: an audit append may wait
for the database's write lock (SQLite waits up to 30 s), and meanwhile the hub keeps
answering everyone else.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from hdss_hub.audit import AnchorLog

from .core import Ledger, Permission

T = TypeVar("T")
WORKERS = 4


class LedgerPermissions:
    """Async, lazily connected access to one ledger database from inside the hub.

    ``anchor`` is the audit log's anchor (checkpoints outside the database), the same
    files the ledger and promotion services write to.
    """

    def __init__(
        self,
        db_url: str,
        restricted_root: str = "",
        *,
        migrate: bool = True,
        anchor: AnchorLog | None = None,
    ) -> None:
        self.db_url = db_url
        self.restricted_root = restricted_root
        self.migrate = migrate
        self.anchor = anchor
        self._ledger: Ledger | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="hdss-ledger")

    def __deepcopy__(self, memo: dict) -> LedgerPermissions:
        # JupyterHub deep-copies its configuration; this is a handle on one database
        # and its thread pool, shared by every spawner, never a value to duplicate.
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{self.db_url.split('://', 1)[0]} database>)"

    def ledger(self) -> Ledger:
        """The Ledger, connected (and migrated) on first use; call it off the event loop."""
        with self._lock:
            if self._ledger is None:
                self._ledger = Ledger(
                    self.db_url,
                    restricted_root=self.restricted_root or None,
                    migrate=self.migrate,
                    anchor=self.anchor,
                )
            return self._ledger

    async def _run(self, fn: Callable[[Ledger], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self.ledger()))

    async def active_permission(self, username: str, project_id: str) -> Permission | None:
        return await self._run(lambda ledger: ledger.active_permission(username, project_id))

    async def why_not(self, username: str, project_id: str) -> str:
        return await self._run(lambda ledger: ledger.why_not(username, project_id))

    async def audit(
        self, actor: str, action: str, target: str, outcome: str, **details: Any
    ) -> None:
        await self._run(
            lambda ledger: ledger.audit.append(actor, action, target, outcome, **details)
        )

    async def projects_for(self, username: str) -> list[Permission]:
        """Every permission naming ``username`` (inactive ones too), for the home page."""
        return await self._run(lambda ledger: ledger.projects_for(username, include_inactive=True))
