"""One backup run: the state folder, the volumes, the archives, a manifest, retention."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import docker
import requests
from sqlalchemy.exc import SQLAlchemyError

from ..audit import AuditLog
from . import databases, files, volumes
from .config import (
    EXTRA,
    MANIFEST,
    STAGING,
    STATE_FOLDERS,
    Config,
    Outcome,
    lock,
    new_run_id,
    record,
    write_status,
)
from .restic import BackupError, Restic

log = logging.getLogger(__name__)


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
    for name, skip in STATE_FOLDERS.items():
        folder = cfg.state_dir / name
        if folder.is_dir():
            skipped = {cfg.password_file, *(folder / s for s in skip)}
            files.copy_tree(folder, staging / name, skip=skipped.__contains__)
    for extra in cfg.extra_paths:
        if not extra.exists():
            raise BackupError(f"{extra} (backup.extra_paths) does not exist")
        target = staging / EXTRA / extra.relative_to("/")
        if extra.is_dir():
            files.copy_tree(extra, target, skip={cfg.password_file}.__contains__)
        else:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(extra, target)
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
        with lock(cfg):
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
    record(cfg, "backup.run", out, {"parts": sorted(out.done), "notes": out.notes})
    write_status(cfg.status_file, out.ok, started, time.time(), len(out.failures))
    return out
