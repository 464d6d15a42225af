"""Restoring a run: the databases and state files, missing volumes, missing archives."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import docker

from . import databases, files, volumes
from .config import EXTRA, MANIFEST, STAGING, STATE_FOLDERS, Config, Outcome, lock, record
from .restic import BackupError, Restic

log = logging.getLogger(__name__)

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
        for sub in STATE_FOLDERS:
            for rel in sorted(
                p.relative_to(folder) for p in (folder / sub).rglob("*") if p.is_file()
            ):
                # Secrets and course state go back with the databases they belong to;
                # the airlock's files are kept where they are.
                note = files.put_file(folder / rel, cfg.state_dir / rel, replace=sub != "airlock")
                if note:
                    out.notes.append(note)
        for restored in sorted(p for p in (folder / EXTRA).rglob("*") if p.is_file()):
            target = Path("/", restored.relative_to(folder / EXTRA))
            note = files.put_file(restored, target, replace=False)
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
        with lock(cfg):
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
    record(cfg, "backup.restore", out, details, create=False)
    return out
