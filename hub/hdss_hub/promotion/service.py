"""The promotion service: a JupyterHub managed service beside the ledger.

Started by the hub (see :mod:`.hubconfig`)::

    python -m hdss_hub.promotion.service --prefix=hdss --image=hdss/singleuser:latest \\
        --restricted-root=/srv/data/restricted --synthetic-root=/srv/data/synthetic \\
        --airlock-dir=/srv/hub/airlock --threshold=5 --timeout-seconds=1800

It shares the ledger's database (``$HDSS_LEDGER_DB_URL``): permissions are looked up
there and every step goes into the one audit chain. It talks to the Docker engine
(``$DOCKER_HOST``) to read sandbox homes, write the project workspace and run notebooks.
"""

from __future__ import annotations

import logging
import os
import sys
from urllib.parse import urlparse

import docker
from tornado.ioloop import IOLoop
from traitlets import Float, Int, Unicode, default
from traitlets.config import Application

from ..ledger.core import Ledger
from . import checks
from .core import Airlock, AirlockConfig
from .web import MAX_BODY, Context, make_app

DB_ENV = "HDSS_LEDGER_DB_URL"


class ConfigError(Exception):
    """The service cannot start; the message names the setting to fix."""


class PromotionService(Application):
    name = "hdss-promotion"
    description = "Promotion and airlock of the Health Data Science Sandbox"

    db_url = Unicode(help=f"SQLAlchemy URL of the ledger database (default ${DB_ENV})").tag(
        config=True
    )
    prefix = Unicode("hdss", help="Docker name prefix (settings docker.prefix)").tag(config=True)
    image = Unicode("hdss/singleuser:latest", help="image the notebooks run in").tag(config=True)
    restricted_root = Unicode("", help="restricted dataset catalogue").tag(config=True)
    synthetic_root = Unicode("", help="synthetic dataset catalogue").tag(config=True)
    airlock_dir = Unicode(
        "var/airlock",
        help="where outboxes are kept for checking and review (the hub's state folder)",
    ).tag(config=True)
    steward_group = Unicode("stewards", help="hub group of data stewards").tag(config=True)
    threshold = Int(5, help="smallest count that may be released").tag(config=True)
    max_table_rows = Int(500, help="tables with more rows are row-level data").tag(config=True)
    timeout_seconds = Int(1800, help="wall-clock limit of one run").tag(config=True)
    mem_limit = Unicode("2g", help="memory limit of a run").tag(config=True)
    cpus = Float(1.0, help="CPU limit of a run").tag(config=True)
    service_prefix = Unicode(help="URL prefix ($JUPYTERHUB_SERVICE_PREFIX)").tag(config=True)

    aliases = {
        "db-url": "PromotionService.db_url",
        "prefix": "PromotionService.prefix",
        "image": "PromotionService.image",
        "restricted-root": "PromotionService.restricted_root",
        "synthetic-root": "PromotionService.synthetic_root",
        "airlock-dir": "PromotionService.airlock_dir",
        "steward-group": "PromotionService.steward_group",
        "threshold": "PromotionService.threshold",
        "max-table-rows": "PromotionService.max_table_rows",
        "timeout-seconds": "PromotionService.timeout_seconds",
        "mem-limit": "PromotionService.mem_limit",
        "cpus": "PromotionService.cpus",
        "log-level": "Application.log_level",
    }

    @default("db_url")
    def _db_url_default(self) -> str:
        return os.environ.get(DB_ENV, "")

    @default("service_prefix")
    def _prefix_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/promotion/")

    def build(self) -> tuple[Context, str, int]:
        if not self.db_url:
            raise ConfigError(f"no database: set ${DB_ENV} or --db-url")
        if self.threshold < 1 or self.timeout_seconds < 1:
            raise ConfigError("--threshold and --timeout-seconds must be at least 1")
        if not self.restricted_root:
            raise ConfigError("--restricted-root is required (settings data.restricted_root)")
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        if not url:
            raise ConfigError(
                "$JUPYTERHUB_SERVICE_URL is not set: the promotion service runs "
                "as a JupyterHub managed service"
            )
        bind = urlparse(url)
        ledger = Ledger(self.db_url, restricted_root=self.restricted_root)
        cfg = AirlockConfig(
            prefix=self.prefix,
            image=self.image,
            restricted_root=self.restricted_root,
            synthetic_root=self.synthetic_root,
            airlock_dir=self.airlock_dir,
            steward_group=self.steward_group,
            timeout_seconds=self.timeout_seconds,
            mem_limit=self.mem_limit,
            cpus=self.cpus,
            check=checks.Settings(threshold=self.threshold, max_table_rows=self.max_table_rows),
        )
        airlock = Airlock(self.db_url, ledger, docker.from_env(timeout=60), cfg)
        ctx = Context(airlock=airlock, prefix=self.service_prefix, steward_group=self.steward_group)
        return ctx, bind.hostname or "127.0.0.1", bind.port or 80

    def start(self) -> None:
        ctx, address, port = self.build()
        ctx.airlock.recover()
        for request_id in ctx.airlock.pending():
            ctx.schedule(request_id)
        make_app(ctx).listen(port, address, max_body_size=MAX_BODY, xheaders=True)
        self.log.info("promotion listening on %s:%s%s", address, port, ctx.prefix)
        IOLoop.current().start()


def main(argv: list[str] | None = None) -> None:
    app = PromotionService()
    app.initialize(argv)
    logging.getLogger("hdss_hub").setLevel(app.log_level)
    try:
        app.start()
    except ConfigError as e:
        app.log.critical("%s", e)
        sys.exit(2)


if __name__ == "__main__":
    main()
