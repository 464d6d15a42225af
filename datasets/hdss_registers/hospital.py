"""Hospital contacts of one chunk: LPR2 (to February 2019) and LPR3 (from March 2019).

Every contact has exactly one A diagnosis, drawn from the person's state on that day: a
cancer in its first years, diabetes, or else the general main-diagnosis mix for the
person's sex and age. B diagnoses repeat the person's chronic conditions or add others,
never the A code again. Sex-specific codes go only to that sex.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from hdss_registers import codes as C
from hdss_registers import params as P
from hdss_registers.arrow_columns import Built, ChunkRows, dates, table, take, year_of
from hdss_registers.simulate import CANCER_SITES, DPY, NEVER

OTHER, T1D, T2D, CANCER = 0, 1, 2, 3
CODES = [c.code for c in C.ICD10]
CODE_IX = {c: i for i, c in enumerate(CODES)}
# The department specialty of a contact, by the chapter of its A diagnosis (and a few
# codes), as shares; endocrinology (08) sees diabetes and some other endocrine disease.
CHAPTER_SPEC = {
    "A": {"05": 0.5, "01": 0.3, "09": 0.2},
    "B": {"05": 0.6, "01": 0.4},
    "C": {"24": 0.7, "30": 0.15, "32": 0.15},
    "D": {"04": 0.4, "32": 0.3, "50": 0.3},
    "E": {"08": 0.5, "01": 0.5},
    "F": {"62": 1.0},
    "G": {"22": 0.8, "10": 0.2},
    "H": {"56": 1.0},
    "I": {"06": 0.7, "01": 0.2, "31": 0.1},
    "J": {"10": 0.6, "01": 0.3, "58": 0.1},
    "K": {"32": 0.6, "09": 0.4},
    "L": {"20": 0.7, "33": 0.3},
    "M": {"54": 0.6, "12": 0.3, "26": 0.1},
    "N": {"35": 0.5, "11": 0.3, "50": 0.2},
    "O": {"50": 1.0},
    "P": {"78": 1.0},
    "Q": {"78": 1.0},
    "R": {"14": 0.4, "01": 0.35, "30": 0.15, "06": 0.1},
    "S": {"54": 0.8, "30": 0.1, "14": 0.1},
    "T": {"14": 0.6, "01": 0.4},
    "X": {"14": 1.0},
    "Z": {"01": 0.3, "24": 0.2, "30": 0.2, "50": 0.1, "26": 0.1, "74": 0.1},
}
CODE_SPEC = {
    "DI639": {"22": 1.0},
    "DI839": {"31": 1.0},
    "DH669": {"58": 1.0},
    "DJ350": {"58": 1.0},
    "DJ069": {"58": 0.5, "01": 0.5},
    "DM069": {"12": 1.0},
    "DN189": {"11": 1.0},
    "DN921": {"50": 1.0},
    "DN951": {"50": 1.0},
    "DN800": {"50": 1.0},
    "DZ348": {"50": 1.0},
    "DZ501": {"26": 1.0},
    "DZ511": {"24": 1.0},
    "DZ031": {"24": 0.4, "30": 0.4, "32": 0.2},
    "DF039": {"22": 0.5, "02": 0.5},
    "DR531": {"02": 0.6, "01": 0.4},
}
SPEC_CODES = [s for s, _ in C.SPECIALTIES]
SPEC_TEXT = dict(C.SPECIALTIES)
CLOCK = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)]
SKS_CODES = [s.code for s in C.SKS]


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


def _contacts(t: ChunkRows, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    # Type 1 diabetes in adults: regular visits to a hospital diabetes clinic.
    adult18 = ch.birth + int(18 * DPY)
    lo = np.maximum(np.maximum(ch.t1d, adult18), np.maximum(ch.entry, P.START))
    hi = ch.last + 1
    w = np.flatnonzero((ch.t1d != NEVER) & (hi > lo))
    n = rng.poisson(P.T1D_CLINIC_VISITS * (hi[w] - lo[w]) / DPY)
    i = np.repeat(w, n)
    add_w.append(i)
    add_d.append(lo[i] + (rng.random(len(i)) * (hi[i] - lo[i])).astype(np.int64))
    add_r.append(np.full(len(i), T1D, dtype=np.int8))
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


def _a_codes(
    t: ChunkRows, rng: np.random.Generator, who: np.ndarray, day: np.ndarray, reason: np.ndarray
) -> np.ndarray:
    """The A diagnosis of each contact: the onset code for a reason, else the general mix."""
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


def _b_codes(
    t: ChunkRows, rng: np.random.Generator, who: np.ndarray, day: np.ndarray, a: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass(frozen=True)
class Contacts:
    """One row per hospital contact of the chunk, in (person, day) order."""

    who: np.ndarray  # index of the person in the chunk
    day: np.ndarray  # first day
    end: np.ndarray  # last day
    reason: np.ndarray  # OTHER, T1D, T2D or CANCER
    age: np.ndarray  # age in years on the first day
    a: np.ndarray  # the A diagnosis, an index into CODES
    pattype: np.ndarray  # 0 inpatient, 1 outpatient, 2 emergency
    lpr3: np.ndarray  # True from LPR3_START, else an LPR2 contact
    acute: np.ndarray  # True for an acute contact
    chapter: np.ndarray  # ICD-10 chapter letter of the A diagnosis
    spec_ix: np.ndarray  # index into SPEC_CODES
    hosp: np.ndarray  # index into codes.HOSPITALS
    local: np.ndarray  # contact number, unique across chunks
    years: np.ndarray  # calendar year of the first day


@dataclass(frozen=True)
class Procedures:
    """At most one procedure per contact."""

    rows: np.ndarray  # contact index
    codes: np.ndarray  # index into codes.SKS
    day: np.ndarray


def build_hospital(t: ChunkRows) -> Built:
    """LPR2 and LPR3 tables of one chunk. The steps draw from ``t.rng`` in this order."""
    c = _contact_rows(t)
    b_rows, b_codes = _b_codes(t, t.rng, c.who, c.day, c.a)
    p = _procedure_rows(t.rng, t.ch.sex, c)
    out = _lpr2(t, c, b_rows, b_codes, p)
    out.update(_lpr3(t, c, b_rows, b_codes, p))
    return out


def _contact_rows(t: ChunkRows) -> Contacts:
    """Every contact with its A diagnosis, patient type, last day, priority and place."""
    ch, rng = t.ch, t.rng
    who, day, reason = _contacts(t, rng)
    age = t.age_at(who, day)
    a = _a_codes(t, rng, who, day, reason)
    chapter = np.array([c[1] for c in CODES])[a]
    pattype = _patient_types(rng, reason, chapter)
    lpr3 = day >= P.LPR3_START
    end = _last_days(rng, ch.last[who], day, age, pattype, lpr3)
    acute = _acute(rng, pattype)
    hosp = rng.integers(0, len(C.HOSPITALS), len(who))
    return Contacts(
        who=who,
        day=day,
        end=end,
        reason=reason,
        age=age,
        a=a,
        pattype=pattype,
        lpr3=lpr3,
        acute=acute,
        chapter=chapter,
        spec_ix=_specialties(rng, a, reason, age, pattype),
        hosp=hosp,
        local=np.arange(len(who), dtype=np.int64) + ch.first_id * 1000,
        years=year_of(day),
    )


def _patient_types(rng: np.random.Generator, reason: np.ndarray, chapter: np.ndarray) -> np.ndarray:
    """0 inpatient, 1 outpatient, 2 emergency; an onset or follow-up contact is never 2.
    Symptoms (chapter R) are admitted more often than the average contact."""
    n = len(reason)
    u = rng.random(n)
    p_in = np.where(chapter == "R", P.PATTYPE_R_INPATIENT, P.PATTYPE_P["0"])
    p_out = P.PATTYPE_P["2"] * (1 - p_in) / (1 - P.PATTYPE_P["0"])
    pt = np.where(u < p_in, 0, np.where(u < p_in + p_out, 1, 2))
    follow = np.where(rng.random(n) < P.REASON_INPATIENT, 0, 1)
    return np.where(reason == OTHER, pt, follow)


def _last_days(
    rng: np.random.Generator,
    last: np.ndarray,
    day: np.ndarray,
    age: np.ndarray,
    pt: np.ndarray,
    lpr3: np.ndarray,
) -> np.ndarray:
    """Last day of each contact: a stay, an LPR2 outpatient course, or the same day;
    never after the person's ``last`` day nor across the end of LPR2."""
    n = len(day)
    stay = rng.geometric(1 / (3 + 0.06 * np.maximum(age - 40, 0)), n) - 1
    course = rng.geometric(1 / 40, n) - 1
    length = np.select([pt == 0, (pt == 1) & ~lpr3], [stay, course], 0)
    length = np.where((pt == 2) & (rng.random(n) < 0.2), 1, length)
    limit = np.minimum(last, np.where(lpr3, P.END, P.LPR3_START - 1))
    return np.minimum(day + length, limit)


