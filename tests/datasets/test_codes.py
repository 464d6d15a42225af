"""Code columns hold only codes of their cited lists; the health insurance register's
structure (sysi, sssy) on the tiny dataset."""

from __future__ import annotations

import pytest
from hdss_registers import codes as C
from hdss_registers.schema import BY_NAME
from hdss_registers.sources import SOURCES

from .conftest import manifest, one

# Columns that hold codes: every one must be mapped to a code list.
CODE_LIKE = {
    ("lpr_adm", "c_adiag"),
    ("lpr_adm", "c_spec"),
    ("lpr_adm", "c_pattype"),
    ("lpr_adm", "c_indm"),
    ("lpr_diag", "c_diag"),
    ("lpr_diag", "c_diagtype"),
    ("lpr_sksopr", "c_opr"),
    ("lpr_a_kontakt", "aktionsdiagnose"),
    ("lpr_a_kontakt", "hovedspeciale_ans"),
    ("lpr_a_kontakt", "kontakttype"),
    ("lpr_a_kontakt", "prioritet"),
    ("lpr_a_diagnose", "diagnosekode"),
    ("lpr_a_diagnose", "diagnosetype"),
    ("lpr_a_diagnose", "senere_afkraeftet"),
    ("lpr_a_procedurer", "procedurekode"),
    ("dodsaars", "c_dodtilgrundl_acme"),
    ("dodsaars", "c_dod1"),
    ("dodsaars", "c_dod2"),
    ("lmdb", "atc"),
    ("lab_dm_forsker", "analysiscode"),
    ("uddf", "hfaudd"),
    ("bef", "kom"),
    ("sysi", "speciale"),
    ("sysi", "ydelsesnummer"),
    ("sssy", "speciale"),
    ("sssy", "ydelsesnummer"),
}


def test_every_code_column_has_a_cited_list():
    mapped = {(t, c) for t, c, _ in C.CODE_COLUMNS}
    assert mapped == CODE_LIKE
    keys = {s["key"] for s in SOURCES}
    for table, column, name in C.CODE_COLUMNS:
        assert column in {f.name for f in BY_NAME[table].fields}, (table, column)
        values, sources = C.CODE_LISTS[name]
        assert values and len(set(values)) == len(values), name
        assert sources and set(sources) <= keys, name


@pytest.mark.parametrize(("table", "column", "name"), C.CODE_COLUMNS)
def test_code_column_uses_only_its_list(tiny_db, table, column, name):
    values = set(C.CODE_LISTS[name][0])
    seen = {
        str(r[0])
        for r in tiny_db.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"
        ).fetchall()
    }
    assert seen, (table, column)
    assert seen <= values, (table, column, sorted(seen - values)[:5])


def test_manifest_cites_the_source_of_every_code_list(tiny):
    m = manifest(tiny)
    keys = {s["key"] for s in m["sources"]}
    lists = {cl["name"]: cl for cl in m["code_lists"]}
    assert set(lists) == set(C.CODE_LISTS)
    for cl in lists.values():
        assert cl["sources"] and set(cl["sources"]) <= keys
    cited = {col for cl in lists.values() for col in cl["columns"]}
    assert cited == {f"{t}.{c}" for t, c in CODE_LIKE}


def test_specialties_as_the_danish_classification_and_the_lpr3_delivery(tiny_db):
    spec = dict(C.SPECIALTIES)
    assert spec["08"] == "medicinsk endokrinologi"
    assert spec["01"] == "intern medicin" and spec["78"] == "pædiatri"
    # LPR3 spells the names in lower case, as delivered
    names = [
        r[0]
        for r in tiny_db.execute("SELECT DISTINCT hovedspeciale_ans FROM lpr_a_kontakt").fetchall()
    ]
    assert names and all(n == n.lower() for n in names)
    # endocrinology is a small share of contacts, and it sees diabetes
    share = one(tiny_db, "SELECT avg((c_spec = '08')::int) FROM lpr_adm")
    assert 0.003 < share < 0.06
    dm = one(
        tiny_db,
        "SELECT avg((c_adiag LIKE 'DE1%')::int) FROM lpr_adm WHERE c_spec = '08'",
    )
    assert dm > 0.3
    assert one(tiny_db, "SELECT count(*) FROM lookup_spec") == len(C.SPECIALTIES)


