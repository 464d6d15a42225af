"""Hospital contacts of one chunk: LPR2 (to February 2019) and LPR3 (from March 2019).

Every contact has exactly one A diagnosis, drawn from the person's state on that day: a
cancer in its first years, diabetes, or else the general main-diagnosis mix for the
person's sex and age. B diagnoses repeat the person's chronic conditions or add others,
never the A code again. Sex-specific codes go only to that sex.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from hdss_registers import codes as C
from hdss_registers import params as P
from hdss_registers.simulate import CANCER_SITES, DPY, NEVER

OTHER, T1D, T2D, CANCER = 0, 1, 2, 3
CODES = [c.code for c in C.ICD10]
CODE_IX = {c: i for i, c in enumerate(CODES)}
CHAPTER_SPEC = {
    "O": "60",
    "S": "54",
    "I": "10",
    "C": "65",
    "E": "24",
    "H": "70",
    "M": "54",
    "K": "50",
    "Z": "08",
    "N": "50",
}
SPEC_CODES = [s for s, _ in C.SPECIALTIES]
SPEC_TEXT = dict(C.SPECIALTIES)
CLOCK = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)]


@lru_cache(maxsize=1)
def _mix() -> tuple[np.ndarray, np.ndarray]:
    """Age-band edges, and the cumulative weights of the general diagnosis mix per
    (sex, age band) laid end to end: group g's values lie in (g, g + 1]."""
    edges = sorted({0} | {c.min_age for c in C.ICD10} | {c.max_age + 1 for c in C.ICD10})
    edges = np.array([e for e in edges if e <= 120], dtype=float)
    w = np.array([c.weight for c in C.ICD10])
    cum = np.zeros((2, len(edges), len(w)))
    for si, sex in enumerate("MF"):
        for bi, lo in enumerate(edges):
            ok = np.array([(c.sex in ("", sex)) and c.min_age <= lo <= c.max_age for c in C.ICD10])
            c = np.cumsum(w * ok)
            c = c / c[-1]
            c[c >= c[-1]] = 1.0  # exact top, so rounding never reaches a zero-weight code
            cum[si, bi] = c
    flat = cum.reshape(-1, len(w))
    return edges, (flat + np.arange(len(flat))[:, None]).ravel()


