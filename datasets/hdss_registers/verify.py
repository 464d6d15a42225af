"""Recheck a published version against its manifest: bytes, sha256, rows, keys."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hdss_common.catalog import CURRENT, MANIFEST, current_version
from hdss_common.errors import HdssError

from hdss_registers.writer import sha256_file

MEMORY_LIMIT = "1GB"
BUCKET_ROWS = 20_000_000  # keys per primary-key check


class VerifyError(HdssError):
    """The path is not a published dataset version."""


def resolve_version(path: Path) -> Path:
    """A version directory from a version dir or a dataset dir (its ``current``)."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    if path.is_dir():
        version = current_version(path)  # the catalogue's rule: current, else the newest
        if version is not None:
            return version
    raise VerifyError(
        f"{path} holds no {MANIFEST} and no '{CURRENT}' link: pass a dataset "
        f"version directory or a dataset directory"
    )


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def check_files(version: Path, manifest: dict) -> list[str]:
    problems = []
    listed = set()
    for res in manifest["resources"]:
        names = [f["name"] for f in res["schema"]["fields"]]
        for f in res["files"]:
            p = version / f["path"]
            listed.add(f["path"])
            if not p.is_file():
                problems.append(f"{f['path']}: missing")
                continue
            if p.stat().st_size != f["bytes"]:
                problems.append(
                    f"{f['path']}: {p.stat().st_size} bytes, manifest says {f['bytes']}"
                )
            if sha256_file(p) != f["sha256"]:
                problems.append(
                    f"{f['path']}: sha256 differs from the manifest (changed or corrupted file)"
                )
                continue
            meta = pq.ParquetFile(p).metadata
            if meta.num_rows != f["rows"]:
                problems.append(f"{f['path']}: {meta.num_rows} rows, manifest says {f['rows']}")
            cols = [meta.schema.column(i).name for i in range(meta.num_columns)]
            if cols != names:
                problems.append(f"{f['path']}: columns {cols} differ from the schema {names}")
    for p in version.rglob("*.parquet"):
        rel = p.relative_to(version).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in the manifest")
    return problems


def check_keys(version: Path, manifest: dict) -> list[str]:
    import duckdb  # imported here so that `hdss-dataset generate` does not load it

    problems = []
    con = duckdb.connect()
    # Bounded memory whatever the size: DuckDB spills its hash tables to a temp dir.
    spill = tempfile.mkdtemp(prefix="hdss-verify-")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = false")
    files = {r["name"]: [version / f["path"] for f in r["files"]] for r in manifest["resources"]}
    for r in manifest["resources"]:
        name = r["name"]
        if not files[name]:
            continue
        con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({_sql_list(files[name])})"
        )
    for r in manifest["resources"]:
        name, schema = r["name"], r["schema"]
        if not files[name]:
            continue
        pk = schema.get("primaryKey")
        if pk:
            cols = ", ".join(pk)
            # One hash bucket of the keys at a time, so the hash table fits the memory
            # limit at any size (the full size's bef has ~100 million keys).
            buckets = max(1, -(-int(r.get("rows", 0)) // BUCKET_ROWS))
            row = None
            for b in range(buckets):
                where = f"WHERE hash({cols}) % {buckets} = {b}" if buckets > 1 else ""
                row = con.execute(
                    f"SELECT {cols}, count(*) FROM {name} {where} "
                    f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
                ).fetchone()
                if row:
                    break
            if row:
                problems.append(
                    f"{name}: primary key ({cols}) not unique, e.g. {row[:-1]} "
                    f"occurs {row[-1]} times"
                )
            nulls = " OR ".join(f"{c} IS NULL" for c in pk)
            n = con.execute(f"SELECT count(*) FROM {name} WHERE {nulls}").fetchone()[0]
            if n:
                problems.append(f"{name}: {n} rows with a null in the primary key ({cols})")
        for fk in schema.get("foreignKeys", []):
            ref = fk["reference"]
            if not files.get(ref["resource"]):
                problems.append(f"{name}: foreign key to missing resource {ref['resource']}")
                continue
            on = " AND ".join(
                f"c.{a} = p.{b}" for a, b in zip(fk["fields"], ref["fields"], strict=True)
            )
            notnull = " AND ".join(f"c.{a} IS NOT NULL" for a in fk["fields"])
            row = con.execute(
                f"SELECT {', '.join('c.' + a for a in fk['fields'])}, count(*) OVER () "
                f"FROM {name} c WHERE {notnull} AND NOT EXISTS "
                f"(SELECT 1 FROM {ref['resource']} p WHERE {on}) LIMIT 1"
            ).fetchone()
            if row:
                problems.append(
                    f"{name}: foreign key ({', '.join(fk['fields'])}) -> "
                    f"{ref['resource']}({', '.join(ref['fields'])}) broken: {row[-1]} rows do "
                    f"not resolve, e.g. {row[:-1]}"
                )
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return problems


def verify(path: Path, keys: bool = True) -> tuple[Path, list[str], dict]:
    """(version dir, problems, manifest). No problems means the version is intact."""
    version = resolve_version(path)
    try:
        manifest = json.loads((version / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return version, [f"{MANIFEST}: unreadable ({exc})"], {}
    problems = check_files(version, manifest)
    if keys and not problems:
        problems += check_keys(version, manifest)
    for r in manifest.get("resources", []):
        total = sum(f["rows"] for f in r["files"])
        if total != r["rows"]:
            problems.append(f"{r['name']}: row count {r['rows']} is not the sum of its files")
    return version, problems, manifest
