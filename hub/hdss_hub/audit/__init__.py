"""The tamper-evident audit log of the sandbox: hash-chained, append-only, verifiable.

Usage::

    anchors = AnchorLog.in_state_dir("var")  # checkpoints and their key, outside the database
    audit = AuditLog("sqlite:///var/ledger.sqlite", anchor=anchors)
    audit.append("steward1", "permission.log", "permission:1", "ok", reference="FSEID-1")
    assert audit.verify().ok
"""

from .anchor import AnchorError, AnchorLog
from .log import AuditLog, Entry, VerifyResult, utcnow

__all__ = ["AnchorError", "AnchorLog", "AuditLog", "Entry", "VerifyResult", "utcnow"]
