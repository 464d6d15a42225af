"""One life course per person, simulated year by year for a chunk of persons at once.

The simulation is vectorised over persons: each calendar year 1995-2023 draws, for everyone
alive and resident, the time to death, emigration, diabetes and cancer from
piecewise-constant hazards, the start and stop of chronic drug use, and the days of
hospital contacts, acute prescriptions and laboratory samples. :mod:`hdss_registers.tables`
turns the result into register rows, so every table is read off the same life course.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hdss_registers import params as P

NEVER = np.iinfo(np.int64).max // 4  # "no such event" as a day number
DPY = P.DAYS_PER_YEAR
CANCER_SITES = tuple(P.CANCERS)
DRUG_GROUPS = tuple(P.CHRONIC_DRUGS)
ACUTE_GROUPS = tuple(P.ACUTE_DRUGS)
LAB_KINDS = ("hba1c", "glucose", "creatinine", "cholesterol", "ldl")


def interp(knots: tuple[list, list], x: np.ndarray) -> np.ndarray:
    return np.interp(x, knots[0], knots[1])


_CURVES: dict[int, np.ndarray] = {}


def curve(knots: tuple[list, list], age_ix: np.ndarray) -> np.ndarray:
    """An age curve read at whole years of age (``age_ix`` = floor(age), 0-120)."""
    table = _CURVES.get(id(knots))
    if table is None:
        table = _CURVES[id(knots)] = np.interp(np.arange(121) + 0.5, knots[0], knots[1])
    return table[age_ix]


@dataclass
class Events:
    """Days on which something happened to a person: ``who`` indexes the chunk's persons."""

    who: list = field(default_factory=list)
    day: list = field(default_factory=list)
    kind: list = field(default_factory=list)

    def add(self, who: np.ndarray, day: np.ndarray, kind: np.ndarray | int) -> None:
        self.who.append(who)
        self.day.append(day)
        self.kind.append(np.broadcast_to(np.asarray(kind, dtype=np.int16), who.shape))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.who:
            e = np.zeros(0, dtype=np.int64)
            return e, e.copy(), np.zeros(0, dtype=np.int16)
        who, day, kind = (np.concatenate(x) for x in (self.who, self.day, self.kind))
        # one int64 key (who, day, kind): person < 2^20, day < 2^20 (~4840 AD), kind < 2^8
        order = np.argsort((who << 28) | (day.astype(np.int64) << 8) | kind, kind="stable")
        return who[order], day[order].astype(np.int64), kind[order]


@dataclass
class Chunk:
    """The simulated persons of one chunk and everything that happened to them."""

    first_id: int
    sex: np.ndarray  # 1 man, 2 woman
    birth: np.ndarray  # day
    entry: np.ndarray  # day first resident in the window (START for 1995 residents)
    origin: np.ndarray  # 0 resident 1995, 1 born in the window, 2 immigrant
    last: np.ndarray  # last day alive and resident (END if still there)
    exit_kind: np.ndarray  # 0 still resident, 1 died, 2 emigrated
    t2d: np.ndarray  # onset day or NEVER
    t1d: np.ndarray
    cancer: np.ndarray  # index into CANCER_SITES or -1
    cancer_day: np.ndarray
    courses: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    contacts: Events = field(default_factory=Events)
    acute: Events = field(default_factory=Events)
    labs: Events = field(default_factory=Events)

    @property
    def n(self) -> int:
        return len(self.sex)


def _choose_days(rng, weights: np.ndarray, n: int) -> np.ndarray:
    """n days in 1995-2023, the year drawn with ``weights``, the day uniform in it."""
    k = rng.choice(len(weights), size=n, p=weights / weights.sum())
    lo, hi = P.YEAR_START[k], P.YEAR_START[k + 1]
    return lo + (rng.random(n) * (hi - lo)).astype(np.int64)


