import os
import stat

import pytest
from hdss_common.secretfiles import SecretFileError
from hdss_common.secretfiles import ensure_secret_file as ensure_secret
from hdss_common.secretfiles import read_secret_file as read_secret


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
