"""Structural rules on the tiny dataset: keys, dates, codes, sex, death and emigration."""

from __future__ import annotations

import re
import stat

import pytest
from hdss_common.catalog import Sensitivity, scan
from hdss_registers import codes as C
from hdss_registers.schema import TABLES
from hdss_registers.verify import verify

from .conftest import manifest, one

# Every dated event column, with the person it belongs to (via a join where needed).
EVENTS = {
    "lpr_adm": (
        "SELECT pnr, d_inddto AS d FROM lpr_adm UNION ALL SELECT pnr, d_uddto FROM lpr_adm"
    ),
    "lpr_sksopr": "SELECT a.pnr, s.d_odto AS d FROM lpr_sksopr s JOIN lpr_adm a USING (recnum)",
    "lpr_a_kontakt": (
        "SELECT pnr, dato_start AS d FROM lpr_a_kontakt UNION ALL "
        "SELECT pnr, dato_slut FROM lpr_a_kontakt"
    ),
    "lpr_a_procedurer": (
        "SELECT k.pnr, p.dato_start AS d FROM lpr_a_procedurer p "
        "JOIN lpr_a_kontakt k USING (dw_ek_kontakt)"
    ),
    "lmdb": "SELECT pnr, eksd AS d FROM lmdb",
    "lab_dm_forsker": "SELECT pnr, samplingdate AS d FROM lab_dm_forsker",
    "bef": "SELECT pnr, referencetid AS d FROM bef",
    "uddf": "SELECT pnr, hf_vfra AS d FROM uddf",
    "ind": "SELECT pnr, make_date(aar, 12, 31) AS d FROM ind",
}


def test_verify_passes_keys_and_checksums(tiny):
    _, problems, _ = verify(tiny)
    assert problems == []


def test_every_table_has_rows(tiny):
    rows = {r["name"]: r["rows"] for r in manifest(tiny)["resources"]}
    assert set(rows) == {t.name for t in TABLES}
    empty = [name for name, n in rows.items() if n == 0]
    assert empty == []


@pytest.mark.parametrize("table", sorted(EVENTS))
def test_nothing_after_death_or_emigration(tiny_db, table):
    bad = one(
        tiny_db,
        f"""
        WITH e AS ({EVENTS[table]})
        SELECT count(*) FROM e JOIN t_person p USING (pnr)
        WHERE (p.c_status = '90' AND e.d > p.d_status_hen_start)
           OR (p.c_status = '80' AND e.d >= p.d_status_hen_start)""",
    )
    assert bad == 0


@pytest.mark.parametrize("table", sorted(EVENTS))
def test_nothing_before_birth(tiny_db, table):
    bad = one(
        tiny_db,
        f"WITH e AS ({EVENTS[table]}) SELECT count(*) FROM e "
        f"JOIN t_person p USING (pnr) WHERE e.d < p.foed_dag",
    )
    assert bad == 0


def test_death_agrees_across_tables(tiny_db):
    assert one(tiny_db, "SELECT count(*) FROM t_person WHERE c_status = '90'") == one(
        tiny_db, "SELECT count(*) FROM dod"
    )
    assert (
        one(
            tiny_db,
            """SELECT count(*) FROM dod d JOIN t_person p USING (pnr)
                           WHERE p.c_status <> '90' OR p.d_status_hen_start <> d.doddato""",
        )
        == 0
    )
    assert (
        one(
            tiny_db,
            """SELECT count(*) FROM dod d FULL JOIN dodsaars c USING (pnr)
                           WHERE d.doddato IS DISTINCT FROM c.d_dodsdto""",
        )
        == 0
    )
    emigrated = one(tiny_db, "SELECT count(*) FROM t_person WHERE c_status = '80'")
    assert emigrated == one(tiny_db, "SELECT count(*) FROM vnds WHERE indud_kode = 'U'")


def test_date_order(tiny_db):
    assert one(tiny_db, "SELECT count(*) FROM lpr_adm WHERE d_uddto < d_inddto") == 0
    assert (
        one(
            tiny_db,
            "SELECT count(*) FROM lpr_a_kontakt WHERE dato_slut < dato_start "
            "OR (dato_slut = dato_start AND tidspunkt_slut < tidspunkt_start)",
        )
        == 0
    )
    assert (
        one(
            tiny_db,
            """SELECT count(*) FROM lpr_sksopr s JOIN lpr_adm a USING (recnum)
                           WHERE s.d_odto NOT BETWEEN a.d_inddto AND a.d_uddto""",
        )
        == 0
    )
    assert one(tiny_db, "SELECT count(*) FROM uddf WHERE hf_vtil < hf_vfra") == 0