def draw_persons(rng, n: int) -> dict[str, np.ndarray]:
    """Sex, birth day, entry day and origin of ``n`` persons ever resident 1995-2023."""
    origin = rng.choice(3, size=n, p=list(P.ORIGIN_P.values())).astype(np.int8)
    birth = np.empty(n, dtype=np.int64)
    entry = np.full(n, P.START, dtype=np.int64)
    male_p = np.empty(n)

    res = origin == 0
    k = rng.choice(len(P.PYRAMID_1995), size=res.sum(), p=P.PYRAMID_1995 / P.PYRAMID_1995.sum())
    age = k * 5 + rng.random(res.sum()) * 5
    birth[res] = P.START - (age * DPY).astype(np.int64) - 1
    male_p[res] = interp(P.MALE_SHARE_AGE, age)

    born = origin == 1
    birth[born] = entry[born] = _choose_days(rng, P.BIRTHS, born.sum())
    male_p[born] = P.MALE_SHARE_BIRTH

    imm = origin == 2
    entry[imm] = _choose_days(rng, P.IMMIGRATIONS, imm.sum())
    ages = np.arange(0, 81)
    dens = interp(P.IMMIGRANT_AGE, ages)
    a = rng.choice(ages, size=imm.sum(), p=dens / dens.sum()) + rng.random(imm.sum())
    birth[imm] = entry[imm] - (a * DPY).astype(np.int64) - 1
    male_p[imm] = 0.5

    sex = np.where(rng.random(n) < male_p, 1, 2).astype(np.int8)
    return {"sex": sex, "birth": birth, "entry": entry, "origin": origin}


def _prevalent_onsets(rng, birth, entry, sex, origin) -> tuple[np.ndarray, np.ndarray]:
    """Diabetes already diagnosed when a person enters (1995 residents and immigrants)."""
    n = len(birth)
    age = (entry - birth) / DPY
    t2d = np.full(n, NEVER, dtype=np.int64)
    t1d = np.full(n, NEVER, dtype=np.int64)
    eligible = origin != 1
    p2 = interp(P.T2D_PREVALENCE_1995, age) * np.where(sex == 1, 1.0, P.T2D_FEMALE_RR)
    p2 = p2 * P.T2D_SCALE
    has2 = eligible & (rng.random(n) < p2)
    back = np.minimum(age - 25, 12) * rng.random(n)
    t2d[has2] = entry[has2] - (back[has2] * DPY).astype(np.int64) - 1
    has1 = eligible & ~has2 & (rng.random(n) < interp(P.T1D_PREVALENCE_AGE, age) * P.T1D_SCALE)
    onset_age = np.minimum(age, 2 + rng.random(n) * 28)
    t1d[has1] = birth[has1] + (onset_age[has1] * DPY).astype(np.int64)
    return t2d, t1d


