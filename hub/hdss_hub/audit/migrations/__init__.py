"""Alembic migrations of the audit log (version table ``hdss_audit_version``)."""
