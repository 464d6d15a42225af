import os
import stat

import pytest
from hdss_common.secretfiles import SecretFileError
from hdss_common.secretfiles import ensure_secret_file as ensure_secret
from hdss_common.secretfiles import read_secret_file as read_secret
from hdss_hub.audit.anchor import AnchorLog

from tests.conftest import require


def test_generated_secret_is_0600_and_stable(tmp_path):
    path = tmp_path / "secrets" / "token"
    first = ensure_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secret(path) == first


def test_world_readable_secret_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("abc\n")
    os.chmod(path, 0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_secret(path)


def test_empty_secret_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("")
    os.chmod(path, 0o600)
    with pytest.raises(SecretFileError, match="empty"):
        read_secret(path)


def test_a_root_run_command_leaves_the_hubs_files_to_the_hub(tmp_path):
    """hdss-backup runs as root and can be the first to write the audit anchors: the key,
    its new folder and the anchor log go to the state folder's owner, as the hub (its own
    user) must keep writing them. Control: a folder root owns keeps root's files."""
    require(os.geteuid() == 0, "handing files to the folder's owner needs root")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 4321, 4322)
    anchors = AnchorLog.in_state_dir(state)
    anchors.write(1, "0" * 64)
    for path in (anchors.key_path.parent, anchors.key_path, anchors.log_path):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (4321, 4322), path
    assert stat.S_IMODE(anchors.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(anchors.key_path.parent.stat().st_mode) == 0o700

    # Controls: a secret made by root in a folder root owns is root's, and so is one made
    # without folder_owner (the backup password) in the hub's folder.
    mine = tmp_path / "root-owned"
    ensure_secret(mine / "secrets" / "token")
    assert (mine / "secrets" / "token").stat().st_uid == 0
    ensure_secret(anchors.key_path.parent / "backup-password")
    assert (anchors.key_path.parent / "backup-password").stat().st_uid == 0