def test_lpr2_lpr3_switch(tiny_db):
    assert one(tiny_db, "SELECT max(d_inddto) FROM lpr_adm").isoformat() < "2019-03-01"
    assert one(tiny_db, "SELECT max(d_uddto) FROM lpr_adm").isoformat() < "2019-03-01"
    assert one(tiny_db, "SELECT min(dato_start) FROM lpr_a_kontakt").isoformat() >= "2019-03-01"


def test_exactly_one_a_diagnosis_per_contact(tiny_db):
    for contacts, diag, key, typ, code, adiag in (
        ("lpr_adm", "lpr_diag", "recnum", "c_diagtype", "c_diag", "c_adiag"),
        (
            "lpr_a_kontakt",
            "lpr_a_diagnose",
            "dw_ek_kontakt",
            "diagnosetype",
            "diagnosekode",
            "aktionsdiagnose",
        ),
    ):
        bad = one(
            tiny_db,
            f"""
            SELECT count(*) FROM {contacts} c LEFT JOIN (
                SELECT {key}, count(*) n, any_value({code}) code FROM {diag}
                WHERE {typ} = 'A' GROUP BY {key}) d USING ({key})
            WHERE d.n IS DISTINCT FROM 1 OR d.code <> c.{adiag}""",
        )
        assert bad == 0, contacts


def test_code_patterns(tiny_db):
    patterns = {
        ("lpr_diag", "c_diag"): r"^D[A-Z][0-9]{2,4}$",
        ("lpr_a_diagnose", "diagnosekode"): r"^D[A-Z][0-9]{2,4}$",
        ("lmdb", "atc"): r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$",
        ("lab_dm_forsker", "analysiscode"): r"^NPU[0-9]{5}$",
        ("lpr_sksopr", "c_opr"): r"^[A-Z]{2,}[0-9A-Z]*$",
        ("t_person", "pnr"): r"^[A-Z][0-9A-Z]{9}$",
    }
    for (table, col), pat in patterns.items():
        bad = one(tiny_db, f"SELECT count(*) FROM {table} WHERE NOT regexp_matches({col}, '{pat}')")
        assert bad == 0, (table, col)


def test_person_ids_never_parse_as_cpr(tiny_db):
    ids = [r[0] for r in tiny_db.execute("SELECT pnr FROM t_person").fetchall()]
    assert len(ids) == len(set(ids)) == 1000
    cpr = re.compile(r"^\d{6}-?\d{4}$")
    assert not [i for i in ids if cpr.match(i) or i[:6].isdigit()]


def test_sex_specific_codes_only_in_that_sex(tiny_db):
    checks = [
        (
            "SELECT a.pnr, d.c_diag AS code FROM lpr_diag d JOIN lpr_adm a USING (recnum)",
            "lookup_icd10",
            "code",
        ),
        (
            "SELECT k.pnr, d.diagnosekode AS code FROM lpr_a_diagnose d "
            "JOIN lpr_a_kontakt k USING (dw_ek_kontakt)",
            "lookup_icd10",
            "code",
        ),
        (
            "SELECT a.pnr, s.c_opr AS code FROM lpr_sksopr s JOIN lpr_adm a USING (recnum)",
            "lookup_sks",
            "code",
        ),
        ("SELECT pnr, atc AS code FROM lmdb", "lookup_atc", "atc"),
        ("SELECT pnr, c_dodtilgrundl_acme AS code FROM dodsaars", "lookup_icd10", "code"),
    ]
    for events, lookup, key in checks:
        bad = one(
            tiny_db,
            f"""
            WITH e AS ({events})
            SELECT count(*) FROM e JOIN {lookup} l ON l.{key} = e.code
            JOIN t_person p USING (pnr)
            WHERE (l.sex = 'M' AND p.koen <> 1) OR (l.sex = 'F' AND p.koen <> 2)""",
        )
        assert bad == 0, events
    # and the sex-specific codes do occur, so the check above is not vacuous
    assert one(tiny_db, "SELECT count(*) FROM lmdb WHERE atc = 'G03AA07'") > 0


def test_pregnancy_codes_only_at_fertile_age(tiny_db):
    bad = one(
        tiny_db,
        """
        SELECT count(*) FROM lpr_adm a JOIN t_person p USING (pnr)
        WHERE a.c_adiag LIKE 'DO%' AND (p.koen <> 2
              OR datediff('year', p.foed_dag, a.d_inddto) NOT BETWEEN 15 AND 47)""",
    )
    assert bad == 0


def test_bef_snapshots_agree_with_person(tiny_db):
    bad = one(
        tiny_db,
        """SELECT count(*) FROM bef b JOIN t_person p USING (pnr)
                          WHERE b.koen <> p.koen OR b.foed_dag <> p.foed_dag
                             OR b.alder <> b.aar - year(p.foed_dag)""",
    )
    assert bad == 0