def _acute(rng: np.random.Generator, pt: np.ndarray) -> np.ndarray:
    """Acute contacts: every emergency contact and 60% of inpatient stays."""
    return (pt == 2) | ((pt == 0) & (rng.random(len(pt)) < 0.6))


@lru_cache(maxsize=1)
def _spec_table() -> np.ndarray:
    """Cumulative specialty shares (an index into SPEC_CODES) per code of CODES."""
    out = np.zeros((len(CODES), len(SPEC_CODES)))
    for i, code in enumerate(CODES):
        for spec, share in CODE_SPEC.get(code, CHAPTER_SPEC[code[1]]).items():
            out[i, SPEC_CODES.index(spec)] = share
    cum = np.cumsum(out, axis=1)
    return cum / cum[:, -1:]


def _specialties(
    rng: np.random.Generator,
    a: np.ndarray,
    reason: np.ndarray,
    age: np.ndarray,
    pt: np.ndarray,
) -> np.ndarray:
    """The specialty of each contact as an index into SPEC_CODES: from the A diagnosis,
    medical endocrinology (or internal medicine) for diabetes in adults, paediatrics for
    children, emergency medicine for most emergency-room contacts."""
    n = len(a)
    u = rng.random((3, n))
    spec = (u[0][:, None] > _spec_table()[a]).sum(1)
    spec = np.minimum(spec, len(SPEC_CODES) - 1)
    ix = {c: i for i, c in enumerate(SPEC_CODES)}
    t1 = np.where(u[1] < 0.85, ix["08"], ix["01"])
    t2 = np.where(u[1] < 0.45, ix["08"], ix["01"])
    spec = np.where(reason == T1D, t1, np.where(reason == T2D, t2, spec))
    child = (age < 15) | ((age < 18) & (reason == T1D))
    spec = np.where(child & ((u[2] < 0.85) | (reason != OTHER)), ix["78"], spec)
    return np.where((pt == 2) & ~child & (u[2] < 0.6), ix["14"], spec)


