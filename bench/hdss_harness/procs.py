"""Server subprocesses on 127.0.0.1: free ports, start with a log, wait for HTTP, stop.

Shared by the real hub (tests.integration.hubproc), the OIDC provider (tests.oidc.provider)
and the spawn benchmark (bench/bench_spawn.py, which runs as a script: only the standard
library and requests here, no pytest).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import requests

from hdss_harness.wait import wait_until

# Ports handed out in this process: a port is free when asked for but taken only when its
# server starts, so the next call must not hand it (or a pair's second port) out again.
_HANDED_OUT: set[int] = set()


def _os_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port() -> int:
    """A port free on 127.0.0.1 now and not handed out before by this process."""
    for _ in range(100):
        port = _os_free_port()
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port on 127.0.0.1 that was not handed out already")


def free_port_pair() -> int:
    """A port p such that p and p+1 are free on 127.0.0.1 (proxy and its API)."""
    for _ in range(100):
        port = _os_free_port()
        if port > 65000 or {port, port + 1} & _HANDED_OUT:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        _HANDED_OUT.update((port, port + 1))
        return port
    raise RuntimeError("no free pair of ports on 127.0.0.1")


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log file, or "(no log)"."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_server(
    cmd: list[str],
    log_path: Path,
    ready_url: str,
    *,
    what: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 90,
    interval: float = 0.5,
    tail=None,
) -> subprocess.Popen:
    """Start ``cmd`` in its own session, output appended to ``log_path``; wait for HTTP.

    Returns once ``ready_url`` answers 2xx. With the end of the log (``tail()``, else the
    last 40 lines), raises RuntimeError if the process exits first, or WaitTimeout (an
    AssertionError and a TimeoutError) once ``timeout`` passes.
    """
    with open(log_path, "ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    tail = tail or (lambda: log_tail(log_path, 40))

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail()}")
        return requests.get(ready_url, timeout=2).ok

    wait_until(
        answers,
        timeout,
        interval,
        lambda: f"{what} did not answer {ready_url}:\n{tail()}",
        expect=(requests.RequestException,),
    )
    return proc


def stop_server(proc: subprocess.Popen | None, *, group: bool = False, wait: float = 60) -> None:
    """SIGTERM (to the process, or its whole session when ``group``), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
