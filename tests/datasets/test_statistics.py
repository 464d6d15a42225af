"""The small dataset (100,000 persons) against the published Danish figures it is
calibrated to. Ranges are fair, not tight: they catch a broken model, not sampling noise.
"""

from __future__ import annotations

import pytest

from .conftest import one

pytestmark = pytest.mark.slow

DIABETES = "('DE109','DE101','DE103','DE119','DE112','DE113','DE115')"


def pop(con, year: int, where: str = "TRUE") -> int:
    return one(con, f"SELECT count(*) FROM bef WHERE aar = {year} AND {where}")


def test_population_structure(small_db):
    # dst-folk1a: mean age 38.6 (1995) rising to 42 (2023); about half men
    age95 = one(small_db, "SELECT avg(alder) FROM bef WHERE aar = 1995")
    age23 = one(small_db, "SELECT avg(alder) FROM bef WHERE aar = 2023")
    assert 36 < age95 < 41 and 39 < age23 < 44 and age23 > age95
    men = one(small_db, "SELECT avg((koen = 1)::int) FROM bef WHERE aar = 2020")
    assert 0.47 < men < 0.52
    old = one(small_db, "SELECT avg((alder >= 65)::int) FROM bef WHERE aar = 2020")
    assert 0.15 < old < 0.25  # dst: 20% aged 65+ in 2020


def test_births_deaths_migration(small_db):
    p = pop(small_db, 2014)
    births = one(small_db, "SELECT count(*) FROM t_person WHERE year(foed_dag) = 2015")
    deaths = one(small_db, "SELECT count(*) FROM dod WHERE year(doddato) = 2015")
    imm = one(small_db, "SELECT count(*) FROM vnds WHERE indud_kode='I' AND year(haend_dato)=2015")
    assert 8 < births / p * 1000 < 13  # dst-fod: 10.2 per 1,000
    assert 7.5 < deaths / p * 1000 < 12.5  # dst-dod: 9.3 per 1,000
    assert 9 < imm / p * 1000 < 18  # dst-van: 13.8 per 1,000


def test_mortality_rises_with_age_and_men_die_younger(small_db):
    rates = dict(
        small_db.execute("""
        SELECT b.koen, count(d.pnr) * 1.0 / count(*) FROM bef b
        LEFT JOIN dod d ON d.pnr = b.pnr AND year(d.doddato) BETWEEN 2010 AND 2014
        WHERE b.aar = 2009 AND b.alder BETWEEN 60 AND 69 GROUP BY b.koen""").fetchall()
    )
    assert rates[1] > rates[2]
    assert 0.03 < rates[1] < 0.11  # dst: five-year risk of death, men 60-69, ~7%


def test_diabetes_prevalence(small_db):
    # diabetesforeningen / esundhed: ~5-6% of the population has diagnosed diabetes (2020)
    prev = one(
        small_db,
        f"""
        WITH dm AS (SELECT DISTINCT pnr FROM lmdb WHERE atc LIKE 'A10%'
                      AND eksd <= DATE '2020-12-31'
                    UNION SELECT DISTINCT a.pnr FROM lpr_adm a JOIN lpr_diag USING (recnum)
                      WHERE c_diag IN {DIABETES})
        SELECT avg((dm.pnr IS NOT NULL)::int) FROM bef LEFT JOIN dm USING (pnr)
        WHERE aar = 2020""",
    )
    assert 0.035 < prev < 0.08
    t1 = one(
        small_db, "SELECT count(DISTINCT pnr) FROM lmdb WHERE atc = 'A10AB05' AND year(eksd) = 2020"
    ) / pop(small_db, 2020)
    assert 0.002 < t1 < 0.009  # carstensen-2020: T1D ~0.5%