def test_health_insurance_weeks_and_periods(tiny_db):
    for table in ("sysi", "sssy"):
        assert (
            one(
                tiny_db,
                f"SELECT count(*) FROM {table} WHERE NOT regexp_matches(honuge, '^[0-9]{{4}}$') "
                f"OR substr(honuge, 3, 2)::INT NOT BETWEEN 1 AND 53 OR antydel < 1 "
                f"OR barnmak NOT IN (0, 1)",
            )
            == 0
        )
    years = {
        r[0] for r in tiny_db.execute("SELECT DISTINCT substr(honuge, 1, 2) FROM sysi").fetchall()
    }
    assert years <= {
        f"{y % 100:02d}" for y in range(1994, 2006)
    }  # 1 Jan 1995 is in ISO week 1994-52
    years = {
        r[0] for r in tiny_db.execute("SELECT DISTINCT substr(honuge, 1, 2) FROM sssy").fetchall()
    }
    assert years <= {f"{y % 100:02d}" for y in range(2005, 2024)}
    # one row per person, week and service
    dup = one(
        tiny_db,
        "SELECT count(*) FROM (SELECT pnr, honuge, speciale, ydelsesnummer FROM sssy "
        "GROUP BY ALL HAVING count(*) > 1)",
    )
    assert dup == 0


def _week_monday(col: str) -> str:
    y = f"(2000 + substr({col}, 1, 2)::INT - CASE WHEN substr({col}, 1, 2)::INT > 50 THEN 100 ELSE 0 END)"
    return (
        f"(make_date({y}, 1, 4) - INTERVAL (isodow(make_date({y}, 1, 4)) - 1) DAY "
        f"+ INTERVAL ((substr({col}, 3, 2)::INT - 1) * 7) DAY)::DATE"
    )


def test_health_insurance_follows_the_life_course(tiny_db):
    services = f"SELECT pnr, speciale, ydelsesnummer, {_week_monday('honuge')} AS monday FROM "
    both = f"({services} sysi UNION ALL {services} sssy)"
    # nothing in a week that starts after death or emigration
    bad = one(
        tiny_db,
        f"""SELECT count(*) FROM {both} s JOIN t_person p USING (pnr)
            WHERE p.c_status IN ('80', '90') AND s.monday > p.d_status_hen_start""",
    )
    assert bad == 0
    # podiatry (54) and eye screening only for people with diabetes (a drug or a diagnosis)
    diabetic = """SELECT pnr FROM lmdb WHERE atc LIKE 'A10%' UNION
        SELECT a.pnr FROM lpr_adm a JOIN lpr_diag USING (recnum) WHERE c_diag LIKE 'DE1%' UNION
        SELECT k.pnr FROM lpr_a_kontakt k JOIN lpr_a_diagnose USING (dw_ek_kontakt)
        WHERE diagnosekode LIKE 'DE1%'"""
    care = f"SELECT pnr FROM {both} WHERE speciale = '54' OR ydelsesnummer = '3011'"
    assert one(tiny_db, f"SELECT count(*) FROM ({care})") > 0
    assert one(tiny_db, f"SELECT count(*) FROM ({care}) WHERE pnr NOT IN ({diabetic})") == 0
    # a GP blood sample is in the week of an HbA1c result of the same person
    orphan = one(
        tiny_db,
        f"""SELECT count(*) FROM {both} s WHERE s.ydelsesnummer = '2101' AND NOT EXISTS (
            SELECT 1 FROM lab_dm_forsker l WHERE l.pnr = s.pnr
            AND l.analysiscode IN ('NPU27300', 'NPU03835')
            AND l.samplingdate BETWEEN s.monday AND s.monday + 6)""",
    )
    assert orphan == 0
    assert one(tiny_db, "SELECT count(*) FROM sssy WHERE ydelsesnummer = '2101'") > 0
