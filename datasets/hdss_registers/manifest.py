"""The Frictionless ``datapackage.json`` of a published version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hdss_registers import __version__
from hdss_registers.codes import CODE_COLUMNS, CODE_LISTS
from hdss_registers.schema import FRICTIONLESS, TABLES
from hdss_registers.sources import SOURCES
from hdss_registers.writer import sha256_file

GENERATOR = "hdss_registers"


def file_entries(directory: Path, rows: dict[str, int]) -> dict[str, list[dict]]:
    """Per table, its files with rows, bytes and sha256, in path order."""
    out: dict[str, list[dict]] = {}
    for rel in sorted(rows):
        path = directory / rel
        out.setdefault(rel.split("/", 1)[0], []).append(
            {
                "path": rel,
                "rows": rows[rel],
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    return out


def content_hash(files: dict[str, list[dict]], provenance: dict) -> str:
    h = hashlib.sha256(json.dumps(provenance, sort_keys=True).encode())
    for entries in files.values():
        for e in entries:
            h.update(f"{e['path']} {e['sha256']}\n".encode())
    return h.hexdigest()


def schema_json(spec) -> dict:
    fields = []
    for f in spec.fields:
        d = {"name": f.name, "type": FRICTIONLESS[f.type], "description": f.description}
        if not f.nullable:
            d["constraints"] = {"required": True}
        fields.append(d)
    out: dict = {"fields": fields}
    if spec.primary_key:
        out["primaryKey"] = list(spec.primary_key)
    if spec.foreign_keys:
        out["foreignKeys"] = [
            {
                "fields": list(fk.fields),
                "reference": {"resource": fk.resource, "fields": list(fk.ref_fields)},
            }
            for fk in spec.foreign_keys
        ]
    return out


def build_manifest(name: str, version: str, provenance: dict, files: dict[str, list[dict]]) -> dict:
    resources = []
    for spec in TABLES:
        entries = files.get(spec.name, [])
        resources.append(
            {
                "name": spec.name,
                "path": [e["path"] for e in entries],
                "profile": "tabular-data-resource",
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "title": spec.register,
                "description": spec.description,
                "partitioned_by_year": spec.partitioned,
                "rows": sum(e["rows"] for e in entries),
                "bytes": sum(e["bytes"] for e in entries),
                "files": entries,
                "schema": schema_json(spec),
            }
        )
    sensitivity = provenance["sensitivity"]
    return {
        "profile": "data-package",
        "name": name,
        "version": version,
        "title": "Synthetic Danish health registers"
        + (" (restricted twin: stands in for real data)" if sensitivity == "restricted" else ""),
        "description": "Simulated life courses shaped like the Danish population, patient, "
        "prescription, laboratory, cause-of-death, migration, education and income "
        "registers. No real person is in it. Column names follow Statistics Denmark and "
        "Sundhedsdatastyrelsen.",
        "licenses": [
            {
                "name": "CC0-1.0",
                "path": "https://creativecommons.org/publicdomain/zero/1.0/",
                "title": "No rights reserved (the data are synthetic)",
            }
        ],
        "provenance": provenance,
        "sources": [dict(s) for s in SOURCES],
        "code_lists": code_lists(),
        "resources": resources,
    }


def code_lists() -> list[dict]:
    """Each code list: its sources (keys of ``sources``), its size and the columns using it."""
    return [
        {
            "name": name,
            "sources": list(keys),
            "codes": len(values),
            "columns": [f"{t}.{c}" for t, c, n in CODE_COLUMNS if n == name],
        }
        for name, (values, keys) in CODE_LISTS.items()
    ]


def provenance(sensitivity: str, seed: int, size: str, persons: int, chunk: int) -> dict:
    return {
        "synthetic": True,
        "restricted": sensitivity == "restricted",
        "sensitivity": sensitivity,
        "generator": GENERATOR,
        "generator_version": __version__,
        "seed": seed,
        "size": size,
        "persons": persons,
        "chunk_size": chunk,
    }


def dumps(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
