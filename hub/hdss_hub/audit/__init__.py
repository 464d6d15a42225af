"""The tamper-evident audit log of the sandbox: hash-chained, append-only, verifiable.

Usage::

    audit = AuditLog("sqlite:///var/ledger.sqlite")
    audit.append("steward1", "permission.log", "permission:1", "ok", reference="FSEID-1")
    assert audit.verify().ok
"""

from .log import AuditLog, Entry, VerifyResult, utcnow

__all__ = ["AuditLog", "Entry", "VerifyResult", "utcnow"]
