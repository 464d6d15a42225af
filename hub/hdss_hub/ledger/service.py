"""The ledger as a JupyterHub managed service: REST API, pages and the reconciler.

Started by the hub (see :mod:`.hubconfig`)::

    python -m hdss_hub.ledger.service --restricted-root=/srv/data/restricted \\
        --steward-group=stewards --reconcile-seconds=60

The database URL comes from ``$HDSS_LEDGER_DB_URL`` (it may hold a password); the hub gives
``$JUPYTERHUB_API_TOKEN``, ``$JUPYTERHUB_API_URL``, ``$JUPYTERHUB_SERVICE_URL`` and
``$JUPYTERHUB_SERVICE_PREFIX``. The schema is upgraded (alembic ``upgrade head``) at start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from urllib.parse import urlparse

from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Int, Unicode, default
from traitlets.config import Application

from .core import Ledger
from .hubapi import HubAPI
from .reconcile import reconcile_once
from .web import MAX_BODY, ServiceContext, make_app

DB_ENV = "HDSS_LEDGER_DB_URL"


class ConfigError(Exception):
    """The service cannot start; the message names the setting to fix."""


class LedgerService(Application):
    name = "hdss-ledger"
    description = "Permission ledger and audit log of the Health Data Science Sandbox"

    db_url = Unicode(help=f"SQLAlchemy URL of the ledger database (default ${DB_ENV})").tag(
        config=True
    )
    restricted_root = Unicode(
        "", help="root of the restricted dataset catalogue (settings data.restricted_root)"
    ).tag(config=True)
    steward_group = Unicode("stewards", help="hub group whose members are data stewards").tag(
        config=True
    )
    reconcile_seconds = Int(
        60,
        help="seconds between reconciler passes, which stop secure servers whose permission ended",
    ).tag(config=True)
    service_prefix = Unicode(help="URL prefix ($JUPYTERHUB_SERVICE_PREFIX)").tag(config=True)

    aliases = {
        "db-url": "LedgerService.db_url",
        "restricted-root": "LedgerService.restricted_root",
        "steward-group": "LedgerService.steward_group",
        "reconcile-seconds": "LedgerService.reconcile_seconds",
        "log-level": "Application.log_level",
    }

    @default("db_url")
    def _db_url_default(self) -> str:
        return os.environ.get(DB_ENV, "")

    @default("service_prefix")
    def _prefix_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/ledger/")

    def _require_env(self, name: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"${name} is not set: the ledger runs as a JupyterHub managed "
                "service (hdss_hub.ledger.hubconfig.apply_ledger registers it)"
            )
        return value

    def build(self) -> tuple[ServiceContext, str, int]:
        if not self.db_url:
            raise ConfigError(f"no database: set ${DB_ENV} or --db-url")
        if self.reconcile_seconds < 1:
            raise ConfigError("--reconcile-seconds must be at least 1")
        bind = urlparse(self._require_env("JUPYTERHUB_SERVICE_URL"))
        hub = HubAPI(
            self._require_env("JUPYTERHUB_API_URL"), self._require_env("JUPYTERHUB_API_TOKEN")
        )
        ledger = Ledger(self.db_url, restricted_root=self.restricted_root or None)
        ctx = ServiceContext(
            ledger=ledger, hub=hub, prefix=self.service_prefix, steward_group=self.steward_group
        )
        return ctx, bind.hostname or "127.0.0.1", bind.port or 80

    def start(self) -> None:
        ctx, address, port = self.build()
        app = make_app(ctx)
        app.listen(port, address, max_body_size=MAX_BODY, xheaders=True)
        self.log.info(
            "ledger listening on %s:%s%s (stewards: group %s)",
            address,
            port,
            ctx.prefix,
            self.steward_group,
        )
        running = asyncio.Lock()

        async def reconcile() -> None:
            if running.locked():
                return
            async with running:
                try:
                    stopped = await reconcile_once(ctx.ledger, ctx.hub)
                    if stopped:
                        self.log.info("reconciler stopped %s secure server(s)", len(stopped))
                except Exception:  # keep the loop alive; the next pass retries
                    self.log.exception("reconciler pass failed")

        PeriodicCallback(reconcile, self.reconcile_seconds * 1000).start()
        IOLoop.current().add_callback(reconcile)
        IOLoop.current().start()


def main(argv: list[str] | None = None) -> None:
    app = LedgerService()
    app.initialize(argv)
    logging.getLogger("hdss_hub").setLevel(app.log_level)
    if not logging.getLogger("hdss_hub").handlers:
        logging.getLogger("hdss_hub").addHandler(
            app.log.handlers[0] if app.log.handlers else logging.StreamHandler()
        )
    try:
        app.start()
    except ConfigError as e:
        app.log.critical("%s", e)
        sys.exit(2)


if __name__ == "__main__":
    main()
