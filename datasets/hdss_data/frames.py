"""Every catalogued table as a Polars LazyFrame (nothing is read until ``.collect()``)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from hdss_data.dataset import check_tables, load


def lazy_frames(root: str | os.PathLike | None = None, tables: Iterable[str] | None = None) -> dict:
    """``{table name: polars.LazyFrame}`` for the dataset at ``root`` (see ``open_dataset``)."""
    import polars as pl

    dataset = load(root, check_files=False)
    names = list(tables) if tables is not None else list(dataset.tables)
    check_tables(dataset, names)
    frames = {}
    for name in names:
        info = dataset.table(name)
        columns = {f.get("name") for f in info.fields}
        hive = info.hive and not set(info.hive_keys) <= columns
        frames[name] = pl.scan_parquet([str(f) for f in info.files], hive_partitioning=hive)
    return frames
