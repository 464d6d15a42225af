"""Database plumbing shared by the audit log, the permission ledger and the airlock.

One engine per database URL, configured so that writers are serialised:

* SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken up
  front, so two writers never both read the chain head) and waits up to 30 s for the lock.
* PostgreSQL: writers of the audit chain take a transaction-scoped advisory lock
  (:func:`lock_chain`), released by the commit or rollback.

Schemas are created and upgraded by alembic (:func:`upgrade`), never by ``create_all``,
so that an upgrade of a running deployment keeps every record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# pg_advisory_xact_lock keys: one for appending to the audit chain, one for migrations.
CHAIN_LOCK_KEY = 0x4844535341554454  # "HDSSAUDT"
MIGRATION_LOCK_KEY = 0x484453534D494752  # "HDSSMIGR"
SQLITE_LOCK_TIMEOUT = 30.0

#: The environment variable naming the ledger/audit/promotion database of a service or CLI.
DB_ENV = "HDSS_LEDGER_DB_URL"


class UTCDateTime(sa.TypeDecorator):
    """Stored as naive UTC (same on SQLite and PostgreSQL); read back timezone-aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("stored times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def _configure_sqlite(engine: Engine) -> None:
    if getattr(engine, "_hdss_configured", False):
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # pragma: no cover - driver hook
        # Take transaction control away from pysqlite so our BEGIN is the one used.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(SQLITE_LOCK_TIMEOUT * 1000)}")

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover - driver hook
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine._hdss_configured = True  # type: ignore[attr-defined]


def make_engine(engine_or_url: Engine | str) -> Engine:
    """An engine for ``engine_or_url`` with the serialisation described above."""
    if isinstance(engine_or_url, Engine):
        engine = engine_or_url
    else:
        url = sa.make_url(engine_or_url)
        kwargs: dict = {"pool_pre_ping": True}
        if url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_LOCK_TIMEOUT}
        elif url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
            # psycopg 3 is the driver we ship; a plain postgresql:// URL means it.
            url = url.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def lock_chain(conn: Connection) -> None:
    """Serialise writers of the audit chain until the current transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    # SQLite: BEGIN IMMEDIATE already holds the database write lock.


def upgrade(engine: Engine, package: str, version_table: str) -> None:
    """Run ``alembic upgrade head`` for the migrations in ``<package>/migrations``.

    Runs in one transaction (PostgreSQL rolls back a failed migration completely), under a
    lock so that the hub and the ledger service starting together do not race.
    """
    location = str(resources.files(package).joinpath("migrations"))
    cfg = Config()
    cfg.set_main_option("script_location", location)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        cfg.attributes["version_table"] = version_table
        command.upgrade(cfg, "head")


def run_migrations_online(context) -> None:
    """The body of each package's alembic ``env.py``: use the connection we were given."""
    conn = context.config.attributes.get("connection")
    if conn is None:
        raise RuntimeError(
            "these migrations run from hdss_common.db.upgrade, "
            "not from the alembic command line without a connection"
        )
    context.configure(
        connection=conn,
        version_table=context.config.attributes["version_table"],
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
