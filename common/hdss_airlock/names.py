"""What a column or row is, from its name: a count, a rate, a percentage, a statistic, a
minimum or maximum, person ids, or a label. Names are read as words ("deaths_per_year",
"DeathsPerYear" and "deaths per year" are the same three words), in any case.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

ID, MINMAX, RATE, PERCENT, STAT, MODEL, PERSON_TIME, COUNT, LABEL = (
    "id",
    "minmax",
    "rate",
    "percent",
    "stat",
    "model",
    "person-time",
    "count",
    "label",
)

ID_WORDS = {"pnr", "cpr", "cprnr", "personnummer", "lbnr", "vcpr", "kcprnr", "pnrhash", "ssn"}
ID_NAMES = {
    "id",
    "pid",
    "personid",
    "patientid",
    "subjectid",
    "individualid",
    "persid",
    "personkey",
    "patientkey",
    "recordid",
    "recnum",
    "personnr",
    "patientnr",
}
PERSON_WORDS = {"person", "patient", "subject", "individual", "pers", "borger"}
ID_SUFFIXES = {"id", "key", "nr", "no", "number", "hash", "hashed", "token"}
MINMAX_WORDS = {
    "min",
    "max",
    "minimum",
    "maximum",
    "lowest",
    "highest",
    "smallest",
    "largest",
    "youngest",
    "oldest",
    "first",
    "last",
    "range",
    "mindste",
    "største",
    "hoejeste",
    "laveste",
}
RATE_WORDS = {"rate", "rates", "incidence", "ir", "mortality", "rater"}
PERCENT_WORDS = {
    "pct",
    "percent",
    "percentage",
    "procent",
    "prop",
    "proportion",
    "share",
    "andel",
    "frac",
    "fraction",
    "prevalence",
    "risk",
}
SHARE_WORDS = {"prop", "proportion", "share", "andel", "frac", "fraction", "prevalence", "risk"}
STAT_WORDS = {
    "median",
    "mean",
    "avg",
    "average",
    "sd",
    "std",
    "stddev",
    "stdev",
    "sem",
    "iqr",
    "q1",
    "q2",
    "q3",
    "percentile",
    "quantile",
    "mode",
    "var",
    "variance",
    "gennemsnit",
    "middel",
}
MODEL_WORDS = {
    "coef",
    "coefficient",
    "beta",
    "hr",
    "or",
    "rr",
    "irr",
    "estimate",
    "est",
    "z",
    "p",
    "pvalue",
    "pval",
    "chi2",
    "ci",
    "lower",
    "upper",
    "lcl",
    "ucl",
    "ll",
    "ul",
    "lo",
    "hi",
    "aic",
    "bic",
    "r2",
    "loglik",
    "statistic",
    "df",
    "dof",
    "se",
    "ratio",
    "survival",
    "probability",
    "prob",
    "cumulative",
    "ddd",
    "safe",
    "threshold",
    "config",
    "param",
    "parameter",
    "setting",
    "version",
}
PERSON_TIME_WORDS = {"py", "pyrs", "pyar", "personyears", "persontime", "risktime", "persondays"}
TIME_UNITS = {"year", "years", "day", "days", "month", "months", "week", "weeks", "time", "aar"}
COUNT_WORDS = {
    "n",
    "nobs",
    "count",
    "counts",
    "cnt",
    "antal",
    "freq",
    "frequency",
    "number",
    "num",
    "cases",
    "case",
    "events",
    "event",
    "deaths",
    "death",
    "died",
    "dead",
    "persons",
    "person",
    "people",
    "patients",
    "patient",
    "individuals",
    "subjects",
    "users",
    "user",
    "births",
    "admissions",
    "contacts",
    "visits",
    "prescriptions",
    "fills",
    "diagnoses",
    "tests",
    "records",
    "observations",
    "obs",
    "total",
    "totals",
    "population",
    "pop",
    "denominator",
    "numerator",
    "atrisk",
    "men",
    "women",
    "boys",
    "girls",
    "children",
    "exposed",
    "unexposed",
    "treated",
    "untreated",
    "controls",
    "survivors",
    "censored",
    "emigrated",
    "emigrations",
    "immigrated",
    "personer",
    "patienter",
    "døde",
    "doede",
    "tilfælde",
    "borgere",
    "hændelser",
    "sum",
}
DENOMINATOR_WORDS = {"total", "population", "pop", "denominator", "atrisk", "eligible", "cohort"}
LABEL_WORDS = {
    "year",
    "aar",
    "år",
    "month",
    "maaned",
    "week",
    "uge",
    "day",
    "dag",
    "date",
    "dato",
    "age",
    "alder",
    "agegroup",
    "period",
    "periode",
    "koen",
    "køn",
    "sex",
    "gender",
    "region",
    "kom",
    "kommune",
    "municipality",
    "code",
    "kode",
    "codes",
    "type",
    "status",
    "group",
    "grp",
    "gruppe",
    "category",
    "cat",
    "class",
    "level",
    "stage",
    "grade",
    "decile",
    "quintile",
    "quartile",
    "tertile",
    "rank",
    "order",
    "index",
    "idx",
    "score",
    "cci",
    "weight",
    "weights",
    "prefix",
    "prefixes",
    "version",
    "cell",
    "row",
    "column",
    "line",
    "step",
    "label",
    "name",
    "description",
    "text",
    "source",
    "condition",
    "disease",
    "atc",
    "icd",
    "icd10",
    "sks",
    "npu",
    "diagnosis",
    "civst",
    "origin",
    "education",
    "hfaudd",
    "strata",
    "stratum",
    "cluster",
    "arm",
    "wave",
    "dose",
    "unit",
    "bin",
    "interval",
    "timeline",
    "lag",
    "window",
}


def words(name: str) -> tuple[str, ...]:
    """The words of a name, lower case: camelCase, snake_case and spaces split alike;
    ``at risk``/``person years`` also give their joined forms."""
    return _words(name)


@functools.lru_cache(maxsize=8192)
def _words(name: str) -> tuple[str, ...]:
    spaced = re.sub(r"([a-zæøå0-9])([A-ZÆØÅ])", r"\1 \2", name)
    out = [w for w in re.split(r"[^0-9a-zæøå%]+", spaced.lower()) if w]
    joined = [a + b for a, b in zip(out, out[1:], strict=False)]
    return tuple(out + [j for j in joined if j in _JOINABLE])


_JOINABLE = (
    {"atrisk", "personyears", "persontime", "risktime", "persondays", "agegroup", "pnrhash"}
    | {p + s for p in PERSON_WORDS for s in ID_SUFFIXES}
    | {"recordid", "recnum", "personnr"}
)


@dataclass(frozen=True)
class Role:
    """What a name says about the numbers under (or beside) it."""

    kind: str | None  # one of the constants above, or None (nothing known)
    scale: float | None = None  # rates and percentages: the value per this many
    share: bool = False  # a proportion that may be written from 0 to 1
    denominator: bool = False  # a head count that rates and percentages divide by

    @property
    def counts(self) -> bool:
        return self.kind == COUNT


NONE = Role(None)
RATE_SCALE = re.compile(r"per[\s_.-]*(\d[\d,._ ]*)\s*(k|000)?(?![\d])", re.I)
PERCENTILE_NAME = re.compile(r"^\s*(p|q)?\d{1,2}(\.\d+)?\s*%?\s*(percentile)?\s*$", re.I)


def role(name: str) -> Role:
    return _role(name)


@functools.lru_cache(maxsize=8192)
def _role(name: str) -> Role:
    """The role of a column or row named ``name`` (the strongest one its words give)."""
    text = name.strip()
    if not text:
        return NONE
    w = set(words(text))
    if "atrisk" in w:
        w -= {"at", "risk"}
    joined = "".join(re.split(r"[^0-9a-zæøå]+", text.lower()))
    if w & ID_WORDS or joined in ID_NAMES or any(x in _PERSON_IDS for x in w):
        return Role(ID)
    if re.fullmatch(r"\d{1,2}(\.\d+)?%", text) or any(re.fullmatch(r"p\d{1,2}", x) for x in w):
        return Role(STAT)
    if w & MINMAX_WORDS:
        return Role(MINMAX)
    scale = _rate_scale(text)
    if scale is not None or w & RATE_WORDS:
        if scale is None and w & PERCENT_WORDS:
            return _percent(text, w)
        return Role(RATE, scale=scale)
    if w & PERCENT_WORDS or "%" in text:
        return _percent(text, w)
    if w & STAT_WORDS:
        return Role(STAT)
    if w & MODEL_WORDS:
        return Role(MODEL)
    if w & PERSON_TIME_WORDS or ({"person", "persons"} & w and w & TIME_UNITS):
        return Role(PERSON_TIME, denominator=True)
    if w & COUNT_WORDS:
        return Role(COUNT, denominator=bool(w & DENOMINATOR_WORDS))
    if w & LABEL_WORDS:
        return Role(LABEL)
    return NONE


_PERSON_IDS = {p + s for p in PERSON_WORDS for s in ID_SUFFIXES} | {"personnr", "recordid"}


def _percent(text: str, w: set[str]) -> Role:
    share = bool(w & SHARE_WORDS) and "%" not in text and not ({"pct", "percent"} & w)
    return Role(PERCENT, scale=100.0, share=share)


def _rate_scale(text: str) -> float | None:
    """``per_1000`` -> 1000, ``per 100,000`` -> 100000, ``per10k`` -> 10000; None when
    the name gives no scale (``per_year`` is a count per period, not a rate)."""
    m = RATE_SCALE.search(text)
    if not m:
        return None
    digits = re.sub(r"[,._ ]", "", m.group(1))
    if not digits:
        return None
    value = float(digits)
    if m.group(2) and m.group(2).lower() == "k":
        value *= 1000
    return value if value >= 10 else None
