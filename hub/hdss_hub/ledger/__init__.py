"""The permission ledger: which project may use which restricted datasets, until when.

The spawner asks it directly, on the same database::

    ledger = Ledger(db_url)
    permission = ledger.active_permission("alice", "diab-2026")   # None: refuse
    permission.datasets, permission.valid_until
"""

from .core import Ledger, Permission
from .errors import Conflict, Forbidden, InvalidRequest, LedgerError, NotFound

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "Ledger",
    "LedgerError",
    "NotFound",
    "Permission",
]