def _procedure_rows(rng: np.random.Generator, sex: np.ndarray, c: Contacts) -> Procedures:
    """The procedures of the contacts, each on a day within its contact."""
    rows, codes = _procedures(rng, sex[c.who], c.reason, c.pattype)
    day = c.day[rows] + (rng.random(len(rows)) * (c.end[rows] - c.day[rows] + 1)).astype(np.int64)
    return Procedures(rows, codes, np.minimum(day, c.end[rows]))


def _diagnosis_rows(
    mask: np.ndarray, a: np.ndarray, b_rows: np.ndarray, b_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The A then B diagnoses of the contacts in ``mask``: (contact index, code index,
    0 for A or 1 for B), ordered by contact."""
    i = np.flatnonzero(mask)
    b = mask[b_rows]
    dr = np.concatenate([i, b_rows[b]])
    dc = np.concatenate([a[i], b_codes[b]])
    dt_ = np.concatenate([np.zeros(len(i), int), np.ones(int(b.sum()), int)])
    o = np.lexsort((dt_, dr))
    return dr[o], dc[o], dt_[o]


def _lpr2(
    t: ChunkRows, c: Contacts, b_rows: np.ndarray, b_codes: np.ndarray, p: Procedures
) -> Built:
    """lpr_adm, lpr_diag and lpr_sksopr: the contacts before LPR3_START."""
    m2 = ~c.lpr3
    i2 = np.flatnonzero(m2)
    recnum = pa.array(c.local).cast(pa.string())
    out = {}
    out["lpr_adm"] = (
        table(
            "lpr_adm",
            {
                "pnr": t.pnr_of(c.who[i2]),
                "recnum": recnum.take(i2),
                "c_pattype": take(["0", "2", "3"], c.pattype[i2]),
                "c_indm": take(["2", "1"], c.acute[i2].astype(int)),
                "d_inddto": dates(c.day[i2]),
                "d_uddto": dates(c.end[i2]),
                "c_sgh": take(C.HOSPITALS, c.hosp[i2]),
                "c_spec": take(SPEC_CODES, c.spec_ix[i2]),
                "c_adiag": take(CODES, c.a[i2]),
            },
        ),
        c.years[i2],
    )
    dr, dc, dt_ = _diagnosis_rows(m2, c.a, b_rows, b_codes)
    out["lpr_diag"] = (
        table(
            "lpr_diag",
            {
                "recnum": recnum.take(dr),
                "c_diag": take(CODES, dc),
                "c_diagtype": take(["A", "B"], dt_),
            },
        ),
        c.years[dr],
    )
    pm = m2[p.rows]
    pr = p.rows[pm]
    out["lpr_sksopr"] = (
        table(
            "lpr_sksopr",
            {
                "recnum": recnum.take(pr),
                "c_opr": take(SKS_CODES, p.codes[pm]),
                "c_oprart": take(["P"], np.zeros(len(pr), int)),
                "d_odto": dates(p.day[pm]),
            },
        ),
        c.years[pr],
    )
    return out


def _lpr3(
    t: ChunkRows, c: Contacts, b_rows: np.ndarray, b_codes: np.ndarray, p: Procedures
) -> Built:
    """lpr_a_kontakt, lpr_a_diagnose and lpr_a_procedurer: the contacts from LPR3_START."""
    kontakt = c.local + 5_000_000_000_000
    out = {}
    out["lpr_a_kontakt"] = _lpr_a_kontakt(t, c, kontakt)
    out["lpr_a_diagnose"] = _lpr_a_diagnose(t.rng, c, kontakt, b_rows, b_codes)
    out["lpr_a_procedurer"] = _lpr_a_procedurer(t.rng, c, kontakt, p)
    return out


def _lpr_a_kontakt(t: ChunkRows, c: Contacts, kontakt: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """LPR3 contacts: one course (forloeb) per person and chapter, clock times, virtual
    outpatient contacts from March 2020."""
    rng, n = t.rng, len(c.who)
    i3 = np.flatnonzero(c.lpr3)
    course_key = c.who * 32 + np.array([ord(x) - 65 for x in c.chapter])
    _, forloeb = np.unique(course_key[i3], return_inverse=True)
    forloeb = forloeb.astype(np.int64) + t.ch.first_id * 1000 + 7_000_000_000_000
    start_min = np.where(c.acute, rng.integers(0, 1440, n), rng.integers(7 * 60, 16 * 60, n))
    end_min = np.where(
        c.end > c.day,
        rng.integers(0, 1440, n),
        np.minimum(start_min + rng.integers(15, 240, n), 1439),
    )
    virtual = (c.pattype == 1) & (c.day >= P.day(2020, 3, 1)) & (rng.random(n) < 0.15)
    sor = np.array([f"6{h}{s}000001" for h in C.HOSPITALS for s in SPEC_CODES])
    sor_ix = c.hosp * len(SPEC_CODES) + c.spec_ix
    return (
        table(
            "lpr_a_kontakt",
            {
                "dw_ek_kontakt": kontakt[i3],
                "dw_ek_forloeb": forloeb,
                "pnr": t.pnr_of(c.who[i3]),
                "dato_start": dates(c.day[i3]),
                "tidspunkt_start": take(CLOCK, start_min[i3]),
                "dato_slut": dates(c.end[i3]),
                "tidspunkt_slut": take(CLOCK, end_min[i3]),
                "kontakttype": take(["ALCA00", "ALCA10"], virtual[i3].astype(int)),
                "prioritet": take(["ATA3", "ATA1"], c.acute[i3].astype(int)),
                "hovedspeciale_ans": take([SPEC_TEXT[s] for s in SPEC_CODES], c.spec_ix[i3]),
                "sorenhed_ans": take(list(sor), sor_ix[i3]),
                "aktionsdiagnose": take(CODES, c.a[i3]),
            },
        ),
        c.years[i3],
    )


def _lpr_a_diagnose(
    rng: np.random.Generator,
    c: Contacts,
    kontakt: np.ndarray,
    b_rows: np.ndarray,
    b_codes: np.ndarray,
) -> tuple[pa.Table, np.ndarray]:
    """LPR3 diagnoses; 2% of B diagnoses are later disproved."""
    dr, dc, dt_ = _diagnosis_rows(c.lpr3, c.a, b_rows, b_codes)
    disproved = (dt_ == 1) & (rng.random(len(dr)) < 0.02)
    return (
        table(
            "lpr_a_diagnose",
            {
                "dw_ek_kontakt": kontakt[dr],
                "diagnosekode": take(CODES, dc),
                "diagnosetype": take(["A", "B"], dt_),
                "senere_afkraeftet": take(["Nej", "Ja"], disproved.astype(int)),
            },
        ),
        c.years[dr],
    )


def _lpr_a_procedurer(
    rng: np.random.Generator, c: Contacts, kontakt: np.ndarray, p: Procedures
) -> tuple[pa.Table, np.ndarray]:
    """LPR3 procedures, at a clock time in working hours."""
    pm = c.lpr3[p.rows]
    pr = p.rows[pm]
    return (
        table(
            "lpr_a_procedurer",
            {
                "dw_ek_kontakt": kontakt[pr],
                "procedurekode": take(SKS_CODES, p.codes[pm]),
                "proceduretype": take(["P"], np.zeros(len(pr), int)),
                "dato_start": dates(p.day[pm]),
                "tidspunkt_start": take(CLOCK, rng.integers(7 * 60, 18 * 60, len(pr))),
            },
        ),
        c.years[pr],
    )
