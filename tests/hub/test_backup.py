"""The backup's pieces that need no engine or restic: settings, volume names, the status
file, extracting what comes back from the repository, putting files back."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hdss_hub.backup import files
from hdss_hub.backup.config import Config, read_status, write_status
from hdss_hub.backup.restic import BackupError
from hdss_hub.backup.volumes import volume_pattern
from hdss_hub.settings import defaults, merge, resolve_paths


def config(tmp_path: Path, **backup) -> Config:
    settings = merge(defaults(), {"hub": {"state_dir": str(tmp_path / "state")}, "backup": backup})
    return Config.from_settings(resolve_paths(settings, tmp_path), None, tmp_path)


def test_defaults_keep_everything_in_the_state_folder_and_a_retention_policy(tmp_path):
    cfg = config(tmp_path)
    state = tmp_path / "state"
    assert cfg.repository == str(state / "backup" / "restic")
    assert cfg.password_file == state / "secrets" / "backup-password"
    assert cfg.status_file == state / "backup" / "status.prom"
    assert cfg.archive_root == state / "archives"
    assert cfg.keep == {"daily": 7, "weekly": 4, "monthly": 6}
    assert cfg.hub_db == f"sqlite:///{state / 'jupyterhub.sqlite'}"
    assert cfg.ledger_db == f"sqlite:///{state / 'ledger.sqlite'}"


def test_repository_paths_resolve_and_remote_ones_keep_their_credentials_out_of_sight(tmp_path):
    assert config(tmp_path, repository="backups/r").repository == str(tmp_path / "backups/r")
    remote = config(tmp_path, repository="rest:https://hdss:s3cret@backup.example.dk/hdss")
    assert remote.repository == "rest:https://hdss:s3cret@backup.example.dk/hdss"
    assert "s3cret" not in remote.shown_repository()
    assert remote.shown_repository() == "rest:https://***@backup.example.dk/hdss"


def test_volume_pattern_matches_homes_and_projects_of_this_deployment_only():
    pattern = volume_pattern("hdss", "{prefix}-home-{username}")
    assert pattern.match("hdss-home-alice")
    assert pattern.match("hdss-home-ann-2e-b")  # escaped names
    assert pattern.match("hdss-project-diab-2026")
    for other in ("hdss-homes", "other-home-alice", "hdss-home-", "hdss-backup-1", "xhdss-home-a"):
        assert not pattern.match(other), other
    custom = volume_pattern("lab", "{prefix}-u-{safe_username}-h")
    assert custom.match("lab-u-bo-h") and not custom.match("lab-home-bo")


def test_status_file_keeps_the_last_success_through_a_failure(tmp_path):
    status = tmp_path / "status.prom"
    write_status(status, True, 1000.0, 1010.0, 0)
    write_status(status, False, 2000.0, 2005.0, 2)
    values = read_status(status)
    assert values["hdss_backup_last_run_success"] == 0
    assert values["hdss_backup_last_success_timestamp_seconds"] == 1000.0
    assert values["hdss_backup_last_run_timestamp_seconds"] == 2000.0
    assert values["hdss_backup_last_run_failures"] == 2
    assert "# TYPE hdss_backup_last_run_success gauge" in status.read_text()


def tar_of(*members: tuple[str, bytes | None, bytes]) -> io.BytesIO:
    """A tar with (name, data or None for a folder, kind) members; kind b"l" is a link."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == b"l":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o700
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_extract_puts_the_backup_files_in_place(tmp_path):
    stream = tar_of(("hdss-state", None, b""), ("hdss-state/secrets/key", b"k\n", b""))
    got = files.safe_extract(stream, tmp_path / "out", "hdss-state")
    assert got == [Path("secrets/key")]
    assert (tmp_path / "out/secrets/key").read_bytes() == b"k\n"
    assert (tmp_path / "out/secrets/key").stat().st_mode & 0o777 == 0o600


@pytest.mark.abuse
@pytest.mark.parametrize(
    "member",
    [
        ("hdss-state/../../escaped", b"x", b""),
        ("/etc/escaped", b"x", b""),
        ("elsewhere/file", b"x", b""),
        ("hdss-state/link", None, b"l"),
    ],
)
def test_extract_refuses_a_tar_that_would_write_outside_or_link(tmp_path, member):
    stream = tar_of(("hdss-state/ok", b"fine", b""), member)
    with pytest.raises(BackupError, match="refusing"):
        files.safe_extract(stream, tmp_path / "out", "hdss-state")
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "out" / "link").exists()


def test_put_file_restores_missing_keeps_identical_and_sets_aside_what_it_replaces(tmp_path):
    restored = tmp_path / "restored"
    restored.write_text("from backup")
    target = tmp_path / "live" / "secret"
    assert files.put_file(restored, target, replace=True).startswith("restored")
    assert target.read_text() == "from backup"
    assert files.put_file(restored, target, replace=True) == ""
    target.write_text("newer")
    assert files.put_file(restored, target, replace=False).startswith("kept")
    assert target.read_text() == "newer"
    note = files.put_file(restored, target, replace=True)
    assert "kept as" in note and target.read_text() == "from backup"
    aside = [p for p in target.parent.iterdir() if p.name.startswith("secret.replaced-")]
    assert len(aside) == 1 and aside[0].read_text() == "newer"


def test_restore_options_that_name_nothing_are_refused(monkeypatch, capsys):
    from hdss_hub.backup import cli

    monkeypatch.delenv("HDSS_SETTINGS", raising=False)
    assert cli.main(["restore", "--only", "homes"]) == 2
    assert "--only 'homes': choose from state, volumes, archives" in capsys.readouterr().err
    assert cli.main(["restore", "--only", "state", "--volume", "hdss-home-a"]) == 2
    assert "--volume needs volumes in --only" in capsys.readouterr().err
