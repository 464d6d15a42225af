"""Redeemed prescriptions (lmdb) of one chunk.

Chronic use is a course (start, stop) from the life course: the drug groups of
``params.CHRONIC_DRUGS`` and the glucose-lowering drugs that follow a diabetes diagnosis
(metformin first, add-ons only once they were on the Danish market). A course is redeemed
one package at a time, roughly when the last one runs out. Acute drugs (antibiotics,
analgesics) are single dispensings on the days the simulation drew.
"""

from __future__ import annotations

import numpy as np

from hdss_registers import codes as C
from hdss_registers import params as P
from hdss_registers.arrow_columns import Built, ChunkRows, dates, table, take, year_of
from hdss_registers.simulate import DPY, NEVER

ATCS = [a.atc for a in C.ATC]
IX = {a: i for i, a in enumerate(ATCS)}
CONV = {("mg", "g"): 1e-3, ("mcg", "mg"): 1e-3, ("MIU", "g"): 0.65}

# Chronic group -> ATC by period: (ATC before the switch, switch day, ATC after, share after)
GROUP_ATC = {
    "statin": ("C10AA01", P.day(2012), "C10AA05", 0.7),
    "ace": ("C09AA05", NEVER, "C09AA05", 0),
    "ccb": ("C08CA01", NEVER, "C08CA01", 0),
    "thiazide": ("C03AA03", NEVER, "C03AA03", 0),
    "betablocker": ("C07AB02", NEVER, "C07AB02", 0),
    "aspirin": ("B01AC06", NEVER, "B01AC06", 0),
    "ppi": ("A02BC02", NEVER, "A02BC02", 0),
    "levothyroxine": ("H03AA01", NEVER, "H03AA01", 0),
    "ssri": ("N06AB04", P.day(2010), "N06AB10", 0.5),
    "salbutamol": ("R03AC02", NEVER, "R03AC02", 0),
    "contraceptive": ("G03AA07", NEVER, "G03AA07", 0),
    "tamsulosin": ("G04CA02", NEVER, "G04CA02", 0),
}
# Add-on glucose-lowering drugs after T2D: (probability, mean years after onset, first
# day on the market, ATC, later ATC, day of the later one, share of the later one)
ADD_ONS = (
    (0.30, 3, P.START, "A10BB09", None, NEVER, 0),
    (0.25, 4, P.day(2007, 4), "A10BH01", None, NEVER, 0),
    (0.22, 5, P.day(2009, 7), "A10BJ02", "A10BJ06", P.day(2018, 2), 0.8),
    (0.28, 4, P.day(2013, 1), "A10BK01", "A10BK03", P.day(2016), 0.7),
    (0.18, 7, P.START, "A10AE04", None, NEVER, 0),
)


def volume(a: C.Atc) -> float:
    """DDDs in one package."""
    if a.ddd_unit == "TAB":
        return float(a.packsize)
    conv = 1.0 if a.strunit == a.ddd_unit else CONV[(a.strunit, a.ddd_unit)]
    return round(a.packsize * a.strnum * conv / a.ddd, 2)


VOLUME = np.array([volume(a) for a in C.ATC])


def _switch(rng, start, before, switch, after, share) -> np.ndarray:
    later = (start >= switch) & (rng.random(len(start)) < share)
    return np.where(later, IX[after], IX[before])


