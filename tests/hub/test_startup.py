"""The real hub process refuses bad settings before it starts anything."""

from __future__ import annotations

import os
import socket
import subprocess

from tests.conftest import PROJECT_DIR, VENV_BIN


def start_hub(tmp_path, settings: str) -> subprocess.CompletedProcess:
    path = tmp_path / "settings.yaml"
    path.write_text(settings)
    return subprocess.run(
        [str(VENV_BIN / "jupyterhub"), "-f", str(PROJECT_DIR / "jupyterhub_config.py")],
        env={**os.environ, "HDSS_SETTINGS": str(path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unknown_setting_stops_the_hub_with_one_clear_message(tmp_path):
    result = start_hub(tmp_path, f"hub:\n  state_dir: {tmp_path}/state\n  bindurl: http://x\n")
    assert result.returncode != 0
    assert "hdss: the hub cannot start" in result.stderr
    assert "unknown key hub.bindurl" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "proxy.pid").exists()


def test_port_in_use_stops_the_hub_before_anything_starts(tmp_path):
    (tmp_path / "data").mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = start_hub(
            tmp_path,
            f"hub:\n  state_dir: {tmp_path}/state\n  bind_url: http://127.0.0.1:{port}\n"
            f"data:\n  synthetic_root: {tmp_path}/data\n",
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 (the public proxy) is already in use" in result.stderr
    assert not (tmp_path / "state" / "proxy.pid").exists()
