"""What a backup covers (from the settings), the outcome of a run, its audit entry and status."""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker

from ..audit import AuditLog
from ..audit.anchor import AnchorLog
from ..ledger.hubconfig import audit_anchor
from ..ledger.hubconfig import db_url as ledger_db_url
from ..settings import archive_root
from . import databases
from .restic import BackupError, Restic

log = logging.getLogger(__name__)
ACTOR = "hdss-backup"
STAGING = "hdss-state"
MANIFEST = "hdss-manifest.json"
KEEP = ("daily", "weekly", "monthly")
#: Folders of the state folder in a backup, with what is left out of each (rebuilt on use).
STATE_FOLDERS = {"secrets": (), "airlock": (), "courses": ("materials",)}
#: Where ``backup.extra_paths`` go in the staging folder (by their absolute path).
EXTRA = "extra"


@dataclass(frozen=True)
class Config:
    """What a backup covers and where it goes, from the settings."""

    state_dir: Path
    settings_file: Path | None
    repository: str
    password_file: Path
    status_file: Path
    keep: dict[str, int]
    hub_db: str
    ledger_db: str
    anchor: AnchorLog
    archive_root: Path
    docker_host: str
    image: str
    prefix: str
    home_template: str
    extra_paths: tuple[Path, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], settings_file: str | None, project_dir: Path
    ) -> Config:
        state = Path(settings["hub"]["state_dir"]).absolute()
        b = settings.get("backup") or {}

        def path(value: str | None, default: Path) -> Path:
            return (project_dir / value).absolute() if value else default

        repository = b.get("repository") or str(state / "backup" / "restic")
        if not re.match(r"^[a-z0-9]+:", repository) and not os.path.isabs(repository):
            repository = str((project_dir / repository).absolute())
        docker_cfg = settings["docker"]
        return cls(
            state_dir=state,
            settings_file=Path(settings_file).absolute() if settings_file else None,
            repository=repository,
            password_file=path(b.get("password_file"), state / "secrets" / "backup-password"),
            status_file=path(b.get("status_file"), state / "backup" / "status.prom"),
            keep={name: int(b.get(f"keep_{name}", 0)) for name in KEEP if b.get(f"keep_{name}")},
            hub_db=settings["hub"].get("db_url") or f"sqlite:///{state / 'jupyterhub.sqlite'}",
            ledger_db=ledger_db_url(settings),
            anchor=audit_anchor(settings),
            archive_root=archive_root(settings),
            docker_host=docker_cfg["host"],
            image=docker_cfg["image"],
            prefix=docker_cfg["prefix"],
            home_template=docker_cfg.get("home_volume", "{prefix}-home-{username}"),
            extra_paths=tuple(path(p, Path(p)) for p in b.get("extra_paths") or ()),
        )

    def restic(self) -> Restic:
        cache = self.state_dir / "backup" / "cache"
        return Restic(self.repository, self.password_file, cache, host=self.prefix)

    def docker(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=600)

    def shown_repository(self) -> str:
        """The repository without credentials, for messages and the audit log."""
        return re.sub(r"//[^/@]*@", "//***@", self.repository)


@dataclass
class Outcome:
    """What a run or a restore did: the parts done and the failures, each a sentence."""

    run: str
    done: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@contextmanager
def lock(cfg: Config) -> Iterator[None]:
    folder = cfg.state_dir / "backup"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / "lock", "w") as fp:
        try:
            fcntl.flock(fp, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"another hdss-backup is running on {cfg.state_dir} (lock {folder / 'lock'}); "
                "wait for it to finish"
            ) from None
        yield


# -- alerting ----------------------------------------------------------------------------


def record(
    cfg: Config, action: str, out: Outcome, details: dict[str, Any], create: bool = True
) -> None:
    """The audit entry of a run or restore; a failure to write it is one more failure.

    ``create``: a missing SQLite ledger database is created (a backup); a restore that
    failed before putting the database back does not create an empty one.
    """
    if not create and databases.kind(cfg.ledger_db) == "sqlite":
        if not databases.sqlite_path(cfg.ledger_db).exists():
            out.failures.append(
                f"the audit entry could not be written: the ledger database "
                f"{databases.sqlite_path(cfg.ledger_db)} is missing"
            )
            return
    try:
        audit = AuditLog(cfg.ledger_db, anchor=cfg.anchor)
        try:
            audit.append(
                ACTOR,
                action,
                f"run:{out.run}",
                "ok" if out.ok else "failed",
                repository=cfg.shown_repository(),
                failures=out.failures,
                **details,
            )
        finally:
            audit.engine.dispose()
    except Exception as e:  # noqa: BLE001 - any failure to audit is reported, never silent
        out.failures.append(
            f"the audit entry could not be written to the ledger database "
            f"({databases._safe(cfg.ledger_db)}): {e.__class__.__name__}: {e}"
        )


STATUS_METRICS = {
    "hdss_backup_last_run_timestamp_seconds": "Start of the last backup run (Unix time).",
    "hdss_backup_last_run_success": "1 if the last backup run backed up every part, else 0.",
    "hdss_backup_last_success_timestamp_seconds": "Start of the last complete backup run.",
    "hdss_backup_last_run_duration_seconds": "Duration of the last backup run.",
    "hdss_backup_last_run_failures": "Failed parts of the last backup run.",
}


def read_status(path: Path) -> dict[str, float]:
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name in STATUS_METRICS:
                values[name] = float(value)
    return values


def write_status(path: Path, ok: bool, started: float, ended: float, failures: int) -> None:
    """The node-exporter textfile of the last run (alert on success age or success 0)."""
    last_success = (
        started if ok else read_status(path).get("hdss_backup_last_success_timestamp_seconds", 0)
    )
    values = {
        "hdss_backup_last_run_timestamp_seconds": started,
        "hdss_backup_last_run_success": 1 if ok else 0,
        "hdss_backup_last_success_timestamp_seconds": last_success,
        "hdss_backup_last_run_duration_seconds": round(ended - started, 3),
        "hdss_backup_last_run_failures": failures,
    }
    lines = []
    for name, value in values.items():
        lines += [
            f"# HELP {name} {STATUS_METRICS[name]}",
            f"# TYPE {name} gauge",
            f"{name} {value}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
