"""A diabetes classifier for the Danish registers, written from the published description
of the open-source diabetes classifier (Isaksen, Sandbaek, Bjerg. Validation of
register-based diabetes classifiers in Danish data. Clin Epidemiol 2023;15:569-581, and
the algorithm vignette of the osdc package), not from this generator's parameters.

It reads the registers the way code for the real ones does: the ``c_spec`` codes of the
Danish specialty classification (08 medical endocrinology, 01-30 medical specialties), the
LPR3 specialty names as the delivery spells them, ``senere_afkraeftet``, HbA1c as text, DDD
volumes of glucose-lowering drugs, and podiatry services (``speciale`` starting 54) in the
health insurance register.

Inclusion events (each dated): HbA1c >= 48 mmol/mol (or >= 6.5 % in the old unit), not in a
pregnancy; a hospital diagnosis of diabetes (DE10-DE14, A or B); a diabetes-specific
podiatry service; a purchase of a glucose-lowering drug (ATC A10), except GLP-1 receptor
agonists, dapagliflozin and empagliflozin alone, metformin bought by women under 40
(polycystic ovary syndrome), and purchases in a pregnancy. A person is included at the
second event. Type 1: only insulin bought and at least one primary type 1 diagnosis from a
medical department; or a majority of type 1 primary diagnoses (endocrinology first, else
other medical departments), insulin within 180 days of the first purchase, and insulin at
least two thirds of the DDDs. Everyone else included has type 2.
"""

from __future__ import annotations

import duckdb

# The medical departments of the published algorithm (LPR3 names; LPR2 codes 01-07, 09-30).
LPR3_ENDOCRINOLOGY = ("medicinsk endokrinologi", "endokrinologi")
LPR3_MEDICAL = (
    "blandet medicin og kirurgi",
    "intern medicin",
    "geriatri",
    "hepatologi",
    "hæmatologi",
    "infektionsmedicin",
    "kardiologi",
    "medicinsk allergologi",
    "medicinsk gastroenterologi",
    "medicinsk lungesygdomme",
    "lungesygdomme",
    "nefrologi",
    "reumatologi",
    "palliativ medicin",
    "akut medicin",
    "akutmedicin",
    "dermato-venerologi",
    "neurologi",
    "klinisk onkologi",
    "onkologi",
    "oftalmologi",
    "fysiurgi",
    "tropemedicin",
)
PREGNANCY = r"^(DO0[0-6]|DO8[0-4]|DZ3[37])"


