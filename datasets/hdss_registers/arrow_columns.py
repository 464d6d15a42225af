"""Arrow columns and tables in the schema's shape: the helpers every table builder shares.

This module sits below the builders (:mod:`hdss_registers.hospital`, :mod:`~.drugs`,
:mod:`~.labs`) and :mod:`hdss_registers.tables`, which call them; it imports none of them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa

from hdss_registers.schema import BY_NAME
from hdss_registers.simulate import Chunk

Built = dict[str, tuple[pa.Table, np.ndarray | None]]


class ChunkRows(Protocol):
    """What a table builder reads off one chunk (:class:`hdss_registers.tables.ChunkTables`)."""

    ch: Chunk
    rng: np.random.Generator

    def pnr_of(self, who: np.ndarray) -> pa.Array: ...

    def age_at(self, who: np.ndarray, days: np.ndarray) -> np.ndarray: ...


def take(vocab, idx: np.ndarray) -> pa.Array:
    """Strings ``vocab[idx]`` as a dictionary array: no string copies, and Parquet writes
    the dictionary page directly (readers see plain strings)."""
    if not isinstance(vocab, pa.Array):
        # A dictionary must not repeat a value: Parquet then falls back to an encoding
        # whose bytes were seen to differ between runs (same values, different files).
        values = list(vocab)
        unique = list(dict.fromkeys(values))
        if len(unique) < len(values):
            pos = {v: i for i, v in enumerate(unique)}
            idx = np.array([pos[v] for v in values], dtype=np.int32)[idx]
        vocab = pa.array(unique, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), vocab)


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32())


def year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _column(values, typ: pa.DataType) -> pa.Array:
    if isinstance(values, pa.DictionaryArray):
        return values
    if isinstance(values, pa.Array):
        return values if values.type == typ else values.cast(typ)
    return pa.array(values, typ)


def table(name: str, cols: dict) -> pa.Table:
    """An Arrow table in the schema's column order; string columns may be dictionaries."""
    spec = BY_NAME[name].arrow_schema
    arrays = [_column(cols[f.name], f.type) for f in spec]
    fields = [
        pa.field(f.name, a.type, nullable=f.nullable) for f, a in zip(spec, arrays, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
