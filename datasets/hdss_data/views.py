"""Every catalogued table as a DuckDB view named like the register (bef, dod, lmdb, ...)."""

from __future__ import annotations

import os
from collections.abc import Iterable

import duckdb

from hdss_data.dataset import Dataset, TableInfo, check_tables, load


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_parquet_sql(info: TableInfo) -> str:
    """The ``read_parquet(...)`` call over a table's files.

    Hive partitioning is switched on only when a partition key (``aar=2020/``) is not a
    column of the files themselves, so the view always has exactly the documented columns.
    """
    files = ", ".join(_literal(str(f)) for f in info.files)
    names = {f.get("name") for f in info.fields}
    hive = info.hive and not set(info.hive_keys) <= names
    return f"read_parquet([{files}], hive_partitioning = {'true' if hive else 'false'})"


def create_views(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, tables: Iterable[str] | None = None
) -> list[str]:
    """Create (or replace) one view per table in ``con``; returns the view names."""
    names = list(tables) if tables is not None else list(dataset.tables)
    check_tables(dataset, names)
    for name in names:
        sql = read_parquet_sql(dataset.table(name))
        con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS SELECT * FROM {sql}")
    return names


def open_dataset(
    root: str | os.PathLike | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    tables: Iterable[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every table of the dataset at ``root`` as a view.

    ``root`` defaults to the first dataset under ``$HDSS_DATA_ROOT``; pass ``con`` to add the
    views to a connection you already have, ``tables`` to open only some. The Parquet files
    are only read, never written. A missing root or table raises an error naming it.
    """
    dataset = load(root, check_files=False)
    con = con if con is not None else duckdb.connect()
    create_views(con, dataset, tables)
    return con
