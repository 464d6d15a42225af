"""Published figures the generator is calibrated to; every one is cited in the manifest.

``used_for`` says which parameters in :mod:`hdss_registers.params` come from the source.
The parameters are rounded readings of these figures, not exact copies.
"""

from __future__ import annotations

SOURCES: tuple[dict, ...] = (
    {
        "key": "dst-folk1a",
        "title": "Statistics Denmark, StatBank FOLK1A/BEF5: Population by sex and age",
        "path": "https://www.statbank.dk/FOLK1A",
        "used_for": "age and sex pyramid on 1 January 1995, population size over time",
    },
    {
        "key": "dst-fod",
        "title": "Statistics Denmark, StatBank FOD: Live births",
        "path": "https://www.statbank.dk/FOD",
        "used_for": "births per year 1995-2023, sex ratio at birth",
    },
    {
        "key": "dst-dod",
        "title": "Statistics Denmark, StatBank DOD and HISB8: Deaths and life tables",
        "path": "https://www.statbank.dk/HISB8",
        "used_for": "age- and sex-specific mortality (Gompertz fit), period decline",
    },
    {
        "key": "dst-van",
        "title": "Statistics Denmark, StatBank VAN1AAR/VAN2AAR: Immigrations and emigrations",
        "path": "https://www.statbank.dk/VAN1AAR",
        "used_for": "immigrants per year, age at immigration, emigration rates",
    },
    {
        "key": "dst-hfudd",
        "title": "Statistics Denmark, StatBank HFUDD11: Highest education attained",
        "path": "https://www.statbank.dk/HFUDD11",
        "used_for": "education levels by birth cohort",
    },
    {
        "key": "dst-indkp",
        "title": "Statistics Denmark, StatBank INDKP101: Income by age and sex",
        "path": "https://www.statbank.dk/INDKP101",
        "used_for": "personal income level by age and sex, growth over time",
    },
    {
        "key": "carstensen-2020",
        "title": "Carstensen B, Roenn PF, Joergensen ME. Prevalence, incidence and mortality "
        "of type 1 and type 2 diabetes in Denmark 1996-2016. BMJ Open Diabetes Res Care "
        "2020;8:e001071",
        "path": "https://doi.org/10.1136/bmjdrc-2019-001071",
        "used_for": "T1D/T2D incidence by age and sex, trend, prevalence, mortality ratios",
    },
    {
        "key": "diabetesforeningen",
        "title": "Diabetesforeningen: Tal og fakta om diabetes (about 300,000 diagnosed, "
        "about 10% type 1)",
        "path": "https://diabetes.dk/diabetes-1/fakta-om-diabetes/tal-og-statistik",
        "used_for": "diabetes prevalence 2020s, share of type 1",
    },
    {
        "key": "esundhed-diabetes",
        "title": "Sundhedsdatastyrelsen, eSundhed: Udvalgte kroniske sygdomme og svaere "
        "psykiske lidelser (RUKS)",
        "path": "https://www.esundhed.dk/Emner/Patienter-og-sygdomme/"
        "Udvalgte-kroniske-sygdomme-og-svaere-psykiske-lidelser",
        "used_for": "diabetes prevalence and incidence by age and sex",
    },
    {
        "key": "dvdd",
        "title": "RKKP, Dansk Voksen Diabetes Database (DVDD), national annual reports",
        "path": "https://www.rkkp.dk/kvalitetsdatabaser/databaser/dansk-voksen-diabetes-database/",
        "used_for": "HbA1c distribution in type 1 and type 2 diabetes, testing frequency",
    },
    {
        "key": "arendt-2020",
        "title": "Arendt JFH et al. Existing data sources in clinical epidemiology: "
        "laboratory information system databases in Denmark. Clin Epidemiol 2020;12:469-475",
        "path": "https://doi.org/10.2147/CLEP.S245060",
        "used_for": "register of laboratory results (lab_dm_forsker): NPU codes, text values",
    },
    {
        "key": "nordcan",
        "title": "NORDCAN: Cancer statistics for the Nordic countries (IARC / Association "
        "of the Nordic Cancer Registries), Denmark",
        "path": "https://nordcan.iarc.fr/",
        "used_for": "incidence of breast, prostate, colorectal, lung, melanoma, bladder and "
        "cervical cancer by age and sex; survival",
    },
    {
        "key": "schmidt-2015",
        "title": "Schmidt M et al. The Danish National Patient Registry: a review of content, "
        "data quality, and research potential. Clin Epidemiol 2015;7:449-490",
        "path": "https://doi.org/10.2147/CLEP.S91125",
        "used_for": "LPR2 structure (recnum, pattype, diagnosis types), contact rates",
    },
    {
        "key": "sds-lpr3",
        "title": "Sundhedsdatastyrelsen: Landspatientregisteret (LPR3) - documentation of "
        "the 2019 data model (kontakter, forloeb, diagnoser, procedurer)",
        "path": "https://sundhedsdatastyrelsen.dk/da/registre-og-services/"
        "om-de-nationale-sundhedsregistre/sygedomme-laegemidler-og-behandlinger/"
        "landspatientregisteret",
        "used_for": "LPR3 tables from March 2019, contact and diagnosis type codes",
    },
    {
        "key": "esundhed-lpr",
        "title": "Sundhedsdatastyrelsen, eSundhed: Sygehusbenyttelse (hospital use statistics)",
        "path": "https://www.esundhed.dk/Emner/Operationer-og-diagnoser",
        "used_for": "hospital contacts per person-year by age, main-diagnosis chapter mix",
    },
    {
        "key": "pottegard-2017",
        "title": "Pottegaard A et al. Data resource profile: the Danish National "
        "Prescription Registry. Int J Epidemiol 2017;46:798-798f",
        "path": "https://doi.org/10.1093/ije/dyw213",
        "used_for": "lmdb structure (eksd, atc, apk, packsize, volume)",
    },
    {
        "key": "medstat",
        "title": "Sundhedsdatastyrelsen: medstat.dk, users of prescription drugs by ATC, "
        "age and sex",
        "path": "https://medstat.dk/",
        "used_for": "share of the population using each drug class by age and sex",
    },
    {
        "key": "helweg-larsen-2011",
        "title": "Helweg-Larsen K. The Danish Register of Causes of Death. Scand J Public "
        "Health 2011;39(7 Suppl):26-29",
        "path": "https://doi.org/10.1177/1403494811399958",
        "used_for": "causes of death table (dodsaars), underlying cause coding",
    },
    {
        "key": "who-atc",
        "title": "WHO Collaborating Centre for Drug Statistics Methodology: ATC/DDD Index",
        "path": "https://atcddd.fhi.no/atc_ddd_index/",
        "used_for": "ATC codes and defined daily doses in lookup_atc",
    },
    {
        "key": "npu",
        "title": "NPU terminology (Nomenclature for Properties and Units), Danish release",
        "path": "https://www.labterm.dk/",
        "used_for": "laboratory analysis codes in lookup_npu",
    },
    {
        "key": "sks",
        "title": "Sundhedsdatastyrelsen: SKS-browseren (Sundhedsvaesenets Klassifikations System)",
        "path": "https://medinfo.dk/sks/brows.php",
        "used_for": "ICD-10 codes with the D prefix and procedure codes",
    },
    {
        "key": "dst-spec",
        "title": "Statistics Denmark, TIMES documentation: SPEC (specialty of the hospital "
        "department, the Danish specialty classification: code and text)",
        "path": "https://www.dst.dk/da/Statistik/dokumentation/Times/forebyggelsesregistret/spec",
        "used_for": "LPR2 c_spec codes and LPR3 hovedspeciale_ans names (lookup_spec)",
    },
    {
        "key": "sds-lpr2",
        "title": "Sundhedsdatastyrelsen: Faellesindhold for basisregistrering af sygehuspatienter "
        "(LPR2 reporting rules: patient type, admission mode, diagnosis types)",
        "path": "https://sundhedsdatastyrelsen.dk/da/registre-og-services/"
        "om-de-nationale-sundhedsregistre/sygedomme-laegemidler-og-behandlinger/"
        "landspatientregisteret",
        "used_for": "c_pattype (0, 2, 3), c_indm (1, 2), c_diagtype (A, B)",
    },
    {
        "key": "dst-kommuner",
        "title": "Statistics Denmark: Classification of municipalities (KOMMUNER, the 98 "
        "municipalities from 2007)",
        "path": "https://www.dst.dk/da/Statistik/dokumentation/nomenklaturer/kommuner",
        "used_for": "bef.kom municipality codes",
    },
    {
        "key": "dst-sssy",
        "title": "Statistics Denmark, TIMES documentation: Sygesikringsregisteret (SSSY from "
        "2006, SYSI before): PNR, HONUGE, SPECIALE, BARNMAK",
        "path": "https://www.dst.dk/da/Statistik/dokumentation/Times/sygesikringsregister",
        "used_for": "sysi and sssy columns, week coding yyww, speciality codes (80 general "
        "practice, 54 podiatrist)",
    },
    {
        "key": "andersen-2011",
        "title": "Andersen JS, Olivarius NdeF, Krasnik A. The Danish National Health Service "
        "Register. Scand J Public Health 2011;39(7 Suppl):34-37",
        "path": "https://doi.org/10.1177/1403494810394718",
        "used_for": "services in general practice and specialist practice, about 7 contacts "
        "with general practice per person-year",
    },
    {
        "key": "isaksen-2023",
        "title": "Isaksen AA et al. Validation of register-based diabetes classifiers in "
        "Danish data. Clin Epidemiol 2023;15:569-581 (the open-source diabetes classifier)",
        "path": "https://doi.org/10.2147/CLEP.S407019",
        "used_for": "the external diabetes classifier of the tests: type 2 ~4.4%, type 1 "
        "~0.5% of the population",
    },
)