def sample_general(rng, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Indexes into ``codes.ICD10`` from the general mix, valid for each sex and age."""
    edges, flat = _mix()
    band = np.searchsorted(edges, np.floor(age), side="right") - 1
    group = (sex.astype(np.int64) - 1) * len(edges) + band
    pos = np.searchsorted(flat, group + rng.random(len(sex)), side="right")
    return np.minimum(pos - group * len(CODES), len(CODES) - 1)


def _contacts(t, rng):
    """All contacts of the chunk: (who, day, reason), onset contacts added, sorted."""
    ch = t.ch
    who, day, _ = ch.contacts.arrays()
    reason = np.zeros(len(who), dtype=np.int8)
    add_w, add_d, add_r = [who], [day], [reason]
    for onset, r, p in ((ch.t1d, T1D, 1.0), (ch.t2d, T2D, 0.45), (ch.cancer_day, CANCER, 1.0)):
        ok = (onset >= np.maximum(ch.entry, P.START)) & (onset <= ch.last) & (onset != NEVER)
        ok &= rng.random(ch.n) < p
        w = np.flatnonzero(ok)
        add_w.append(w)
        add_d.append(onset[w])
        add_r.append(np.full(len(w), r, dtype=np.int8))
    who, day, reason = (np.concatenate(x) for x in (add_w, add_d, add_r))
    # The reason of an ordinary contact comes from the state on its day.
    plain = reason == OTHER
    since_c = day - ch.cancer_day[who]
    active_c = plain & (since_c >= 0) & (since_c < 3 * DPY) & (rng.random(len(who)) < 0.45)
    t1 = plain & ~active_c & (ch.t1d[who] <= day) & (rng.random(len(who)) < 0.35)
    t2 = plain & ~active_c & (ch.t2d[who] <= day) & (rng.random(len(who)) < 0.12)
    reason[active_c], reason[t1], reason[t2] = CANCER, T1D, T2D
    order = np.lexsort((day, who))
    return who[order], day[order], reason[order]


def _a_codes(t, rng, who, day, reason) -> np.ndarray:
    ch = t.ch
    n = len(who)
    age = t.age_at(who, day)
    a = sample_general(rng, ch.sex[who], age)
    t1 = np.array([CODE_IX[c] for c in C.T1D_CODES])
    t2 = np.array([CODE_IX[c] for c in C.T2D_CODES])
    cancer = np.array([CODE_IX[C.CANCER_CODES[s]] for s in CANCER_SITES])
    a = np.where(reason == T1D, t1[rng.choice(len(t1), n, p=[0.7, 0.15, 0.15])], a)
    a = np.where(reason == T2D, t2[rng.choice(len(t2), n, p=C.T2D_CODE_P)], a)
    a = np.where(reason == CANCER, cancer[np.maximum(ch.cancer[who], 0)], a)
    return a


def _b_codes(t, rng, who, day, a) -> tuple[np.ndarray, np.ndarray]:
    """Secondary diagnoses: (contact index, code index), never equal to A or each other."""
    ch = t.ch
    n = len(who)
    age = t.age_at(who, day)
    nb = rng.choice(4, size=n, p=[0.45, 0.3, 0.17, 0.08])
    cand = sample_general(rng, np.repeat(ch.sex[who], 3), np.repeat(age, 3)).reshape(n, 3)
    dm = np.where(
        ch.t1d[who] <= day, CODE_IX["DE109"], np.where(ch.t2d[who] <= day, CODE_IX["DE119"], -1)
    )
    cand[:, 0] = np.where((dm >= 0) & (rng.random(n) < 0.7), dm, cand[:, 0])
    cancer = np.array([CODE_IX[C.CANCER_CODES[s]] for s in CANCER_SITES])
    since = day - ch.cancer_day[who]
    had_c = (since >= 0) & (since < 5 * DPY)
    cand[:, 1] = np.where(
        had_c & (rng.random(n) < 0.5), cancer[np.maximum(ch.cancer[who], 0)], cand[:, 1]
    )
    keep = np.arange(3)[None, :] < nb[:, None]
    keep &= cand != a[:, None]
    keep[:, 1] &= cand[:, 1] != cand[:, 0]
    keep[:, 2] &= (cand[:, 2] != cand[:, 0]) & (cand[:, 2] != cand[:, 1])
    rows, cols = np.nonzero(keep)
    return rows, cand[rows, cols]


def _procedures(rng, sex, reason, pattype) -> tuple[np.ndarray, np.ndarray]:
    """At most one procedure per contact: (contact index, SKS code index)."""
    n = len(sex)
    p = np.select([pattype == 0, pattype == 1], [0.55, 0.25], 0.2)
    has = rng.random(n) < p
    codes = [s.code for s in C.SKS]
    general = {
        sx: np.array(
            [
                i
                for i, s in enumerate(C.SKS)
                if s.sex in ("", sx) and s.code not in ("BWHA1", "BWGC1")
            ]
        )
        for sx in "MF"
    }
    pick = np.where(
        sex == 1,
        general["M"][rng.integers(0, len(general["M"]), n)],
        general["F"][rng.integers(0, len(general["F"]), n)],
    )
    onco = np.where(rng.random(n) < 0.7, codes.index("BWHA1"), codes.index("BWGC1"))
    pick = np.where(reason == CANCER, onco, pick)
    rows = np.flatnonzero(has)
    return rows, pick[rows]


def build_hospital(t) -> dict:
    from hdss_registers.tables import dates, table, take, year_of

    ch, rng = t.ch, t.rng
    who, day, reason = _contacts(t, rng)
    n = len(who)
    age = t.age_at(who, day)
    a = _a_codes(t, rng, who, day, reason)
    # 0 inpatient, 1 outpatient, 2 emergency
    pt = rng.choice(3, size=n, p=list(P.PATTYPE_P.values()))
    pt = np.where(reason == OTHER, pt, np.where(rng.random(n) < 0.5, 0, 1))
    stay = rng.geometric(1 / (3 + 0.06 * np.maximum(age - 40, 0)), n) - 1
    course = rng.geometric(1 / 40, n) - 1
    lpr3 = day >= P.LPR3_START
    length = np.select([pt == 0, (pt == 1) & ~lpr3], [stay, course], 0)
    length = np.where((pt == 2) & (rng.random(n) < 0.2), 1, length)
    limit = np.minimum(ch.last[who], np.where(lpr3, P.END, P.LPR3_START - 1))
    end = np.minimum(day + length, limit)
    acute = (pt == 2) | ((pt == 0) & (rng.random(n) < 0.6))
    chapter = np.array([c[1] for c in CODES])[a]
    spec = np.array([CHAPTER_SPEC.get(c, "08") for c in chapter])
    spec = np.where(reason == T1D, "24", np.where(reason == T2D, "24", spec))
    spec = np.where(age < 15, "36", np.where(pt == 2, "76", spec))
    spec_ix = np.searchsorted(np.array(SPEC_CODES), spec, sorter=np.argsort(SPEC_CODES))
    spec_ix = np.argsort(SPEC_CODES)[spec_ix]
    hosp = rng.integers(0, len(C.HOSPITALS), n)
    local = np.arange(n, dtype=np.int64) + ch.first_id * 1000
    b_rows, b_codes = _b_codes(t, rng, who, day, a)
    p_rows, p_codes = _procedures(rng, ch.sex[who], reason, pt)
    p_day = day[p_rows] + (rng.random(len(p_rows)) * (end[p_rows] - day[p_rows] + 1)).astype(
        np.int64
    )
    p_day = np.minimum(p_day, end[p_rows])
    years = year_of(day)
    sks = [s.code for s in C.SKS]
    out = {}

    # LPR2 --------------------------------------------------------------------------------
    m2 = ~lpr3
    i2 = np.flatnonzero(m2)
    recnum = pa.array(local).cast(pa.string())
    out["lpr_adm"] = (
        table(
            "lpr_adm",
            {
                "pnr": t.pnr_of(who[i2]),
                "recnum": recnum.take(i2),
                "c_pattype": take(["0", "2", "3"], pt[i2]),
                "c_indm": take(["2", "1"], acute[i2].astype(int)),
                "d_inddto": dates(day[i2]),
                "d_uddto": dates(end[i2]),
                "c_sgh": take(C.HOSPITALS, hosp[i2]),
                "c_spec": take(SPEC_CODES, spec_ix[i2]),
                "c_adiag": take(CODES, a[i2]),
            },
        ),
        years[i2],
    )
    dr = np.concatenate([i2, b_rows[m2[b_rows]]])
    dc = np.concatenate([a[i2], b_codes[m2[b_rows]]])
    dt_ = np.concatenate([np.zeros(len(i2), int), np.ones(int(m2[b_rows].sum()), int)])
    o = np.lexsort((dt_, dr))
    dr, dc, dt_ = dr[o], dc[o], dt_[o]
    out["lpr_diag"] = (
        table(
            "lpr_diag",
            {
                "recnum": recnum.take(dr),
                "c_diag": take(CODES, dc),
                "c_diagtype": take(["A", "B"], dt_),
            },
        ),
        years[dr],
    )
    pm = m2[p_rows]
    pr = p_rows[pm]
    out["lpr_sksopr"] = (
        table(
            "lpr_sksopr",
            {
                "recnum": recnum.take(pr),
                "c_opr": take(sks, p_codes[pm]),
                "c_oprart": take(["P"], np.zeros(len(pr), int)),
                "d_odto": dates(p_day[pm]),
            },
        ),
        years[pr],
    )

    # LPR3 --------------------------------------------------------------------------------
    i3 = np.flatnonzero(lpr3)
    kontakt = local + 5_000_000_000_000
    course_key = who * 32 + np.array([ord(c) - 65 for c in chapter])
    _, forloeb = np.unique(course_key[i3], return_inverse=True)
    forloeb = forloeb.astype(np.int64) + ch.first_id * 1000 + 7_000_000_000_000
    start_min = np.where(acute, rng.integers(0, 1440, n), rng.integers(7 * 60, 16 * 60, n))
    end_min = np.where(
        end > day, rng.integers(0, 1440, n), np.minimum(start_min + rng.integers(15, 240, n), 1439)
    )
    virtual = (pt == 1) & (day >= P.day(2020, 3, 1)) & (rng.random(n) < 0.15)
    sor = np.array([f"6{h}{s}000001" for h in C.HOSPITALS for s in SPEC_CODES])
    sor_ix = hosp * len(SPEC_CODES) + spec_ix
    out["lpr_a_kontakt"] = (
        table(
            "lpr_a_kontakt",
            {
                "dw_ek_kontakt": kontakt[i3],
                "dw_ek_forloeb": forloeb,
                "pnr": t.pnr_of(who[i3]),
                "dato_start": dates(day[i3]),
                "tidspunkt_start": take(CLOCK, start_min[i3]),
                "dato_slut": dates(end[i3]),
                "tidspunkt_slut": take(CLOCK, end_min[i3]),
                "kontakttype": take(["ALCA00", "ALCA10"], virtual[i3].astype(int)),
                "prioritet": take(["ATA3", "ATA1"], acute[i3].astype(int)),
                "hovedspeciale_ans": take([SPEC_TEXT[s] for s in SPEC_CODES], spec_ix[i3]),
                "sorenhed_ans": take(list(sor), sor_ix[i3]),
                "aktionsdiagnose": take(CODES, a[i3]),
            },
        ),
        years[i3],
    )
    b3 = lpr3[b_rows]
    dr = np.concatenate([i3, b_rows[b3]])
    dc = np.concatenate([a[i3], b_codes[b3]])
    dt_ = np.concatenate([np.zeros(len(i3), int), np.ones(int(b3.sum()), int)])
    o = np.lexsort((dt_, dr))
    dr, dc, dt_ = dr[o], dc[o], dt_[o]
    disproved = (dt_ == 1) & (rng.random(len(dr)) < 0.02)
    out["lpr_a_diagnose"] = (
        table(
            "lpr_a_diagnose",
            {
                "dw_ek_kontakt": kontakt[dr],
                "diagnosekode": take(CODES, dc),
                "diagnosetype": take(["A", "B"], dt_),
                "senere_afkraeftet": take(["Nej", "Ja"], disproved.astype(int)),
            },
        ),
        years[dr],
    )
    pm = lpr3[p_rows]
    pr = p_rows[pm]
    out["lpr_a_procedurer"] = (
        table(
            "lpr_a_procedurer",
            {
                "dw_ek_kontakt": kontakt[pr],
                "procedurekode": take(sks, p_codes[pm]),
                "proceduretype": take(["P"], np.zeros(len(pr), int)),
                "dato_start": dates(p_day[pm]),
                "tidspunkt_start": take(CLOCK, rng.integers(7 * 60, 18 * 60, len(pr))),
            },
        ),
        years[pr],
    )
    return out
