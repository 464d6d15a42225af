"""Fixtures of the Ansible tests: a throwaway systemd host in a container, reached by SSH.

The test host is ansible/tests/Dockerfile (systemd as PID 1, sshd, python3) on a
debootstrap base, both tagged by a hash of their inputs (ansible/tests/build-host-image.sh),
so a warm machine builds nothing. It runs unprivileged (--tmpfs /run --tmpfs /run/lock,
/sys/fs/cgroup read-only) and the host's ansible-playbook reaches it over SSH with a key
made for the run: the way an operator's control node reaches a server, with the same
ansible-core that ansible-lint checks (ansible-core has no docker connection plugin
without collections, and installing Ansible inside the host would test another setup).

Test-only choices, each a variable of the roles, not a change to them:
- the container shares the machine's network namespace (--network host) and gets the
  machine's Docker socket: the hub binds its API on the gateway of a Docker network of
  that engine, which exists only in the engine's own namespace. So every port is picked
  free at run time and everything listens on 127.0.0.1 or that test network;
- hdss_docker_manage_engine: false (an unprivileged container cannot run dockerd);
- hdss_hub_secure_firewall_manage: false (nor change the host's firewall; the hub warns);
- hdss_metrics_private_users: false (nor make a user namespace for Prometheus);
- hdss_images_build: false and hdss_hub_docker_image = the test host image (the hub only
  checks that its image exists; the images have their own tests);
- apt, pip and npm download caches mounted from ~/.cache/hdsstest-ansible (or
  $HDSS_TEST_CACHE), which keeps a warm run off the network for the big downloads.
Objects are named hdsstest-ansible-<random> and removed at the end; a failing test prints
the hub's journal and the front's error log.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hdss_harness.wait import wait_until

from tests.conftest import DOCKER, PROJECT_DIR, VENV_BIN, require

ANSIBLE_DIR = PROJECT_DIR / "ansible"
BUILD_HOST_IMAGE = ANSIBLE_DIR / "tests" / "build-host-image.sh"
CACHE = Path(os.environ.get("HDSS_TEST_CACHE", Path.home() / ".cache" / "hdsstest-ansible"))
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)


def free_port(pair: bool = False) -> int:
    """A TCP port free on 127.0.0.1 (and the next one too, when ``pair``)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair found")


def docker(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout
    )


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    def recap(self, host: str) -> dict[str, int]:
        for name, ok, changed, unreachable, failed in RECAP.findall(self.output):
            if name == host:
                return {
                    "ok": int(ok),
                    "changed": int(changed),
                    "unreachable": int(unreachable),
                    "failed": int(failed),
                }
        raise AssertionError(f"no PLAY RECAP line for {host}:\n{self.output[-3000:]}")

    def changed_tasks(self) -> list[str]:
        """Names of the tasks that reported `changed`, for a readable failure message."""
        out, task = [], None
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line
            elif line.startswith("changed:") and task:
                out.append(f"{task} -> {line}")
        return out


