"""Spawn benchmark: our configuration against a stock DockerSpawner one, in one run.

    .venv/bin/python bench/bench_spawn.py --out bench/results

For each configuration a real hub (with its own proxy, ports, state directory and Docker
name prefix) is started on 127.0.0.1; both run for the whole benchmark and are measured
turn about, so other load on the machine hits both alike. Through the REST API it measures:

- spawn latency of one user alone (``--rounds`` times, a fresh user each time),
- spawn latency of a rush of N users at once for each N in ``--users`` (e.g. ``10,30,60``:
  p50, p95, max and failures per size),
- request to ready: from the POST that starts a server until the hub reports it ready,
- idle memory per server (``docker stats``) and CPU seconds each container used to start
  and settle (cgroup accounting), ``--settle`` seconds after the last one of each rush was
  ready, so an operator can size a host from the table.

"ours" is jupyterhub_config.py with SandboxSpawner and hdss/singleuser (the course profile,
hardening, home volume, synthetic data mounted). "stock" is DockerSpawner with its defaults
and hdss/stock (plain JupyterLab from the same base). The only settings both get beyond that:
a name prefix, start and http timeouts of ``--deadline`` seconds (2 cores under load are
slow), and a benchmark-only admin service token. Results go to ``--out`` as JSON and a markdown
table. Every container, volume and network made is removed at the end.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml
from hdss_harness.procs import free_port, free_port_pair, log_tail, start_server, stop_server
from hdss_harness.wait import WaitTimeout, wait_until

PROJECT_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
PROXY = PROJECT_DIR / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
IMAGES = {"ours": "hdss/singleuser:latest", "stock": "hdss/stock:latest"}
ADMIN_SCOPES = ["admin:users", "admin:servers", "list:users", "read:users", "read:servers"]
TOKEN_ENV = "HDSS_BENCH_TOKEN"


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


def docker(*args: str, check: bool = True) -> str:
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
    }


# --- the two hubs ---------------------------------------------------------------------------


@dataclass
class Hub:
    """One JupyterHub subprocess with its own ports, state directory and Docker prefix."""

    kind: str
    workdir: Path
    prefix: str
    deadline: float
    synthetic_root: Path
    starting_at_once: int = 0  # ours: servers started together, the rest wait in line
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port_pair)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "jupyterhub.log"

    def config(self) -> tuple[Path, dict[str, str]]:
        """The config file to run and the environment it needs."""
        env = {TOKEN_ENV: self.token}
        service = (
            "import os\n"
            "c = get_config()  # noqa\n"
            f"c.JupyterHub.services.append({{'name': 'hdssbench', "
            f"'api_token': os.environ[{TOKEN_ENV!r}]}})\n"
            "c.JupyterHub.load_roles.append({'name': 'hdssbench', 'services': ['hdssbench'], "
            f"'scopes': {ADMIN_SCOPES!r}}})\n"
        )
        if self.kind == "ours":
            config_d = self.workdir / "config.d"
            config_d.mkdir()
            (self.workdir / "restricted").mkdir()  # no restricted data: none is benchmarked
            (config_d / "bench_admin.py").write_text(service)
            settings = {
                "hub": {
                    "bind_url": self.url,
                    "hub_port": free_port(),
                    "state_dir": str(self.workdir / "state"),
                    "extra_config_dir": str(config_d),
                },
                "docker": {
                    "prefix": self.prefix,
                    "network": f"{self.prefix}-net",
                    "start_timeout": int(self.deadline),
                    "starting_at_once": self.starting_at_once,
                },
                "data": {
                    "synthetic_root": str(self.synthetic_root),
                    "restricted_root": str(self.workdir / "restricted"),
                },
            }
            path = self.workdir / "settings.yaml"
            path.write_text(yaml.safe_dump(settings))
            return PROJECT_DIR / "jupyterhub_config.py", {**env, "HDSS_SETTINGS": str(path)}
        env["CONFIGPROXY_AUTH_TOKEN"] = secrets.token_hex(32)
        path = self.workdir / "jupyterhub_config.py"
        path.write_text(
            service
            + "# Stock DockerSpawner: its defaults, plus a name prefix and longer timeouts.\n"
            f"c.JupyterHub.bind_url = {self.url!r}\n"
            f"c.JupyterHub.hub_bind_url = 'http://{bridge_gateway()}:{free_port()}'\n"
            f"c.JupyterHub.db_url = 'sqlite:///{self.workdir}/jupyterhub.sqlite'\n"
            f"c.JupyterHub.cookie_secret_file = '{self.workdir}/cookie_secret'\n"
            f"c.JupyterHub.pid_file = '{self.workdir}/jupyterhub.pid'\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.port + 1}'\n"
            f"c.ConfigurableHTTPProxy.pid_file = '{self.workdir}/proxy.pid'\n"
            f"c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]\n"
            "c.JupyterHub.authenticator_class = 'null'\n"
            "c.JupyterHub.spawner_class = 'docker'\n"
            f"c.DockerSpawner.image = {IMAGES['stock']!r}\n"
            f"c.DockerSpawner.prefix = {self.prefix!r}\n"
            f"c.DockerSpawner.start_timeout = {int(self.deadline)}\n"
            f"c.DockerSpawner.http_timeout = {int(self.deadline)}\n"
        )
        return path, env

    def start(self) -> None:
        config, env = self.config()
        self.proc = start_server(
            [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
            self.log_path,
            f"{self.url}/hub/api/",
            what=f"the {self.kind} hub",
            env=env,
            cwd=self.workdir,
            interval=0.3,
            tail=self.log_tail,
        )

    def stop(self) -> None:
        stop_server(self.proc)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

    # -- spawning ----------------------------------------------------------------------------

    def spawn_all(self, users: list[str]) -> dict[str, float | None]:
        """Start the servers of ``users`` at once; seconds from request to ready (None: failed).

        The POST answers 201 once the server is ready (and routed), or 202 when the spawn
        takes longer than the hub's slow_spawn_timeout; then the progress stream (what the
        user's browser reads) says when it is ready. No polling loads the hub meanwhile.
        """
        for user in users:
            if self.api("GET", f"/users/{user}").status_code == 404:
                self.api("POST", f"/users/{user}").raise_for_status()
        results: dict[str, float | None] = {}
        threads = [threading.Thread(target=self._spawn_one, args=(u, results)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failed = [u for u in users if results.get(u) is None]
        if failed:
            log(f"{self.kind}: not ready: {', '.join(failed)}\n{self.log_tail(20)}")
        return {u: results.get(u) for u in users}

    def _spawn_one(self, user: str, results: dict[str, float | None]) -> None:
        options = {"profile": "course"} if self.kind == "ours" else {}
        start = time.monotonic()
        try:
            r = self.api("POST", f"/users/{user}/server", json=options)
            if r.status_code == 201:
                results[user] = time.monotonic() - start
                return
            if r.status_code != 202:
                log(f"{self.kind}: spawning {user} was refused: {r.status_code} {r.text[:200]}")
                return
            results[user] = self._wait_ready(user, start)
        except requests.RequestException as e:
            log(f"{self.kind}: spawning {user} failed: {e}")

    def _wait_ready(self, user: str, start: float) -> float | None:
        """Follow the user's spawn progress stream until ready (time) or failed (None)."""
        headers = {"Authorization": f"token {self.token}"}
        url = f"{self.url}/hub/api/users/{user}/server/progress"
        with requests.get(url, headers=headers, stream=True, timeout=(10, self.deadline)) as r:
            if r.ok:
                for line in r.iter_lines(decode_unicode=True):
                    if line and line.startswith("data:"):
                        event = json.loads(line[5:])
                        if event.get("ready"):
                            return time.monotonic() - start
                        if event.get("failed"):
                            log(f"{self.kind}: {user}: {event.get('message')}")
                            return None
        # The stream ended early: look at the server itself.
        server = self.api("GET", f"/users/{user}").json().get("servers", {}).get("")
        return time.monotonic() - start if server and server.get("ready") else None

    def stop_all(self, users: list[str]) -> None:
        for user in users:
            self.api("DELETE", f"/users/{user}/server")

        def all_stopped() -> bool:
            r = self.api("GET", "/users", params={"state": "active"})
            return r.ok and not {u["name"] for u in r.json()} & set(users)

        try:
            wait_until(all_stopped, self.deadline, 0.5, "servers still running")
        except WaitTimeout:
            log(f"{self.kind}: servers still running after {self.deadline} s; they are removed")


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge network (stock DockerSpawner's)."""
    ipam = json.loads(docker("network", "inspect", "bridge", "--format", "{{json .IPAM}}"))
    for config in ipam.get("Config") or []:
        if config.get("Gateway"):
            return config["Gateway"]
        if config.get("Subnet"):
            return str(ipaddress.ip_network(config["Subnet"])[1])
    raise RuntimeError("Docker's bridge network has no address; is dockerd running?")


def container_ids(prefix: str) -> dict[str, str]:
    out = docker("ps", "--no-trunc", "--filter", f"name={prefix}", "--format", "{{.Names}} {{.ID}}")
    pairs = (line.split() for line in out.splitlines() if line.strip())
    return {name: cid for name, cid in pairs if name.startswith(prefix)}


def memory_mib(prefix: str) -> dict[str, float]:
    """Memory each running container of ``prefix`` uses now, in MiB (docker stats)."""
    names = list(container_ids(prefix))
    if not names:
        return {}
    out = docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *names)
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
    result = {}
    for line in out.splitlines():
        name, usage = line.split(" ", 1)
        value = usage.split("/")[0].strip()
        for unit in sorted(units, key=len, reverse=True):
            if value.endswith(unit):
                result[name] = float(value[: -len(unit)]) * units[unit]
                break
    return result


