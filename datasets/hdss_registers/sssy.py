"""The health insurance register (Sygesikringsregisteret) of one chunk: ``sysi`` to 2005,
``sssy`` from 2006, one row per person, week (``honuge``), practice speciality
(``speciale``) and service (``ydelsesnummer``), with the number of services (``antydel``).

Everything is read off the life course: general practice contacts by age and sex, more
with diabetes (and a yearly diabetes check); a blood sample in general practice in the week
of every HbA1c the laboratory register holds from a GP; eye screening at an ophthalmologist
in practice every other year and diabetic foot care at a podiatrist for people with
diabetes. Services are on the person's own ``pnr`` (``barnmak`` 0): the model has no
families, so no child's service is booked on a parent.
"""

from __future__ import annotations

import numpy as np

from hdss_registers import params as P
from hdss_registers.arrow_columns import Built, ChunkRows, table, take
from hdss_registers.simulate import DPY, NEVER, curve

SSSY_FROM = P.day(2006)  # sysi before, sssy from 2006 (dst-sssy)
# (speciale, ydelsesnummer) of each service kind, in the order of codes.SSSY_YDELSE
GP_CONSULT, GP_EMAIL, GP_PHONE, GP_BLOOD, GP_CHECK, EYE_CONSULT, EYE_SCREEN, FOOT = range(8)
SPECIALE = ["80", "80", "80", "80", "80", "15", "15", "54"]
YDELSE = ["0101", "0105", "0201", "2101", "0120", "0101", "3011", "0120"]
EMAIL_FROM = P.day(2009)  # e-mail consultations became a GP service in 2009


def yyww(days: np.ndarray) -> np.ndarray:
    """ISO week of each day as an integer yyww (two-digit ISO year, two-digit week)."""
    days = days.astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 is Monday
    thursday = days - weekday + 3
    t = thursday.astype("datetime64[D]")
    year = t.astype("datetime64[Y]")
    week = (t - year.astype("datetime64[D]")).astype(np.int64) // 7 + 1
    return (year.astype(np.int64) + 1970) % 100 * 100 + week


def _events(t: ChunkRows, rng: np.random.Generator):
    """(who, day, kind) of every service of the chunk."""
    ch = t.ch
    diab_on = np.minimum(ch.t1d, ch.t2d)
    parts = []
    for k, year in enumerate(P.YEARS):
        y0, y1 = P.YEAR_START[k], P.YEAR_START[k + 1]
        lo = np.maximum(np.maximum(ch.entry, ch.birth), y0)
        hi = np.minimum(ch.last + 1, y1)
        w = np.flatnonzero(hi > lo)
        if not len(w):
            continue
        lo, hi = lo[w], hi[w]
        ai = np.clip((lo - ch.birth[w]) / DPY, 0, 120).astype(np.intp)
        woman = ch.sex[w] == 2
        diab = diab_on[w] < hi
        rate = curve(P.GP_CONTACT_AGE, ai) * np.where(
            woman & (ai >= 15) & (ai < 65), P.GP_FEMALE_RR, 1.0
        )
        rate = rate + np.where(diab, P.GP_DIABETES_EXTRA, 0.0)
        exposure = (hi - lo) / DPY
        n = rng.poisson(rate * exposure)
        i = np.repeat(np.arange(len(w)), n)
        day = lo[i] + (rng.random(len(i)) * (hi[i] - lo[i])).astype(np.int64)
        u = rng.random(len(i))
        email_share = P.GP_MODE["email"] * (year >= 2009) * min(1.0, (year - 2008) / 8)
        kind = np.where(
            u < P.GP_MODE["phone"],
            GP_PHONE,
            np.where(u < P.GP_MODE["phone"] + email_share, GP_EMAIL, GP_CONSULT),
        )
        kind = np.where((kind == GP_EMAIL) & (day < EMAIL_FROM), GP_CONSULT, kind)
        parts.append((w[i], day, kind))
        # diabetes care: a yearly check, eye screening, foot care at a podiatrist
        d = np.flatnonzero(diab)
        if len(d):
            since = np.maximum(diab_on[w[d]], lo[d])
            span = hi[d] - since
            ok = span > 0
            d, since, span = d[ok], since[ok], span[ok]
            for kind, r in (
                (GP_CHECK, P.DIABETES_CARE["yearly_check"]),
                (EYE_SCREEN, P.DIABETES_CARE["eye_screening"]),
            ):
                hit = rng.random(len(d)) < r * span / DPY
                parts.append(
                    (
                        w[d[hit]],
                        since[hit] + (rng.random(hit.sum()) * span[hit]).astype(np.int64),
                        np.full(hit.sum(), kind),
                    )
                )
    foot = _podiatry(t, rng, diab_on)
    parts.append(foot)
    parts.append(_blood_samples(t, rng))
    who, day, kind = (np.concatenate(x) for x in zip(*parts, strict=True))
    return who, day.astype(np.int64), kind.astype(np.int64)


def _podiatry(t: ChunkRows, rng: np.random.Generator, diab_on: np.ndarray):
    """Diabetic foot care: some people with diabetes are referred, a few years after the
    diagnosis, and then see a podiatrist a few times a year."""
    ch = t.ch
    d = np.flatnonzero(diab_on <= ch.last)
    t1 = ch.t1d[d] != NEVER
    p = np.where(t1, P.PODIATRY["t1d"], P.PODIATRY["t2d"])
    ref = d[rng.random(len(d)) < p]
    start = np.maximum(
        diab_on[ref] + (rng.exponential(P.PODIATRY["years_to_referral"], len(ref)) * DPY),
        np.maximum(ch.entry[ref], P.START),
    ).astype(np.int64)
    end = ch.last[ref] + 1
    ok = start < end
    ref, start, end = ref[ok], start[ok], end[ok]
    n = rng.poisson(P.PODIATRY["per_year"] * (end - start) / DPY)
    i = np.repeat(np.arange(len(ref)), n)
    day = start[i] + (rng.random(len(i)) * (end[i] - start[i])).astype(np.int64)
    return ref[i], day, np.full(len(i), FOOT)


def _blood_samples(t: ChunkRows, rng: np.random.Generator):
    """A blood sample taken in general practice for most HbA1c results of the laboratory
    register (the rest come from hospital clinics)."""
    who, day, kind = t.ch.labs.arrays()
    gp = (kind == 0) & (rng.random(len(who)) < P.HBA1C_FROM_GP)
    return who[gp], day[gp], np.full(int(gp.sum()), GP_BLOOD)


def build_sssy(t: ChunkRows) -> Built:
    """sysi (services to 2005) and sssy (from 2006) of one chunk."""
    who, day, kind = _events(t, t.rng)
    week = yyww(day)
    # one row per person, week and service; antydel counts the services
    key = (who << 32) | (week << 8) | kind
    key, first, count = np.unique(key, return_index=True, return_counts=True)
    who, day, week, kind = who[first], day[first], week[first], kind[first]
    years = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    out: Built = {}
    for name, sel in (("sysi", day < SSSY_FROM), ("sssy", day >= SSSY_FROM)):
        i = np.flatnonzero(sel)
        out[name] = (
            table(
                name,
                {
                    "pnr": t.pnr_of(who[i]),
                    "honuge": take([f"{w:04d}" for w in range(10000)], week[i]),
                    "speciale": take(SPECIALE, kind[i]),
                    "ydelsesnummer": take(YDELSE, kind[i]),
                    "barnmak": np.zeros(len(i), dtype=np.int8),
                    "antydel": count[i].astype(np.int16),
                },
            ),
            years[i],
        )
    return out