@dataclass
class ConvergeHost:
    name: str
    image: str
    inventory: Path
    vars_file: Path
    ports: dict[str, int]
    network: str

    host = "hdsstest"

    def playbook(self, *args: str, timeout: int = 900) -> PlaybookRun:
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        }
        cmd = [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(self.inventory),
            "-e",
            f"@{self.vars_file}",
            str(ANSIBLE_DIR / "site.yml"),
            *args,
        ]
        start = time.monotonic()
        proc = subprocess.run(
            cmd, cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
        out = proc.stdout + proc.stderr
        print(
            f"ansible-playbook {' '.join(args)}: rc={proc.returncode} in "
            f"{time.monotonic() - start:.0f} s"
        )
        return PlaybookRun(proc.returncode, out)

    def exec(self, *cmd: str, check: bool = False) -> subprocess.CompletedProcess:
        return docker("exec", self.name, *cmd, check=check)

    def get(self, url: str, timeout: float = 10) -> tuple[int, str]:
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode()

    def diagnostics(self) -> str:
        parts = []
        for title, cmd in [
            ("systemctl --failed", ["systemctl", "--failed", "--no-pager"]),
            ("journal of hdss-hub", ["journalctl", "-u", "hdss-hub", "--no-pager", "-n", "150"]),
            ("journal of prometheus", ["journalctl", "-u", "prometheus", "--no-pager", "-n", "40"]),
            ("front error log", ["sh", "-c", "tail -n 40 /var/log/hdss/front-error.log"]),
        ]:
            r = self.exec(*cmd)
            parts.append(f"----- {title} -----\n{r.stdout}{r.stderr}")
        return "\n".join(parts)


def _wait_for_ssh(port: int, timeout: float) -> None:
    def greets() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(4).startswith(b"SSH")

    wait_until(
        greets,
        timeout,
        0.5,
        f"sshd in the test host did not answer on port {port}",
        expect=(OSError,),
    )


def _snapshot_sources(dest: Path) -> Path:
    """A copy of the working tree as git sees it: other engineers edit the tree while the
    tests run, and every run of one session must install the same release."""
    names = (
        subprocess.run(
            [
                "git",
                "-C",
                str(PROJECT_DIR),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, names):
        src = PROJECT_DIR / name
        if src.is_file() and not src.is_symlink():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def _dataset_cli_present() -> bool:
    return (PROJECT_DIR / "datasets" / "hdss_registers" / "cli.py").is_file()


@pytest.fixture(scope="session")
def engine() -> None:
    ok = (
        subprocess.run([DOCKER, "info"], capture_output=True).returncode == 0
        if Path(DOCKER).exists()
        else False
    )
    require(ok, "no Docker engine answers; start dockerd")


@pytest.fixture(scope="session")
def host_image(engine) -> str:
    proc = subprocess.run(
        [str(BUILD_HOST_IMAGE)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "DOCKER": DOCKER},
    )
    if proc.returncode != 0:
        pytest.fail(f"building the test host image failed:\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def cache_lock() -> Iterator[None]:
    """One converge session at a time on this machine: they share the download caches
    (apt locks its archive folder) and the two cores."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "lock", "w") as f:

        def locked() -> bool:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True

        wait_until(
            locked,
            1800,
            2,
            f"another Ansible test session holds {CACHE / 'lock'} for 30 min",
            expect=(BlockingIOError,),
        )
        yield


@pytest.fixture(scope="session")
def test_host(host_image: str, cache_lock) -> Iterator[ConvergeHost]:
    """A running systemd container, reachable by SSH, and the inventory that reaches it."""
    # Our own temporary folder: pytest's basetemp keeps only the last three sessions, and
    # other test runs on this machine would delete it under us.
    tmp = Path(tempfile.mkdtemp(prefix="hdsstest-ansible-"))
    name = f"hdsstest-ansible-{secrets.token_hex(3)}"
    network = f"{name}-net"
    key = tmp / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    ports = {
        "ssh": free_port(),
        "proxy": free_port(pair=True),
        "hub": free_port(),
        "https": free_port(),
        "http": free_port(),
        "prometheus": free_port(),
        "node_exporter": free_port(),
    }
    sshd_conf = tmp / "sshd-port.conf"
    sshd_conf.write_text(f"Port {ports['ssh']}\nListenAddress 127.0.0.1\n")
    caches = {d: CACHE / d for d in ("apt", "pip", "npm")}
    for d in caches.values():
        (d / "partial").mkdir(parents=True, exist_ok=True) if d.name == "apt" else d.mkdir(
            parents=True, exist_ok=True
        )
    sock = Path("/var/run/docker.sock")
    docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--tmpfs",
        "/tmp",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        "-v",
        f"{key}.pub:/root/.ssh/authorized_keys:ro",
        "-v",
        f"{sshd_conf}:/etc/ssh/sshd_config.d/port.conf:ro",
        "-v",
        f"{sock}:/run/docker.sock",
        "-v",
        f"{caches['apt']}:/var/cache/apt/archives",
        "-v",
        f"{caches['pip']}:/root/.cache/pip",
        "-v",
        f"{caches['npm']}:/root/.npm",
        host_image,
    )
    inventory = tmp / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "children": {
                        "hdss_hub": {
                            "hosts": {
                                ConvergeHost.host: {
                                    "ansible_host": "127.0.0.1",
                                    "ansible_port": ports["ssh"],
                                    "ansible_user": "root",
                                    "ansible_ssh_private_key_file": str(key),
                                    "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
                                    "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                                }
                            }
                        },
                        "hdss_compute": {"hosts": {}},
                    }
                }
            }
        )
    )
    vars_file = tmp / "test-vars.yml"
    vars_file.write_text(
        json.dumps(
            {
                "hdss_app_source_dir": str(_snapshot_sources(tmp / "src")),
                "hdss_app_build_dir": str(tmp / "build"),
                "hdss_docker_manage_engine": False,
                # An unprivileged container cannot change the host's firewall.
                "hdss_hub_secure_firewall_manage": False,
                "hdss_docker_group_gid": sock.stat().st_gid,
                "hdss_images_build": False,
                "hdss_hub_docker_image": host_image,
                "hdss_hub_docker_prefix": name,
                "hdss_hub_docker_network": network,
                "hdss_hub_bind_url": f"http://127.0.0.1:{ports['proxy']}",
                "hdss_hub_port": ports["hub"],
                "hdss_hub_admin_users": ["admin"],
                "hdss_hub_groups": {"students": ["ana"], "researchers": ["bo"], "stewards": []},
                "hdss_front_server_name": "localhost",
                "hdss_front_https_port": ports["https"],
                "hdss_front_http_port": ports["http"],
                "hdss_front_ipv6": False,
                "hdss_datasets_generate": os.environ.get("HDSS_TEST_DATASETS", "")
                not in ("0", "false")
                and _dataset_cli_present(),
                "hdss_logs_journal_max_use": "64M",
                # The host network is shared: Prometheus and node exporter on free ports.
                "hdss_metrics_listen": f"127.0.0.1:{ports['prometheus']}",
                "hdss_metrics_node_exporter_listen": f"127.0.0.1:{ports['node_exporter']}",
                "hdss_metrics_scrape_interval": "2s",
                # Nor make user namespaces (Debian's prometheus.service: PrivateUsers=true).
                "hdss_metrics_private_users": False,
            }
        )
    )
    host = ConvergeHost(name, host_image, inventory, vars_file, ports, network)
    try:
        _wait_for_ssh(ports["ssh"], 60)
        yield host
    finally:
        if os.environ.get("HDSS_TEST_KEEP"):  # debugging: leave the host running
            print(f"kept {name}; inventory {inventory}, vars {vars_file}")
        else:
            _remove(name, network, tmp)


def _remove(name: str, network: str, tmp: Path) -> None:
    """Remove the test host, anything its hub started, its network and its files."""
    docker("rm", "-f", "-v", name, check=False)
    ids = docker("ps", "-aq", "--filter", f"name=^{name}", check=False).stdout.split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
    # The hub makes the test network and, for the secure profile, "<network>-secure".
    nets = docker("network", "ls", "-q", "--filter", f"name=^{name}", check=False).stdout.split()
    for net in [network, *nets]:
        docker("network", "rm", net, check=False)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def diagnose_on_failure(request, test_host: ConvergeHost) -> Iterator[None]:
    """On a failed test, the host's failed units, hub journal and front error log.

    ``rep_call`` is set by the report hook in tests.integration.fixtures."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        sys.stderr.write(test_host.diagnostics() + "\n")
