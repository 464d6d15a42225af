"""Benchmark the airlock's output checks on a 20 MB outbox of mixed files.

    .venv/bin/python bench/bench_airlock.py --out bench/results [--megabytes 20] [--repeats 7]

The outbox is made here, deterministically, of what runs leave behind: executed notebooks
(DataFrames as HTML and text, printed lines, figures as base64 PNG, a summary dict),
aggregate CSV/TSV tables, a row-level CSV that the checks block, JSON, HTML, markdown,
SVG and PNG figures. ``hdss_airlock.check_outbox`` (what the service runs) checks it
``--repeats`` times in this process; the median, min and max wall times and the outcome
per file are written to ``airlock.json`` and ``airlock.md`` in ``--out``. One run of the
command (``hdss-airlock check --json``, a new process: imports included) is timed too.
The target is under 2 s for 20 MB on the development machine; nothing asserts it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from hdss_airlock import Settings, check_outbox

ROOT = Path(__file__).resolve().parents[1]


def png(width: int, height: int, seed: int) -> bytes:
    """A noisy greyscale PNG (so it does not compress away), roughly width*height bytes."""
    rng = random.Random(seed)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + rng.randbytes(width) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"tEXt", b"Software\x00Matplotlib version3.10.0, https://matplotlib.org/")
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def frame(rows: int, seed: int) -> tuple[str, str]:
    """A DataFrame of counts by region and year as pandas shows it: (HTML, text)."""
    rng = random.Random(seed)
    data = [(f"region_{i:03d}", 2000 + i % 24, rng.randint(50, 9000)) for i in range(rows)]
    html = ["<div><table border='1' class='dataframe'><thead><tr><th></th><th>region</th>"]
    html.append(f"<th>year</th><th>deaths_{seed}</th></tr></thead><tbody>")
    text = [f"        region  year  deaths_{seed}"]
    for i, (region, year, n) in enumerate(data):
        html.append(f"<tr><th>{i}</th><td>{region}</td><td>{year}</td><td>{n}</td></tr>")
        text.append(f"{i:<4} {region:>10}  {year}  {n:>6}")
    html.append("</tbody></table></div>")
    return "".join(html), "\n".join(text)


def notebook(seed: int, figures: int, tables: int) -> bytes:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Analysis\n\nCounts by region."}]
    for k in range(tables):
        html, text = frame(40, seed * 100 + k)
        cells.append(
            {
                "cell_type": "code",
                "execution_count": k + 1,
                "metadata": {},
                "source": f"df_{k}",
                "outputs": [
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": f"{52000 + k:,} adults resident on 2015-01-01\n",
                    },
                    {
                        "output_type": "execute_result",
                        "execution_count": k + 1,
                        "metadata": {},
                        "data": {"text/html": html, "text/plain": text},
                    },
                ],
            }
        )
    for k in range(figures):
        image = base64.b64encode(png(900, 600, seed * 1000 + k)).decode()
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "source": "plot()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "image/png": image,
                            "text/plain": "<Figure size 900x600 with 1 Axes>",
                        },
                    }
                ],
            }
        )
    cells.append(
        {
            "cell_type": "code",
            "execution_count": 99,
            "metadata": {},
            "source": "summary",
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": 99,
                    "metadata": {},
                    "data": {"text/plain": "{'persons': 52045, 'deaths': 5624, 'cases': 2268}"},
                }
            ],
        }
    )
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1
    ).encode()


def outbox(megabytes: float) -> dict[str, bytes]:
    """A mixed outbox of about ``megabytes`` MB."""
    rng = random.Random(7)
    files: dict[str, bytes] = {}
    for k in range(3):
        files[f"analysis_{k}.ipynb"] = notebook(k, figures=5, tables=6)
    for k in range(40):  # 40 different aggregate tables
        lines = [f"region,year,deaths_{k},population,rate_per_1000"]
        for i in range(200):
            n, pop = rng.randint(40, 900), rng.randint(20_000, 90_000)
            lines.append(f"r{k}_{i},{2000 + i % 24},{n},{pop},{1000 * n / pop:.2f}")
        files[f"tables/t{k:02d}.csv"] = ("\n".join(lines) + "\n").encode()
    files["tables/semicolons.tsv"] = b"".join(
        f"g{i}\t{rng.randint(10, 999)}\t{rng.random():.3f}\n".encode() for i in range(400)
    )
    files["summary.json"] = json.dumps(
        [{"region": f"r{i}", "n": rng.randint(10, 999)} for i in range(400)]
    ).encode()
    files["table.html"] = frame(300, 3)[0].encode()
    files["table.md"] = "".join(
        ["| region | deaths |\n|---|---|\n"]
        + [f"| r{i} | {rng.randint(10, 999)} |\n" for i in range(300)]
    ).encode()
    files["figure.svg"] = (
        "<svg xmlns='http://www.w3.org/2000/svg'>"
        + "".join(f"<!-- {2000 + i} --><path d='M{i} 0 L{i} {i}'/>" for i in range(3000))
        + "</svg>"
    ).encode()
    for k in range(4):
        files[f"figures/fig{k}.png"] = png(800, 600, 90 + k)
    used = sum(len(v) for v in files.values())
    rest = max(0, int(megabytes * 1_000_000) - used)
    lines = ["seq,age,sex,admitted,days"]  # row-level: blocked as such
    size = len(lines[0])
    i = 0
    while size < rest:
        line = f"{i},{20 + i % 70},{1 + i % 2},2015-{1 + i % 12:02d}-{1 + i % 28:02d},{i % 40}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    files["rows.csv"] = ("\n".join(lines) + "\n").encode()
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--megabytes", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    files = outbox(args.megabytes)
    total = sum(len(v) for v in files.values())
    cfg = Settings()
    items = sorted(files.items())
    check_outbox(items[:1], cfg)  # warm the imports and caches of a first call
    times, reports = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        reports = check_outbox(items, cfg)
        times.append(time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            path = Path(tmp, "outbox", name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        cli = Path(sys.executable).with_name("hdss-airlock")
        cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "hdss_airlock"]
        t0 = time.perf_counter()
        done = subprocess.run(
            [*cmd, "check", "--json", str(Path(tmp, "outbox"))], capture_output=True, text=True
        )
        cli_seconds = time.perf_counter() - t0
    outcome = {r.path: r.status for r in reports}
    result = {
        "files": len(files),
        "bytes": total,
        "repeats": args.repeats,
        "median_seconds": round(statistics.median(times), 3),
        "min_seconds": round(min(times), 3),
        "max_seconds": round(max(times), 3),
        "mb_per_second": round(total / 1e6 / statistics.median(times), 1),
        "cli_seconds": round(cli_seconds, 3),
        "cli_exit": done.returncode,
        "outcome": outcome,
        "cpus": os.cpu_count(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "airlock.json").write_text(json.dumps(result, indent=1) + "\n")
    counts = {s: sum(1 for v in outcome.values() if v == s) for s in ("pass", "flag", "block")}
    md = (
        "# Airlock output checks\n\n"
        f"{len(files)} files, {total / 1e6:.1f} MB (notebooks with tables and figures, CSV, "
        "TSV, JSON, HTML, markdown, SVG, PNG, one row-level CSV)\n\n"
        "| | seconds |\n|---|---|\n"
        f"| check_outbox, median of {args.repeats} | {result['median_seconds']} |\n"
        f"| check_outbox, min / max | {result['min_seconds']} / {result['max_seconds']} |\n"
        f"| hdss-airlock check (new process) | {result['cli_seconds']} |\n\n"
        f"Outcome: {counts['pass']} pass, {counts['flag']} flagged, {counts['block']} blocked "
        "(figures are flagged for a person; the row-level CSV is blocked). Target: < 2 s.\n"
    )
    (args.out / "airlock.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
