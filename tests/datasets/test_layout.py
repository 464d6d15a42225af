"""The Parquet layout serves a student's typical filters: clustered tables are ordered by
their code column in row groups with min/max statistics, so a cohort by diagnosis or drug
reads a small part of the files (measured in bench/bench_datasets.py)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from hdss_registers.schema import TABLES

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
        ("lmdb", "A10B", "A10C", 0.3),  # measured 0.19 on seed 11: one group per chunk-year
        ("lpr_diag", "DE11", "DE12", 0.5),  # 0.40: ~2 groups per chunk-year
        ("sssy", "54", "55", 0.15),  # 0.08
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