def _exp_day(rng, hazard: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Day of an event with a constant yearly hazard, counted from ``start``."""
    with np.errstate(divide="ignore", over="ignore"):
        t = rng.standard_exponential(len(hazard)) / hazard
    return np.where(hazard > 0, start + np.minimum(t * DPY, 1e9).astype(np.int64), NEVER)


def _uniform_days(rng, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def _poisson_events(rng, events: Events, who, lo, hi, rate, kind) -> None:
    """Add Poisson(rate * exposure) events per person on days uniform in [lo, hi)."""
    count = rng.poisson(rate * (hi - lo) / DPY)
    if not count.any():
        return
    idx = np.repeat(np.arange(len(who)), count)
    events.add(who[idx], _uniform_days(rng, lo[idx], hi[idx]), kind)


def _age_table(knots) -> np.ndarray:
    return np.interp(np.arange(121) + 0.5, knots[0], knots[1])


CANCER_RATE = np.stack([c[0] / 1e5 * _age_table(c[2]) for c in P.CANCERS.values()], axis=1)
CANCER_MALE = np.array([c[1] != "F" for c in P.CANCERS.values()])
CANCER_FEMALE = np.array([c[1] != "M" for c in P.CANCERS.values()])
CANCER_HR = np.array([c[3] for c in P.CANCERS.values()])  # mortality, first five years
DRUG_START = np.stack([_age_table(d[0]) for d in P.CHRONIC_DRUGS.values()], axis=1)
DRUG_MALE = np.array([d[1] != "F" for d in P.CHRONIC_DRUGS.values()])
DRUG_FEMALE = np.array([d[1] != "M" for d in P.CHRONIC_DRUGS.values()])
DRUG_STOP = np.array([d[2] for d in P.CHRONIC_DRUGS.values()])


def simulate(rng: np.random.Generator, n: int, first_id: int) -> Chunk:
    """The life courses of ``n`` persons (ids ``first_id`` ...), drawn from ``rng``.

    The steps draw from ``rng`` in this order, so a seed gives the same chunk.
    """
    ch = _new_chunk(rng, n, first_id)
    frailty = rng.gamma(P.CONTACT_FRAILTY_SHAPE, 1 / P.CONTACT_FRAILTY_SHAPE, n)
    drugs = _DrugUse.none(n)
    for k, year in enumerate(P.YEARS):
        x = _year_at_risk(rng, ch, k, year)
        if x is None:
            continue
        _diabetes_onsets(rng, ch, x)
        _cancer_onsets(rng, ch, x)
        _drug_year(rng, drugs, x)
        _event_days(rng, ch, x, frailty)
    ch.courses = _close_courses(drugs, ch.last)
    _forget_onsets_after_exit(ch)
    return ch


def _new_chunk(rng: np.random.Generator, n: int, first_id: int) -> Chunk:
    """The persons at entry, with their diabetes already diagnosed; nobody has left yet."""
    p = draw_persons(rng, n)
    sex, birth, entry, origin = p["sex"], p["birth"], p["entry"], p["origin"]
    t2d, t1d = _prevalent_onsets(rng, birth, entry, sex, origin)
    return Chunk(
        first_id,
        sex,
        birth,
        entry,
        origin,
        last=np.full(n, P.END, dtype=np.int64),
        exit_kind=np.zeros(n, dtype=np.int8),
        t2d=t2d,
        t1d=t1d,
        cancer=np.full(n, -1, dtype=np.int8),
        cancer_day=np.full(n, NEVER, dtype=np.int64),
    )


@dataclass
class _AtRisk:
    """The persons still alive and resident in one calendar year, at risk on days [s, hi)."""

    year: int
    y0: int  # first day of the year
    w: np.ndarray  # index of the person in the chunk
    s: np.ndarray  # first day at risk
    hi: np.ndarray  # one past the last day at risk
    age: np.ndarray  # age in years on day s
    ai: np.ndarray  # whole years of age, 0-120
    m: np.ndarray  # True for a man


def _year_at_risk(rng: np.random.Generator, ch: Chunk, k: int, year: int) -> _AtRisk | None:
    """Deaths and emigrations in year ``k`` (written to ``ch``), and who remains at risk
    on which days; None if nobody is resident that year."""
    y0, y1 = P.YEAR_START[k], P.YEAR_START[k + 1]
    alive = (ch.exit_kind == 0) & (ch.entry < y1)
    w = np.flatnonzero(alive)
    if not len(w):
        return None
    s = np.maximum(ch.entry[w], y0)
    age = (s - ch.birth[w]) / DPY
    ai = np.clip(age, 0, 120).astype(np.intp)
    m = ch.sex[w] == 1
    mu = _mortality(ch, w, s, age, m, year)
    emig = _emigration(ch, w, s, ai)
    d_day = _exp_day(rng, mu, s)
    e_day = _exp_day(rng, emig, s)
    died = (d_day < y1) & (d_day <= e_day)
    left = (e_day < y1) & ~died
    ch.exit_kind[w[died]] = 1
    ch.last[w[died]] = d_day[died]
    ch.exit_kind[w[left]] = 2
    ch.last[w[left]] = e_day[left] - 1
    hi = np.minimum(y1, ch.last[w] + 1)  # events happen on days [s, hi)
    ok = hi > s
    return _AtRisk(year, y0, w[ok], s[ok], hi[ok], age[ok], ai[ok], m[ok])


def _mortality(
    ch: Chunk, w: np.ndarray, s: np.ndarray, age: np.ndarray, m: np.ndarray, year: int
) -> np.ndarray:
    """Yearly death hazard: Gompertz-Makeham by sex, falling over calendar time, raised
    by diabetes and by a cancer in its first five years."""
    a_, b_ = (
        np.where(m, P.GOMPERTZ[1][0], P.GOMPERTZ[2][0]),
        np.where(m, P.GOMPERTZ[1][1], P.GOMPERTZ[2][1]),
    )
    mu = a_ * np.exp(b_ * age) + P.MAKEHAM + np.where(age < 1, P.INFANT_MORTALITY, 0)
    mu *= np.exp(P.MORTALITY_TREND * (year - P.MORTALITY_REF_YEAR))
    mu *= np.where(
        ch.t1d[w] < s,
        P.DIABETES_MORTALITY_HR["t1d"],
        np.where(ch.t2d[w] < s, P.DIABETES_MORTALITY_HR["t2d"], 1.0),
    )
    cd = ch.cancer_day[w]
    recent = (cd < s) & (s - cd < 5 * DPY)
    mu *= np.where(recent, CANCER_HR[np.maximum(ch.cancer[w], 0)], 1.0)
    return mu


def _emigration(ch: Chunk, w: np.ndarray, s: np.ndarray, ai: np.ndarray) -> np.ndarray:
    """Yearly emigration hazard: by age, or for immigrants by years since arrival."""
    emig = curve(P.EMIGRATION_AGE, ai)
    imm = ch.origin[w] == 2
    emig[imm] = interp(P.EMIGRATION_IMMIGRANT, (s[imm] - ch.entry[w][imm]) / DPY)
    return emig


def _diabetes_onsets(rng: np.random.Generator, ch: Chunk, x: _AtRisk) -> None:
    """Diabetes diagnosed this year, type 1 or type 2, at most one type per person."""
    w, ai, m = x.w, x.ai, x.m
    trend = np.interp(x.year, *P.T2D_TREND)
    free = (ch.t2d[w] == NEVER) & (ch.t1d[w] == NEVER)
    h2 = curve(P.T2D_INCIDENCE_AGE, ai) / 1000 * trend * P.T2D_SCALE
    h2 *= np.where(m, 1.0, P.T2D_FEMALE_RR) * np.where(ch.origin[w] == 2, P.T2D_IMMIGRANT_RR, 1.0)
    h1 = curve(P.T1D_INCIDENCE_AGE, ai) / 1e5 * P.T1D_SCALE
    on2 = _exp_day(rng, np.where(free, h2, 0), x.s)
    on1 = _exp_day(rng, np.where(free, h1, 0), x.s)
    first1 = on1 < on2
    hit = free & (np.minimum(on1, on2) < x.hi)
    ch.t1d[w[hit & first1]] = on1[hit & first1]
    ch.t2d[w[hit & ~first1]] = on2[hit & ~first1]


def _cancer_onsets(rng: np.random.Generator, ch: Chunk, x: _AtRisk) -> None:
    """A first cancer this year: one competing hazard for all sites, then the site in
    proportion to its rate."""
    w = x.w
    rates = CANCER_RATE[x.ai] * np.where(x.m[:, None], CANCER_MALE, CANCER_FEMALE)
    total = rates.sum(1) * (ch.cancer[w] < 0)
    cday = _exp_day(rng, total, x.s)
    new = np.flatnonzero(cday < x.hi)
    if len(new):
        cum = np.cumsum(rates[new], axis=1)
        site = (rng.random(len(new))[:, None] * cum[:, -1:] > cum).sum(1)
        ch.cancer[w[new]] = site
        ch.cancer_day[w[new]] = cday[new]


@dataclass
class _DrugUse:
    """Chronic drug use by person and drug group while the years are simulated."""

    on: np.ndarray  # (person, group): using now
    since: np.ndarray  # (person, group): start day of the current course
    started: np.ndarray  # person seen in an earlier year
    ended: list[tuple] = field(default_factory=list)  # finished courses: (who, group, start, stop)

    @classmethod
    def none(cls, n: int) -> _DrugUse:
        """Nobody on any drug yet."""
        groups = len(DRUG_GROUPS)
        return cls(
            on=np.zeros((n, groups), dtype=bool),
            since=np.zeros((n, groups), dtype=np.int64),
            started=np.zeros(n, dtype=bool),
        )


def _drug_year(rng: np.random.Generator, drugs: _DrugUse, x: _AtRisk) -> None:
    """Chronic drug use, all groups at once: start and stop once a year at most; in a
    person's first year in the window some are already users."""
    w, s, hi = x.w, x.s, x.hi
    first = ~drugs.started[w]
    drugs.started[w] = True
    lam = DRUG_START[x.ai] * np.where(x.m[:, None], DRUG_MALE, DRUG_FEMALE)
    dur = ((hi - s) / DPY)[:, None]
    u = rng.random((4, len(w), len(DRUG_GROUPS)))
    cur = drugs.on[w]
    since = drugs.since[w]
    init = first[:, None] & ~cur & (u[0] < 0.3 * lam / (lam + DRUG_STOP))
    cur |= init
    since = np.where(init, s[:, None], since)
    when = s[:, None] + (u[3] * (hi - s)[:, None]).astype(np.int64)
    ends = cur & (u[1] < -np.expm1(-DRUG_STOP * dur))
    starts = ~cur & (u[2] < -np.expm1(-lam * dur))
    if ends.any():
        r, g = np.nonzero(ends)
        drugs.ended.append((w[r], g, since[r, g], when[r, g]))
    drugs.on[w] = (cur & ~ends) | starts
    drugs.since[w] = np.where(starts, when, since)


def _event_days(rng: np.random.Generator, ch: Chunk, x: _AtRisk, frailty: np.ndarray) -> None:
    """Days of contacts, acute prescriptions and laboratory samples this year."""
    w, s, hi, ai = x.w, x.s, x.hi, x.ai
    diab = (ch.t2d[w] < hi) | (ch.t1d[w] < hi)
    cancer_now = (ch.cancer_day[w] < hi) & (hi - ch.cancer_day[w] < 3 * DPY)
    rate = curve(P.CONTACT_RATE_AGE, ai) * frailty[w]
    rate *= np.where(diab, P.CONTACT_RR["diabetes"], 1.0)
    rate *= np.where(cancer_now, P.CONTACT_RR["cancer"], 1.0)
    _poisson_events(rng, ch.contacts, w, s, hi, rate, 0)
    for g, knots in enumerate(P.ACUTE_DRUGS.values()):
        _poisson_events(rng, ch.acute, w, s, hi, curve(knots, ai), g)
    if x.y0 >= P.LAB_START:
        for kind, r in enumerate(_lab_rates(x, diab)):
            _poisson_events(rng, ch.labs, w, s, hi, r, kind)


def _lab_rates(x: _AtRisk, diab: np.ndarray) -> tuple[np.ndarray, ...]:
    """Yearly sample rates per person, in the order of LAB_KINDS."""
    age = x.age
    screen = np.where(age >= 30, P.HBA1C_TESTS["no_diabetes"], 0.02)
    screen = screen * (1.8 if x.year >= 2012 else 1.0)
    return (
        np.where(diab, P.HBA1C_TESTS["diabetes"], screen),
        0.06 + 0.08 * (age > 50) + 0.6 * diab,
        0.15 + 0.3 * (age > 60) + 1.5 * diab,
        0.08 + 0.15 * (age > 50) + 1.0 * diab,
        0.05 + 0.1 * (age > 50) + 1.0 * diab,
    )


def _close_courses(
    drugs: _DrugUse, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All drug courses as (who, group, start, stop): the finished ones, then those still
    open at exit or at the end of the window, closed the day after ``last``."""
    parts = list(drugs.ended)
    still = np.argwhere(drugs.on)
    if len(still):
        pw, pg = still[:, 0], still[:, 1]
        parts.append((pw, pg, drugs.since[pw, pg], last[pw] + 1))
    if parts:
        cw, cg, cs, ce = (np.concatenate(x) for x in zip(*parts, strict=True))
    else:
        cw = cg = cs = ce = np.zeros(0, dtype=np.int64)
    return (
        cw.astype(np.int64),
        cg.astype(np.int16),
        cs.astype(np.int64),
        ce.astype(np.int64),
    )


def _forget_onsets_after_exit(ch: Chunk) -> None:
    """Diabetes diagnosed after leaving never happened in Denmark."""
    ch.t2d[ch.t2d > ch.last] = NEVER
    ch.t1d[ch.t1d > ch.last] = NEVER