def _courses(t, rng):
    ch = t.ch
    cw, cg, cs, ce = ch.courses
    atc = np.empty(len(cw), dtype=np.int64)
    groups = list(P.CHRONIC_DRUGS)
    for g, name in enumerate(groups):
        sel = cg == g
        atc[sel] = _switch(rng, cs[sel], *GROUP_ATC[name])
    parts = [(cw, atc, cs, ce)]
    first = np.maximum(ch.entry, P.START)
    stop = ch.last + 1
    t2 = np.flatnonzero(ch.t2d <= ch.last)
    onset = ch.t2d[t2]
    base = np.maximum(onset, first[t2])
    met = rng.random(len(t2)) < P.METFORMIN_T2D["share"]
    ms = base + rng.integers(0, 90, len(t2))
    me = ms + (rng.exponential(P.METFORMIN_T2D["mean_years"], len(t2)) * DPY).astype(np.int64)
    me = np.minimum(me, stop[t2])
    parts.append((t2[met], np.full(met.sum(), IX["A10BA02"]), ms[met], me[met]))
    for p, mean, market, a0, a1, day1, share in ADD_ONS:
        uses = rng.random(len(t2)) < p
        s = np.maximum(
            onset + (rng.exponential(mean, len(t2)) * DPY).astype(np.int64),
            np.maximum(market, base),
        )
        e = np.minimum(s + (rng.exponential(6, len(t2)) * DPY).astype(np.int64), stop[t2])
        atc_ix = _switch(rng, s, a0, day1, a1 or a0, share)
        parts.append((t2[uses], atc_ix[uses], s[uses], e[uses]))
    t1 = np.flatnonzero(ch.t1d <= ch.last)
    s1 = np.maximum(ch.t1d[t1], first[t1])
    for a in ("A10AB05", "A10AE04"):
        parts.append((t1, np.full(len(t1), IX[a]), s1, stop[t1]))
    m1 = rng.random(len(t1)) < P.METFORMIN_T1D["share"]
    ms1 = np.maximum(
        ch.t1d[t1] + (rng.exponential(P.METFORMIN_T1D["start_years"], len(t1)) * DPY),
        np.maximum(s1 + 365, ch.birth[t1] + int(25 * DPY)),
    ).astype(np.int64)
    me1 = ms1 + (rng.exponential(P.METFORMIN_T1D["mean_years"], len(t1)) * DPY).astype(np.int64)
    me1 = np.minimum(me1, stop[t1])
    parts.append((t1[m1], np.full(m1.sum(), IX["A10BA02"]), ms1[m1], me1[m1]))
    who, atc, start, end = (np.concatenate(x) for x in zip(*parts, strict=True))
    ok = (start < end) & (start >= first[who])
    return who[ok], atc[ok], start[ok], end[ok]


def _fills(rng, who, atc, start, end):
    """One dispensing each time a package runs out, adherence varying by course."""
    apk = np.where(rng.random(len(who)) < 0.2, 2, 1)
    interval = np.clip(VOLUME[atc] * apk, 25, 120) * rng.uniform(0.9, 1.3, len(who))
    count = np.ceil((end - start) / interval).astype(np.int64)
    count = np.maximum(count, 1)
    c = np.repeat(np.arange(len(who)), count)
    k = np.arange(len(c)) - np.repeat(np.cumsum(count) - count, count)
    day = start[c] + (k * interval[c]).astype(np.int64) + rng.integers(-5, 6, len(c)) * (k > 0)
    ok = (day >= start[c]) & (day < end[c])
    c = c[ok]
    return who[c], atc[c], day[ok], apk[c]


def _acute(t, rng):
    ch = t.ch
    who, day, kind = ch.acute.arrays()
    n = len(who)
    woman = ch.sex[who] == 2
    adult = t.age_at(who, day) >= 15
    u = rng.random(n)
    abx = np.select(
        [u < 0.5, u < 0.78, u < 0.9], [IX["J01CE02"], IX["J01CA04"], IX["J01FA09"]], IX["J01XE01"]
    )
    abx = np.where((abx == IX["J01XE01"]) & ~(woman & adult), IX["J01CE02"], abx)
    pain = np.where(rng.random(n) < 0.7, IX["N02BE01"], IX["M01AE01"])
    atc = np.where(kind == 0, abx, pain)
    return who, atc, day, np.ones(n, dtype=np.int64)


def build_lmdb(t: ChunkRows) -> Built:
    """The lmdb table of one chunk: chronic courses package by package, then acute drugs."""
    rng = t.rng
    who1, atc1, day1, apk1 = _fills(rng, *_courses(t, rng))
    who2, atc2, day2, apk2 = _acute(t, rng)
    who, atc, day, apk = (
        np.concatenate(x) for x in ((who1, who2), (atc1, atc2), (day1, day2), (apk1, apk2))
    )
    order = np.argsort((who << 28) | (day << 8) | atc, kind="stable")
    who, atc, day, apk = who[order], atc[order], day[order], apk[order]
    A = C.ATC
    return {
        "lmdb": (
            table(
                "lmdb",
                {
                    "pnr": t.pnr_of(who),
                    "eksd": dates(day),
                    "atc": take(ATCS, atc),
                    "vnr": take([a.vnr for a in A], atc),
                    "apk": apk,
                    "packsize": np.array([a.packsize for a in A])[atc],
                    "volume": VOLUME[atc],
                    "voltypetxt": take(["DDD"], np.zeros(len(atc), int)),
                    "strnum": np.array([a.strnum for a in A], dtype=float)[atc],
                    "strunit": take([a.strunit for a in A], atc),
                },
            ),
            year_of(day),
        )
    }