def cpu_seconds(container_id: str) -> float | None:
    """CPU time a container has used, from cgroup v1 or v2 accounting on this host."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat")
    if v2.exists():
        for line in v2.read_text().splitlines():
            if line.startswith("usage_usec"):
                return int(line.split()[1]) / 1e6
    return None


def cleanup(prefix: str) -> None:
    """Remove every container, volume and network whose name starts with ``prefix``."""
    containers = list(container_ids(prefix))
    stopped = docker("ps", "-a", "--filter", f"name={prefix}", "--format", "{{.Names}}")
    containers += [n for n in stopped.split() if n.startswith(prefix) and n not in containers]
    if containers:
        docker("rm", "-f", *containers, check=False)
    volumes = [v for v in docker("volume", "ls", "-q").split() if v.startswith(prefix)]
    if volumes:
        docker("volume", "rm", "-f", *volumes, check=False)
    networks = [n for n in docker("network", "ls", "--format", "{{.Name}}").split()]
    networks = [n for n in networks if n.startswith(prefix)]
    if networks:
        docker("network", "rm", *networks, check=False)


# --- one configuration ----------------------------------------------------------------------


def run_benchmark(
    kinds: list[str], args: argparse.Namespace, workroot: Path, synthetic: Path
) -> dict[str, dict]:
    """Start one hub per configuration, measure them turn about, remove all they made.

    Both hubs run for the whole benchmark and are measured alternately (single spawns
    round by round, then the N-user bursts one after the other), so a change in other load
    on the machine hits both configurations alike.
    """
    hubs = {}
    for kind in kinds:
        (workroot / kind).mkdir()
        prefix = f"hdssbench-{kind}-{secrets.token_hex(3)}"
        hubs[kind] = Hub(
            kind, workroot / kind, prefix, args.deadline, synthetic, args.starting_at_once
        )
    single: dict[str, list[float | None]] = {k: [] for k in kinds}
    bursts: dict[str, dict[int, dict]] = {k: {} for k in kinds}
    try:
        for kind, hub in hubs.items():
            log(f"{kind}: starting a hub on {hub.url} (prefix {hub.prefix})")
            hub.start()
        for i in range(args.warmup):
            for hub in hubs.values():
                hub.spawn_all([f"warmup{i}"])
                hub.stop_all([f"warmup{i}"])
        for i in range(args.rounds):
            for kind, hub in hubs.items():
                user = f"single{i}"
                single[kind].append(hub.spawn_all([user])[user])
                log(f"{kind}: 1 user, round {i + 1}: {fmt(single[kind][-1])} s")
                hub.stop_all([user])
        for size in args.users:
            users = [f"rush{size}-{i:02d}" for i in range(size)]
            for kind, hub in hubs.items():
                log(f"{kind}: {size} users at once (load {os.getloadavg()[0]:.1f})")
                times = hub.spawn_all(users)
                log(f"{kind}: {size} users: " + " ".join(map(fmt, times.values())))
                time.sleep(args.settle)
                bursts[kind][size] = {
                    "times": times,
                    "memory": memory_mib(hub.prefix),
                    "cpu": {n: cpu_seconds(c) for n, c in container_ids(hub.prefix).items()},
                    "loadavg": os.getloadavg(),
                }
                hub.stop_all(users)
    finally:
        args.out.mkdir(parents=True, exist_ok=True)
        for kind, hub in hubs.items():
            hub.stop()
            cleanup(hub.prefix)
            if hub.log_path.exists():
                (args.out / f"spawn-{kind}-hub.log").write_text(hub.log_tail(100000))
    return {k: result(k, single[k], bursts[k]) for k in kinds}


def result(kind: str, single: list[float | None], bursts: dict[int, dict]) -> dict:
    """Samples and summary of one configuration: single spawns, then each rush size."""
    ok_single = [v for v in single if v is not None]
    rushes = {}
    for size, b in bursts.items():
        ok = [v for v in b["times"].values() if v is not None]
        cpu_values = [v for v in b["cpu"].values() if v is not None]
        rushes[str(size)] = {
            "concurrent_s": b["times"],
            "idle_memory_mib": b["memory"],
            "cpu_s_per_server": b["cpu"],
            "loadavg": b["loadavg"],
            "summary": {
                **summary(ok),
                "failed": len(b["times"]) - len(ok),
                "idle_memory_mib_median": statistics.median(b["memory"].values())
                if b["memory"]
                else None,
                "cpu_s_median": statistics.median(cpu_values) if cpu_values else None,
            },
        }
    return {
        "image": IMAGES[kind],
        "image_id": docker("image", "inspect", "--format", "{{.Id}}", IMAGES[kind]).strip(),
        "single_user_s": single,
        "rushes": rushes,
        "summary": {"single": summary(ok_single), "single_failed": len(single) - len(ok_single)},
    }


def fmt(value: float | None, digits: int = 1) -> str:
    return "failed" if value is None else f"{value:.{digits}f}"


def markdown(results: dict, meta: dict) -> str:
    head = (
        "| configuration | rush | p50 / p95 / max (s) | failed | idle MiB per server "
        "| CPU s per start |\n|---|---|---|---|---|---|\n"
    )
    rows = []
    for kind, r in results.items():
        one = r["summary"]["single"]
        rows.append(
            f"| {kind} | 1 user alone ({one['n']} rounds) | {fmt(one['p50'])} / "
            f"{fmt(one['p95'])} / {fmt(one['max'])} | {r['summary']['single_failed']} | | |"
        )
        for size, rush in r["rushes"].items():
            s = rush["summary"]
            rows.append(
                f"| {kind} | {size} at once | {fmt(s['p50'])} / {fmt(s['p95'])} / "
                f"{fmt(s['max'])} | {s['failed']} | {fmt(s['idle_memory_mib_median'], 0)} "
                f"| {fmt(s['cpu_s_median'])} |"
            )
    ratios = []
    if {"ours", "stock"} <= set(results):
        ours, stock = results["ours"], results["stock"]
        for size in ours["rushes"]:
            a, b = ours["rushes"][size]["summary"], stock["rushes"].get(size, {}).get("summary")
            if b and a["p95"] and b["p95"]:
                ratios.append(f"{size} at once: ours/stock p95 {a['p95'] / b['p95']:.2f}")
        if ours["summary"]["single"]["p50"] and stock["summary"]["single"]["p50"]:
            r1 = ours["summary"]["single"]["p50"] / stock["summary"]["single"]["p50"]
            ratios.insert(0, f"1 user: ours/stock p50 {r1:.2f}")
    notes = (
        f"\nRequest to ready through the hub REST API; {meta['rounds']} single-user rounds "
        f"after {meta['warmup']} warm-up; each rush starts its servers at the same moment; "
        "memory (`docker stats`) and CPU (cgroup: start plus settle) are medians over the "
        f"rush's servers, {meta['settle']} s after the last was ready. Ratios: "
        f"{'; '.join(ratios) or 'n/a'}. {meta['cpus']} CPUs, Docker {meta['docker']}, "
        f"{meta['date']}; load average {meta['loadavg_before'][0]:.1f} before, "
        f"{meta['loadavg_after'][0]:.1f} after (other work on the machine makes the "
        "concurrent numbers vary). Ours starts "
        f"{meta.get('starting_at_once', 'all')} servers at a time (docker.starting_at_once); "
        "the rest of a rush waits in line, its place on the progress page, and counts as "
        "failed only if it never becomes ready.\n"
    )
    return "# Spawn benchmark\n\n" + head + "\n".join(rows) + "\n" + notes


def ensure_images(kinds: list[str]) -> None:
    only = [a for k in kinds for a in ("--only", "singleuser" if k == "ours" else "stock")]
    build = [sys.executable, str(PROJECT_DIR / "images" / "build.py"), "--quiet", *only]
    if subprocess.run(build).returncode != 0:
        raise SystemExit("bench: the images could not be built (see above)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Spawn latency and idle memory: ours vs stock.")
    p.add_argument("--out", type=Path, default=PROJECT_DIR / "bench" / "results")
    p.add_argument(
        "--users",
        type=lambda v: [int(n) for n in v.split(",") if n],
        default=[10, 30, 60],
        help="rush sizes: servers started at once, comma-separated (default 10,30,60)",
    )
    p.add_argument("--rounds", type=int, default=3, help="single-user spawns measured")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured spawns first")
    p.add_argument("--settle", type=float, default=15, help="seconds idle before measuring")
    p.add_argument("--deadline", type=float, default=300, help="seconds a spawn may take")
    p.add_argument("--configs", default="stock,ours", help="which, in order: stock,ours")
    p.add_argument(
        "--starting-at-once",
        type=int,
        default=0,
        help="ours: docker.starting_at_once (0, the default setting: one per core, at least 2)",
    )
    p.add_argument("--no-build", action="store_true", help="use the images as they are")
    args = p.parse_args(argv)
    kinds = [k for k in args.configs.split(",") if k]
    if set(kinds) - set(IMAGES):
        p.error(f"--configs takes {', '.join(IMAGES)}")
    if not PROXY.exists():
        p.error(f"{PROXY} is missing: run make proxy (or make up) first")
    if not args.no_build:
        ensure_images(kinds)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "docker": docker("version", "--format", "{{.Server.Version}}").strip(),
        "users": args.users,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "settle": args.settle,
        "starting_at_once": args.starting_at_once or max(2, os.cpu_count() or 1),
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="hdssbench-") as tmp:
        workroot = Path(tmp)
        synthetic = workroot / "synthetic"
        subprocess.run(
            [str(VENV_BIN / "hdss-dataset"), "generate", "--size", "tiny", "--seed", "11",
             "--out", str(synthetic)],
            check=True, capture_output=True,
        )  # fmt: skip
        results = run_benchmark(kinds, args, workroot, synthetic)
        subprocess.run(["chmod", "-R", "u+w", str(synthetic)], check=False)
    meta["loadavg_after"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = markdown(results, meta)
    for name in (f"spawn-{stamp}", "spawn-latest"):
        (args.out / f"{name}.json").write_text(
            json.dumps({"meta": meta, "results": results}, indent=2)
        )
        (args.out / f"{name}.md").write_text(table)
    print(table)
    log(f"results in {args.out}/spawn-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
