"""Benchmark the register generator and a cohort query on its output.

    .venv/bin/python bench/bench_datasets.py --out bench/results

1. Generation of ``small`` (100,000 persons) in a subprocess: wall time, persons/s,
   rows/s, CPU seconds and peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``).
2. One cohort query, type 2 diabetes incidence per 1,000 person-years by sex and 10-year
   age band 2011-2018, in DuckDB over the Parquet files versus pandas over CSV exports of
   the same tables, in the same run; median of ``--repeats`` runs each and the ratio.

3. Peak memory of generation with the command's fixed mmap threshold
   (``hdss_registers.generate.steady_heap``) against glibc's default, ``--heap-repeats``
   runs of each in alternation, each in its own process (its own ``wait4`` rusage):
   medians of peak RSS and CPU seconds, and their ratios.

Writes ``datasets.json`` and ``datasets.md`` into ``--out``.

``--size full`` (``make bench-full``, not part of ``make bench``) generates the full size
(5,000,000 persons) instead, then times ``hdss-dataset verify`` on it, and writes
``datasets-full.json`` and ``datasets-full.md``; no query (pandas cannot hold its CSVs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "hdss_registers.cli"]
TABLES = ("bef", "lmdb", "lpr_adm", "lpr_diag")

INCIDENCE_SQL = """
WITH first AS (
    SELECT pnr, min(d) AS d FROM (
        SELECT pnr, eksd AS d FROM lmdb WHERE atc LIKE 'A10B%'
        UNION ALL
        SELECT a.pnr, a.d_inddto FROM lpr_adm a JOIN lpr_diag g USING (recnum)
        WHERE g.c_diag LIKE 'DE11%') GROUP BY pnr),
