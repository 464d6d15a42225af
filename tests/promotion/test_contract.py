"""The promotion contract: table and column references vs. the restricted manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hdss_hub.promotion.contract import check_notebook

from tests.promotion import nbs

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
MANIFEST = {
    "name": "dk-restricted",
    "version": "1",
    "resources": [
        {"name": "bef", "schema": {"fields": [{"name": n} for n in ("pnr", "aar", "koen")]}},
        {"name": "dod", "schema": {"fields": [{"name": n} for n in ("pnr", "doddato")]}},
        {"name": "t_person", "schema": {"fields": [{"name": n} for n in ("pnr", "koen")]}},
    ],
}


def nb(code: str) -> bytes:
    return nbs.notebook(nbs.OPEN + code)


def test_a_notebook_within_the_schema_passes():
    report = check_notebook(nbs.AGGREGATE, MANIFEST, "a.ipynb")
    assert report.ok, report.summary()
    assert report.tables == ["bef"] and {"koen", "pnr", "aar"} <= set(report.columns)


def test_missing_qualified_column_is_named():
    report = check_notebook(nbs.MISSING_COLUMN, MANIFEST, "m.ipynb")
    assert [p.name for p in report.problems] == ["bef.income_decile"]
    assert "bef.income_decile" in report.summary()


def test_missing_unqualified_column_and_table():
    report = check_notebook(
        nb('con.sql("select civst from bef")\ncon.sql("select * from lmdb")'), MANIFEST
    )
    assert {(p.kind, p.name) for p in report.problems} == {("column", "civst"), ("table", "lmdb")}


def test_views_ctes_aliases_and_registered_frames_are_defined_by_the_notebook():
    code = (
        'con.execute("create or replace temp view people as select pnr, koen as sex '
        'from t_person")\n'
        'con.sql("with d as (select pnr, year(doddato) as y from dod) '
        'select sex, count(*) as n from people join d using (pnr) group by sex")\n'
        'import pandas as pd\nframe = pd.DataFrame()\ncon.register("extra", frame)\n'
        'con.sql("select * from extra join frame using (pnr)")\n'
        'con.sql("select extract(year from doddato) as y from dod")'
    )
    report = check_notebook(nb(code), MANIFEST)
    assert report.ok, report.summary()


def test_comments_strings_and_prose_are_ignored():
    code = (
        "# select nothing from nowhere\n"
        'print("Select the persons from the register you need")\n'
        'con.sql("select koen from bef where aar = 2015 -- and civst")\n'
        "con.sql(\"select koen from bef where koen = 'unknown_col'\")"
    )
    report = check_notebook(nb(code), MANIFEST)
    assert report.ok, report.summary()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_course_notebook_meets_the_contract_of_a_real_manifest(path, real_manifest):
    report = check_notebook(path.read_bytes(), real_manifest, path.name)
    assert report.ok, report.summary()


@pytest.fixture(scope="module")
def real_manifest(data_roots):
    _, restricted = data_roots
    return json.loads(next(restricted.glob("dk-restricted/*/datapackage.json")).read_text())
