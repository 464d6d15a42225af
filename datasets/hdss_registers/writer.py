"""Streaming Parquet output: one open writer per table and year, one row group per chunk.

Writer settings are fixed (codec, level, page version, statistics), and nothing
time-dependent goes into a file, so the same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hdss_registers.schema import BY_NAME

PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=1,
    version="2.6",
    data_page_version="1.0",
    store_schema=False,  # dictionary-typed columns read back as plain strings
)


Parts = list[tuple[str, pa.Table]]  # (file relative to the version dir, rows for it)


def compact(data: pa.Table) -> pa.Table:
    """Drop unused entries from large dictionaries (e.g. the chunk's 20,000 person ids in
    a one-year slice), so each row group stores only the ids it uses (~30% smaller)."""
    cols = []
    for col in data.columns:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(arr.type) and len(arr.dictionary) > 256 and len(arr):
            idx = arr.indices.to_numpy(zero_copy_only=False)
            used = np.zeros(len(arr.dictionary), dtype=bool)
            used[idx] = True
            remap = (np.cumsum(used) - 1).astype(np.int32)
            arr = pa.DictionaryArray.from_arrays(
                pa.array(remap[idx]), arr.dictionary.take(pa.array(np.flatnonzero(used)))
            )
        cols.append(arr)
    return pa.Table.from_arrays(cols, schema=data.schema)


def file_name(table: str, year: int | None) -> str:
    return f"{table}/{table}.parquet" if year is None else f"{table}/{table}_{year}.parquet"


def cluster(data: pa.Table, column: str) -> pa.Table:
    """Rows ordered by ``column`` (stable, so the person and date order stays within)."""
    col = data.column(column).combine_chunks()
    if pa.types.is_dictionary(col.type):
        values = col.dictionary.to_pylist()
        rank = np.empty(len(values), dtype=np.int64)
        rank[np.argsort(np.array(values, dtype=object), kind="stable")] = np.arange(len(values))
        key = rank[col.indices.to_numpy(zero_copy_only=False)]
    else:
        key = np.array(col.to_pylist(), dtype=object)
    order = np.argsort(key, kind="stable")
    return data.take(pa.array(order))


def split(built: dict[str, tuple[pa.Table, np.ndarray | None]]) -> Parts:
    """Cut each table into its files (one per year when partitioned). Runs in the workers."""
    parts: Parts = []
    for name, (data, years) in built.items():
        spec = BY_NAME[name]
        if not spec.partitioned or years is None:
            parts.append((file_name(name, None), compact(data)))
            continue
        order = np.argsort(years, kind="stable")
        ys = years[order]
        cuts = np.flatnonzero(np.diff(ys)) + 1
        bounds = np.concatenate([[0], cuts, [len(ys)]])
        sorted_data = data.take(pa.array(order)) if len(ys) else data
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                piece = sorted_data.slice(lo, hi - lo)
                if spec.cluster_by:
                    piece = cluster(piece, spec.cluster_by)
                parts.append((file_name(name, int(ys[lo])), compact(piece)))
    return parts


class TableWriter:
    """Writes the chunks of every table below ``directory``, partitioned by year if so."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        self.total_rows = 0

    def _write(self, rel: str, data: pa.Table) -> None:
        w = self.writers.get(rel)
        if w is None:
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            # Dictionary-encode strings only: high-entropy numbers (incomes) gain nothing.
            strings = [
                f.name
                for f in data.schema
                if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
            ]
            # Statistics (min/max) on dates and numbers, for row-group pruning; string
            # min/max is costly and no query here prunes on it.
            others = [f.name for f in data.schema if f.name not in strings]
            cluster_by = BY_NAME[rel.split("/", 1)[0]].cluster_by
            if cluster_by:
                others.append(cluster_by)
            w = self.writers[rel] = pq.ParquetWriter(
                path,
                data.schema,
                use_dictionary=strings,
                write_statistics=others,
                **PARQUET_OPTIONS,
            )
            self.rows[rel] = 0
        spec = BY_NAME[rel.split("/", 1)[0]]
        w.write_table(
            data, row_group_size=spec.row_group_rows if spec.cluster_by else max(data.num_rows, 1)
        )
        self.rows[rel] += data.num_rows
        self.total_rows += data.num_rows

    def write(self, parts: Parts) -> None:
        for rel, data in parts:
            self._write(rel, data)

    def ensure_all(self) -> None:
        """Tables that got no rows at all still get a file with the schema."""
        for spec in BY_NAME.values():
            if not any(rel.startswith(spec.name + "/") for rel in self.writers):
                self._write(file_name(spec.name, None), spec.arrow_schema.empty_table())

    def close(self) -> dict[str, int]:
        for w in self.writers.values():
            w.close()
        return dict(sorted(self.rows.items()))


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()
