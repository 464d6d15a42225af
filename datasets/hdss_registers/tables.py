"""Register rows read off one simulated chunk: every table from the same life courses.

Each builder returns an Arrow table in the column order of :mod:`hdss_registers.schema`,
plus, for tables partitioned by year, the calendar year of every row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hdss_registers import codes as C
from hdss_registers import params as P
from hdss_registers.arrow_columns import Built, dates, table, take, year_of
from hdss_registers.drugs import build_lmdb
from hdss_registers.hospital import build_hospital
from hdss_registers.labs import build_labs
from hdss_registers.simulate import (
    ACUTE_GROUPS,
    CANCER_SITES,
    DPY,
    DRUG_GROUPS,
    LAB_KINDS,
    NEVER,
    Chunk,
)
from hdss_registers.sssy import build_sssy

ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
ID_BITS = 45
OPEN_END = int(np.datetime64("9999-12-31").astype("datetime64[D]").astype(np.int64))


def pnr_strings(gid: np.ndarray, key: int, prefix: bytes) -> pa.Array:
    """Opaque, unique person ids: a letter then 9 base-32 characters of a keyed bijection.

    A CPR number is 10 digits starting with a date (DDMMYY); these start with a letter,
    so they can never parse as one.
    """
    mask = np.uint64((1 << ID_BITS) - 1)
    x = (gid.astype(np.uint64) * np.uint64(0x5DEECE66D | 1) + np.uint64(key)) & mask
    x ^= x >> np.uint64(17)
    x = (x * np.uint64(0x2545F4914F6CDD1D)) & mask
    digits = np.empty((len(gid), 10), dtype=np.uint8)
    digits[:, 0] = prefix[0]
    for i in range(9):
        digits[:, 9 - i] = ALPHABET[((x >> np.uint64(5 * i)) & np.uint64(31)).astype(np.intp)]
    return pa.array(digits.view("S10").ravel()).cast(pa.string())


class ChunkTables:
    """Builds all data tables of one chunk; ``rng`` continues the chunk's random stream."""

    def __init__(self, ch: Chunk, rng: np.random.Generator, key: int, prefix: bytes):
        self.ch, self.rng = ch, rng
        self.pnr = pnr_strings(np.arange(ch.first_id, ch.first_id + ch.n), key, prefix)
        self.out: Built = {}

    def pnr_of(self, who: np.ndarray) -> pa.Array:
        return take(self.pnr, who)

    def age_at(self, who: np.ndarray, days: np.ndarray) -> np.ndarray:
        return (days - self.ch.birth[who]) / DPY

    def build(self) -> Built:
        self.person()
        self.population()
        self.deaths()
        self.migration()
        self.education()
        self.hospital()
        self.prescriptions()
        self.laboratory()
        self.out.update(build_sssy(self))
        return self.out

    # -- population ---------------------------------------------------------------------
    def person(self) -> None:
        ch = self.ch
        status = ch.exit_kind  # 0 resident, 1 died, 2 emigrated
        when = np.where(
            ch.exit_kind == 1,
            ch.last,
            np.where(ch.exit_kind == 2, ch.last + 1, np.where(ch.origin == 2, ch.entry, ch.birth)),
        )
        self.out["t_person"] = (
            table(
                "t_person",
                {
                    "pnr": self.pnr,
                    "koen": ch.sex,
                    "foed_dag": dates(ch.birth),
                    "c_status": take(["01", "90", "80"], status),
                    "d_status_hen_start": dates(when),
                },
            ),
            None,
        )

    def population(self) -> None:
        ch, rng, n = self.ch, self.rng, self.ch.n
        ys = year_of(ch.entry)
        ye = year_of(ch.last + 1) - 1  # last 31 December alive and resident
        count = np.maximum(ye - ys + 1, 0)
        who = np.repeat(np.arange(n), count)
        offs = np.arange(len(who)) - np.repeat(np.cumsum(count) - count, count)
        aar = ys[who] + offs
        ref = P.YEAR_START[aar - P.FIRST_YEAR + 1] - 1
        alder = aar - year_of(ch.birth)[who]

        marry = np.where(rng.random(n) < 0.7, rng.normal(29, 5, n), 999)
        divorce = np.where(rng.random(n) < 0.3, marry + rng.uniform(3, 25, n), 999)
        widow = np.where(
            rng.random(n) < np.where(ch.sex == 2, 0.45, 0.2), rng.uniform(62, 92, n), 999
        )
        widow = np.maximum(widow, marry + 1)
        a = alder.astype(float)
        civ = np.where(
            a < marry[who], 0, np.where(a >= widow[who], 3, np.where(a >= divorce[who], 2, 1))
        )
        kom_codes = np.array([k for k, _ in C.MUNICIPALITIES])
        kw = np.array([w for _, w in C.MUNICIPALITIES])
        kom = kom_codes[rng.choice(len(kom_codes), size=n, p=kw / kw.sum())]
        ie = np.where(ch.origin == 2, 2, np.where(rng.random(n) < 0.08, 3, 1))
        self.ie_type = ie
        self.out["bef"] = (
            table(
                "bef",
                {
                    "pnr": self.pnr_of(who),
                    "aar": aar,
                    "referencetid": dates(ref),
                    "koen": ch.sex[who],
                    "foed_dag": dates(ch.birth[who]),
                    "alder": alder,
                    "civst": take(["U", "G", "F", "E"], civ),
                    "kom": kom[who],
                    "ie_type": ie[who],
                },
            ),
            aar,
        )
        self.income(who, aar, alder)

    def income(self, who, aar, alder) -> None:
        rng, ch = self.rng, self.ch
        adult = alder >= 15
        who, aar, alder = who[adult], aar[adult], alder[adult]
        level = rng.normal(0, P.INCOME_SD, ch.n)
        med = np.interp(alder, *P.INCOME_AGE) * np.where(ch.sex[who] == 2, P.INCOME_FEMALE_RR, 1.0)
        inc = (
            med
            * (1 + P.INCOME_GROWTH) ** (aar - 2020)
            * np.exp(level[who] + rng.normal(0, 0.15, len(who)))
        )
        inc = np.where(rng.random(len(who)) < 0.002, -rng.uniform(0, 50e3, len(who)), inc)
        wage_share = np.where(alder < 67, np.where(rng.random(len(who)) < 0.12, 0.0, 0.85), 0.02)
        self.out["ind"] = (
            table(
                "ind",
                {
                    "pnr": self.pnr_of(who),
                    "aar": aar,
                    "perindkialt": np.round(inc).astype(np.int64),
                    "loenmv": np.round(np.maximum(inc, 0) * wage_share).astype(np.int64),
                    "dispon_13": np.round(inc * 0.62).astype(np.int64),
                },
            ),
            aar,
        )

    def deaths(self) -> None:
        ch, rng = self.ch, self.rng
        who = np.flatnonzero(ch.exit_kind == 1)
        day = ch.last[who]
        age = self.age_at(who, day)
        general = np.array(
            [
                "DI219",
                "DI259",
                "DI639",
                "DI500",
                "DJ449",
                "DJ189",
                "DF039",
                "DA419",
                "DN189",
                "DR999",
                "DX709",
                "DP073",
            ]
        )
        n = len(who)
        w = np.array([0.13, 0.11, 0.08, 0.07, 0.10, 0.06, 0.10, 0.04, 0.03, 0.05, 0.02, 0.0])
        pick = rng.choice(len(general), size=n, p=w / w.sum())
        pick = np.where(age < 1, 11, pick)  # infants: perinatal causes
        pick = np.where((pick == 6) & (age < 65), 0, pick)  # no dementia before 65
        cause = general[pick]
        cancer_codes = np.array([C.CANCER_CODES[s] for s in CANCER_SITES])
        has_c = (ch.cancer[who] >= 0) & (ch.cancer_day[who] <= day)
        recent = has_c & (day - ch.cancer_day[who] < 5 * DPY)
        by_cancer = has_c & (rng.random(n) < np.where(recent, 0.75, 0.3))
        cause = np.where(by_cancer, cancer_codes[np.maximum(ch.cancer[who], 0)], cause)
        t1 = ch.t1d[who] <= day
        t2 = ch.t2d[who] <= day
        dm = np.where(t1, "DE109", "DE119")
        by_dm = (t1 | t2) & ~by_cancer & (rng.random(n) < 0.12)
        cause = np.where(by_dm, dm, cause)
        second = np.where((t1 | t2) & ~by_dm, dm, None)
        second = np.where((second == None) & (rng.random(n) < 0.4), "DI109", second)  # noqa: E711
        self.out["dod"] = (table("dod", {"pnr": self.pnr_of(who), "doddato": dates(day)}), None)
        self.out["dodsaars"] = (
            table(
                "dodsaars",
                {
                    "pnr": self.pnr_of(who),
                    "d_dodsdto": dates(day),
                    "c_dodtilgrundl_acme": pa.array(cause, pa.string()),
                    "c_dod1": pa.array(cause, pa.string()),
                    "c_dod2": pa.array(second.tolist(), pa.string()),
                },
            ),
            None,
        )

    def migration(self) -> None:
        ch = self.ch
        imm = np.flatnonzero(ch.origin == 2)
        emi = np.flatnonzero(ch.exit_kind == 2)
        who = np.concatenate([imm, emi])
        day = np.concatenate([ch.entry[imm], ch.last[emi] + 1])
        kind = np.concatenate([np.zeros(len(imm), int), np.ones(len(emi), int)])
        order = np.lexsort((day, who))
        self.out["vnds"] = (
            table(
                "vnds",
                {
                    "pnr": self.pnr_of(who[order]),
                    "indud_kode": take(["I", "U"], kind[order]),
                    "haend_dato": dates(day[order]),
                },
            ),
            None,
        )

    def education(self) -> None:
        ch, rng, n = self.ch, self.rng, self.ch.n
        cohort = year_of(ch.birth)
        shares = np.stack(
            [
                np.interp(cohort, P.EDUCATION_COHORTS, P.EDUCATION_SHARES[:, j])
                for j in range(P.EDUCATION_SHARES.shape[1])
            ],
            axis=1,
        )
        cum = np.cumsum(shares / shares.sum(1, keepdims=True), axis=1)
        final = (rng.random(n)[:, None] > cum).sum(1).clip(0, 7)
        mid = np.where(final >= 3, np.where(rng.random(n) < 0.7, 1, 2), final)
        mid = np.where(final <= 2, final, mid)
        age_done = np.array(P.EDUCATION_AGE, dtype=float)
        steps_level = [np.zeros(n, int), mid, final]
        steps_age = [
            np.full(n, 16.0),
            age_done[mid] + rng.uniform(0, 2, n),
            age_done[final] + rng.uniform(0, 4, n),
        ]
        unknown = (ch.origin == 2) & (rng.random(n) < 0.3)
        rows_w, rows_lvl, rows_day = [], [], []
        for k, (lvl, age) in enumerate(zip(steps_level, steps_age, strict=True)):
            keep = (k == 0) | (lvl > steps_level[k - 1])
            keep &= ~unknown
            day = ch.birth + (age * DPY).astype(np.int64)
            keep &= (day <= ch.last) & (day <= P.END)
            rows_w.append(np.flatnonzero(keep))
            rows_lvl.append(lvl[keep])
            rows_day.append(day[keep])
        uw = np.flatnonzero(unknown & (ch.last >= ch.entry))
        rows_w.append(uw)
        rows_lvl.append(np.full(len(uw), 8))
        rows_day.append(ch.entry[uw])
        who, lvl, day = (np.concatenate(x) for x in (rows_w, rows_lvl, rows_day))
        order = np.lexsort((day, who))
        who, lvl, day = who[order], lvl[order], day[order]
        nxt = np.append(who[1:] == who[:-1], False)
        until = np.where(nxt, np.append(day[1:], 0) - 1, OPEN_END)
        self.out["uddf"] = (
            table(
                "uddf",
                {
                    "pnr": self.pnr_of(who),
                    "hfaudd": take([e.hfaudd for e in C.EDUCATION], lvl),
                    "hf_vfra": dates(day),
                    "hf_vtil": dates(until),
                },
            ),
            None,
        )

    # -- hospital contacts ---------------------------------------------------------------
    def hospital(self) -> None:
        self.out.update(build_hospital(self))

    def prescriptions(self) -> None:
        self.out.update(build_lmdb(self))

    def laboratory(self) -> None:
        self.out.update(build_labs(self))


