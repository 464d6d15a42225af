"""Start to a working notebook in a real browser: ours against stock, in one run.

    .venv/bin/python bench/bench_browser.py --out bench/results [--rounds 3] [--browsers 10]

What a student waits for, measured in Debian's Chromium driven by Playwright (launched from
/usr/bin/chromium, never `playwright install`): from pressing Start (ours: the spawn form's
Start button with the course profile; stock: the home page's Start button, as stock
JupyterHub has no form) to a new notebook whose first cell has run (kernel idle, output
shown). Each user logs in first (not timed) in a browser context of their own. The time is
split into

- spawn: Start pressed -> the browser is sent to /user/<name>/lab (server ready, routed);
- assets: -> JupyterLab's launcher shows (its JavaScript, CSS and settings loaded);
- kernel: Notebook clicked -> the kernel is idle (notebook created, kernel started);
- run: `1 + 1` typed and run -> the output shows.

Both hubs are bench_spawn's (the same configurations, images and cleanup), run side by side;
single users alternate between them round by round, then ``--browsers`` users start at
once on one hub and then on the other (contexts of one Chromium; on 2 cores the browsers
compete with the servers for CPU, alike for both). Results: ``browser-<UTC time>.json`` and
``.md`` (also ``browser-latest.*``). Every container, volume and network made is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import bench_spawn
from bench_spawn import IMAGES, PROJECT_DIR, VENV_BIN, cleanup, docker, fmt, log, summary
from hdss_harness.chromium import CHROMIUM, launch_options

PHASES = ("spawn", "assets", "kernel", "run")


class Hub(bench_spawn.Hub):
    """bench_spawn's hub; stock gets JupyterHub's dummy login (one password) so a browser
    can log in, ours keeps its first-run login (the students' shared password)."""

    password: str = ""

    def config(self):
        path, env = super().config()
        if self.kind == "stock":
            self.password = secrets.token_hex(16)
            text = path.read_text().replace(
                "c.JupyterHub.authenticator_class = 'null'\n",
                "c.JupyterHub.authenticator_class = 'dummy'\n"
                f"c.DummyAuthenticator.password = {self.password!r}\n",
            )
            path.write_text(text)
        return path, env

    def user_password(self) -> str:
        if self.kind == "stock":
            return self.password
        return (self.workdir / "state" / "secrets" / "user-password").read_text().strip()


async def journey(browser, hub: Hub, name: str, deadline_ms: float) -> dict[str, float] | None:
    """One person from login to a run cell; the phases in seconds, or None if it failed."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(deadline_ms)
    page = await context.new_page()
    try:
        await page.goto(f"{hub.url}/hub/login")
        await page.locator("#username_input").fill(name)
        await page.locator("#password_input").fill(hub.user_password())
        await page.locator("#login_submit").click()
        await page.wait_for_url(lambda url: "/hub/login" not in url)
        if hub.kind == "ours":
            await page.goto(f"{hub.url}/hub/spawn")
            await page.locator("#profile-course").check()
            start = page.locator("form#spawn_form [type=submit]")
        else:
            await page.goto(f"{hub.url}/hub/home")
            start = page.locator("#start")
        await start.wait_for()
        t0 = time.monotonic()
        await start.click()
        await page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=deadline_ms)
        t_spawn = time.monotonic()
        launcher = page.locator(".jp-LauncherCard[data-category='Notebook']").first
        await launcher.wait_for()
        t_assets = time.monotonic()
        await launcher.click()
        idle = page.locator(".jp-StatusBar-Widget").filter(has_text=re.compile(r"\| Idle"))
        await idle.first.wait_for()
        t_kernel = time.monotonic()
        await page.locator(".jp-Notebook .jp-Cell").last.locator(".cm-content").click()
        await page.keyboard.insert_text("1 + 1")
        await page.keyboard.press("Shift+Enter")
        await page.locator(".jp-OutputArea-output").filter(has_text="2").first.wait_for()
        t_run = time.monotonic()
        return {
            "spawn": t_spawn - t0,
            "assets": t_assets - t_spawn,
            "kernel": t_kernel - t_assets,
            "run": t_run - t_kernel,
            "total": t_run - t0,
        }
    except Exception as e:  # noqa: BLE001 - a failed journey is a result, not a crash
        log(f"{hub.kind}: {name} failed: {type(e).__name__}: {str(e)[:300]}")
        return None
    finally:
        await context.close()


async def measure(hubs: dict[str, Hub], args) -> dict[str, dict]:
    from playwright.async_api import async_playwright

    deadline_ms = args.deadline * 1000
    single: dict[str, list] = {k: [] for k in hubs}
    crowd: dict[str, list] = {k: [] for k in hubs}
    async with async_playwright() as p:
        browser = await p.chromium.launch(**launch_options())
        try:
            for i in range(args.warmup + args.rounds):
                for kind, hub in hubs.items():
                    name = f"b{'w' if i < args.warmup else ''}{i}"
                    phases = await journey(browser, hub, name, deadline_ms)
                    if i >= args.warmup:
                        single[kind].append(phases)
                    log(f"{kind}: 1 user, round {i + 1}: {fmt((phases or {}).get('total'))} s")
                    await asyncio.to_thread(hub.stop_all, [name])
            for kind, hub in hubs.items():
                names = [f"crowd{i:02d}" for i in range(args.browsers)]
                log(f"{kind}: {args.browsers} browsers at once (load {os.getloadavg()[0]:.1f})")
                crowd[kind] = list(
                    await asyncio.gather(*(journey(browser, hub, n, deadline_ms) for n in names))
                )
                log(f"{kind}: " + " ".join(fmt((r or {}).get("total")) for r in crowd[kind]))
                await asyncio.to_thread(hub.stop_all, names)
        finally:
            await browser.close()
    return {k: {"single": single[k], "crowd": crowd[k]} for k in hubs}


def describe(samples: list[dict | None]) -> dict:
    ok = [s for s in samples if s]
    out = {"total": summary([s["total"] for s in ok]), "failed": len(samples) - len(ok)}
    totals = sum(s["total"] for s in ok) or 1
    for phase in PHASES:
        values = [s[phase] for s in ok]
        out[phase] = {"p50": statistics.median(values) if values else None}
        out[phase]["share"] = sum(values) / totals if values else None
    return out


def markdown(results: dict, meta: dict) -> str:
    rows = [
        "| configuration | users | start to working notebook p50 / p95 / max (s) | failed "
        "| spawn | assets | kernel | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        for label, key in ((f"1 ({meta['rounds']} rounds)", "single"), (meta["browsers"], "crowd")):
            d = r[key]
            t = d["total"]
            phases = " | ".join(
                f"{fmt(d[ph]['p50'])} s ({(d[ph]['share'] or 0) * 100:.0f}%)" for ph in PHASES
            )
            rows.append(
                f"| {kind} | {label} | {fmt(t['p50'])} / {fmt(t['p95'])} / {fmt(t['max'])} "
                f"| {d['failed']} | {phases} |"
            )
    ratio = ""
    if {"ours", "stock"} <= set(results):
        a, b = results["ours"]["single"]["total"]["p50"], results["stock"]["single"]["total"]["p50"]
        c, d = results["ours"]["crowd"]["total"]["p50"], results["stock"]["crowd"]["total"]["p50"]
        if a and b:
            ratio += f" 1 user: ours/stock p50 {a / b:.2f}."
        if c and d:
            ratio += f" {meta['browsers']} browsers: ours/stock p50 {c / d:.2f}."
    notes = (
        "\nFrom pressing Start to a new notebook's first cell run, in Chromium; phase columns: "
        f"median seconds (share of the summed time).{ratio} {meta['cpus']} CPUs, "
        f"{meta['date']}; load average {meta['loadavg_before'][0]:.1f} before, "
        f"{meta['loadavg_after'][0]:.1f} after.\n"
    )
    return "# Browser benchmark: start to a working notebook\n\n" + "\n".join(rows) + "\n" + notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Start to a working notebook in Chromium.")
    p.add_argument("--out", type=Path, default=PROJECT_DIR / "bench" / "results")
    p.add_argument("--rounds", type=int, default=3, help="single-user journeys measured")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured journeys first")
    p.add_argument("--browsers", type=int, default=10, help="users starting at once")
    p.add_argument("--deadline", type=float, default=300, help="seconds a journey may take")
    p.add_argument("--configs", default="stock,ours")
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args(argv)
    kinds = [k for k in args.configs.split(",") if k]
    if not CHROMIUM.exists():
        p.error(f"{CHROMIUM} is missing: apt-get install chromium")
    if not args.no_build:
        bench_spawn.ensure_images(kinds)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "docker": docker("version", "--format", "{{.Server.Version}}").strip(),
        "rounds": args.rounds,
        "warmup": args.warmup,
        "browsers": args.browsers,
        "loadavg_before": os.getloadavg(),
        "images": {k: IMAGES[k] for k in kinds},
    }
    with tempfile.TemporaryDirectory(prefix="hdssbench-") as tmp:
        root = Path(tmp)
        synthetic = root / "synthetic"
        subprocess.run(
            [str(VENV_BIN / "hdss-dataset"), "generate", "--size", "tiny", "--seed", "11",
             "--out", str(synthetic)],
            check=True, capture_output=True,
        )  # fmt: skip
        hubs = {}
        for kind in kinds:
            (root / kind).mkdir()
            prefix = f"hdssbench-br{kind}-{secrets.token_hex(3)}"
            hubs[kind] = Hub(kind, root / kind, prefix, args.deadline, synthetic)
        try:
            for hub in hubs.values():
                log(f"{hub.kind}: starting a hub on {hub.url} (prefix {hub.prefix})")
                hub.start()
            raw = asyncio.run(measure(hubs, args))
        finally:
            args.out.mkdir(parents=True, exist_ok=True)
            for kind, hub in hubs.items():
                hub.stop()
                cleanup(hub.prefix)
                if hub.log_path.exists():
                    (args.out / f"browser-{kind}-hub.log").write_text(hub.log_tail(100000))
        subprocess.run(["chmod", "-R", "u+w", str(synthetic)], check=False)
    meta["loadavg_after"] = os.getloadavg()
    results = {
        k: {"single": describe(v["single"]), "crowd": describe(v["crowd"]), "samples": v}
        for k, v in raw.items()
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = markdown(results, meta)
    for name in (f"browser-{stamp}", "browser-latest"):
        (args.out / f"{name}.json").write_text(
            json.dumps({"meta": meta, "results": results}, indent=2)
        )
        (args.out / f"{name}.md").write_text(table)
    print(table)
    log(f"results in {args.out}/browser-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