def test_diabetes_drugs_follow_diabetes(tiny_db):
    """Glucose-lowering drugs only after a diabetes code or a high HbA1c is possible."""
    users = one(tiny_db, "SELECT count(DISTINCT pnr) FROM lmdb WHERE atc LIKE 'A10%'")
    assert users > 20
    # metformin never before its person's first HbA1c-free era: no metformin in children
    assert (
        one(
            tiny_db,
            """SELECT count(*) FROM lmdb l JOIN t_person p USING (pnr)
                           WHERE l.atc = 'A10BA02' AND datediff('year', p.foed_dag, l.eksd) < 10
                        """,
        )
        == 0
    )
    # SGLT2 inhibitors only after they were marketed (2013)
    assert (
        one(
            tiny_db,
            "SELECT count(*) FROM lmdb WHERE atc LIKE 'A10BK%' AND eksd < DATE '2013-01-01'",
        )
        == 0
    )


def test_lab_values_are_text_with_quirks(tiny_db):
    kinds = dict(
        tiny_db.execute("""
        SELECT analysiscode, count(*) FROM lab_dm_forsker GROUP BY ALL""").fetchall()
    )
    assert {"NPU27300", "NPU03835"} <= set(kinds)
    assert (
        one(
            tiny_db,
            "SELECT count(*) FROM lab_dm_forsker WHERE analysiscode = 'NPU03835' "
            "AND samplingdate >= DATE '2010-01-01'",
        )
        == 0
    )
    assert (
        one(tiny_db, "SELECT count(*) FROM lab_dm_forsker WHERE try_cast(value AS DOUBLE) IS NULL")
        > 0
    )
    assert one(tiny_db, "SELECT count(*) FROM lab_dm_forsker WHERE value LIKE '%,%'") > 0


def test_manifest_schema_keys_sources_provenance(tiny):
    m = manifest(tiny)
    prov = m["provenance"]
    assert prov["synthetic"] is True and prov["restricted"] is False
    assert prov["seed"] == 7 and prov["size"] == "tiny" and prov["generator_version"]
    assert len(m["sources"]) >= 10
    assert all(s["title"] and s["path"].startswith("https://") for s in m["sources"])
    res = {r["name"]: r for r in m["resources"]}
    assert res["lpr_diag"]["schema"]["foreignKeys"][0]["reference"] == {
        "resource": "lpr_adm",
        "fields": ["recnum"],
    }
    assert res["bef"]["schema"]["primaryKey"] == ["pnr", "aar"]
    for r in m["resources"]:
        for f in r["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) and f["bytes"] > 0


def test_published_read_only_and_catalogued(tiny):
    for p in [tiny, *tiny.rglob("*")]:
        assert not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), p
    entries = scan(tiny.parent.parent, Sensitivity.SYNTHETIC)
    assert [(e.name, e.version) for e in entries] == [("dk-registers", tiny.name)]
    assert entries[0].mount_path == "/data/synthetic/dk-registers"


def test_lookups_cover_the_code_lists(tiny_db):
    assert one(tiny_db, "SELECT count(*) FROM lookup_icd10") == len(C.ICD10)
    assert one(tiny_db, "SELECT count(*) FROM lookup_atc WHERE ddd IS NOT NULL") == len(C.ATC)


def test_verify_checks_keys_in_hash_buckets(tiny, tmp_path, monkeypatch):
    """Large tables check their primary key one hash bucket at a time (so `full` fits the
    memory limit); a duplicate is still found, whichever bucket it falls in."""
    import json
    import os
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq
    from hdss_registers import verify as V
    from hdss_registers.writer import sha256_file

    monkeypatch.setattr(V, "BUCKET_ROWS", 500)  # bef of tiny: ~19,000 rows, ~38 buckets
    assert V.verify(tiny)[1] == []
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    for p in [copy, *copy.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    path = copy / "bef" / "bef_2010.parquet"
    t = pq.read_table(path)
    dup = pa.concat_tables([t, t.slice(5, 1)])
    pq.write_table(dup, path)
    m = json.loads((copy / "datapackage.json").read_text())
    for r in m["resources"]:
        for f in r["files"]:
            if f["path"] == "bef/bef_2010.parquet":
                f["sha256"], f["bytes"] = sha256_file(path), path.stat().st_size
                r["rows"] += 1
                f["rows"] += 1
    (copy / "datapackage.json").write_text(json.dumps(m))
    problems = V.verify(copy)[1]
    assert any("bef: primary key (pnr, aar) not unique" in p for p in problems), problems