def test_type2_incidence_by_age_and_sex(small_db):
    rows = dict(
        small_db.execute("""
        WITH first AS (SELECT pnr, min(eksd) d FROM lmdb WHERE atc LIKE 'A10B%' GROUP BY pnr)
        SELECT b.koen, count(f.pnr) * 1000.0 / count(*) / 5 FROM bef b
        LEFT JOIN first f ON f.pnr = b.pnr AND year(f.d) BETWEEN 2011 AND 2015
        WHERE b.aar = 2010 AND b.alder BETWEEN 50 AND 79
          AND b.pnr NOT IN (SELECT pnr FROM first WHERE d <= DATE '2010-12-31')
        GROUP BY b.koen""").fetchall()
    )
    # carstensen-2020: ~8-12 per 1,000 person-years at 50-79, men higher than women
    assert rows[1] > rows[2]
    assert 4 < rows[1] < 16 and 2.5 < rows[2] < 12


def test_hba1c_differs_with_diabetes(small_db):
    means = dict(
        small_db.execute("""
        WITH dm AS (SELECT pnr, min(eksd) first FROM lmdb WHERE atc LIKE 'A10%' GROUP BY pnr)
        SELECT dm.pnr IS NOT NULL AND l.samplingdate > dm.first + 90,
               avg(try_cast(l.value AS DOUBLE))
        FROM lab_dm_forsker l LEFT JOIN dm USING (pnr)
        WHERE l.analysiscode = 'NPU27300' GROUP BY ALL""").fetchall()
    )
    assert 33 < means[False] < 42  # dvdd / population: ~36 mmol/mol without diabetes
    assert 49 < means[True] < 62  # dvdd: mean ~53-56 mmol/mol with diabetes


def test_cancer_incidence(small_db):
    def rate(code, sex):
        n = one(
            small_db,
            f"""
            SELECT count(*) FROM (SELECT pnr, min(d_inddto) d FROM lpr_adm
                                  WHERE c_adiag = '{code}' GROUP BY pnr)
            WHERE year(d) BETWEEN 2010 AND 2016""",
        )
        return n / 7 / pop(small_db, 2013, f"koen = {sex}") * 1e5

    # nordcan: breast ~180/100,000 women, prostate ~160/100,000 men, lung ~80
    assert 100 < rate("DC509", 2) < 280
    assert 90 < rate("DC619", 1) < 260
    assert (
        one(
            small_db,
            "SELECT count(*) FROM lpr_adm a JOIN t_person p USING (pnr) "
            "WHERE a.c_adiag = 'DC619' AND p.koen = 2",
        )
        == 0
    )


def test_hospital_use_and_main_diagnosis_mix(small_db):
    per_py = one(small_db, "SELECT count(*) FROM lpr_adm WHERE year(d_inddto) = 2015") / pop(
        small_db, 2015
    )
    assert 0.5 < per_py < 1.1
    share = one(
        small_db, "SELECT count(DISTINCT pnr) FROM lpr_adm WHERE year(d_inddto) = 2015"
    ) / pop(small_db, 2015)
    assert 0.3 < share < 0.55  # esundhed: ~40% have a hospital contact in a year
    top = [
        r[0]
        for r in small_db.execute("""SELECT substr(c_adiag, 2, 1) FROM lpr_adm
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 3""").fetchall()
    ]
    assert top[0] == "Z" and "R" in top


def test_prescription_use_rises_with_age(small_db):
    rows = dict(
        small_db.execute("""
        SELECT b.alder >= 65, count(DISTINCT l.pnr) * 1.0 / count(DISTINCT b.pnr)
        FROM bef b LEFT JOIN lmdb l ON l.pnr = b.pnr AND year(l.eksd) = 2020
        WHERE b.aar = 2019 AND b.alder >= 20 GROUP BY 1""").fetchall()
    )
    assert rows[True] > rows[False]
    assert 0.75 < rows[True] < 0.98  # medstat: ~90% of 65+ redeem a prescription a year
    assert 0.45 < rows[False] < 0.8


# Issue 17: published figures, each cited in the manifest (sources.py key in brackets).


def test_share_aged_80_plus(small_db):
    # dst-folk1a: 4.6% of the population was 80+ in 2020, 5.2% in 2023. Tolerance: about
    # +-1 point, well beyond sampling noise (~0.1 point with ~60,000 persons).
    share = one(small_db, "SELECT avg((alder >= 80)::int) FROM bef WHERE aar = 2020")
    assert 0.04 < share < 0.058


