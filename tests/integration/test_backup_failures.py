"""A backup that fails is loud: a message naming the problem, an audit entry, exit 1 and a
status file that says so. Real restic, the real engine; no hub is needed for these.

Each failure sits beside its positive control (the same site backs up when the problem is
taken away).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import VENV_BIN, unique_prefix
from tests.integration.hubproc import cleanup_docker, free_port

pytestmark = [pytest.mark.docker]


class Site:
    """A state folder and settings as a hub leaves them, without the hub."""

    def __init__(self, root: Path, prefix: str) -> None:
        self.root, self.prefix = root, prefix
        self.state = root / "state"
        (self.state / "secrets").mkdir(parents=True, mode=0o700)
        secret = self.state / "secrets" / "cookie_secret"
        secret.write_text("hdsstest-cookie-secret-c0ffee\n")
        secret.chmod(0o600)
        db = sqlite3.connect(self.state / "jupyterhub.sqlite")
        db.execute("create table users (name text)")
        db.commit()
        db.close()
        self.password_file = self.state / "secrets" / "backup-password"
        self.status = self.state / "backup" / "status.prom"
        self.settings = self.write_settings("settings.yaml")

    def write_settings(self, name: str, **backup) -> Path:
        path = self.root / name
        settings = {"hub": {"state_dir": str(self.state)}, "docker": {"prefix": self.prefix}}
        if backup:
            settings["backup"] = backup
        path.write_text(yaml.safe_dump(settings))
        return path

    def run(self, *args: str, settings: Path | None = None) -> subprocess.CompletedProcess:
        command = args[0] if args[0].startswith("hdss-") else "hdss-backup"
        argv = args[1:] if command == args[0] else args
        return subprocess.run(
            [str(VENV_BIN / command), *argv],
            env={**os.environ, "HDSS_SETTINGS": str(settings or self.settings)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def last_audit(self) -> dict:
        out = self.run("hdss-audit", "export")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    def status_value(self, name: str) -> float:
        for line in self.status.read_text().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not in {self.status}")


@pytest.fixture(scope="module")
def site(engine, tmp_path_factory):
    prefix = unique_prefix("bkf")
    site = Site(tmp_path_factory.mktemp("backup-failures"), prefix)
    home = engine.volumes.create(f"{prefix}-home-stu")
    engine.containers.run(
        "hdss/singleuser:latest",
        ["sh", "-c", "echo notes > /home/jovyan/notes.txt"],
        volumes={home.name: {"bind": "/home/jovyan", "mode": "rw"}},
        user="1000:100",
        name=f"{prefix}-writer",
        remove=True,
    )
    try:
        yield site
    finally:
        cleanup_docker(engine, prefix)


def test_a_backup_succeeds_and_says_so(site):
    """The positive control of every failure below."""
    done = site.run("backup")
    assert done.returncode == 0, done.stderr
    assert f"volume:{site.prefix}-home-stu" in done.stdout
    assert site.status_value("hdss_backup_last_run_success") == 1
    assert site.status_value("hdss_backup_last_success_timestamp_seconds") > 0
    entry = site.last_audit()
    assert (entry["action"], entry["outcome"]) == ("backup.run", "ok")
    assert site.password_file.stat().st_mode & 0o777 == 0o600


def test_missing_repository_password(site):
    if not site.status.exists():  # run alone: the control first
        assert site.run("backup").returncode == 0
    last_success = site.status_value("hdss_backup_last_success_timestamp_seconds")
    kept = site.password_file.with_name("kept-aside")
    site.password_file.rename(kept)
    try:
        failed = site.run("backup")
    finally:
        kept.rename(site.password_file)
    assert failed.returncode == 1
    assert f"password file {site.password_file}" in failed.stderr
    assert "is missing" in failed.stderr
    entry = site.last_audit()
    assert (entry["action"], entry["outcome"]) == ("backup.run", "failed")
    assert "password file" in entry["details"]["failures"][0]
    assert site.status_value("hdss_backup_last_run_success") == 0
    # The alert's clock keeps the last good run.
    assert site.status_value("hdss_backup_last_success_timestamp_seconds") == last_success
    # Restore and listing refuse the same way.
    site.password_file.rename(kept)
    try:
        listed = site.run("snapshots")
        restored = site.run("restore", "--only", "volumes")
    finally:
        kept.rename(site.password_file)
    assert listed.returncode == 1 and "is missing" in listed.stderr
    assert restored.returncode == 1 and "is missing" in restored.stderr


def test_unreachable_repository(site):
    settings = site.write_settings(
        "unreachable.yaml", repository=f"rest:http://127.0.0.1:{free_port()}/"
    )
    failed = site.run("backup", settings=settings)
    assert failed.returncode == 1
    assert "connection refused" in failed.stderr
    assert "is reachable" in failed.stderr
    entry = site.last_audit()
    assert (entry["action"], entry["outcome"]) == ("backup.run", "failed")
    assert "rest:http://127.0.0.1" in entry["details"]["repository"]
    assert site.status_value("hdss_backup_last_run_success") == 0


def test_a_volume_that_cannot_be_read(site, engine):
    broken = f"{site.prefix}-home-broken"
    engine.volumes.create(
        broken,
        driver_opts={"type": "none", "o": "bind", "device": "/nonexistent-hdsstest-volume"},
    )
    try:
        failed = site.run("backup")
    finally:
        engine.volumes.get(broken).remove()
    assert failed.returncode == 1
    assert f"volume {broken} cannot be read" in failed.stderr
    assert f"volume:{site.prefix}-home-stu" in failed.stdout  # the others are still saved
    entry = site.last_audit()
    assert (entry["action"], entry["outcome"]) == ("backup.run", "failed")
    assert any(broken in f for f in entry["details"]["failures"])
    assert site.status_value("hdss_backup_last_run_failures") == 1
    listed = site.run("snapshots")
    assert listed.stdout.splitlines()[0].endswith("INCOMPLETE"), listed.stdout
    assert not engine.containers.list(all=True, filters={"label": "hdss.backup-helper"})


@pytest.mark.abuse
def test_the_repository_holds_no_readable_secret_and_no_output_shows_its_password(site):
    done = site.run("backup")
    assert done.returncode == 0, done.stderr
    password = site.password_file.read_text().strip()
    for text in (done.stdout, done.stderr, site.run("hdss-audit", "export").stdout):
        assert password not in text
    assert password not in site.status.read_text()
    repository = site.state / "backup" / "restic"
    blobs = [p for p in repository.rglob("*") if p.is_file()]
    assert blobs
    for secret in (b"hdsstest-cookie-secret-c0ffee", b"notes\n"):
        assert not any(secret in p.read_bytes() for p in blobs)  # encrypted at rest
    # The control: with the password the same secret comes back.
    restic = subprocess.run(
        [
            "restic",
            "dump",
            "--tag",
            "hdss,part:state",
            "latest",
            "/hdss-state/secrets/cookie_secret",
        ],
        env={
            "PATH": os.environ["PATH"],
            "RESTIC_REPOSITORY": str(repository),
            "RESTIC_PASSWORD_FILE": str(site.password_file),
            "RESTIC_CACHE_DIR": str(site.state / "backup" / "cache"),
        },
        capture_output=True,
        text=True,
    )
    assert restic.stdout == "hdsstest-cookie-secret-c0ffee\n", restic.stderr