def _in(values) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def classify(con: duckdb.DuckDBPyConnection, until: str) -> None:
    """Create the view ``dm_classified(pnr, included, dm_type)`` of everyone included by
    ``until`` (an ISO date)."""
    sql = f"""
    CREATE OR REPLACE TEMP VIEW dm_lpr AS
        SELECT a.pnr, a.d_inddto AS d, g.c_diag AS code, g.c_diagtype AS typ,
               CASE WHEN a.c_spec = '08' THEN 'endo'
                    WHEN TRY_CAST(a.c_spec AS INTEGER) BETWEEN 1 AND 30 THEN 'medical'
                    ELSE 'other' END AS dept
        FROM lpr_adm a JOIN lpr_diag g USING (recnum)
        WHERE regexp_matches(g.c_diag, '^DE1[0-4]|{PREGNANCY[1:]}')
        UNION ALL
        SELECT k.pnr, k.dato_start, g.diagnosekode, g.diagnosetype,
               CASE WHEN k.hovedspeciale_ans IN {_in(LPR3_ENDOCRINOLOGY)} THEN 'endo'
                    WHEN k.hovedspeciale_ans IN {_in(LPR3_MEDICAL)} THEN 'medical'
                    ELSE 'other' END
        FROM lpr_a_kontakt k JOIN lpr_a_diagnose g USING (dw_ek_kontakt)
        WHERE regexp_matches(g.diagnosekode, '^DE1[0-4]|{PREGNANCY[1:]}')
          AND g.senere_afkraeftet = 'Nej';
    CREATE OR REPLACE TEMP VIEW dm_pregnancy AS
        SELECT DISTINCT pnr, d FROM dm_lpr WHERE regexp_matches(code, '{PREGNANCY}');
    CREATE OR REPLACE TEMP VIEW dm_gld AS
        SELECT l.pnr, l.eksd AS d, l.atc, l.volume * l.apk AS ddd
        FROM lmdb l JOIN t_person p USING (pnr)
        WHERE l.atc LIKE 'A10%'
          AND NOT regexp_matches(l.atc, '^(A10BJ|A10BK01|A10BK03)')
          AND NOT (p.koen = 2 AND l.atc = 'A10BA02' AND l.eksd < p.foed_dag + INTERVAL 40 YEAR)
          AND NOT EXISTS (SELECT 1 FROM dm_pregnancy g WHERE g.pnr = l.pnr
                          AND l.eksd BETWEEN g.d - INTERVAL 280 DAY AND g.d + INTERVAL 84 DAY);
    CREATE OR REPLACE TEMP VIEW dm_hba1c AS
        SELECT pnr, samplingdate AS d FROM (
            SELECT pnr, samplingdate, analysiscode,
                   TRY_CAST(replace(value, ',', '.') AS DOUBLE) AS v FROM lab_dm_forsker
            WHERE analysiscode IN ('NPU27300', 'NPU03835')) h
        WHERE ((analysiscode = 'NPU27300' AND v >= 48) OR (analysiscode = 'NPU03835' AND v >= 6.5))
          AND NOT EXISTS (SELECT 1 FROM dm_pregnancy g WHERE g.pnr = h.pnr
                          AND h.samplingdate BETWEEN g.d - INTERVAL 280 DAY
                                                 AND g.d + INTERVAL 84 DAY);
    CREATE OR REPLACE TEMP VIEW dm_podiatry AS
        SELECT pnr,
               -- Monday of ISO week ww of ISO year 20yy (or 19yy)
               (make_date(y, 1, 4) - INTERVAL (isodow(make_date(y, 1, 4)) - 1) DAY
                + INTERVAL ((w - 1) * 7) DAY)::DATE AS d
        FROM (SELECT pnr,
                     CASE WHEN substr(honuge, 1, 2)::INTEGER > 50
                          THEN 1900 ELSE 2000 END + substr(honuge, 1, 2)::INTEGER AS y,
                     substr(honuge, 3, 2)::INTEGER AS w
              FROM (SELECT * FROM sysi UNION ALL SELECT * FROM sssy)
              WHERE speciale LIKE '54%' AND barnmak = 0);
    CREATE OR REPLACE TEMP VIEW dm_events AS
        SELECT pnr, d FROM dm_hba1c
        UNION ALL SELECT pnr, d FROM dm_lpr WHERE regexp_matches(code, '^DE1[0-4]')
        UNION ALL SELECT pnr, d FROM dm_podiatry
        UNION ALL SELECT pnr, d FROM dm_gld;
    CREATE OR REPLACE TEMP VIEW dm_included AS
        SELECT pnr, d AS included FROM (
            SELECT pnr, d, row_number() OVER (PARTITION BY pnr ORDER BY d) AS k
            FROM dm_events WHERE d <= DATE '{until}')
        WHERE k = 2;
    CREATE OR REPLACE TEMP VIEW dm_dx AS
        SELECT pnr,
            count(*) FILTER (WHERE dept = 'endo' AND code LIKE 'DE10%') AS t1_endo,
            count(*) FILTER (WHERE dept = 'endo' AND code LIKE 'DE11%') AS t2_endo,
            count(*) FILTER (WHERE dept = 'medical' AND code LIKE 'DE10%') AS t1_med,
            count(*) FILTER (WHERE dept = 'medical' AND code LIKE 'DE11%') AS t2_med
        FROM dm_lpr WHERE typ = 'A' AND d <= DATE '{until}' GROUP BY pnr;
    CREATE OR REPLACE TEMP VIEW dm_drugs AS
        SELECT pnr,
            sum(ddd) FILTER (WHERE atc LIKE 'A10A%' AND atc <> 'A10AE56') AS insulin,
            sum(ddd) AS gld,
            bool_or((atc LIKE 'A10A%' AND atc <> 'A10AE56') AND d <= first_d + 180) AS early
        FROM (SELECT *, min(d) OVER (PARTITION BY pnr) AS first_d FROM dm_gld
              WHERE d <= DATE '{until}')
        GROUP BY pnr;
    CREATE OR REPLACE TEMP VIEW dm_classified AS
        SELECT i.pnr, i.included,
            CASE WHEN
                (coalesce(g.insulin, 0) > 0 AND g.insulin = g.gld
                 AND coalesce(x.t1_endo, 0) + coalesce(x.t1_med, 0) >= 1)
                OR (NOT (coalesce(g.insulin, 0) > 0 AND g.insulin = g.gld)
                    AND CASE WHEN coalesce(x.t1_endo, 0) + coalesce(x.t2_endo, 0) > 0
                             THEN x.t1_endo > x.t2_endo
                             ELSE coalesce(x.t1_med, 0) > coalesce(x.t2_med, 0) END
                    AND coalesce(g.insulin, 0) >= 2.0 / 3 * g.gld
                    AND coalesce(g.early, false))
            THEN 'T1D' ELSE 'T2D' END AS dm_type
        FROM dm_included i LEFT JOIN dm_dx x USING (pnr) LEFT JOIN dm_drugs g USING (pnr);
    """
    for stmt in sql.split(";"):
        if stmt.strip():
            con.execute(stmt)


def prevalence(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, float]:
    """Share of the population on 31 December ``year`` classified as T1D and as T2D."""
    classify(con, f"{year}-12-31")
    rows = con.execute(f"""
        SELECT c.dm_type, count(*) * 1.0 / (SELECT count(*) FROM bef WHERE aar = {year})
        FROM bef b JOIN dm_classified c USING (pnr) WHERE b.aar = {year} GROUP BY 1""").fetchall()
    out = {"T1D": 0.0, "T2D": 0.0}
    out.update(dict(rows))
    return out
