"""Stopping and starting the Docker engine as an operator would, for the fault tests.

Where systemd runs the engine: ``systemctl stop|start docker``. Otherwise (``make up``'s
``scripts/engine.sh``, this machine, CI): the one ``dockerd`` process is sent SIGTERM, and
started again with the same command line and environment, its output appended to
``var/log/dockerd.log``; when ``var/dockerd.pid`` named the old process it names the new
one, so ``make down`` still stops it.

Stopping the engine stops every container on it: never run these while another test run
uses the engine (CI runs the tests one at a time).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hdss_harness.wait import wait_until

from tests.conftest import PROJECT_DIR, require

ENGINE_DEADLINE = 180  # seconds for the engine to stop or to answer again


def _systemd_runs_docker() -> bool:
    if not shutil.which("systemctl") or not Path("/run/systemd/system").exists():
        return False
    r = subprocess.run(
        ["systemctl", "is-active", "--quiet", "docker"], capture_output=True, timeout=30
    )
    return r.returncode == 0


@dataclass
class Engine:
    """The local engine, stopped and started again by ``stop()`` and ``start()``."""

    client: object
    systemd: bool = False
    cmdline: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    pid: int = 0

    @classmethod
    def find(cls, client) -> Engine:
        require(os.geteuid() == 0, "restarting the Docker engine needs root")
        if _systemd_runs_docker():
            return cls(client, systemd=True)
        pids = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout.split()
        require(len(pids) == 1, f"one local dockerd to restart, found {len(pids)}")
        pid = int(pids[0])
        proc = Path(f"/proc/{pid}")
        cmdline = [a for a in proc.joinpath("cmdline").read_bytes().decode().split("\0") if a]
        environ = dict(
            item.split("=", 1)
            for item in proc.joinpath("environ").read_bytes().decode().split("\0")
            if "=" in item
        )
        cwd = os.readlink(proc / "cwd")
        if not Path(cwd).is_dir():  # started from a checkout since removed ("... (deleted)")
            cwd = "/"
        return cls(client, cmdline=cmdline, environ=environ, cwd=cwd, pid=pid)

    def answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return False

    def stop(self) -> None:
        if self.systemd:
            subprocess.run(["systemctl", "stop", "docker"], check=True, timeout=ENGINE_DEADLINE)
        else:
            os.kill(self.pid, signal.SIGTERM)
            wait_until(
                lambda: not Path(f"/proc/{self.pid}").exists(),
                ENGINE_DEADLINE,
                0.5,
                f"dockerd {self.pid} did not stop",
            )
        wait_until(lambda: not self.answers(), ENGINE_DEADLINE, 0.5, "the engine still answers")

    def start(self) -> None:
        if self.systemd:
            subprocess.run(["systemctl", "start", "docker"], check=True, timeout=ENGINE_DEADLINE)
        else:
            log_dir = PROJECT_DIR / "var" / "log"
            log_dir.mkdir(parents=True, exist_ok=True)
            # Started through a shell that exits at once: dockerd is nobody's child here
            # and outlives the test run, as the one it replaces would.
            started = subprocess.run(
                [
                    "sh",
                    "-c",
                    'log=$1; shift; nohup "$@" >>"$log" 2>&1 </dev/null & echo $!',
                    "sh",
                    str(log_dir / "dockerd.log"),
                    *self.cmdline,
                ],
                env=self.environ,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
                start_new_session=True,
            )
            new_pid = int(started.stdout.split()[-1])
            pid_file = PROJECT_DIR / "var" / "dockerd.pid"
            if pid_file.exists() and pid_file.read_text().strip() == str(self.pid):
                pid_file.write_text(f"{new_pid}\n")
            self.pid = new_pid
        wait_until(self.answers, ENGINE_DEADLINE, 0.5, "the engine does not answer again")