def test_metformin_users_per_year(small_db):
    # medstat: about 180,000 people (3% of the population) redeem metformin in a year.
    # 2.3-3.8%: a quarter either side; 6% (twice the figure) fails.
    users = one(
        small_db,
        "SELECT count(DISTINCT pnr) FROM lmdb WHERE atc = 'A10BA02' AND year(eksd) = 2018",
    )
    assert 0.023 < users / pop(small_db, 2018) < 0.038


def test_inpatient_admissions_per_person_year(small_db):
    # esundhed-lpr: about 0.13 inpatient admissions per person-year (some 750,000 a year).
    # 0.11-0.15 (+-15%); sampling noise is ~1% with ~8,000 admissions.
    adm = one(
        small_db,
        "SELECT count(*) FROM lpr_adm WHERE c_pattype = '0' AND year(d_inddto) = 2015",
    )
    assert 0.11 < adm / pop(small_db, 2015) < 0.15


def test_symptom_chapter_share_of_admissions(small_db):
    # esundhed-lpr: symptoms and abnormal findings (ICD-10 chapter XVIII, R) are the main
    # diagnosis of about 15% of inpatient admissions. 12.5-17.5%; 11% fails.
    share = one(
        small_db,
        "SELECT avg((c_adiag LIKE 'DR%')::int) FROM lpr_adm WHERE c_pattype = '0' "
        "AND year(d_inddto) BETWEEN 2010 AND 2018",
    )
    assert 0.125 < share < 0.175


def test_gp_contacts_per_person_year(small_db):
    # andersen-2011, sssy: about 7 contacts with general practice (consultations, phone and
    # e-mail) per person-year. 5.5-8.5: the published figures range 6-8 over the years.
    contacts = one(
        small_db,
        "SELECT sum(antydel) FROM sssy WHERE speciale = '80' "
        "AND ydelsesnummer IN ('0101', '0105', '0201') AND honuge BETWEEN '1901' AND '1952'",
    )
    assert 5.5 < contacts / pop(small_db, 2019) < 8.5
    # more for women and for the old
    rows = dict(
        small_db.execute("""
        WITH c AS (SELECT pnr, sum(antydel) n FROM sssy WHERE speciale = '80'
                   AND ydelsesnummer IN ('0101', '0105', '0201')
                   AND honuge BETWEEN '1901' AND '1952' GROUP BY pnr)
        SELECT b.alder >= 65, sum(coalesce(c.n, 0)) * 1.0 / count(*) FROM bef b
        LEFT JOIN c USING (pnr) WHERE b.aar = 2019 GROUP BY 1""").fetchall()
    )
    assert rows[True] > rows[False]


def test_diabetes_care_services(small_db):
    # dvdd: people with diabetes have their eyes screened about every other year, and a
    # minority (about a quarter) get diabetic foot care at a podiatrist; the yearly check
    # in general practice reaches most of them.
    rows = small_db.execute("""
        WITH dm AS (SELECT DISTINCT pnr FROM lmdb WHERE atc LIKE 'A10%'
                    AND eksd <= DATE '2018-12-31'),
        s AS (SELECT pnr, max((speciale = '54')::int) foot, max((ydelsesnummer = '3011')::int) eye,
                     max((speciale = '80' AND ydelsesnummer = '0120')::int) yearly
              FROM sssy WHERE honuge BETWEEN '1901' AND '1952' GROUP BY pnr)
        SELECT avg(coalesce(foot, 0)), avg(coalesce(eye, 0)), avg(coalesce(yearly, 0))
        FROM bef b JOIN dm USING (pnr) LEFT JOIN s USING (pnr) WHERE b.aar = 2019""").fetchone()
    foot, eye, yearly = rows
    assert 0.08 < foot < 0.35
    assert 0.25 < eye < 0.6
    assert 0.6 < yearly < 0.95