risk AS (
    SELECT b.koen, (b.alder // 10) * 10 AS ageband, b.aar, f.d
    FROM bef b LEFT JOIN first f USING (pnr)
    WHERE b.aar BETWEEN 2010 AND 2017 AND (f.d IS NULL OR year(f.d) > b.aar))
SELECT koen, ageband, count(*) AS person_years,
       count(*) FILTER (WHERE year(d) = aar + 1) AS cases
FROM risk GROUP BY koen, ageband ORDER BY koen, ageband
"""


def generate(out: Path, persons: int, seed: int, size: str = "small") -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            *CLI,
            "generate",
            "--size",
            size,
            "--persons",
            str(persons),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    version = Path(proc.stdout.strip().splitlines()[-1])
    manifest = json.loads((version / "datapackage.json").read_text())
    rows = sum(r["rows"] for r in manifest["resources"])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "persons": persons,
        "rows": rows,
        "wall_s": round(wall, 2),
        "persons_per_s": round(persons / wall),
        "rows_per_s": round(rows / wall),
        "cpu_s": round(cpu, 2),
        "persons_per_cpu_s": round(persons / cpu),
        "peak_rss_mb": round(after.ru_maxrss / 1024),
        "bytes": sum(r["bytes"] for r in manifest["resources"]),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg_1m": os.getloadavg()[0],
        "version": version.name,
        "path": str(version),
    }


HEAP_CHILD = """
import sys
from pathlib import Path
from hdss_registers.generate import Request, generate, steady_heap
if sys.argv[1] == "steady":
    assert steady_heap(), "mallopt refused the threshold"
generate(Request(size="small", seed=int(sys.argv[3]), out=Path(sys.argv[4]),
                 persons=int(sys.argv[2])), progress=None)
"""


def heap(tmp: Path, persons: int, seed: int, repeats: int) -> dict:
    """Peak RSS and CPU of generation, glibc's default heap against steady_heap()."""
    runs: dict[str, list[dict]] = {"default": [], "steady": []}
    for i in range(repeats):
        for mode in ("default", "steady") if i % 2 == 0 else ("steady", "default"):
            out = tmp / f"heap-{mode}-{i}"
            args = [sys.executable, "-c", HEAP_CHILD, mode, str(persons), str(seed), str(out)]
            proc = subprocess.Popen(args)
            _, status, ru = os.wait4(proc.pid, 0)
            if status != 0:
                raise SystemExit(f"heap run {mode} {i} failed with status {status}")
            runs[mode].append(
                {
                    "peak_rss_mb": round(ru.ru_maxrss / 1024),
                    "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
                }
            )
            shutil.rmtree(out, ignore_errors=True)
    med = {
        mode: {k: statistics.median(r[k] for r in rs) for k in ("peak_rss_mb", "cpu_s")}
        for mode, rs in runs.items()
    }
    return {
        "persons": persons,
        "repeats": repeats,
        "runs": runs,
        "median": med,
        "peak_ratio": round(med["steady"]["peak_rss_mb"] / med["default"]["peak_rss_mb"], 2),
        "cpu_ratio": round(med["steady"]["cpu_s"] / med["default"]["cpu_s"], 2),
    }


def verify(version: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*CLI, "verify", str(version)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "verify_wall_s": round(wall, 1),
        "verify_cpu_s": round(cpu, 1),
        "verify_ok": proc.returncode == 0,
        "verify_output": (proc.stdout + proc.stderr).strip().splitlines()[-20:],
    }


def full_markdown(res: dict) -> str:
    g = res["generation"]
    return "\n".join(
        [
            "# Dataset benchmark: full size",
            "",
            f"Machine: {g['cpus']} CPUs, 1-minute load average {g['load_avg_1m']:.1f} at the start.",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| persons generated | {g['persons']:,} |",
            f"| rows written | {g['rows']:,} |",
            f"| wall time | {g['wall_s']} s |",
            f"| persons per second (wall) | {g['persons_per_s']:,} |",
            f"| CPU seconds | {g['cpu_s']} |",
            f"| peak RSS (generate; verify: max of both) | {g['peak_rss_mb']:,} MB |",
            f"| size on disk | {g['bytes'] / 1e9:,.1f} GB |",
            f"| verify wall time | {res['verify']['verify_wall_s']} s |",
            f"| verify passed | {res['verify']['verify_ok']} |",
            f"| verify CPU seconds | {res['verify']['verify_cpu_s']} |",
            f"| peak RSS after verify | {res['verify_peak_rss_mb']:,} MB |",
            "",
        ]
    )


def full(a) -> int:
    out = a.out / "hdss-bench-full"
    gen = generate(out / "root", a.persons or 5_000_000, a.seed, size="full")
    version = Path(gen.pop("path"))
    # the generation figures are kept even if verify fails or is interrupted
    (a.out / "datasets-full.json").write_text(json.dumps({"generation": gen}, indent=2) + "\n")
    ver = verify(version)
    res = {
        "generation": gen,
        "verify": ver,
        "verify_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    (a.out / "datasets-full.json").write_text(json.dumps(res, indent=2) + "\n")
    (a.out / "datasets-full.md").write_text(full_markdown(res))
    print(full_markdown(res))
    if not ver["verify_ok"]:
        print("\n".join(ver["verify_output"]), file=sys.stderr)
        return 1
    if not a.keep:
        subprocess.run(["chmod", "-R", "u+w", str(out)], check=False)
        subprocess.run(["rm", "-rf", str(out)], check=False)
    return 0


def duckdb_query(version: Path) -> pd.DataFrame:
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{version}/{t}/*.parquet')")
    df = con.execute(INCIDENCE_SQL).df()
    con.close()
    return df


def export_csv(version: Path, dest: Path) -> dict[str, Path]:
    con = duckdb.connect()
    paths = {}
    for t in TABLES:
        paths[t] = dest / f"{t}.csv"
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{version}/{t}/*.parquet')) "
            f"TO '{paths[t]}' (HEADER, DELIMITER ',')"
        )
    con.close()
    return paths


def pandas_query(csv: dict[str, Path]) -> pd.DataFrame:
    bef = pd.read_csv(csv["bef"], usecols=["pnr", "aar", "koen", "alder"])
    lmdb = pd.read_csv(csv["lmdb"], usecols=["pnr", "eksd", "atc"], parse_dates=["eksd"])
    adm = pd.read_csv(
        csv["lpr_adm"],
        usecols=["pnr", "recnum", "d_inddto"],
        parse_dates=["d_inddto"],
        dtype={"recnum": str},
    )
    diag = pd.read_csv(csv["lpr_diag"], usecols=["recnum", "c_diag"], dtype={"recnum": str})
    drugs = lmdb.loc[lmdb["atc"].str.startswith("A10B"), ["pnr", "eksd"]].rename(
        columns={"eksd": "d"}
    )
    dx = diag.loc[diag["c_diag"].str.startswith("DE11"), ["recnum"]].merge(adm, on="recnum")
    dx = dx[["pnr", "d_inddto"]].rename(columns={"d_inddto": "d"})
    first = pd.concat([drugs, dx]).groupby("pnr", as_index=False)["d"].min()
    risk = bef[bef["aar"].between(2010, 2017)].merge(first, on="pnr", how="left")
    risk = risk[risk["d"].isna() | (risk["d"].dt.year > risk["aar"])]
    risk = risk.assign(
        ageband=(risk["alder"] // 10) * 10, case=(risk["d"].dt.year == risk["aar"] + 1).astype(int)
    )
    out = risk.groupby(["koen", "ageband"], as_index=False).agg(
        person_years=("case", "size"), cases=("case", "sum")
    )
    return out.sort_values(["koen", "ageband"]).reset_index(drop=True)


def timed(fn, repeats: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def markdown(res: dict) -> str:
    g, q, h = res["generation"], res["query"], res["heap"]
    return "\n".join(
        [
            "# Dataset benchmark",
            "",
            f"Machine: {g['cpus']} CPUs, 1-minute load average {g['load_avg_1m']:.1f} at the start "
            "(other work on the machine slows the wall-clock figures; CPU seconds do not "
            "depend on it).",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| persons generated | {g['persons']:,} |",
            f"| rows written | {g['rows']:,} |",
            f"| wall time | {g['wall_s']} s |",
            f"| persons per second (wall) | {g['persons_per_s']:,} |",
            f"| rows per second (wall) | {g['rows_per_s']:,} |",
            f"| CPU seconds | {g['cpu_s']} |",
            f"| persons per CPU second | {g['persons_per_cpu_s']:,} |",
            f"| peak RSS | {g['peak_rss_mb']:,} MB |",
            f"| size on disk | {g['bytes'] / 1e6:,.0f} MB |",
            "",
            f"Cohort query (type 2 diabetes incidence by sex and age band, 2011-2018), median "
            f"of {q['repeats']} runs:",
            "",
            "| engine | median s | runs |",
            "|---|---:|---|",
            f"| DuckDB on Parquet | {q['duckdb_s']:.3f} | {', '.join(f'{t:.3f}' for t in q['duckdb_runs'])} |",
            f"| pandas on CSV | {q['pandas_s']:.3f} | {', '.join(f'{t:.3f}' for t in q['pandas_runs'])} |",
            f"| ratio pandas / DuckDB | {q['ratio']:.1f}x | |",
            "",
            f"Both engines gave the same table: {q['same_result']}.",
            "",
            f"Generation's heap ({h['persons']:,} persons, {h['repeats']} runs of each in "
            "alternation, medians):",
            "",
            "| heap | peak RSS MB | CPU s |",
            "|---|---:|---:|",
            f"| glibc default | {h['median']['default']['peak_rss_mb']:,.0f} "
            f"| {h['median']['default']['cpu_s']:.1f} |",
            f"| steady_heap (hdss-dataset generate) | {h['median']['steady']['peak_rss_mb']:,.0f} "
            f"| {h['median']['steady']['cpu_s']:.1f} |",
            f"| ratio | {h['peak_ratio']:.2f}x | {h['cpu_ratio']:.2f}x |",
            "",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--size", choices=("small", "full"), default="small")
    ap.add_argument("--persons", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="full: keep the generated dataset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--heap-repeats", type=int, default=3)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.size == "full":
        return full(a)
    a.persons = a.persons or 100_000
    with tempfile.TemporaryDirectory(prefix="hdss-bench-") as tmp:
        tmp = Path(tmp)
        gen = generate(tmp / "root", a.persons, a.seed)
        print(
            f"generation: {gen['persons_per_s']:,} persons/s, {gen['rows_per_s']:,} rows/s, "
            f"peak {gen['peak_rss_mb']} MB",
            file=sys.stderr,
        )
        version = Path(gen.pop("path"))
        csv = export_csv(version, tmp)
        d_med, d_runs, d_res = timed(lambda: duckdb_query(version), a.repeats)
        p_med, p_runs, p_res = timed(lambda: pandas_query(csv), a.repeats)
        same = (
            d_res.astype("int64")
            .reset_index(drop=True)
            .equals(p_res[list(d_res.columns)].astype("int64").reset_index(drop=True))
        )
        res = {
            "generation": gen,
            "query": {
                "repeats": a.repeats,
                "duckdb_s": d_med,
                "duckdb_runs": d_runs,
                "pandas_s": p_med,
                "pandas_runs": p_runs,
                "ratio": p_med / d_med,
                "same_result": bool(same),
                "csv_mb": round(sum(p.stat().st_size for p in csv.values()) / 1e6),
            },
            "heap": heap(tmp, a.persons, a.seed, a.heap_repeats),
            "incidence_per_1000": [
                {**r, "rate": round(1000 * r["cases"] / r["person_years"], 2)}
                for r in d_res.astype("int64").to_dict("records")
            ],
        }
    (a.out / "datasets.json").write_text(json.dumps(res, indent=2) + "\n")
    (a.out / "datasets.md").write_text(markdown(res))
    print(markdown(res))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
