"""Code lists: ICD-10 (Danish ``D`` prefix), ATC with DDD, NPU, SKS procedures, education.

Each list is a curated subset, large enough for teaching (chapter mix, sex-specific codes,
diabetes and cancer codes), not the full classification. The generator only draws codes
from these lists, and the lookup tables published with every dataset are built from them,
so every code in a data table resolves.

``sex`` is ``"M"`` or ``"F"`` for codes only valid in one sex, ``""`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Icd:
    code: str  # Danish SKS form: D + ICD-10 without the dot, e.g. DE119
    text: str
    sex: str = ""
    weight: float = 0.0  # share among "other" hospital contacts (main diagnosis mix)
    min_age: int = 0
    max_age: int = 120


# Main-diagnosis mix of ordinary hospital contacts, roughly by ICD-10 chapter as in the
# Danish National Patient Registry (Schmidt et al. 2015; eSundhed LPR statistics).
ICD10: tuple[Icd, ...] = (
    # Chapter I, infections
    Icd("DA090", "Gastroenteritis and colitis of infectious origin", weight=1.0),
    Icd("DA419", "Sepsis, unspecified", weight=0.6, min_age=40),
    Icd("DB349", "Viral infection, unspecified", weight=0.8),
    # Chapter II, neoplasms (cancer codes are used by the cancer model, not the mix)
    Icd("DC189", "Malignant neoplasm of colon, unspecified"),
    Icd("DC209", "Malignant neoplasm of rectum"),
    Icd("DC349", "Malignant neoplasm of bronchus or lung, unspecified"),
    Icd("DC439", "Malignant melanoma of skin, unspecified"),
    Icd("DC509", "Malignant neoplasm of breast, unspecified", sex="F"),
    Icd("DC539", "Malignant neoplasm of cervix uteri, unspecified", sex="F"),
    Icd("DC619", "Malignant neoplasm of prostate", sex="M"),
    Icd("DC679", "Malignant neoplasm of bladder, unspecified"),
    Icd("DD259", "Leiomyoma of uterus, unspecified", sex="F", weight=0.4, min_age=25),
    Icd("DD126", "Benign neoplasm of colon, unspecified", weight=0.6, min_age=40),
    # Chapter III-IV, blood and endocrine
    Icd("DD509", "Iron deficiency anaemia, unspecified", weight=0.5),
    Icd("DE039", "Hypothyroidism, unspecified", weight=0.4),
    Icd("DE109", "Type 1 diabetes mellitus without complications"),
    Icd("DE101", "Type 1 diabetes mellitus with ketoacidosis"),
    Icd("DE103", "Type 1 diabetes mellitus with ophthalmic complications"),
    Icd("DE119", "Type 2 diabetes mellitus without complications"),
    Icd("DE112", "Type 2 diabetes mellitus with renal complications"),
    Icd("DE113", "Type 2 diabetes mellitus with ophthalmic complications"),
    Icd("DE115", "Type 2 diabetes mellitus with peripheral circulatory complications"),
    Icd("DE669", "Obesity, unspecified", weight=0.4, min_age=10),
    Icd("DE785", "Hyperlipidaemia, unspecified", weight=0.3, min_age=30),
    # Chapter V, mental
    Icd("DF329", "Depressive episode, unspecified", weight=1.0, min_age=12),
    Icd("DF419", "Anxiety disorder, unspecified", weight=0.6, min_age=12),
    Icd("DF102", "Alcohol dependence syndrome", weight=0.5, min_age=18),
    Icd("DF039", "Unspecified dementia", weight=0.4, min_age=65),
    Icd("DF200", "Paranoid schizophrenia", weight=0.3, min_age=16),
    # Chapter VI-VIII, nervous system, eye, ear
    Icd("DG409", "Epilepsy, unspecified", weight=0.5),
    Icd("DG439", "Migraine, unspecified", weight=0.5, min_age=10),
    Icd("DG473", "Sleep apnoea", weight=0.5, min_age=30),
    Icd("DH259", "Senile cataract, unspecified", weight=1.5, min_age=50),
    Icd("DH360", "Diabetic retinopathy"),
    Icd("DH669", "Otitis media, unspecified", weight=0.6, max_age=15),
    # Chapter IX, circulatory
    Icd("DI109", "Essential hypertension", weight=1.2, min_age=30),
    Icd("DI219", "Acute myocardial infarction, unspecified", weight=0.7, min_age=35),
    Icd("DI259", "Chronic ischaemic heart disease, unspecified", weight=1.0, min_age=40),
    Icd("DI489", "Atrial fibrillation and flutter, unspecified", weight=1.3, min_age=40),
    Icd("DI500", "Congestive heart failure", weight=0.8, min_age=50),
    Icd("DI639", "Cerebral infarction, unspecified", weight=0.8, min_age=45),
    Icd("DI839", "Varicose veins of lower extremities", weight=0.4, min_age=25),
    # Chapter X, respiratory
    Icd("DJ069", "Acute upper respiratory infection, unspecified", weight=0.8),
    Icd("DJ189", "Pneumonia, unspecified", weight=1.3),
    Icd("DJ449", "Chronic obstructive pulmonary disease, unspecified", weight=0.9, min_age=40),
    Icd("DJ459", "Asthma, unspecified", weight=0.6),
    Icd("DJ350", "Chronic tonsillitis", weight=0.4, max_age=40),
    # Chapter XI, digestive
    Icd("DK359", "Acute appendicitis, unspecified", weight=0.5, max_age=70),
    Icd("DK409", "Inguinal hernia without obstruction or gangrene", weight=0.6),
    Icd("DK802", "Calculus of gallbladder without cholecystitis", weight=0.6, min_age=20),
    Icd("DK219", "Gastro-oesophageal reflux disease without oesophagitis", weight=0.5),
    Icd("DK573", "Diverticular disease of large intestine", weight=0.5, min_age=40),
    Icd("DK509", "Crohn disease, unspecified", weight=0.3),
    # Chapter XII-XIII, skin and musculoskeletal
    Icd("DL039", "Cellulitis, unspecified", weight=0.6),
    Icd("DL409", "Psoriasis, unspecified", weight=0.3),
    Icd("DM169", "Coxarthrosis, unspecified", weight=0.8, min_age=45),
    Icd("DM179", "Gonarthrosis, unspecified", weight=0.9, min_age=45),
    Icd("DM545", "Low back pain", weight=1.5, min_age=15),
    Icd("DM069", "Rheumatoid arthritis, unspecified", weight=0.4, min_age=20),
    Icd("DM751", "Rotator cuff syndrome", weight=0.6, min_age=25),
    # Chapter XIV, genitourinary (some sex-specific)
    Icd("DN390", "Urinary tract infection, site not specified", weight=0.8),
    Icd("DN200", "Calculus of kidney", weight=0.4, min_age=20),
    Icd("DN189", "Chronic kidney disease, unspecified", weight=0.4, min_age=40),
    Icd("DN400", "Benign prostatic hyperplasia", sex="M", weight=0.7, min_age=45),
    Icd("DN459", "Orchitis and epididymitis without abscess", sex="M", weight=0.2),
    Icd("DN800", "Endometriosis of uterus", sex="F", weight=0.3, min_age=15, max_age=55),
    Icd(
        "DN921",
        "Excessive and frequent menstruation, irregular cycle",
        sex="F",
        weight=0.5,
        min_age=12,
        max_age=55,
    ),
    Icd(
        "DN951",
        "Menopausal and female climacteric states",
        sex="F",
        weight=0.3,
        min_age=40,
        max_age=65,
    ),
    # Chapter XV, pregnancy (women of fertile age only)
    Icd("DO800", "Spontaneous vertex delivery", sex="F", weight=2.0, min_age=16, max_age=46),
    Icd("DO021", "Missed abortion", sex="F", weight=0.5, min_age=16, max_age=46),
    Icd(
        "DO249",
        "Diabetes mellitus in pregnancy, unspecified",
        sex="F",
        weight=0.2,
        min_age=18,
        max_age=46,
    ),
    # Chapter XVI-XVII, perinatal and congenital
    Icd("DP073", "Other preterm infants", weight=0.6, max_age=0),
    Icd("DQ210", "Ventricular septal defect", weight=0.1, max_age=5),
    # Chapter XVIII, symptoms
    Icd("DR074", "Chest pain, unspecified", weight=2.0, min_age=15),
    Icd("DR104", "Other and unspecified abdominal pain", weight=2.0),
    Icd("DR509", "Fever, unspecified", weight=0.8),
    Icd("DR531", "Weakness", weight=0.6, min_age=60),
    Icd("DR060", "Dyspnoea", weight=0.8),
    # Chapter XIX, injuries
    Icd("DS525", "Fracture of lower end of radius", weight=1.0),
    Icd("DS720", "Fracture of neck of femur", weight=0.8, min_age=50),
    Icd("DS060", "Concussion", weight=1.0),
    Icd("DS934", "Sprain and strain of ankle", weight=1.4),
    Icd("DS611", "Open wound of finger(s) with damage to nail", weight=1.2),
    Icd("DT784", "Allergy, unspecified", weight=0.4),
    # Chapter XXI, factors influencing health status (the largest chapter in LPR)
    Icd("DZ000", "General medical examination", weight=2.5),
    Icd("DZ031", "Observation for suspected malignant neoplasm", weight=2.5, min_age=18),
    Icd("DZ038", "Observation for other suspected diseases and conditions", weight=3.0),
    Icd(
        "DZ348",
        "Supervision of other normal pregnancy",
        sex="F",
        weight=1.2,
        min_age=16,
        max_age=46,
    ),
    Icd("DZ501", "Other physical therapy", weight=1.0),
    Icd("DZ511", "Chemotherapy session for neoplasm"),
    Icd("DZ098", "Follow-up examination after other treatment", weight=1.5),
    # Underlying causes of death not used elsewhere
    Icd("DX709", "Intentional self-harm by hanging, strangulation and suffocation", min_age=12),
    Icd("DR999", "Other ill-defined and unspecified causes of mortality"),
)

ICD_BY_CODE = {c.code: c for c in ICD10}

T1D_CODES = ("DE109", "DE101", "DE103")
T2D_CODES = ("DE119", "DE112", "DE113", "DE115")
T2D_CODE_P = (0.70, 0.10, 0.12, 0.08)

# Cancer sites of the model: site -> ICD-10 code (see params.CANCERS for rates).
CANCER_CODES = {
    "breast": "DC509",
    "prostate": "DC619",
    "colorectal": "DC189",
    "rectum": "DC209",
    "lung": "DC349",
    "melanoma": "DC439",
    "bladder": "DC679",
    "cervix": "DC539",
}


@dataclass(frozen=True)
class Atc:
    atc: str
    text: str
    ddd: float | None  # WHO defined daily dose
    ddd_unit: str
    strnum: float  # strength of the one package modelled
    strunit: str
    packsize: int  # units per package
    vnr: str  # a product number (varenummer) standing in for the real one
    sex: str = ""


# WHO ATC/DDD Index 2024 (DDDs); one representative package per drug.
ATC: tuple[Atc, ...] = (
    Atc("A10BA02", "Metformin", 2.0, "g", 1000, "mg", 100, "153462"),
    Atc("A10BB09", "Gliclazide", 60, "mg", 60, "mg", 100, "104382"),
    Atc("A10BH01", "Sitagliptin", 0.1, "g", 100, "mg", 98, "073620"),
    Atc("A10BJ02", "Liraglutide", 1.5, "mg", 18, "mg", 3, "075633"),
    Atc("A10BJ06", "Semaglutide", 0.11, "mg", 4, "mg", 1, "414512"),
    Atc("A10BK01", "Dapagliflozin", 10, "mg", 10, "mg", 98, "437410"),
    Atc("A10BK03", "Empagliflozin", 17.5, "mg", 10, "mg", 100, "507430"),
    Atc("A10AB05", "Insulin aspart", 40, "U", 300, "U", 10, "537290"),
    Atc("A10AE04", "Insulin glargine", 40, "U", 300, "U", 10, "168815"),
    Atc("C10AA01", "Simvastatin", 30, "mg", 40, "mg", 100, "008267"),
    Atc("C10AA05", "Atorvastatin", 20, "mg", 40, "mg", 100, "015342"),
    Atc("C09AA05", "Ramipril", 2.5, "mg", 5, "mg", 100, "532591"),
    Atc("C08CA01", "Amlodipine", 5, "mg", 5, "mg", 100, "081695"),
    Atc("C03AA03", "Hydrochlorothiazide", 25, "mg", 25, "mg", 100, "002071"),
    Atc("C07AB02", "Metoprolol", 0.15, "g", 100, "mg", 100, "040561"),
    Atc("B01AC06", "Acetylsalicylic acid", 1, "TAB", 75, "mg", 100, "188193"),
    Atc("A02BC02", "Pantoprazole", 40, "mg", 40, "mg", 100, "171223"),
    Atc("H03AA01", "Levothyroxine sodium", 0.15, "mg", 100, "mcg", 100, "470302"),
    Atc("N06AB04", "Citalopram", 20, "mg", 20, "mg", 100, "092498"),
    Atc("N06AB10", "Escitalopram", 10, "mg", 10, "mg", 100, "017457"),
    Atc("R03AC02", "Salbutamol", 0.8, "mg", 0.1, "mg", 200, "547539"),
    Atc(
        "G03AA07",
        "Levonorgestrel and ethinylestradiol",
        1,
        "TAB",
        0.15,
        "mg",
        84,
        "440321",
        sex="F",
    ),
    Atc("G04CA02", "Tamsulosin", 0.4, "mg", 0.4, "mg", 100, "435318", sex="M"),
    Atc("J01CE02", "Phenoxymethylpenicillin", 2, "g", 1, "MIU", 20, "188920"),
    Atc("J01CA04", "Amoxicillin", 1.5, "g", 750, "mg", 20, "481309"),
    Atc("J01FA09", "Clarithromycin", 0.5, "g", 500, "mg", 14, "076620"),
    Atc("J01XE01", "Nitrofurantoin", 0.2, "g", 50, "mg", 30, "028704"),
    Atc("N02BE01", "Paracetamol", 3, "g", 500, "mg", 100, "019539"),
    Atc("M01AE01", "Ibuprofen", 1.2, "g", 400, "mg", 100, "114468"),
)

ATC_BY_CODE = {a.atc: a for a in ATC}


@dataclass(frozen=True)
class Npu:
    code: str
    text: str
    unit: str
    lower: str  # reference interval, as text like the register
    upper: str


# Nomenclature for Properties and Units (NPU), the codes used by Danish laboratories.
NPU: tuple[Npu, ...] = (
    Npu("NPU27300", "B-Haemoglobin A1c(IFCC); stofr. = ? mmol/mol", "mmol/mol", "20", "42"),
    Npu("NPU03835", "B-Haemoglobin A1c(DCCT); stoff. = ? %", "%", "4.0", "6.0"),
    Npu("NPU02192", "P-Glucose; stofk. = ? mmol/L", "mmol/L", "4.2", "6.3"),
    Npu("NPU18016", "P-Creatininium; stofk. = ? umol/L", "umol/L", "45", "105"),
    Npu("NPU01566", "P-Cholesterol; stofk. = ? mmol/L", "mmol/L", "3.0", "5.0"),
    Npu("NPU01567", "P-Cholesterol i LDL; stofk. = ? mmol/L", "mmol/L", "1.4", "3.0"),
)

HBA1C = "NPU27300"
HBA1C_PCT = "NPU03835"


@dataclass(frozen=True)
class Sks:
    code: str
    text: str
    sex: str = ""
    kind: str = "surgery"  # surgery | treatment | imaging | examination


# SKS procedure codes (Sundhedsvaesenets Klassifikations System), an illustrative subset.
SKS: tuple[Sks, ...] = (
    Sks("KNFB20", "Primary total hip replacement without cement"),
    Sks("KNGB20", "Primary total knee replacement without cement"),
    Sks("KJEA10", "Laparoscopic appendectomy"),
    Sks("KJKA21", "Laparoscopic cholecystectomy"),
    Sks("KJAB10", "Inguinal hernia repair"),
    Sks("KFNG05", "Percutaneous coronary intervention with stent"),
    Sks("KCJE20", "Phacoemulsification of lens with implant"),
    Sks("KJFB60", "Laparoscopic right hemicolectomy"),
    Sks("KHAB40", "Sector resection of breast", sex="F"),
    Sks("KLCD00", "Abdominal hysterectomy", sex="F"),
    Sks("KMAB00", "Caesarean section, lower segment", sex="F"),
    Sks("KKEC00", "Radical prostatectomy", sex="M"),
    Sks("KKED22", "Transurethral resection of prostate", sex="M"),
    Sks("BWHA1", "Antineoplastic chemotherapy", kind="treatment"),
    Sks("BWGC1", "Radiotherapy", kind="treatment"),
    Sks("UXCC00", "CT of thorax", kind="imaging"),
    Sks("UXMA00", "MRI of brain", kind="imaging"),
    Sks("UXRC00", "X-ray of thorax", kind="imaging"),
    Sks("ZZ0149", "Blood sample, venous", kind="examination"),
    Sks("ZZ5010", "ECG", kind="examination"),
)


@dataclass(frozen=True)
class Education:
    hfaudd: str
    text: str
    level: str  # Statistics Denmark's HFUDD11 level
    isced: str


# A synthetic code list shaped like DST's education codes, mapped to real HFUDD11 levels.
EDUCATION: tuple[Education, ...] = (
    Education("1001", "Grundskole 7.-10. klasse", "H10", "2"),
    Education("1539", "Almengymnasiale uddannelser (stx)", "H20", "3"),
    Education("2490", "Erhvervsfaglige uddannelser", "H30", "3"),
    Education("3999", "Korte videregaaende uddannelser (KVU)", "H40", "5"),
    Education("4999", "Mellemlange videregaaende uddannelser (MVU)", "H50", "6"),
    Education("5999", "Bacheloruddannelser", "H60", "6"),
    Education("6999", "Lange videregaaende uddannelser (LVU)", "H70", "7"),
    Education("7999", "Ph.d. og forskeruddannelser", "H80", "8"),
    Education("9999", "Uoplyst", "H90", "9"),
)

# Municipality codes (KOM) of the 2007 reform: all 98 municipalities, with rough population
# weights (thousands, about 2020; dst-folk1a). Source of the codes: Statistics Denmark's
# classification of municipalities (dst-kommuner).
MUNICIPALITY_NAMES: tuple[tuple[int, str, float], ...] = (
    (101, "København", 633),
    (147, "Frederiksberg", 104),
    (151, "Ballerup", 48),
    (153, "Brøndby", 35),
    (155, "Dragør", 14),
    (157, "Gentofte", 75),
    (159, "Gladsaxe", 69),
    (161, "Glostrup", 23),
    (163, "Herlev", 29),
    (165, "Albertslund", 28),
    (167, "Hvidovre", 53),
    (169, "Høje-Taastrup", 51),
    (173, "Lyngby-Taarbæk", 56),
    (175, "Rødovre", 40),
    (183, "Ishøj", 23),
    (185, "Tårnby", 43),
    (187, "Vallensbæk", 16),
    (190, "Furesø", 41),
    (201, "Allerød", 26),
    (210, "Fredensborg", 41),
    (217, "Helsingør", 63),
    (219, "Hillerød", 51),
    (223, "Hørsholm", 25),
    (230, "Rudersdal", 56),
    (240, "Egedal", 43),
    (250, "Frederikssund", 45),
    (253, "Greve", 50),
    (259, "Køge", 61),
    (260, "Halsnæs", 31),
    (265, "Roskilde", 88),
    (269, "Solrød", 23),
    (270, "Gribskov", 41),
    (306, "Odsherred", 33),
    (316, "Holbæk", 72),
    (320, "Faxe", 37),
    (326, "Kalundborg", 49),
    (329, "Ringsted", 35),
    (330, "Slagelse", 79),
    (336, "Stevns", 23),
    (340, "Sorø", 30),
    (350, "Lejre", 28),
    (360, "Lolland", 41),
    (370, "Næstved", 83),
    (376, "Guldborgsund", 61),
    (390, "Vordingborg", 46),
    (400, "Bornholm", 40),
    (410, "Middelfart", 39),
    (420, "Assens", 41),
    (430, "Faaborg-Midtfyn", 52),
    (440, "Kerteminde", 24),
    (450, "Nyborg", 32),
    (461, "Odense", 205),
    (479, "Svendborg", 59),
    (480, "Nordfyns", 30),
    (482, "Langeland", 12),
    (492, "Ærø", 6),
    (510, "Haderslev", 56),
    (530, "Billund", 27),
    (540, "Sønderborg", 74),
    (550, "Tønder", 37),
    (561, "Esbjerg", 116),
    (563, "Fanø", 3),
    (573, "Varde", 50),
    (575, "Vejen", 43),
    (580, "Aabenraa", 59),
    (607, "Fredericia", 51),
    (615, "Horsens", 90),
    (621, "Kolding", 93),
    (630, "Vejle", 116),
    (657, "Herning", 89),
    (661, "Holstebro", 59),
    (665, "Lemvig", 20),
    (671, "Struer", 21),
    (706, "Syddjurs", 43),
    (707, "Norddjurs", 38),
    (710, "Favrskov", 48),
    (727, "Odder", 23),
    (730, "Randers", 98),
    (740, "Silkeborg", 94),
    (741, "Samsø", 4),
    (746, "Skanderborg", 62),
    (751, "Aarhus", 349),
    (756, "Ikast-Brande", 41),
    (760, "Ringkøbing-Skjern", 57),
    (766, "Hedensted", 46),
    (773, "Morsø", 20),
    (779, "Skive", 46),
    (787, "Thisted", 44),
    (791, "Viborg", 97),
    (810, "Brønderslev", 36),
    (813, "Frederikshavn", 59),
    (820, "Vesthimmerlands", 37),
    (825, "Læsø", 2),
    (840, "Rebild", 30),
    (846, "Mariagerfjord", 42),
    (849, "Jammerbugt", 38),
    (851, "Aalborg", 217),
    (860, "Hjørring", 64),
)
MUNICIPALITIES: tuple[tuple[int, float], ...] = tuple((k, w) for k, _, w in MUNICIPALITY_NAMES)

# Hospital codes (sygehuskode, four digits) used in LPR2, and SOR units for LPR3.
HOSPITALS: tuple[str, ...] = (
    "1301",
    "1309",
    "1330",
    "1401",
    "2000",
    "3800",
    "4202",
    "5005",
    "6006",
    "6620",
    "7005",
    "8001",
)

# The Danish specialty classification of hospital departments (afdelingsspeciale), as
# Statistics Denmark documents its SPEC values (dst-spec): LPR2's c_spec holds the
# two-digit code, LPR3's hovedspeciale_ans the name, in lower case as the research
# delivery spells it ("medicinsk endokrinologi"). 08 is medical endocrinology; 01-30 are
# the medical specialties that published diabetes algorithms read as "medical departments".
SPECIALTIES: tuple[tuple[str, str], ...] = (
    ("01", "intern medicin"),
    ("02", "geriatri"),
    ("03", "hepatologi"),
    ("04", "hæmatologi"),
    ("05", "infektionsmedicin"),
    ("06", "kardiologi"),
    ("07", "medicinsk allergologi"),
    ("08", "medicinsk endokrinologi"),
    ("09", "medicinsk gastroenterologi"),
    ("10", "medicinsk lungesygdomme"),
    ("11", "nefrologi"),
    ("12", "reumatologi"),
    ("13", "palliativ medicin"),
    ("14", "akut medicin"),
    ("20", "dermato-venerologi"),
    ("22", "neurologi"),
    ("24", "onkologi"),
    ("26", "fysiurgi"),
    ("28", "tropemedicin"),
    ("30", "kirurgi"),
    ("31", "karkirurgi"),
    ("32", "kirurgisk gastroenterologi"),
    ("33", "plastikkirurgi"),
    ("34", "thoraxkirurgi"),
    ("35", "urologi"),
    ("50", "gynækologi og obstetrik"),
    ("52", "neurokirurgi"),
    ("54", "ortopædisk kirurgi"),
    ("56", "oftalmologi"),
    ("58", "oto-, rhino-, laryngologi"),
    ("60", "hospitalsodontologi"),
    ("62", "psykiatri"),
    ("64", "børne- og ungdomspsykiatri"),
    ("70", "klinisk biokemi"),
    ("72", "klinisk fysiologi og nuklearmedicin"),
    ("74", "diagnostisk radiologi"),
    ("76", "anæstesiologi"),
    ("78", "pædiatri"),
)
SPECIALTY_CODE = {text: code for code, text in SPECIALTIES}
MEDICAL_SPECIALTIES = tuple(c for c, _ in SPECIALTIES if "01" <= c <= "30" and c != "08")

# LPR2 value sets (sds-lpr2): patient type and admission mode.
PATTYPE = {
    "0": "heldøgnspatient (inpatient)",
    "2": "ambulant patient (outpatient)",
    "3": "skadestuepatient (emergency room)",
}
INDM = {"1": "akut", "2": "ikke akut (planlagt)"}
# LPR3 value sets (sds-lpr3): SKS codes of contact type and priority.
KONTAKTTYPE = {"ALCA00": "fysisk fremmøde", "ALCA10": "virtuel kontakt"}
PRIORITET = {"ATA1": "akut", "ATA3": "ikke akut (planlagt)"}

# The health insurance register (Sygesikringsregisteret, sysi to 2005 and sssy from 2006;
# dst-sssy, andersen-2011): the speciality of the practice that was paid, and the service
# numbers (ydelsesnummer) of the collective agreements that the model uses.
SSSY_SPECIALE: tuple[tuple[str, str], ...] = (
    ("80", "almen praksis (general practice, daytime)"),
    ("15", "øjenlæge (ophthalmologist in practice)"),
    ("54", "fodterapeut (podiatrist, diabetic foot care)"),
)
SSSY_YDELSE: tuple[tuple[str, str, str], ...] = (
    ("80", "0101", "konsultation"),
    ("80", "0105", "e-mailkonsultation"),
    ("80", "0201", "telefonkonsultation"),
    ("80", "2101", "blodprøvetagning"),
    ("80", "0120", "årskontrol, kronisk sygdom"),
    ("15", "0101", "konsultation"),
    ("15", "3011", "diabetisk øjenscreening"),
    ("54", "0120", "fodbehandling, diabetes"),
)


# Every code column of the published tables, the list its values come from, and the sources
# of that list (keys of sources.SOURCES). The manifest lists them under "code_lists"; a
# test checks that each column holds only codes of its list.
CODE_LISTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "icd10": (tuple(c.code for c in ICD10), ("sks",)),
    "atc": (tuple(a.atc for a in ATC), ("who-atc",)),
    "npu": (tuple(n.code for n in NPU), ("npu",)),
    "sks_procedures": (tuple(s.code for s in SKS), ("sks",)),
    "hfaudd": (tuple(e.hfaudd for e in EDUCATION), ("dst-hfudd",)),
    "specialty_code": (tuple(c for c, _ in SPECIALTIES), ("dst-spec",)),
    "specialty_name": (tuple(t for _, t in SPECIALTIES), ("dst-spec",)),
    "municipality": (tuple(str(k) for k, _ in MUNICIPALITIES), ("dst-kommuner",)),
    "c_pattype": (tuple(PATTYPE), ("sds-lpr2", "schmidt-2015")),
    "c_indm": (tuple(INDM), ("sds-lpr2", "schmidt-2015")),
    "c_diagtype": (("A", "B"), ("sds-lpr2", "schmidt-2015")),
    "kontakttype": (tuple(KONTAKTTYPE), ("sds-lpr3",)),
    "prioritet": (tuple(PRIORITET), ("sds-lpr3",)),
    "diagnosetype": (("A", "B"), ("sds-lpr3",)),
    "senere_afkraeftet": (("Nej", "Ja"), ("sds-lpr3",)),
    "sssy_speciale": (tuple(c for c, _ in SSSY_SPECIALE), ("dst-sssy", "andersen-2011")),
    "sssy_ydelse": (tuple(dict.fromkeys(y for _, y, _ in SSSY_YDELSE)), ("andersen-2011",)),
}
CODE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("lpr_adm", "c_adiag", "icd10"),
    ("lpr_adm", "c_spec", "specialty_code"),
    ("lpr_adm", "c_pattype", "c_pattype"),
    ("lpr_adm", "c_indm", "c_indm"),
    ("lpr_diag", "c_diag", "icd10"),
    ("lpr_diag", "c_diagtype", "c_diagtype"),
    ("lpr_sksopr", "c_opr", "sks_procedures"),
    ("lpr_a_kontakt", "aktionsdiagnose", "icd10"),
    ("lpr_a_kontakt", "hovedspeciale_ans", "specialty_name"),
    ("lpr_a_kontakt", "kontakttype", "kontakttype"),
    ("lpr_a_kontakt", "prioritet", "prioritet"),
    ("lpr_a_diagnose", "diagnosekode", "icd10"),
    ("lpr_a_diagnose", "diagnosetype", "diagnosetype"),
    ("lpr_a_diagnose", "senere_afkraeftet", "senere_afkraeftet"),
    ("lpr_a_procedurer", "procedurekode", "sks_procedures"),
    ("dodsaars", "c_dodtilgrundl_acme", "icd10"),
    ("dodsaars", "c_dod1", "icd10"),
    ("dodsaars", "c_dod2", "icd10"),
    ("lmdb", "atc", "atc"),
    ("lab_dm_forsker", "analysiscode", "npu"),
    ("uddf", "hfaudd", "hfaudd"),
    ("bef", "kom", "municipality"),
    ("sysi", "speciale", "sssy_speciale"),
    ("sysi", "ydelsesnummer", "sssy_ydelse"),
    ("sssy", "speciale", "sssy_speciale"),
    ("sssy", "ydelsesnummer", "sssy_ydelse"),
)
