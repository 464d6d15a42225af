"""A backup run and a restore, as ``hdss-backup`` and ``make backup``/``make restore`` run them."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import requests
from sqlalchemy.exc import SQLAlchemyError

from ..audit import AuditLog
from ..audit.anchor import AnchorLog
from ..ledger.hubconfig import audit_anchor
from ..ledger.hubconfig import db_url as ledger_db_url
from ..settings import archive_root
from . import databases, files, volumes
from .restic import BackupError, Restic

log = logging.getLogger(__name__)

ACTOR = "hdss-backup"
STAGING = "hdss-state"
MANIFEST = "hdss-manifest.json"
KEEP = ("daily", "weekly", "monthly")


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
def _lock(cfg: Config) -> Iterator[None]:
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


# -- backup ------------------------------------------------------------------------------


def _stage_state(cfg: Config, staging: Path, run: str) -> None:
    """Consistent copies of the databases and the state files in ``staging``.

    The anchor log is copied before the ledger database: every checkpoint in the copy then
    names an entry the database copy holds, so the restored chain verifies (entries after
    the newest copied checkpoint show as "not anchored yet").
    """
    staging.mkdir(mode=0o700)
    if cfg.anchor.log_path.exists():
        shutil.copy2(cfg.anchor.log_path, staging / cfg.anchor.log_path.name)
    databases.copy_out(
        cfg.ledger_db, staging / databases.dump_name("ledger", cfg.ledger_db), "ledger"
    )
    databases.copy_out(cfg.hub_db, staging / databases.dump_name("hub", cfg.hub_db), "hub")
    secrets = cfg.state_dir / "secrets"
    if secrets.is_dir():
        files.copy_tree(secrets, staging / "secrets", skip=lambda p: p == cfg.password_file)
    airlock = cfg.state_dir / "airlock"
    if airlock.is_dir():
        files.copy_tree(airlock, staging / "airlock")
    if cfg.settings_file is not None:
        if not cfg.settings_file.is_file():
            raise BackupError(f"the settings file {cfg.settings_file} cannot be read")
        shutil.copy2(cfg.settings_file, staging / "settings.yaml")
    info = {
        "run": run,
        "hub_db": databases.kind(cfg.hub_db),
        "ledger_db": databases.kind(cfg.ledger_db),
        "state_dir": str(cfg.state_dir),
        "settings_file": str(cfg.settings_file) if cfg.settings_file else None,
    }
    (staging / "info.json").write_text(json.dumps(info, indent=1))


def _backup_state(cfg: Config, restic: Restic, run: str, out: Outcome) -> None:
    folder = Path(tempfile.mkdtemp(prefix="staging-", dir=cfg.state_dir / "backup"))
    try:
        staging = folder / STAGING
        _stage_state(cfg, staging, run)
        out.done["state"] = restic.backup_folder(staging, [f"run:{run}", "part:state"], "state")
    except (BackupError, OSError) as e:
        out.failures.append(f"state: {e}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _backup_volumes(cfg: Config, restic: Restic, run: str, out: Outcome) -> None:
    try:
        client = cfg.docker()
        names = volumes.list_volumes(client, cfg.prefix, cfg.home_template)
    except (BackupError, docker.errors.DockerException, requests.RequestException) as e:
        out.failures.append(f"volumes: the engine at {cfg.docker_host} does not answer: {e}")
        return
    try:
        for name in names:
            stream = volumes.read_volume(client, cfg.image, cfg.prefix, name)
            try:
                out.done[f"volume:{name}"] = restic.backup_stream(
                    stream, f"volumes/{name}.tar", [f"run:{run}", f"part:volume:{name}"]
                )
            except BackupError as e:
                out.failures.append(f"volume {name}: {e}")
            finally:
                stream.close()
    finally:
        client.close()


def _backup_archives(cfg: Config, restic: Restic, run: str, out: Outcome) -> None:
    root = cfg.archive_root
    if not root.exists():
        out.notes.append(f"no archive root at {root} yet (nothing archived)")
        return
    try:
        out.done["archives"] = restic.backup_folder(
            root, [f"run:{run}", "part:archives"], "archives"
        )
    except BackupError as e:
        out.failures.append(f"archives: {e}")


def _apply_retention(cfg: Config, restic: Restic, out: Outcome) -> None:
    """Keep the complete runs the policy keeps, with all their parts; forget the rest."""
    if not cfg.keep:
        return
    kept = restic.kept_by_policy(["part:manifest", "complete"], cfg.keep)
    everything = restic.snapshots()
    runs = {
        t
        for s in everything
        if s["id"] in kept
        for t in s.get("tags") or []
        if t.startswith("run:")
    }
    gone = [
        s["id"]
        for s in everything
        if not runs.intersection(s.get("tags") or [])
        and f"run:{out.run}" not in (s.get("tags") or [])
    ]
    restic.forget(gone, prune=bool(gone))
    if gone:
        out.notes.append(f"retention: {len(gone)} snapshots of older runs forgotten and pruned")


def backup(cfg: Config) -> Outcome:
    """One backup run; every failure is in the outcome (and the audit log), never raised."""
    out = Outcome(new_run_id())
    started = time.time()
    try:
        with _lock(cfg):
            restic = cfg.restic()
            restic.open(create=True)
            # The audit log's database is made if the ledger never ran, as the run's own
            # audit entry would make it, so that every run's copy holds it.
            AuditLog(cfg.ledger_db).engine.dispose()
            _backup_state(cfg, restic, out.run, out)
            _backup_volumes(cfg, restic, out.run, out)
            _backup_archives(cfg, restic, out.run, out)
            manifest = {
                "run": out.run,
                "time": datetime.now(UTC).isoformat(),
                "parts": out.done,
                "failures": out.failures,
                "complete": out.ok,
            }
            tags = [f"run:{out.run}", "part:manifest", *(["complete"] if out.ok else [])]
            restic.backup_stream([json.dumps(manifest, indent=1).encode()], MANIFEST, tags)
            if out.ok:
                _apply_retention(cfg, restic, out)
    except (BackupError, OSError) as e:
        out.failures.append(str(e))
    except SQLAlchemyError as e:
        out.failures.append(f"the ledger database {databases._safe(cfg.ledger_db)}: {e}")
    _record(cfg, "backup.run", out, {"parts": sorted(out.done), "notes": out.notes})
    write_status(cfg.status_file, out.ok, started, time.time(), len(out.failures))
    return out


# -- alerting ----------------------------------------------------------------------------


def _record(
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


# -- runs ----------------------------------------------------------------------------------


def runs(restic: Restic) -> list[dict[str, Any]]:
    """The runs in the repository, newest first: id, time, complete, snapshot id."""
    out = []
    for snap in restic.snapshots(["part:manifest"]):
        tags = snap.get("tags") or []
        run = next((t[4:] for t in tags if t.startswith("run:")), None)
        if run:
            out.append(
                {"run": run, "time": snap["time"], "complete": "complete" in tags, "id": snap["id"]}
            )
    return sorted(out, key=lambda r: r["run"], reverse=True)


def find_run(restic: Restic, run: str | None) -> tuple[str, dict[str, Any]]:
    """The run to restore (newest complete one unless named) and its manifest."""
    found = runs(restic)
    if run:
        match = [r for r in found if r["run"] == run]
        if not match:
            raise BackupError(f"no backup run {run} in the repository (hdss-backup snapshots)")
    else:
        match = [r for r in found if r["complete"]]
        if not match:
            raise BackupError(
                "the repository holds no complete backup run (hdss-backup snapshots lists them)"
            )
    manifest = json.loads(restic.read(match[0]["id"], f"/{MANIFEST}"))
    return match[0]["run"], manifest


# -- restore -------------------------------------------------------------------------------


def hub_running(cfg: Config) -> int | None:
    """The pid of a hub running on this state folder, if any."""
    pid_file = cfg.state_dir / "jupyterhub.pid"
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"jupyterhub" in cmdline else None


def _restore_state(cfg: Config, restic: Restic, snapshot: str, out: Outcome) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="restore-", dir=cfg.state_dir / "backup"))
    details: dict[str, Any] = {}
    try:
        with restic.dump(snapshot, f"/{STAGING}") as stream:
            files.safe_extract(stream, folder, STAGING)
        for label, url in (("ledger", cfg.ledger_db), ("hub", cfg.hub_db)):
            copy = folder / databases.dump_name(label, url)
            if not copy.exists():
                raise BackupError(
                    f"the backup holds no {copy.name}: the {label} database was of another "
                    "kind then; restore it by hand from the snapshot"
                )
            out.notes.append(databases.put_back(url, copy, label))
        anchor_copy = folder / cfg.anchor.log_path.name
        if cfg.anchor.log_path.exists():
            newest = cfg.anchor.read().newest
            details["previous_anchor_newest_seq"] = newest.seq if newest else None
        # The anchor log goes back with the database it anchors: the live one has the
        # checkpoints of entries the restored database no longer holds. It is kept aside.
        if anchor_copy.exists():
            note = files.put_file(anchor_copy, cfg.anchor.log_path, replace=True)
        elif cfg.anchor.log_path.exists():
            aside = cfg.anchor.log_path.with_name(
                f"{cfg.anchor.log_path.name}.replaced-{files.stamp()}"
            )
            cfg.anchor.log_path.rename(aside)
            note = f"the backup holds no anchor log (empty chain); the one there is kept as {aside}"
        else:
            note = ""
        if note:
            out.notes.append(note)
            details["anchor_log"] = note
        for sub in ("secrets", "airlock"):
            for rel in sorted(
                p.relative_to(folder) for p in (folder / sub).rglob("*") if p.is_file()
            ):
                note = files.put_file(folder / rel, cfg.state_dir / rel, replace=sub == "secrets")
                if note:
                    out.notes.append(note)
        saved = folder / "settings.yaml"
        if saved.exists() and cfg.settings_file is not None:
            note = files.put_file(saved, cfg.settings_file, replace=False)
            if note.startswith("kept"):
                beside = cfg.settings_file.with_name(
                    f"{cfg.settings_file.name}.from-backup-{out.run}"
                )
                shutil.copy2(saved, beside)
                note = f"the settings file {cfg.settings_file} differs from the backup's, kept as {beside}"
            if note:
                out.notes.append(note)
        out.done["state"] = snapshot
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return details


def _restore_volumes(
    cfg: Config, restic: Restic, manifest: dict, only: list[str] | None, out: Outcome
) -> None:
    parts = {k[7:]: v for k, v in manifest["parts"].items() if k.startswith("volume:")}
    unknown = sorted(set(only or []) - set(parts))
    for name in unknown:
        out.failures.append(f"volume {name}: not in backup run {out.run}")
    client = cfg.docker()
    try:
        for name in sorted(parts):
            if only is not None and name not in only:
                continue
            if only is None and volumes.volume_exists(client, name):
                out.notes.append(f"volume {name} exists, left as it is")
                continue
            try:
                with restic.dump(parts[name], f"/volumes/{name}.tar") as stream:
                    volumes.write_volume(client, cfg.image, cfg.prefix, name, stream)
                out.done[f"volume:{name}"] = parts[name]
            except BackupError as e:
                out.failures.append(f"volume {name}: {e}")
    finally:
        client.close()


def _restore_archives(cfg: Config, restic: Restic, snapshot: str, out: Outcome) -> None:
    folder = Path(tempfile.mkdtemp(prefix="restore-", dir=cfg.state_dir / "backup"))
    try:
        name = cfg.archive_root.name
        with restic.dump(snapshot, f"/{name}") as stream:
            restored = files.safe_extract(stream, folder, name)
        count = 0
        for rel in restored:
            if files.put_file(folder / rel, cfg.archive_root / rel, replace=False).startswith(
                "restored"
            ):
                count += 1
        out.done["archives"] = snapshot
        out.notes.append(f"{count} archive files restored to {cfg.archive_root}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def restore(
    cfg: Config, run: str | None, what: set[str], only_volumes: list[str] | None
) -> Outcome:
    """Put back ``what`` (state, volumes, archives) of a run; audited, never silent."""
    out = Outcome(run or "latest")
    details: dict[str, Any] = {"what": sorted(what)}
    try:
        with _lock(cfg):
            restic = cfg.restic()
            restic.open(create=False)
            out.run, manifest = find_run(restic, run)
            details["run"] = out.run
            if "state" in what:
                pid = hub_running(cfg)
                if pid is not None:
                    raise BackupError(
                        f"the hub is running (pid {pid}): stop it (make down) before restoring "
                        "its databases"
                    )
                details.update(_restore_state(cfg, restic, manifest["parts"]["state"], out))
            if "volumes" in what:
                _restore_volumes(cfg, restic, manifest, only_volumes, out)
            if "archives" in what and "archives" in manifest["parts"]:
                _restore_archives(cfg, restic, manifest["parts"]["archives"], out)
    except (BackupError, OSError, KeyError, docker.errors.DockerException) as e:
        out.failures.append(f"{e.__class__.__name__}: {e}" if isinstance(e, KeyError) else str(e))
    details["restored"] = sorted(out.done)
    _record(cfg, "backup.restore", out, details, create=False)
    return out
