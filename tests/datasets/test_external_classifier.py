"""Code written for the real registers, run unchanged on ours: a diabetes classifier from
the published algorithm (see ``diabetes_classifier``) finds type 2 and type 1 diabetes in
the published shares of the `small` population."""

from __future__ import annotations

import pytest

from .diabetes_classifier import prevalence

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prev_2022(small_db):
    return prevalence(small_db, 2022)


def test_type2_prevalence_in_the_published_range(prev_2022):
    # isaksen-2023, esundhed-diabetes: type 2 about 4.4% of the population; 4.2-6.0% fair.
    assert 0.042 < prev_2022["T2D"] < 0.060


def test_type1_prevalence_in_the_published_range(prev_2022):
    # isaksen-2023, carstensen-2020: type 1 0.4-0.7% of the population.
    assert 0.004 < prev_2022["T1D"] < 0.007


def test_every_criterion_contributes(small_db, prev_2022):
    """Each inclusion route finds people: HbA1c, diagnoses, podiatry, drug purchases."""
    for view in ("dm_hba1c", "dm_podiatry", "dm_gld"):
        assert small_db.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 100, view
    # some with type 1 also buy metformin, and the classifier still calls them type 1
    n = small_db.execute("""
        SELECT count(*) FROM dm_classified c WHERE dm_type = 'T1D'
        AND EXISTS (SELECT 1 FROM dm_gld g WHERE g.pnr = c.pnr AND g.atc = 'A10BA02')
        """).fetchone()[0]
    assert n > 0
