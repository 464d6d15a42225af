"""The ledger as a JupyterHub managed service: REST API, pages and the reconciler.

Started by the hub (see :mod:`.hubconfig`)::

    python -m hdss_hub.ledger.service --restricted-root=/srv/data/restricted \\
        --steward-group=stewards --reconcile-seconds=60

The database URL comes from ``$HDSS_LEDGER_DB_URL`` (it may hold a password), the audit
chain's anchor from ``$HDSS_AUDIT_ANCHOR_LOG`` and ``$HDSS_AUDIT_ANCHOR_KEY``; the hub gives
``$JUPYTERHUB_API_TOKEN``, ``$JUPYTERHUB_API_URL``, ``$JUPYTERHUB_SERVICE_URL`` and
``$JUPYTERHUB_SERVICE_PREFIX``. The schema is upgraded (alembic ``upgrade head``) at start,
and the chain's head is anchored (so a deployment upgraded to anchoring is covered at once).
"""

from __future__ import annotations

import asyncio

from hdss_common.db import DB_ENV
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Int, List, Unicode

from ..audit import AnchorError, AnchorLog
from ..webservice import ConfigError, HubService
from .core import Ledger
from .hubapi import HubAPI
from .reconcile import reconcile_once
from .web import MAX_BODY, ServiceContext, make_app

__all__ = ["DB_ENV", "ConfigError", "LedgerService", "main"]


class LedgerService(HubService):
    name = "hdss-ledger"
    description = "Permission ledger and audit log of the Health Data Science Sandbox"
    default_prefix = "/services/ledger/"
    not_managed = (
        "the ledger runs as a JupyterHub managed "
        "service (hdss_hub.ledger.hubconfig.apply_ledger registers it)"
    )
    max_body = MAX_BODY
    log_to_app = True

    restricted_root = Unicode(
        "", help="root of the restricted dataset catalogue (settings data.restricted_root)"
    ).tag(config=True)
    steward_group = Unicode("stewards", help="hub group whose members are data stewards").tag(
        config=True
    )
    secure_groups = List(
        Unicode(),
        help="hub groups that may use secure servers (the secure profiles' groups); a running "
        "secure server whose owner left all of them is stopped",
    ).tag(config=True)
    reconcile_seconds = Int(
        60,
        help="seconds between reconciler passes, which stop secure servers whose permission ended",
    ).tag(config=True)

    aliases = {
        "db-url": "LedgerService.db_url",
        "restricted-root": "LedgerService.restricted_root",
        "steward-group": "LedgerService.steward_group",
        "reconcile-seconds": "LedgerService.reconcile_seconds",
        "secure-group": "LedgerService.secure_groups",
        "log-level": "Application.log_level",
    }

    def build(self) -> tuple[ServiceContext, str, int]:
        db_url = self.require_db()
        if self.reconcile_seconds < 1:
            raise ConfigError("--reconcile-seconds must be at least 1")
        address, port = self.bind_address()
        hub = HubAPI(
            self.require_env("JUPYTERHUB_API_URL"), self.require_env("JUPYTERHUB_API_TOKEN")
        )
        try:
            anchor = AnchorLog.from_env()
        except AnchorError as e:
            raise ConfigError(str(e)) from None
        if anchor is None:
            self.log.warning("the audit chain is not anchored: $HDSS_AUDIT_ANCHOR_LOG is not set")
        ledger = Ledger(db_url, restricted_root=self.restricted_root or None, anchor=anchor)
        try:
            ledger.audit.checkpoint()
        except AnchorError as e:
            raise ConfigError(f"{e}; fix the file's folder or permissions") from None
        ctx = ServiceContext(
            ledger=ledger, hub=hub, prefix=self.service_prefix, steward_group=self.steward_group
        )
        return ctx, address, port

    def start(self) -> None:
        ctx, address, port = self.build()
        self.listen(make_app(ctx), address, port)
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
                    stopped = await reconcile_once(ctx.ledger, ctx.hub, self.secure_groups)
                    if stopped:
                        self.log.info("reconciler stopped %s secure server(s)", len(stopped))
                except Exception:  # keep the loop alive; the next pass retries
                    self.log.exception("reconciler pass failed")

        PeriodicCallback(reconcile, self.reconcile_seconds * 1000).start()
        IOLoop.current().add_callback(reconcile)
        self.run()


def main(argv: list[str] | None = None) -> None:
    LedgerService.main(argv)


if __name__ == "__main__":
    main()
