"""Slurm spawn benchmark: request to ready through the hub, Slurm backend beside Docker.

    .venv/bin/python bench/bench_slurm.py --out bench/results      (make bench-slurm)

One run starts a real Slurm cluster as containers (``hdss_slurm.cluster``: a controller and
two sandbox nodes that declare ``--node-cpus`` CPUs each, ``SlurmdParameters=
config_overrides``, so that 10 course servers fit on this 2-core machine; the limits place
jobs, they are not enforced here) and two of our hubs on 127.0.0.1: one with ``backend:
slurm`` submitting to that cluster, one with the Docker backend, the same course profile.
They are measured turn about, so other load hits both alike:

- one user alone, ``--rounds`` times (a fresh user each time): median and each sample;
- ``--users`` users at once (default 10): p50, p95, max, failures.

Request to ready is from the POST that starts a server until the hub reports it ready
(the progress stream, as the user's page reads it). Results: ``slurm-<stamp>.json``/``.md``
and ``slurm-latest.*`` in ``--out``. Everything made (containers, networks, volumes, the
cluster's state folder) is removed at the end. Not part of ``make bench``: bringing the
cluster up and down takes minutes (``make bench-slurm``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from bench_spawn import VENV_BIN, Hub, cleanup, fmt, log, summary
from hdss_slurm.cluster import JOB_GID, JOB_UID, Cluster, Node

COURSE = {"course": {"cpu_limit": 1, "mem_limit": "512M", "groups": ["students"]}}


class SlurmHub(Hub):
    """Our hub with ``backend: slurm``, submitting to ``cluster`` as its job account."""

    cluster: Cluster | None = None

    def config(self):
        path, env = super().config()
        settings_path = Path(env["HDSS_SETTINGS"])
        settings = yaml.safe_load(settings_path.read_text())
        c = self.cluster
        settings["backend"] = "slurm"
        settings["profiles"] = COURSE
        settings["slurm"] = {
            "image": c.load_image(),
            "hub_home_root": str(c.shared / "home"),
            "slurm_conf": str(c.submit_conf),
            "job_uid": JOB_UID,
            "job_gid": JOB_GID,
            "node_addresses": c.node_addresses(),
            "start_timeout": int(self.deadline),
        }
        settings_path.write_text(yaml.safe_dump(settings))
        return path, env


class DockerHub(Hub):
    """Our hub with the Docker backend and the same course profile."""

    def config(self):
        path, env = super().config()
        settings_path = Path(env["HDSS_SETTINGS"])
        settings = yaml.safe_load(settings_path.read_text())
        settings["profiles"] = COURSE
        settings_path.write_text(yaml.safe_dump(settings))
        return path, env


def measure(hubs: dict[str, Hub], args) -> dict[str, dict]:
    single: dict[str, list[float | None]] = {k: [] for k in hubs}
    rush: dict[str, dict[str, float | None]] = {}
    for i in range(args.warmup):
        for hub in hubs.values():
            hub.spawn_all([f"warmup{i}"])
            hub.stop_all([f"warmup{i}"])
    for i in range(args.rounds):
        for kind, hub in hubs.items():
            user = f"single{i}"
            single[kind].append(hub.spawn_all([user])[user])
            log(f"{kind}: 1 user, round {i + 1}: {fmt(single[kind][-1], 2)} s")
            hub.stop_all([user])
    users = [f"rush{i:02d}" for i in range(args.users)]
    for kind, hub in hubs.items():
        rush[kind] = hub.spawn_all(users)
        log(f"{kind}: {args.users} at once: " + " ".join(fmt(v) for v in rush[kind].values()))
        hub.stop_all(users)
    out = {}
    for kind in hubs:
        ok = [v for v in single[kind] if v is not None]
        ok_rush = [v for v in rush[kind].values() if v is not None]
        out[kind] = {
            "single_user_s": single[kind],
            "single": {**summary(ok), "failed": len(single[kind]) - len(ok)},
            "concurrent_s": rush[kind],
            "concurrent": {**summary(ok_rush), "failed": len(rush[kind]) - len(ok_rush)},
        }
    return out


def markdown(results: dict, meta: dict) -> str:
    s, d = results["slurm"], results["docker"]
    ratio = (
        s["single"]["p50"] / d["single"]["p50"]
        if s["single"].get("p50") and d["single"].get("p50")
        else None
    )
    rows = [
        f"Slurm spawn, request to ready (`bench/bench_slurm.py`, {meta['date']}, "
        f"{meta['cpus']} cores, {meta['nodes']} sandbox nodes of {meta['node_cpus']} declared "
        f"CPUs; load {meta['loadavg_before'][0]:.1f} before, {meta['loadavg_after'][0]:.1f} "
        "after)",
        "",
        "| backend | 1 user p50 (s) | samples | "
        f"{meta['users']} at once p50 | p95 | max | failed |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for kind, r in (("slurm", s), ("docker", d)):
        c = r["concurrent"]
        rows.append(
            f"| {kind} | {fmt(r['single'].get('p50'), 2)} | "
            f"{', '.join(fmt(v, 2) for v in r['single_user_s'])} | {fmt(c.get('p50'))} | "
            f"{fmt(c.get('p95'))} | {fmt(c.get('max'))} | {c['failed']} |"
        )
    rows += ["", f"Slurm / Docker, 1 user p50: {fmt(ratio, 2)}x"]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Slurm spawn, request to ready, beside Docker.")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    p.add_argument("--rounds", type=int, default=5, help="single-user spawns measured")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured spawns first")
    p.add_argument("--users", type=int, default=10, help="servers started at once")
    p.add_argument("--node-cpus", type=int, default=8, help="CPUs each node declares")
    p.add_argument("--deadline", type=float, default=300, help="seconds a spawn may take")
    args = p.parse_args(argv)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "nodes": 2,
        "node_cpus": args.node_cpus,
        "users": args.users,
        "rounds": args.rounds,
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="hdssbench-slurm-") as tmp:
        work = Path(tmp)
        synthetic = work / "synthetic"
        subprocess.run(
            [str(VENV_BIN / "hdss-dataset"), "generate", "--size", "tiny", "--seed", "11",
             "--out", str(synthetic)],
            check=True, capture_output=True,
        )  # fmt: skip
        for folder in (work, synthetic):
            folder.chmod(0o755)  # the nodes' job account reads the data
        cluster = Cluster(
            work / "cluster",
            prefix=f"hdssbench-slurm-{secrets.token_hex(3)}",
            synthetic=synthetic,
            cpus=args.node_cpus,
            memory_mb=args.node_cpus * 1024,
            overcommit=True,
            nodes=[Node("node1", "sandbox"), Node("node2", "sandbox")],
        )
        hubs: dict[str, Hub] = {}
        t0 = time.monotonic()
        try:
            cluster.up(timeout=300)
            meta["cluster_up_s"] = round(time.monotonic() - t0, 1)
            for kind, cls in (("slurm", SlurmHub), ("docker", DockerHub)):
                (work / kind).mkdir()
                prefix = f"hdssbench-{kind}-{secrets.token_hex(3)}"
                hub = cls("ours", work / kind, prefix, args.deadline, synthetic)
                hub.cluster = cluster
                hubs[kind] = hub
                log(f"{kind}: starting a hub on {hub.url} (prefix {hub.prefix})")
                hub.start()
            results = measure(hubs, args)
        finally:
            args.out.mkdir(parents=True, exist_ok=True)
            for kind, hub in hubs.items():
                hub.stop()
                cleanup(hub.prefix)
                if hub.log_path.exists():
                    (args.out / f"slurm-{kind}-hub.log").write_text(hub.log_tail(100000))
            cluster.down()
            subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
    meta["loadavg_after"] = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = markdown(results, meta)
    for name in (f"slurm-{stamp}", "slurm-latest"):
        (args.out / f"{name}.json").write_text(
            json.dumps({"meta": meta, "results": results}, indent=2)
        )
        (args.out / f"{name}.md").write_text(table)
    print(table)
    medians = [results[k]["single"].get("p50") for k in ("slurm", "docker")]
    log(f"1 user p50: slurm {fmt(medians[0], 2)} s, docker {fmt(medians[1], 2)} s")
    return 0 if all(r["concurrent"]["failed"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
