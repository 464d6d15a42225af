"""Datasets generated once per test run: tiny (structure) and small (statistics)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hdss_registers.generate import Request, generate
from hdss_registers.schema import TABLES

TINY_SEED = 7


def make(root: Path, size: str = "tiny", seed: int = TINY_SEED, **kw) -> Path:
    return generate(Request(size=size, seed=seed, out=root, **kw), progress=None)


def connect(version: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of a published version."""
    con = duckdb.connect()
    for t in TABLES:
        con.execute(
            f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{version}/{t.name}/*.parquet')"
        )
    return con


def manifest(version: Path) -> dict:
    return json.loads((version / "datapackage.json").read_text())


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    return make(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_db(tiny) -> duckdb.DuckDBPyConnection:
    return connect(tiny)


@pytest.fixture(scope="session")
def small(tmp_path_factory) -> Path:
    return make(tmp_path_factory.mktemp("small"), size="small", seed=11)


@pytest.fixture(scope="session")
def small_db(small) -> duckdb.DuckDBPyConnection:
    return connect(small)


def one(con, sql: str):
    return con.execute(sql).fetchone()[0]
