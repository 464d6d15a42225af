"""The Parquet layout serves a student's typical filters: clustered tables are ordered by
their code column in row groups with min/max statistics, so a cohort by diagnosis or drug
reads a small part of the files (measured in bench/bench_datasets.py)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from hdss_registers.schema import BY_NAME, TABLES

pytestmark = pytest.mark.slow

CLUSTERED = {t.name: t.cluster_by for t in TABLES if t.cluster_by}


def test_the_clustered_tables():
    assert CLUSTERED == {
        "lmdb": "atc",
        "lpr_diag": "c_diag",
        "lpr_a_diagnose": "diagnosekode",
        "lab_dm_forsker": "analysiscode",
        "sysi": "speciale",
        "sssy": "speciale",
    }


@pytest.mark.parametrize(
    ("table", "lo", "hi", "most"),
    [
        ("lmdb", "A10B", "A10C", 0.45),  # measured 0.36 on seed 1 (16,384-row groups)
        ("lpr_diag", "DE11", "DE12", 0.5),  # 0.39: ~2 groups per chunk-year
        ("sssy", "54", "55", 0.4),  # 0.29 (32,768-row groups)
    ],
)
def test_a_code_filter_skips_most_row_groups(small, table, lo, hi, most):
    column = CLUSTERED[table]
    total = hit = 0
    for path in sorted((small / table).glob("*.parquet")):
        meta = pq.ParquetFile(path).metadata
        ix = meta.schema.names.index(column)
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(ix).statistics
            assert stats is not None and stats.has_min_max, (path.name, g)
            total += 1
            hit += stats.min < hi and stats.max >= lo
    assert total > 50
    assert hit / total < most, (table, hit, total)


def test_the_row_group_count_stays_bounded(small):
    """The writers hold ~870 bytes per row group and column until their files close, so at
    `full` (50x `small`) this count is most of what grows the peak memory: 25,000 column
    chunks here (8,192-row groups everywhere) meant ~1.1 GB of footers and a 2.3 GB peak.
    Measured 13,172 with the per-table row group sizes."""
    chunks = 0
    for path in small.rglob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        chunks += meta.num_row_groups * meta.num_columns
    assert 5_000 < chunks < 15_000, chunks


def test_row_groups_follow_the_table_sizes(small):
    """Clustered tables cut each chunk-year into groups of their row_group_rows; the last
    group of a chunk-year is the rest."""
    for name in CLUSTERED:
        size = BY_NAME[name].row_group_rows
        groups = [
            pq.ParquetFile(p).metadata.row_group(g).num_rows
            for p in sorted((small / name).glob("*.parquet"))
            for g in range(pq.ParquetFile(p).metadata.num_row_groups)
        ]
        assert max(groups) <= size, (name, max(groups), size)
        if name in ("lmdb", "sysi", "sssy", "lab_dm_forsker"):  # chunk-years above the size
            assert max(groups) == size, (name, max(groups), size)
