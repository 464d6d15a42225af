"""The promotion service: a JupyterHub managed service beside the ledger.

Started by the hub (see :mod:`.hubconfig`)::

    python -m hdss_hub.promotion.service --prefix=hdss --image=hdss/singleuser:latest \\
        --restricted-root=/srv/data/restricted --synthetic-root=/srv/data/synthetic \\
        --airlock-dir=/srv/hub/airlock --threshold=5 --timeout-seconds=1800 \\
        --mem-limit=2G --cpus=1 --disk-limit=1G --output-limit=100M --reviewers-required=1

It shares the ledger's database (``$HDSS_LEDGER_DB_URL``): permissions are looked up
there and every step goes into the one audit chain. It talks to the Docker engine
(``$DOCKER_HOST``) to read sandbox homes, write the project workspace and run notebooks.
"""

from __future__ import annotations

import docker
from hdss_common import naming
from hdss_common.db import DB_ENV
from traitlets import Float, Int, Unicode

from ..audit import AnchorError, AnchorLog
from ..ledger.core import Ledger
from ..webservice import ConfigError, HubService
from . import checks, runner
from .core import Airlock, AirlockConfig
from .web import MAX_BODY, Context, make_app

__all__ = ["DB_ENV", "ConfigError", "PromotionService", "main"]


class PromotionService(HubService):
    name = "hdss-promotion"
    description = "Promotion and airlock of the Health Data Science Sandbox"
    default_prefix = "/services/promotion/"
    not_managed = "the promotion service runs as a JupyterHub managed service"
    max_body = MAX_BODY

    prefix = Unicode("hdss", help="Docker name prefix (settings docker.prefix)").tag(config=True)
    home_volume = Unicode(
        naming.HOME_VOLUME_TEMPLATE,
        help="name template of a user's sandbox home volume, as the spawner's "
        "(settings docker.home_volume; {prefix} and {username} are filled in)",
    ).tag(config=True)
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
    reviewers_required = Int(
        1,
        help="approvals by different data stewards (none the requester) needed to release "
        "(settings promotion.reviewers_required)",
    ).tag(config=True)
    # promotion.run_limits (see runner.py): a run over one fails, naming it
    timeout_seconds = Int(
        1800, help="wall-clock limit of one run (settings promotion.run_limits.seconds)"
    ).tag(config=True)
    mem_limit = Unicode(
        "2G", help="memory limit of a run (settings promotion.run_limits.memory)"
    ).tag(config=True)
    cpus = Float(1.0, help="CPU limit of a run (settings promotion.run_limits.cpus)").tag(
        config=True
    )
    disk_limit = Unicode(
        "1G",
        help="size of each writable place of a run, its outbox and /tmp "
        "(settings promotion.run_limits.disk)",
    ).tag(config=True)
    output_limit = Unicode(
        "100M",
        help="largest outbox copied out of a run (settings promotion.run_limits.output)",
    ).tag(config=True)

    aliases = {
        "db-url": "PromotionService.db_url",
        "prefix": "PromotionService.prefix",
        "home-volume": "PromotionService.home_volume",
        "image": "PromotionService.image",
        "restricted-root": "PromotionService.restricted_root",
        "synthetic-root": "PromotionService.synthetic_root",
        "airlock-dir": "PromotionService.airlock_dir",
        "steward-group": "PromotionService.steward_group",
        "threshold": "PromotionService.threshold",
        "max-table-rows": "PromotionService.max_table_rows",
        "reviewers-required": "PromotionService.reviewers_required",
        "timeout-seconds": "PromotionService.timeout_seconds",
        "mem-limit": "PromotionService.mem_limit",
        "cpus": "PromotionService.cpus",
        "disk-limit": "PromotionService.disk_limit",
        "output-limit": "PromotionService.output_limit",
        "log-level": "Application.log_level",
    }

    def build(self) -> tuple[Context, str, int]:
        db_url = self.require_db()
        if self.threshold < 1 or self.timeout_seconds < 1 or self.reviewers_required < 1:
            raise ConfigError(
                "--threshold, --timeout-seconds and --reviewers-required must be at least 1"
            )
        self.check_run_limits()
        if not self.restricted_root:
            raise ConfigError("--restricted-root is required (settings data.restricted_root)")
        try:
            naming.home_volume(self.prefix, "user", self.home_volume)
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError(
                f"--home-volume {self.home_volume!r} is not a usable name template "
                f"({type(e).__name__}: {e}); it may use {{prefix}} and {{username}}"
            ) from None
        address, port = self.bind_address()
        try:  # the audit chain's anchor, as the ledger service writes it (the hub sets both)
            anchor = AnchorLog.from_env()
        except AnchorError as e:
            raise ConfigError(str(e)) from None
        ledger = Ledger(db_url, restricted_root=self.restricted_root, anchor=anchor)
        cfg = AirlockConfig(
            prefix=self.prefix,
            home_volume_template=self.home_volume,
            image=self.image,
            restricted_root=self.restricted_root,
            synthetic_root=self.synthetic_root,
            airlock_dir=self.airlock_dir,
            steward_group=self.steward_group,
            timeout_seconds=self.timeout_seconds,
            mem_limit=self.mem_limit,
            cpus=self.cpus,
            disk_limit=self.disk_limit,
            output_limit=self.output_limit,
            reviewers_required=self.reviewers_required,
            check=checks.Settings(threshold=self.threshold, max_table_rows=self.max_table_rows),
        )
        airlock = Airlock(db_url, ledger, docker.from_env(timeout=60), cfg)
        ctx = Context(airlock=airlock, prefix=self.service_prefix, steward_group=self.steward_group)
        return ctx, address, port

    def check_run_limits(self) -> None:
        """ConfigError naming the setting when the run limits cannot be used."""
        problem = runner.limits_problem(
            self.mem_limit, self.cpus, self.disk_limit, self.output_limit
        )
        if problem:
            raise ConfigError(problem)

    def start(self) -> None:
        ctx, address, port = self.build()
        ctx.airlock.recover()
        for request_id in ctx.airlock.pending():
            ctx.schedule(request_id)
        self.listen(make_app(ctx), address, port)
        self.log.info("promotion listening on %s:%s%s", address, port, ctx.prefix)
        self.run(ctx.runs)


def main(argv: list[str] | None = None) -> None:
    PromotionService.main(argv)


if __name__ == "__main__":
    main()
