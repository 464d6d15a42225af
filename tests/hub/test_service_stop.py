"""A hub service stops promptly on the hub's SIGINT or SIGTERM, even with SIGINT ignored.

The hub stops each managed service with SIGINT and waits 30 s before SIGTERM; a hub started
from a background shell (``make up``) hands its services SIGINT *ignored*, so a service that
kept Python's default handling sat out those 30 s (issue 15, item 6). The service here is a
real :class:`hdss_hub.webservice.HubService` serving HTTP in its own process.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests
from hdss_harness.procs import free_port
from hdss_harness.wait import wait_until

SERVICE = """
import sys, time
from tornado import web
from hdss_hub.webservice import HubService

class Hello(web.RequestHandler):
    def get(self):
        self.write("hello")

class Busy(web.RequestHandler):
    async def get(self):
        from hdss_hub.webservice import run_blocking
        await run_blocking(time.sleep, 3600)  # a blocking call that never ends in time

class Demo(HubService):
    name = "demo"
    def start(self):
        address, port = self.bind_address()
        self.listen(web.Application([("/", Hello), ("/busy", Busy)]), address, port)
        print("listening", flush=True)
        self.run()
        print("returned from run", flush=True)

Demo.main(["--Application.log_level=INFO"])
"""


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a background shell hands down


@pytest.fixture
def service(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        env={
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
            "PYTHONPATH": ":".join(sys.path),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_until(
        lambda: requests.get(url, timeout=2).ok,
        30,
        0.2,
        "the service did not answer",
        expect=(requests.RequestException,),
    )
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def stops(proc: subprocess.Popen) -> str:
    """The output of ``proc``, once it exited (it must within 20 s: the hub waits 30)."""
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"the service did not exit:\n{out}") from None
    return out


def ignores_sigint(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        ignored = int(next(line for line in f if line.startswith("SigIgn:")).split()[1], 16)
    return bool(ignored & (1 << (signal.SIGINT - 1)))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_service_exits_on_the_hubs_signal(service, signum):
    proc, url = service
    assert requests.get(url, timeout=5).text == "hello"  # positive control: it serves
    proc.send_signal(signum)
    out = stops(proc)
    assert proc.returncode == 0, out
    assert f"{signum.name}: stopping" in out
    assert "returned from run" in out


def test_a_plain_python_child_of_a_background_shell_would_ignore_sigint():
    """The reason for the handler: the inherited disposition is SIG_IGN."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=ignore_sigint
    )
    try:
        assert ignores_sigint(child.pid)
    finally:
        child.kill()
        child.wait(10)


def test_blocking_work_under_way_is_cut_off(service):
    proc, url = service
    with pytest.raises(requests.RequestException):
        requests.get(url + "busy", timeout=1)  # starts the endless blocking call
    proc.send_signal(signal.SIGTERM)
    out = stops(proc)
    assert proc.returncode == 0, out
    assert "cut off" in out
