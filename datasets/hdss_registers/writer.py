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
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
)


class TableWriter:
    """Writes the chunks of every table below ``directory``, partitioned by year if so."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        self.total_rows = 0

    def _file(self, table: str, year: int | None) -> str:
        return f"{table}/{table}.parquet" if year is None else f"{table}/{table}_{year}.parquet"

    def _write(self, rel: str, schema: pa.Schema, data: pa.Table) -> None:
        w = self.writers.get(rel)
        if w is None:
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            w = self.writers[rel] = pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)
            self.rows[rel] = 0
        w.write_table(data, row_group_size=max(data.num_rows, 1))
        self.rows[rel] += data.num_rows
        self.total_rows += data.num_rows

    def write(self, built: dict[str, tuple[pa.Table, np.ndarray | None]]) -> None:
        for name, (data, years) in built.items():
            spec = BY_NAME[name]
            if not spec.partitioned or years is None:
                self._write(self._file(name, None), spec.arrow_schema, data)
                continue
            order = np.argsort(years, kind="stable")
            ys = years[order]
            cuts = np.flatnonzero(np.diff(ys)) + 1
            bounds = np.concatenate([[0], cuts, [len(ys)]])
            sorted_data = data.take(pa.array(order)) if len(ys) else data
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                if hi > lo:
                    self._write(self._file(name, int(ys[lo])), spec.arrow_schema,
                                sorted_data.slice(lo, hi - lo))

    def ensure_all(self) -> None:
        """Tables that got no rows at all still get a file with the schema."""
        for spec in BY_NAME.values():
            if not any(rel.startswith(spec.name + "/") for rel in self.writers):
                self._write(self._file(spec.name, None), spec.arrow_schema,
                            spec.arrow_schema.empty_table())

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
