"""Calibration parameters of the life-course model, each with the source it was read from.

Rates are per person-year unless said otherwise. Age curves are given at knots and
interpolated linearly (``np.interp``), which keeps the simulation vectorised.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def day(y: int, m: int = 1, d: int = 1) -> int:
    """Days since 1970-01-01, the integer form of a date32 value."""
    return (dt.date(y, m, d) - EPOCH).days


FIRST_YEAR, LAST_YEAR = 1995, 2023
START, END = day(FIRST_YEAR), day(LAST_YEAR, 12, 31)
YEARS = np.arange(FIRST_YEAR, LAST_YEAR + 1)
YEAR_START = np.array([day(int(y)) for y in YEARS] + [day(LAST_YEAR + 1)], dtype=np.int64)
LPR3_START = day(2019, 3, 1)  # LPR2 ends February 2019, LPR3 starts 1 March 2019
LAB_START = day(2005)  # lab_dm_forsker coverage in the model
HBA1C_IFCC_FROM = day(2010)  # before this, laboratories reported HbA1c in % (NPU03835)
DAYS_PER_YEAR = 365.25

# dst-folk1a, dst-fod, dst-van: who is ever resident 1995-2023. About 5.2 million lived
# in Denmark on 1 Jan 1995; about 1.8 million were born and 1.6 million immigrated since.
ORIGIN_P = {"resident_1995": 0.605, "born": 0.21, "immigrant": 0.185}

# dst-folk1a: population 1 Jan 1995 by five-year age group 0-4 ... 95-99 (thousands).
PYRAMID_1995 = np.array(
    [
        335,
        300,
        295,
        320,
        365,
        400,
        395,
        360,
        370,
        385,
        355,
        265,
        235,
        225,
        210,
        165,
        115,
        60,
        22,
        5,
    ],
    dtype=float,
)
# Share of men by age (knots): women outlive men.
MALE_SHARE_AGE = ([0, 55, 65, 75, 85, 95], [0.512, 0.50, 0.48, 0.44, 0.34, 0.24])
MALE_SHARE_BIRTH = 0.513  # dst-fod

# dst-fod: live births per year 1995-2023 (thousands).
BIRTHS = np.array(
    [
        69.8,
        67.6,
        67.6,
        66.2,
        66.2,
        67.1,
        65.5,
        64.1,
        64.6,
        64.6,
        64.3,
        65.0,
        64.1,
        65.0,
        62.8,
        63.4,
        58.9,
        57.9,
        55.9,
        56.9,
        58.2,
        61.2,
        61.4,
        61.5,
        61.2,
        60.9,
        63.5,
        58.4,
        57.5,
    ]
)
# dst-van: immigrations per year 1995-2023 (thousands, foreign-born and returning).
IMMIGRATIONS = np.array(
    [
        63,
        54,
        50,
        51,
        50,
        52,
        55,
        52,
        49,
        49,
        53,
        57,
        65,
        58,
        52,
        52,
        52,
        54,
        60,
        68,
        78,
        74,
        68,
        64,
        65,
        57,
        67,
        121,
        96,
    ],
    dtype=float,
)
# Age at immigration (knots of a density).
IMMIGRANT_AGE = ([0, 10, 18, 22, 28, 35, 45, 60, 80], [2, 2, 3, 9, 10, 6, 2.5, 0.6, 0.1])

# dst-dod: Gompertz fit to Danish life tables around 2020, mu(a) = A exp(B a) + C, through
# the death rates at 60 and 90 (men 0.0075 and 0.17, women 0.0048 and 0.135), A a little
# lower because diabetes and cancer add their excess. Steep enough that about 5% of the
# population is 80+ (dst-folk1a: 4.6% in 2020, 5.2% in 2023).
GOMPERTZ = {1: (1.5e-5, 0.100), 2: (7.0e-6, 0.106)}
MAKEHAM = 1.0e-4
INFANT_MORTALITY = 0.0035  # extra hazard in the first year of life
MORTALITY_TREND = -0.02  # log hazard change per calendar year (life expectancy rose)
MORTALITY_REF_YEAR = 2020

# dst-van: emigration hazards (emigration is terminal in the model).
EMIGRATION_AGE = ([0, 18, 22, 30, 40, 60, 90], [0.003, 0.003, 0.012, 0.010, 0.004, 0.002, 0.001])
EMIGRATION_IMMIGRANT = ([0, 2, 5, 10, 40], [0.12, 0.09, 0.05, 0.02, 0.01])  # by years since

# carstensen-2020, esundhed-diabetes: T2D incidence per 1,000 person-years, men, by age.
T2D_INCIDENCE_AGE = (
    [0, 15, 25, 35, 45, 55, 65, 75, 85, 100],
    [0.0, 0.05, 0.6, 1.8, 4.5, 8.5, 11.5, 12.0, 10.0, 7.0],
)
T2D_FEMALE_RR = 0.72
# Scale of the incidence and the 1995 prevalence above: diagnosed type 2 diabetes about
# 4.4% of the population around 2020 (isaksen-2023, esundhed-diabetes), not 6%.
T2D_SCALE = 0.72
T2D_TREND = ([1995, 2000, 2005, 2011, 2016, 2023], [0.55, 0.72, 0.92, 1.10, 1.0, 0.92])
T2D_IMMIGRANT_RR = 1.6
# Prevalent (diagnosed) T2D at entry in 1995 by age, for persons resident then.
T2D_PREVALENCE_1995 = (
    [0, 30, 40, 50, 60, 70, 80, 100],
    [0.0, 0.002, 0.006, 0.018, 0.04, 0.06, 0.06, 0.05],
)
# carstensen-2020: T1D incidence per 100,000 person-years by age (children highest).
T1D_INCIDENCE_AGE = ([0, 5, 10, 14, 20, 30, 50, 100], [12, 25, 35, 30, 14, 9, 6, 4])
T1D_PREVALENCE_AGE = ([0, 10, 20, 40, 60, 100], [0.0005, 0.002, 0.004, 0.005, 0.005, 0.004])
# Scale of both type 1 curves: about 0.55% of the population has type 1 (carstensen-2020,
# diabetesforeningen: some 30,000 people).
T1D_SCALE = 1.15
DIABETES_MORTALITY_HR = {"t2d": 1.6, "t1d": 2.5}
T1D_CLINIC_VISITS = 1.0  # dvdd: adults with type 1 are followed in hospital clinics
# medstat, dvdd: glucose-lowering drugs. Metformin for about two thirds of people with
# type 2, some of whom stop (years, exponential); so about 3% of the population buys
# metformin in a year (medstat: ~180,000 users). Some adults with type 1 add metformin
# for a few years (isaksen-2023: a reason the classifier needs its second branch).
METFORMIN_T2D = {"share": 0.88, "mean_years": 50.0}
METFORMIN_T1D = {
    "share": 0.15,
    "start_years": 8.0,
    "mean_years": 3.0,
}  # carstensen-2020 (SMR ~1.5-2.5)

# dvdd: HbA1c in mmol/mol (IFCC).
HBA1C_NO_DIABETES = (35.5, 3.6, 0.05)  # mean at age 50, between-person sd, per-year of age
HBA1C_T2D = (53.0, 9.0)
HBA1C_T1D = (63.0, 9.0)
HBA1C_WITHIN_SD = 3.5
HBA1C_TESTS = {"no_diabetes": 0.12, "diabetes": 2.6}  # tests per person-year age 30+

# nordcan: crude incidence per 100,000 (all ages, own sex), Denmark ~2015-2019, the age
# shape (relative rate by age, knots), the sex, and the excess mortality in the first 5
# years after diagnosis (hazard ratio).
CANCERS = {
    "breast": (
        180,
        "F",
        ([0, 25, 40, 50, 60, 70, 80, 100], [0, 0.05, 0.8, 1.5, 2.2, 2.3, 2.0, 1.8]),
        3.0,
    ),
    "prostate": (160, "M", ([0, 45, 55, 65, 75, 85, 100], [0, 0.05, 1.0, 3.2, 4.2, 4.0, 3.5]), 3.0),
    "colorectal": (
        60,
        "",
        ([0, 30, 45, 55, 65, 75, 85, 100], [0, 0.03, 0.3, 1.0, 2.4, 3.8, 4.2, 4.0]),
        8.0,
    ),
    "rectum": (
        28,
        "",
        ([0, 30, 45, 55, 65, 75, 85, 100], [0, 0.03, 0.3, 1.0, 2.4, 3.6, 3.8, 3.5]),
        7.0,
    ),
    "lung": (
        82,
        "",
        ([0, 35, 45, 55, 65, 75, 85, 100], [0, 0.02, 0.3, 1.2, 3.0, 4.0, 3.5, 3.0]),
        30.0,
    ),
    "melanoma": (42, "", ([0, 15, 30, 45, 60, 75, 100], [0, 0.1, 0.7, 1.2, 1.8, 2.2, 2.2]), 2.0),
    "bladder": (34, "", ([0, 40, 55, 65, 75, 85, 100], [0, 0.1, 1.0, 2.5, 4.5, 5.5, 5.5]), 5.0),
    "cervix": (12, "F", ([0, 20, 30, 40, 50, 70, 100], [0, 0.3, 1.5, 1.5, 1.1, 1.0, 1.0]), 4.0),
}

# esundhed-lpr, schmidt-2015: hospital contacts (admissions, outpatient courses and
# emergency contacts) per person-year by age; heterogeneity between persons is gamma
# distributed with this shape.
CONTACT_RATE_AGE = (
    [0, 1, 5, 15, 25, 45, 65, 75, 85, 100],
    [1.6, 0.55, 0.35, 0.4, 0.5, 0.55, 0.9, 1.3, 1.6, 1.6],
)
CONTACT_FRAILTY_SHAPE = 1.2
CONTACT_RR = {"diabetes": 1.6, "cancer": 3.0}
# Inpatient, outpatient, emergency. esundhed-lpr: about 0.13 inpatient admissions per
# person-year (some 750,000 a year for 5.8 million people), and symptoms (chapter R) the
# main diagnosis of about 15% of them, so R contacts are admitted more often.
PATTYPE_P = {"0": 0.155, "2": 0.625, "3": 0.22}
PATTYPE_R_INPATIENT = 0.215
REASON_INPATIENT = 0.3  # diabetes and cancer contacts: mostly outpatient follow-up

# sssy, andersen-2011: contacts with general practice (consultations, telephone and e-mail)
# per person-year by age, about 7 in all (women of working age more); people with diabetes
# add about four (quarterly controls). Shares by mode; e-mail grows from 2009.
GP_CONTACT_AGE = (
    [0, 2, 5, 15, 25, 45, 65, 80, 90, 100],
    [9.0, 6.0, 3.2, 3.8, 5.0, 6.0, 8.5, 11.5, 13.0, 13.0],
)
GP_FEMALE_RR = 1.45
GP_DIABETES_EXTRA = 4.0
GP_MODE = {"phone": 0.30, "email": 0.20}  # the rest are consultations
# dvdd: diabetes care outside hospital: a yearly check in general practice, eye screening
# every other year, and diabetic foot care at a podiatrist for about a quarter (more in
# type 1), some years after the diagnosis.
DIABETES_CARE = {"yearly_check": 0.85, "eye_screening": 0.45}
PODIATRY = {"t1d": 0.35, "t2d": 0.25, "years_to_referral": 4.0, "per_year": 3.0}
HBA1C_FROM_GP = 0.85  # share of HbA1c samples taken in general practice

# medstat: chronic drug use. For each drug group, the yearly start hazard by age (knots),
# the sex it is restricted to, the yearly stop hazard and the ATC codes by period.
CHRONIC_DRUGS = {
    "statin": (([0, 35, 45, 55, 65, 75, 100], [0, 0.002, 0.012, 0.03, 0.05, 0.05, 0.03]), "", 0.06),
    "ace": (([0, 30, 45, 55, 65, 75, 100], [0, 0.002, 0.01, 0.02, 0.03, 0.035, 0.03]), "", 0.05),
    "ccb": (([0, 30, 45, 55, 65, 75, 100], [0, 0.001, 0.006, 0.012, 0.02, 0.025, 0.02]), "", 0.06),
    "thiazide": (([0, 40, 55, 70, 100], [0, 0.003, 0.008, 0.012, 0.01]), "", 0.08),
    "betablocker": (([0, 35, 50, 65, 80, 100], [0, 0.002, 0.006, 0.015, 0.02, 0.02]), "", 0.07),
    "aspirin": (([0, 45, 60, 75, 100], [0, 0.003, 0.012, 0.025, 0.025]), "", 0.06),
    "ppi": (([0, 15, 30, 50, 70, 100], [0.001, 0.008, 0.015, 0.02, 0.03, 0.03]), "", 0.25),
    "levothyroxine": (([0, 20, 40, 60, 100], [0.0002, 0.002, 0.004, 0.005, 0.004]), "", 0.02),
    "ssri": (([0, 12, 18, 30, 60, 80, 100], [0, 0.004, 0.012, 0.012, 0.01, 0.02, 0.02]), "", 0.3),
    "salbutamol": (([0, 3, 10, 20, 60, 100], [0.006, 0.012, 0.008, 0.006, 0.008, 0.008]), "", 0.3),
    "contraceptive": (([0, 14, 17, 25, 35, 46, 100], [0, 0.05, 0.12, 0.04, 0.02, 0, 0]), "F", 0.2),
    "tamsulosin": (([0, 50, 65, 80, 100], [0, 0.003, 0.01, 0.015, 0.015]), "M", 0.08),
}
# esundhed-lpr, medstat: acute courses (antibiotics, analgesics) per person-year by age.
ACUTE_DRUGS = {
    "antibiotic": ([0, 2, 6, 15, 30, 60, 80, 100], [0.9, 0.7, 0.35, 0.3, 0.3, 0.35, 0.5, 0.6]),
    "analgesic": ([0, 15, 40, 65, 85, 100], [0, 0.05, 0.08, 0.15, 0.3, 0.3]),
}

# dst-hfudd: highest education by birth cohort (shares of H10, H20, H30, H40, H50, H60,
# H70, H80) for cohorts born 1920, 1950, 1980, 2000 (interpolated).
EDUCATION_COHORTS = [1920, 1950, 1980, 2000]
EDUCATION_SHARES = np.array(
    [
        [0.55, 0.02, 0.30, 0.03, 0.07, 0.00, 0.03, 0.00],
        [0.30, 0.03, 0.37, 0.05, 0.16, 0.01, 0.07, 0.01],
        [0.18, 0.08, 0.30, 0.07, 0.21, 0.03, 0.12, 0.01],
        [0.16, 0.10, 0.22, 0.07, 0.23, 0.05, 0.16, 0.01],
    ]
)
EDUCATION_AGE = [16, 19, 20, 22, 24, 24, 26, 30]  # typical age when completed

# dst-indkp: median personal income (DKK) by age in 2020, growth 2.5% a year nominal.
INCOME_AGE = (
    [15, 18, 25, 35, 50, 60, 67, 80, 100],
    [15e3, 60e3, 200e3, 330e3, 390e3, 370e3, 220e3, 190e3, 180e3],
)
INCOME_FEMALE_RR = 0.8
INCOME_GROWTH = 0.025
INCOME_SD = 0.5  # lognormal, between persons