def lookup_tables() -> Built:
    """The code lookup tables, the same for every dataset."""
    icd = C.ICD10
    return {
        "lookup_icd10": (
            table(
                "lookup_icd10",
                {
                    "code": [c.code for c in icd],
                    "text": [c.text for c in icd],
                    "chapter": [c.code[1] for c in icd],
                    "sex": [c.sex or None for c in icd],
                },
            ),
            None,
        ),
        "lookup_atc": (
            table(
                "lookup_atc",
                {
                    "atc": [a.atc for a in C.ATC],
                    "text": [a.text for a in C.ATC],
                    "ddd": [a.ddd for a in C.ATC],
                    "ddd_unit": [a.ddd_unit for a in C.ATC],
                    "sex": [a.sex or None for a in C.ATC],
                },
            ),
            None,
        ),
        "lookup_npu": (
            table(
                "lookup_npu",
                {
                    "code": [x.code for x in C.NPU],
                    "text": [x.text for x in C.NPU],
                    "unit": [x.unit for x in C.NPU],
                },
            ),
            None,
        ),
        "lookup_sks": (
            table(
                "lookup_sks",
                {
                    "code": [x.code for x in C.SKS],
                    "text": [x.text for x in C.SKS],
                    "sex": [x.sex or None for x in C.SKS],
                    "kind": [x.kind for x in C.SKS],
                },
            ),
            None,
        ),
        "lookup_spec": (
            table(
                "lookup_spec",
                {
                    "code": [c for c, _ in C.SPECIALTIES],
                    "text": [t for _, t in C.SPECIALTIES],
                    "medical": [
                        "endocrinology"
                        if c == "08"
                        else ("medical" if c in C.MEDICAL_SPECIALTIES else "other")
                        for c, _ in C.SPECIALTIES
                    ],
                },
            ),
            None,
        ),
        "lookup_hfaudd": (
            table(
                "lookup_hfaudd",
                {
                    "hfaudd": [e.hfaudd for e in C.EDUCATION],
                    "text": [e.text for e in C.EDUCATION],
                    "level": [e.level for e in C.EDUCATION],
                    "isced": [e.isced for e in C.EDUCATION],
                },
            ),
            None,
        ),
    }


__all__ = [
    "ChunkTables",
    "lookup_tables",
    "pnr_strings",
    "NEVER",
    "DRUG_GROUPS",
    "ACUTE_GROUPS",
    "LAB_KINDS",
]
