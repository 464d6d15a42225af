"""The promotion contract: table and column references vs. the restricted manifest."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hdss_hub.promotion.contract import check_notebook

from tests.promotion import nbs

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def resource(name: str, paths: list[str], **fields: str) -> dict:
    return {
        "name": name,
        "path": paths,
        "schema": {"fields": [{"name": n, "type": t} for n, t in fields.items()]},
    }


MANIFEST = {
    "name": "dk-restricted",
    "version": "1",
    "resources": [
        resource(
            "bef",
            ["bef/bef_2015.parquet", "bef/bef_2016.parquet"],
            pnr="string",
            aar="integer",
            koen="integer",
            foed_dag="date",
        ),
        resource("dod", ["dod/dod.parquet"], pnr="string", doddato="date"),
        resource("t_person", ["t_person/t_person.parquet"], pnr="string", koen="integer"),
    ],
}


def nb(code: str) -> bytes:
    return nbs.notebook(nbs.OPEN + code)


def problems(code: str, manifest: dict = MANIFEST) -> set[tuple[str, str]]:
    return {(p.kind, p.name) for p in check_notebook(nb(code), manifest).problems}


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


# -- SQL bound by DuckDB: CTEs, quoted names, subqueries, parameters, frames -----------------


def test_a_cte_over_a_dataset_table_passes():
    report = check_notebook(
        nb(
            'con.sql("with p as (select pnr, koen from bef where aar = 2015) '
            'select koen, count(*) as n from p group by koen")'
        ),
        MANIFEST,
    )
    assert report.ok, report.summary()
    assert report.tables == ["bef"] and {"pnr", "koen", "aar"} <= set(report.columns)


@pytest.mark.parametrize(
    "sql, problem",
    [
        ("with p as (select pnr, civst from bef) select count(*) from p", "civst"),
        ("with p as (select b.pnr, b.income from bef b) select * from p", "bef.income"),
        ("with p as (select * from bef) select p.civst from p", "p.civst"),
        ("with recursive p as (select civst from bef) select * from p", "civst"),
    ],
)
def test_a_cte_reading_a_missing_column_is_flagged(sql, problem):
    assert problems(f'con.sql("{sql}")') == {("column", problem)}


def test_a_cte_named_like_a_missing_table_is_the_notebooks_own():
    assert problems('con.sql("with lmdb as (select pnr from bef) select pnr from lmdb")') == set()


def test_quoted_table_and_column_names_are_resolved():
    code = 'con.sql(\'select "bef"."koen", "Koen" from "bef" where "aar" = 2015\')'
    report = check_notebook(nb(code), MANIFEST)
    assert report.ok, report.summary()
    assert report.tables == ["bef"]
    assert problems('con.sql(\'select "bef"."civst" from "bef"\')') == {("column", "bef.civst")}
    assert problems("con.sql('select \"income decile\" from bef')") == {("column", "income decile")}
    assert problems("con.sql('select * from \"lmdb\"')") == {("table", "lmdb")}


def test_subqueries_and_aliases_pass():
    code = (
        'con.sql("select s.koen, count(*) from (select koen from bef where aar = 2015) as s '
        'group by s.koen")\n'
        'con.sql("select b.koen from bef as b where b.pnr in (select d.pnr from dod d)")\n'
        'con.sql("select x.koen from t_person x join dod using (pnr)")'
    )
    report = check_notebook(nb(code), MANIFEST)
    assert report.ok, report.summary()
    assert report.tables == ["bef", "dod", "t_person"]


@pytest.mark.parametrize(
    "sql, problem",
    [
        ("select x.civst from (select * from bef) as x", ("column", "x.civst")),
        (
            "select pnr from bef where pnr in (select pnr from dod where dodsaarsag = 1)",
            ("column", "dodsaarsag"),
        ),
        ("select t.koen, t.civst from t_person as t", ("column", "t_person.civst")),
        ("select koen from bef join dod using (doddato)", ("column", "doddato")),
    ],
)
def test_subqueries_and_aliases_with_a_missing_column_are_flagged(sql, problem):
    assert problems(f'con.sql("{sql}")') == {problem}


def test_query_parameters_do_not_stop_the_binding():
    # $start + to_years($n) has no type until run: DuckDB alone would defer binding the
    # whole statement, and the missing column after it would go unseen.
    code = (
        'con.execute("select {col} from bef where foed_dag >= $start + to_years($n) '
        'and aar = year($start) - 1", {{"start": None, "n": 1}})'
    )
    assert problems(code.format(col="koen")) == set()
    assert problems(code.format(col="civst")) == {("column", "civst")}


def test_data_frames_take_any_column_but_dataset_tables_do_not():
    code = (
        'onsets = con.sql("select pnr from dod").df()\n'
        'con.sql("select b.koen, o.onset, year(o.onset) from bef b join onsets o using (pnr)")\n'
        'con.sql("select b.{col} from bef b join onsets o on o.pnr = b.pnr")'
    )
    assert problems(code.format(col="koen")) == set()
    assert problems(code.format(col="civst")) == {("column", "bef.civst")}


def test_tables_made_by_the_notebook_are_views_of_the_restricted_schema():
    code = (
        'con.execute("create or replace temp table adults as select pnr, koen from bef")\n'
        'con.sql("select koen from adults")\n'
        'con.sql("select a.{col} from adults a")'
    )
    assert problems(code.format(col="koen")) == set()
    assert problems(code.format(col="aar")) == {("column", "adults.aar")}


def test_a_syntax_error_is_reported_not_raised():
    report = check_notebook(nb('con.sql("select koen frm bef")'), MANIFEST, "s.ipynb")
    assert [(p.kind, p.name) for p in report.problems] == [("sql", "select koen frm bef")]
    assert "cannot parse" in report.problems[0].detail
    assert 'syntax error at or near "bef"' in report.problems[0].detail
    assert "s.ipynb: 1 reference(s)" in report.summary()
    assert report.to_json()["ok"] is False


def test_prose_and_dynamic_sql_that_does_not_parse_is_not_a_syntax_error():
    code = (
        'print("with all persons from bef we count deaths")\n'
        'table = "bef"\n'
        'con.sql(f"select koen from {table}")'
    )
    assert problems(code) == set()


def test_a_column_only_in_the_synthetic_schema_is_flagged_for_the_restricted_one():
    synthetic = json.loads(json.dumps(MANIFEST))
    synthetic["name"] = "dk-registers"
    synthetic["resources"][0]["schema"]["fields"].append({"name": "income_decile"})
    code = 'con.sql("select income_decile, count(*) from bef group by all")'
    assert check_notebook(nb(code), synthetic).ok
    assert problems(code) == {("column", "income_decile")}


@pytest.mark.parametrize(
    "code",
    [
        "con.execute(\"copy (select civst from bef) to 'out.csv' (header)\")",
        'con.sql("explain analyze select civst from bef")',
        'con.sql("select koen from bef; select civst from bef")',
        '%time df = con.sql("select civst from bef").df()',
    ],
)
def test_sql_in_other_statements_and_magics_is_checked(code):
    assert problems(code) == {("column", "civst")}


# -- files read by path ------------------------------------------------------------------


def test_a_path_to_a_tables_files_reads_that_table():
    code = (
        "con.sql(f\"select koen from read_parquet('{data_root}/bef/*.parquet') where aar = 2015\")\n"
        "con.sql(f\"select b.koen from read_parquet(['{data_root}/bef/bef_2015.parquet']) b\")\n"
        "con.sql(\"select doddato from '/data/restricted/dk-restricted/dod/dod.parquet'\")"
    )
    report = check_notebook(nb(code), MANIFEST)
    assert report.ok, report.summary()
    assert report.tables == ["bef", "dod"]


def test_a_path_to_a_table_is_held_to_that_tables_columns():
    code = "con.sql(f\"select civst from read_parquet('{data_root}/bef/*.parquet')\")"
    assert problems(code) == {("column", "civst")}


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "{data_root}/lmdb/lmdb.parquet",  # not a table of the restricted dataset
        "{data_root}/bef/../dod/dod.parquet",
        "{data_root}/bef/other.parquet",  # not one of the files of bef
        "/data/synthetic/dk-registers/bef/bef_2015.parquet",  # not mounted in the run
        "/data/restricted/other-dataset/bef/bef_2015.parquet",
        "bef/bef_2015.parquet",  # relative: the run's working folder is the snapshot
    ],
)
def test_a_path_outside_the_restricted_tables_is_flagged(path):
    for sql in (
        f"select * from read_parquet('{path}')",
        f"select * from read_csv('{path}', header = true) as t",
        f"select * from '{path}'",
        f"copy dod from '{path}'",
    ):
        assert problems(f'con.execute(f"{sql}")') == {("path", path)}, sql


def test_a_computed_path_is_flagged():
    code = 'con.execute("select * from read_parquet($p)", {"p": "x.parquet"})'
    assert problems(code) == {("path", "read_parquet(...)")}


def test_files_are_never_opened_while_checking(tmp_path):
    # A file DuckDB could read: through query(...) the path is not in the parse tree, so only
    # the disabled file system access stops DuckDB from binding its columns.
    duckdb.sql("copy (select 1 as secret) to '" + str(tmp_path / "x.parquet") + "'")
    inner = f"select * from read_parquet(''{tmp_path}/x.parquet'')"
    code = f"con.sql(\"select secret from query('{inner}')\")"
    assert problems(code) == {("path", f"{tmp_path}/x.parquet")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_course_notebook_meets_the_contract_of_a_real_manifest(path, real_manifest):
    report = check_notebook(path.read_bytes(), real_manifest, path.name)
    assert report.ok, report.summary()


@pytest.fixture(scope="module")
def real_manifest(data_roots):
    _, restricted = data_roots
    return json.loads(next(restricted.glob("dk-restricted/*/datapackage.json")).read_text())
