"""Alembic migrations of the permission ledger (version table ``hdss_ledger_version``)."""
