"""Laboratory results (lab_dm_forsker) of one chunk, values as text like the register.

HbA1c depends on the life course: normal before diabetes, rising in the three years
before a type 2 diagnosis, high at diagnosis and settling on the person's treated level
after it; people with type 1 run higher. Quirks of the real register are kept on purpose:
HbA1c in % (NPU03835) before 2010, decimal commas from some laboratories, censored values
("<50") and cancelled analyses ("Aflyst").
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hdss_registers import codes as C
from hdss_registers import params as P
from hdss_registers.arrow_columns import Built, ChunkRows, dates, table, take, year_of
from hdss_registers.simulate import DPY, LAB_KINDS, NEVER

LABS = ("KBA-RH", "KBA-HEH", "KBA-OUH", "KBA-AUH", "KBA-AAUH", "KBA-SLB")
COMMA_LABS = (2, 5)  # these laboratories write decimal commas
CENSOR_LAB = 3  # this one reports creatinine below 50 as "<50"
NPU_IX = {n.code: i for i, n in enumerate(C.NPU)}
KIND_NPU = {
    "hba1c": "NPU27300",
    "glucose": "NPU02192",
    "creatinine": "NPU18016",
    "cholesterol": "NPU01566",
    "ldl": "NPU01567",
}
HHMM = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)]


def hba1c(t, rng, who, day, z) -> np.ndarray:
    """HbA1c in mmol/mol on ``day`` for persons ``who`` with person effects ``z``."""
    ch = t.ch
    age = t.age_at(who, day)
    on1, on2 = ch.t1d[who], ch.t2d[who]
    before = np.where(on2 == NEVER, np.inf, (on2 - day) / DPY)
    pre = 10 * np.clip(1 - before / 3, 0, 1)
    m0, sd0, slope = P.HBA1C_NO_DIABETES
    normal = m0 + sd0 * z + slope * (age - 50) + pre
    since = (day - on2).clip(0)
    t2 = P.HBA1C_T2D[0] + P.HBA1C_T2D[1] * z + 14 * np.exp(-since / 120)
    t1 = P.HBA1C_T1D[0] + P.HBA1C_T1D[1] * z
    v = np.where(on1 <= day, t1, np.where(on2 <= day, t2, normal))
    v = v + rng.normal(0, P.HBA1C_WITHIN_SD, len(who))
    return np.clip(np.round(v), 18, 180)


def build_labs(t: ChunkRows) -> Built:
    """The lab_dm_forsker table of one chunk, one row per sample."""
    ch, rng = t.ch, t.rng
    who, day, kind = ch.labs.arrays()
    # A diagnostic HbA1c on the day type 2 diabetes is diagnosed.
    diag = np.flatnonzero(
        (ch.t2d >= np.maximum(ch.entry, P.LAB_START))
        & (ch.t2d <= ch.last)
        & (rng.random(ch.n) < 0.8)
    )
    who = np.concatenate([who, diag])
    day = np.concatenate([day, ch.t2d[diag]])
    kind = np.concatenate([kind, np.zeros(len(diag), dtype=np.int16)])
    order = np.lexsort((kind, day, who))
    who, day, kind = who[order], day[order], kind[order]
    n = len(who)
    z = rng.normal(0, 1, (ch.n, len(LAB_KINDS)))[who]
    diab = (ch.t1d[who] <= day) | (ch.t2d[who] <= day)
    age = t.age_at(who, day)
    male = ch.sex[who] == 1
    noise = rng.normal(0, 1, n)
    value = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [
            hba1c(t, rng, who, day, z[:, 0]),
            np.round(
                np.where(diab, 8.6 + 2 * z[:, 1] + 1.5 * noise, 5.4 + 0.5 * z[:, 1] + 0.4 * noise),
                1,
            ).clip(2.5, 35),
            np.round(
                np.where(male, 85, 68)
                + 12 * z[:, 2]
                + 0.4 * np.maximum(age - 50, 0)
                + 8 * diab
                + 6 * noise
            ).clip(30, 900),
            np.round(5.2 + 0.9 * z[:, 3] - 0.6 * diab + 0.3 * noise, 1).clip(1.5, 12),
        ],
        np.round(3.0 + 0.8 * z[:, 4] - 0.7 * diab + 0.25 * noise, 1).clip(0.3, 9),
    )
    npu = np.array([NPU_IX[KIND_NPU[k]] for k in LAB_KINDS])[kind]
    pct = (kind == 0) & (day < P.HBA1C_IFCC_FROM)
    npu = np.where(pct, NPU_IX[C.HBA1C_PCT], npu)
    value = np.where(pct, np.round(value / 10.929 + 2.15, 1), value)

    lab = rng.integers(0, len(LABS), ch.n)[who]
    integral = (kind == 2) | ((kind == 0) & ~pct)
    text = pc.if_else(
        pa.array(integral),
        pa.array(value.astype(np.int64)).cast(pa.string()),
        pa.array(value).cast(pa.string()),
    )
    comma = np.isin(lab, COMMA_LABS) & ~integral
    text = pc.if_else(pa.array(comma), pc.replace_substring(text, ".", ","), text)
    censored = (lab == CENSOR_LAB) & (kind == 2) & (value < 50)
    text = pc.if_else(pa.array(censored), pa.scalar("<50"), text)
    cancelled = rng.random(n) < 0.004
    text = pc.if_else(pa.array(cancelled), pa.scalar("Aflyst"), text)
    minute = rng.integers(7 * 60 + 30, 15 * 60, n)
    return {
        "lab_dm_forsker": (
            table(
                "lab_dm_forsker",
                {
                    "pnr": t.pnr_of(who),
                    "samplingdate": dates(day),
                    "samplingtime": take(HHMM, minute),
                    "analysiscode": take([x.code for x in C.NPU], npu),
                    "value": text,
                    "unit": take([x.unit for x in C.NPU], npu),
                    "referenceinterval_lowerlimit": take([x.lower for x in C.NPU], npu),
                    "referenceinterval_upperlimit": take([x.upper for x in C.NPU], npu),
                    "laboratorium_idcode": take(LABS, lab),
                },
            ),
            year_of(day),
        )
    }
