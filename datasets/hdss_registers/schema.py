"""The published tables: columns, types, keys and descriptions, in one place.

The Parquet schemas, the Frictionless manifest, ``verify`` and the data dictionary are all
derived from :data:`TABLES`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

STR, I8, I16, I32, I64, F64, DATE = (
    pa.string(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.float64(),
    pa.date32(),
)
# Row groups of the clustered tables (the others have one row group per chunk). Every row
# group costs the open writer ~870 bytes of footer per column until the file closes, so
# the row group count sets generation's peak memory at `full`; the size per table keeps a
# code filter skipping most row groups (tests/datasets/test_layout.py).
ROW_GROUP_ROWS = 8192
FRICTIONLESS = {
    STR: "string",
    I8: "integer",
    I16: "integer",
    I32: "integer",
    I64: "integer",
    F64: "number",
    DATE: "date",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    register: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    partitioned: bool = False  # one Parquet file per calendar year
    # Rows ordered by this column within each chunk and year, cut into row groups of at
    # most row_group_rows with min/max statistics: a filter on it skips most row groups.
    cluster_by: str | None = None
    row_group_rows: int = ROW_GROUP_ROWS

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, f.type, nullable=f.nullable) for f in self.fields])

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


PNR = Field(
    "pnr",
    STR,
    "Pseudonymised person id: a letter then 9 characters; never a CPR "
    "number. Links every person-level table.",
)


def person_fk() -> ForeignKey:
    return ForeignKey(("pnr",), "t_person", ("pnr",))


def icd_fk(col: str) -> ForeignKey:
    return ForeignKey((col,), "lookup_icd10", ("code",))


KOEN = Field("koen", I8, "Sex: 1 man, 2 woman")
FOED = Field("foed_dag", DATE, "Date of birth")


def _health_insurance(name: str, years: str) -> Table:
    return Table(
        name,
        f"Sygesikringsregisteret ({name.upper()}), {years}",
        "Services paid by the public health insurance in general practice, specialist "
        "practice and at podiatrists: one row per person, week, practice speciality and "
        "service, with the number of services. Services to 2005 are in sysi, from 2006 in "
        "sssy (same columns). There is no date: honuge is the ISO week.",
        (
            PNR,
            Field("honuge", STR, "Week of the service, yyww: two-digit ISO year, ISO week"),
            Field(
                "speciale",
                STR,
                "Speciality of the practice: 80 general practice, 15 ophthalmologist, "
                "54 podiatrist (diabetic foot care)",
            ),
            Field("ydelsesnummer", STR, "Service number of the collective agreement"),
            Field(
                "barnmak",
                I8,
                "1 when the service was to the person's child (booked on the parent's pnr); "
                "always 0 here: the model has no families",
            ),
            Field("antydel", I16, "Number of services"),
        ),
        (),
        (person_fk(),),
        partitioned=True,
        cluster_by="speciale",
        row_group_rows=4 * ROW_GROUP_ROWS,  # the largest register, ~15 specialities
    )


TABLES: tuple[Table, ...] = (
    Table(
        "t_person",
        "CPR (Det Centrale Personregister)",
        "One row per person ever resident in Denmark 1995-2023, with the status at the end.",
        (
            PNR,
            KOEN,
            FOED,
            Field("c_status", STR, "CPR status: 01 resident, 80 emigrated, 90 dead"),
            Field("d_status_hen_start", DATE, "Date the status took effect"),
        ),
        ("pnr",),
    ),
    Table(
        "bef",
        "BEF (Befolkningen), Statistics Denmark",
        "Population snapshot on 31 December each year 1995-2023: one row per person "
        "alive and resident that day.",
        (
            PNR,
            Field("aar", I16, "Year of the snapshot"),
            Field("referencetid", DATE, "Reference date of the snapshot (31 December)"),
            KOEN,
            FOED,
            Field("alder", I16, "Age in completed years on the reference date"),
            Field("civst", STR, "Civil status: U unmarried, G married, F divorced, E widowed"),
            Field("kom", I16, "Municipality code, one of the 98 codes from 2007 (101 Koebenhavn)"),
            Field("ie_type", I8, "Origin: 1 Danish origin, 2 immigrant, 3 descendant"),
        ),
        ("pnr", "aar"),
        (person_fk(),),
        partitioned=True,
    ),
    Table(
        "dod",
        "DOD (Doedsregisteret)",
        "Date of death, one row per person who died.",
        (PNR, Field("doddato", DATE, "Date of death")),
        ("pnr",),
        (person_fk(),),
    ),
    Table(
        "dodsaars",
        "DAR (Doedsaarsagsregisteret)",
        "Causes of death, ICD-10 with the D prefix.",
        (
            PNR,
            Field("d_dodsdto", DATE, "Date of death"),
            Field("c_dodtilgrundl_acme", STR, "Underlying cause of death (ACME)"),
            Field("c_dod1", STR, "First cause on the certificate"),
            Field("c_dod2", STR, "Contributing cause, if any", nullable=True),
        ),
        ("pnr",),
        (person_fk(), icd_fk("c_dodtilgrundl_acme"), icd_fk("c_dod1"), icd_fk("c_dod2")),
    ),
    Table(
        "vnds",
        "VNDS (Vandringer), Statistics Denmark",
        "Immigrations (I) and emigrations (U). Emigration ends follow-up in this dataset.",
        (
            PNR,
            Field("indud_kode", STR, "I immigration, U emigration"),
            Field("haend_dato", DATE, "Date of the migration"),
        ),
        ("pnr", "haend_dato", "indud_kode"),
        (person_fk(),),
    ),
    Table(
        "lpr_adm",
        "LPR2 (Landspatientregisteret) T_ADM",
        "Hospital contacts 1995 to February 2019: admissions, outpatient courses and "
        "emergency contacts. c_adiag repeats the contact's A diagnosis.",
        (
            PNR,
            Field("recnum", STR, "Contact id, links lpr_diag and lpr_sksopr"),
            Field(
                "c_pattype",
                STR,
                "Patient type (LPR2 value set): 0 heldoegnspatient (inpatient admission), "
                "2 ambulant (outpatient), 3 skadestue (emergency room)",
            ),
            Field("c_indm", STR, "Admission mode: 1 akut (acute), 2 ikke akut (planned)"),
            Field("d_inddto", DATE, "Start date"),
            Field("d_uddto", DATE, "End date"),
            Field("c_sgh", STR, "Hospital code"),
            Field(
                "c_spec",
                STR,
                "Specialty of the department, two digits of the Danish specialty "
                "classification, e.g. 08 medicinsk endokrinologi (lookup_spec.code)",
            ),
            Field("c_adiag", STR, "Main (action) diagnosis, ICD-10 with D prefix"),
        ),
        ("recnum",),
        (
            person_fk(),
            icd_fk("c_adiag"),
            ForeignKey(("c_spec",), "lookup_spec", ("code",)),
        ),
        partitioned=True,
    ),
    Table(
        "lpr_diag",
        "LPR2 T_DIAG",
        "Diagnoses per LPR2 contact: exactly one A (main) and any number of B (secondary).",
        (
            Field("recnum", STR, "Contact id (lpr_adm.recnum)"),
            Field("c_diag", STR, "Diagnosis code, ICD-10 with D prefix"),
            Field("c_diagtype", STR, "A main diagnosis, B secondary diagnosis"),
        ),
        ("recnum", "c_diag", "c_diagtype"),
        (ForeignKey(("recnum",), "lpr_adm", ("recnum",)), icd_fk("c_diag")),
        partitioned=True,
        cluster_by="c_diag",
    ),
    Table(
        "lpr_sksopr",
        "LPR2 T_SKSOPR",
        "Procedures per LPR2 contact (SKS codes).",
        (
            Field("recnum", STR, "Contact id (lpr_adm.recnum)"),
            Field("c_opr", STR, "Procedure code (SKS)"),
            Field("c_oprart", STR, "P primary, D secondary procedure"),
            Field("d_odto", DATE, "Procedure date"),
        ),
        ("recnum", "c_opr"),
        (
            ForeignKey(("recnum",), "lpr_adm", ("recnum",)),
            ForeignKey(("c_opr",), "lookup_sks", ("code",)),
        ),
        partitioned=True,
    ),
    Table(
        "lpr_a_kontakt",
        "LPR3 kontakter",
        "Hospital contacts from 1 March 2019 (LPR3): every outpatient visit is its own "
        "contact; contacts belong to a course (forloeb). Delivery followed: the columns of "
        "Sundhedsdatastyrelsen's LPR3_F tables kontakter/diagnoser/procedurer (dato_start, "
        "hovedspeciale_ans, diagnosekode, diagnosetype) under the lpr_a_* table names; the "
        "LPR_A delivery names the same columns kont_starttidspunkt, kont_ans_hovedspec, "
        "diag_kode and diag_kode_type.",
        (
            Field("dw_ek_kontakt", I64, "Contact id"),
            Field("dw_ek_forloeb", I64, "Course id"),
            PNR,
            Field("dato_start", DATE, "Start date"),
            Field("tidspunkt_start", STR, "Start time HH:MM:SS"),
            Field("dato_slut", DATE, "End date"),
            Field("tidspunkt_slut", STR, "End time"),
            Field("kontakttype", STR, "ALCA00 physical attendance, ALCA10 virtual contact"),
            Field("prioritet", STR, "ATA1 acute, ATA3 planned"),
            Field(
                "hovedspeciale_ans",
                STR,
                "Main specialty of the responsible unit, its name in lower case as the "
                "LPR3 delivery spells it, e.g. 'medicinsk endokrinologi' (lookup_spec.text)",
            ),
            Field("sorenhed_ans", STR, "SOR code of the responsible unit"),
            Field("aktionsdiagnose", STR, "Action (main) diagnosis, ICD-10 with D prefix"),
        ),
        ("dw_ek_kontakt",),
        (
            person_fk(),
            icd_fk("aktionsdiagnose"),
            ForeignKey(("hovedspeciale_ans",), "lookup_spec", ("text",)),
        ),
        partitioned=True,
    ),
    Table(
        "lpr_a_diagnose",
        "LPR3 diagnoser",
        "Diagnoses per LPR3 contact: exactly one A diagnosis and any number of B.",
        (
            Field("dw_ek_kontakt", I64, "Contact id (lpr_a_kontakt.dw_ek_kontakt)"),
            Field("diagnosekode", STR, "Diagnosis code, ICD-10 with D prefix"),
            Field("diagnosetype", STR, "A action diagnosis, B secondary diagnosis"),
            Field("senere_afkraeftet", STR, "Later disproved: Nej or Ja"),
        ),
        ("dw_ek_kontakt", "diagnosekode", "diagnosetype"),
        (
            ForeignKey(("dw_ek_kontakt",), "lpr_a_kontakt", ("dw_ek_kontakt",)),
            icd_fk("diagnosekode"),
        ),
        partitioned=True,
        cluster_by="diagnosekode",
    ),
    Table(
        "lpr_a_procedurer",
        "LPR3 procedurer",
        "Procedures per LPR3 contact (SKS codes).",
        (
            Field("dw_ek_kontakt", I64, "Contact id (lpr_a_kontakt.dw_ek_kontakt)"),
            Field("procedurekode", STR, "Procedure code (SKS)"),
            Field("proceduretype", STR, "P primary, D secondary"),
            Field("dato_start", DATE, "Procedure date"),
            Field("tidspunkt_start", STR, "Procedure time HH:MM:SS"),
        ),
        ("dw_ek_kontakt", "procedurekode"),
        (
            ForeignKey(("dw_ek_kontakt",), "lpr_a_kontakt", ("dw_ek_kontakt",)),
            ForeignKey(("procedurekode",), "lookup_sks", ("code",)),
        ),
        partitioned=True,
    ),
    Table(
        "lmdb",
        "LMDB (Laegemiddelstatistikregisteret)",
        "Redeemed prescriptions, one row per dispensing. No primary key (as in the real "
        "register, the same drug can be redeemed twice a day).",
        (
            PNR,
            Field("eksd", DATE, "Dispensing date (ekspeditionsdato)"),
            Field("atc", STR, "ATC code"),
            Field("vnr", STR, "Product number (varenummer)"),
            Field("apk", I16, "Number of packages"),
            Field("packsize", I32, "Units per package"),
            Field("volume", F64, "Defined daily doses (DDD) per package"),
            Field("voltypetxt", STR, "Unit of volume (DDD)"),
            Field("strnum", F64, "Strength"),
            Field("strunit", STR, "Unit of strength"),
        ),
        (),
        (person_fk(), ForeignKey(("atc",), "lookup_atc", ("atc",))),
        partitioned=True,
        cluster_by="atc",
        row_group_rows=2 * ROW_GROUP_ROWS,
    ),
    Table(
        "lab_dm_forsker",
        "Laboratoriedatabasen (RLRR), diabetes research extract",
        "Laboratory results. value is TEXT as in the register: numbers with a decimal point "
        "or comma, censored values like '<50', and words like 'Aflyst' (cancelled). HbA1c "
        "is NPU03835 (%) before 2010 and NPU27300 (mmol/mol) after. Delivery followed: the "
        "diabetes research extract (lab_dm_forsker) with pnr and value; the general "
        "extract (laboratorieproevesvar) names them patient_cpr (or cprnummer) and samplevalue.",
        (
            PNR,
            Field("samplingdate", DATE, "Sampling date"),
            Field("samplingtime", STR, "Sampling time HH:MM"),
            Field("analysiscode", STR, "NPU code"),
            Field("value", STR, "Result as text"),
            Field("unit", STR, "Unit"),
            Field("referenceinterval_lowerlimit", STR, "Reference interval, lower limit"),
            Field("referenceinterval_upperlimit", STR, "Reference interval, upper limit"),
            Field("laboratorium_idcode", STR, "Laboratory"),
        ),
        (),
        (person_fk(), ForeignKey(("analysiscode",), "lookup_npu", ("code",))),
        partitioned=True,
        cluster_by="analysiscode",
    ),
    Table(
        "uddf",
        "UDDF (Uddannelser), Statistics Denmark",
        "Highest completed education with validity periods; an open period ends 9999-12-31.",
        (
            PNR,
            Field("hfaudd", STR, "Highest completed education (code)"),
            Field("hf_vfra", DATE, "Valid from"),
            Field("hf_vtil", DATE, "Valid to"),
        ),
        ("pnr", "hf_vfra"),
        (person_fk(), ForeignKey(("hfaudd",), "lookup_hfaudd", ("hfaudd",))),
    ),
    Table(
        "ind",
        "IND (Indkomst), Statistics Denmark",
        "Yearly income (DKK, current prices) for persons aged 15+ in bef that year.",
        (
            PNR,
            Field("aar", I16, "Income year"),
            Field("perindkialt", I64, "Total personal income (can be negative)"),
            Field("loenmv", I64, "Wage income"),
            Field("dispon_13", I64, "Disposable income"),
        ),
        ("pnr", "aar"),
        (person_fk(),),
        partitioned=True,
    ),
    _health_insurance("sysi", "1995-2005"),
    _health_insurance("sssy", "2006-2023"),
    Table(
        "lookup_icd10",
        "SKS diagnosis codes",
        "ICD-10 codes used, with the Danish D prefix.",
        (
            Field("code", STR, "Code, e.g. DE119"),
            Field("text", STR, "Text"),
            Field("chapter", STR, "ICD-10 chapter letter (after the D)"),
            Field("sex", STR, "M or F when the code is valid for one sex only", nullable=True),
        ),
        ("code",),
    ),
    Table(
        "lookup_atc",
        "WHO ATC/DDD Index",
        "ATC codes used, with defined daily doses.",
        (
            Field("atc", STR, "ATC code"),
            Field("text", STR, "Substance"),
            Field("ddd", F64, "Defined daily dose", nullable=True),
            Field("ddd_unit", STR, "Unit of the DDD"),
            Field("sex", STR, "M or F when used by one sex only", nullable=True),
        ),
        ("atc",),
    ),
    Table(
        "lookup_npu",
        "NPU terminology",
        "Laboratory analysis codes used.",
        (
            Field("code", STR, "NPU code"),
            Field("text", STR, "Property"),
            Field("unit", STR, "Unit"),
        ),
        ("code",),
    ),
    Table(
        "lookup_sks",
        "SKS procedure codes",
        "Procedure codes used.",
        (
            Field("code", STR, "SKS code"),
            Field("text", STR, "Text"),
            Field("sex", STR, "M or F when valid for one sex only", nullable=True),
            Field("kind", STR, "surgery, treatment, imaging or examination"),
        ),
        ("code",),
    ),
    Table(
        "lookup_hfaudd",
        "Education codes",
        "Education codes used, with Statistics Denmark's HFUDD11 level and ISCED.",
        (
            Field("hfaudd", STR, "Education code"),
            Field("text", STR, "Text"),
            Field("level", STR, "HFUDD11 level H10-H90"),
            Field("isced", STR, "ISCED level"),
        ),
        ("hfaudd",),
    ),
)

TABLES = TABLES + (
    Table(
        "lookup_spec",
        "Danish specialty classification (Statistics Denmark's SPEC)",
        "Specialties of hospital departments: LPR2 c_spec is the code, LPR3 "
        "hovedspeciale_ans the text.",
        (
            Field("code", STR, "Two-digit specialty code (c_spec)"),
            Field("text", STR, "Name as LPR3 spells it (hovedspeciale_ans)"),
            Field("medical", STR, "endocrinology, medical (01-30 but 08) or other"),
        ),
        ("code",),
    ),
)

BY_NAME = {t.name: t for t in TABLES}
