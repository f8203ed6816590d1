"""The data contract (version 1.1) as code: table, column and code names, and their meaning.

This module is the project's glossary. Every loader, validator, analysis, page and test takes
names from here; nothing else spells a column or a code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

#: Version 1.1 only adds optional columns and an optional table: every version 1 file is valid.
CONTRACT_VERSION = "1.1"

#: One month, in days, for display (durations are stored in days).
DAYS_PER_MONTH = 30.4375

#: Ages of 90 or more are stored as 90 and shown as "90+".
AGE_CAP = 90


class Kind(StrEnum):
    """The type of a contract column."""

    STRING = "string"
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"
    CODE = "code"


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    kind: Kind
    label: str
    required: bool = False
    unique: bool = False
    codes: tuple[str, ...] = ()
    #: A code column that also accepts any other text (e.g. `bsab`).
    open_codes: bool = False
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    """One contract table: its key, its parent table (if any) and its columns."""

    name: str
    study: str
    key: str
    columns: tuple[Column, ...]
    #: (parent table, column) that every row must reference, e.g. responses -> patients.
    parent: tuple[str, str] | None = None
    description: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def column_names(self) -> tuple[str, ...]:
        """The contract's column names, in contract order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called `name` (KeyError when it is not in the contract)."""
        return self.by_name[name]

    def codes_of(self, name: str) -> tuple[str, ...]:
        """The codes of column `name`, in contract order (none for a column without codes or
        not in the contract)."""
        column = self.by_name.get(name)
        return column.codes if column is not None else ()


# --- codes -------------------------------------------------------------------------------------

TRUE_TOKENS = frozenset({"true", "1", "yes", "y"})
FALSE_TOKENS = frozenset({"false", "0", "no", "n"})
#: Tokens that mean "not recorded" (compared case-insensitively after stripping).
MISSING_TOKENS = frozenset({"", "na", "n/a", ".", "unknown"})

SEX_CODES = ("F", "M")
ISS_CODES = ("I", "II", "III")
BSAB_CODES = ("teclistamab", "elranatamab", "talquetamab")
DEATH_CAUSE_CODES = ("progression", "infection", "other")

#: IMWG response categories, best to worst.
RESPONSE_CODES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
#: Categories that count towards the overall response rate (PR or better).
ORR_CODES = ("sCR", "CR", "VGPR", "PR")
#: Categories that count as very good partial response or better.
VGPR_OR_BETTER_CODES = ("sCR", "CR", "VGPR")
#: Categories that count as complete response or better.
CR_OR_BETTER_CODES = ("sCR", "CR")
#: Clinical colours for response categories (deep blue for the best, red for progression).
RESPONSE_COLORS = {
    "sCR": "#08306b",
    "CR": "#2171b5",
    "VGPR": "#6baed6",
    "PR": "#9ecae1",
    "MR": "#fdd0a2",
    "SD": "#bdbdbd",
    "PD": "#cb181d",
    "NE": "#f0f0f0",
}

#: Timepoints named by the contract; more `C<n>` are accepted.
TIMEPOINT_CODES = ("post_debulking", "C1", "C3", "C6", "C12")
TIMEPOINT_PATTERN = re.compile(r"^(post_debulking|C[1-9][0-9]*)$", re.IGNORECASE)
#: The derived timepoint "best response to the bispecific".
BEST_TIMEPOINT = "best"
TIMEPOINT_LABELS = {
    "post_debulking": "After debulking",
    "C1": "Cycle 1",
    "C3": "Cycle 3",
    "C6": "Cycle 6",
    "C12": "Cycle 12 (1 year)",
    BEST_TIMEPOINT: "Best response",
}


def timepoint_order(code: str) -> int:
    """Sort key of a timepoint: post_debulking first, then cycles by number, best last."""
    if code == "post_debulking":
        return 0
    if code == BEST_TIMEPOINT:
        return 10_000
    return int(code[1:])


def timepoint_label(code: str) -> str:
    """Readable label of a timepoint code."""
    return TIMEPOINT_LABELS.get(code, f"Cycle {code[1:]}" if code.startswith("C") else code)


ISOTYPE_CODES = ("IgG", "IgA", "IgM", "IgD", "light_chain", "non_secretory")
LIGHT_CHAIN_CODES = ("kappa", "lambda")
TARGET_CODES = ("BCMA", "GPRC5D", "FcRH5")
OUTCOME_CODES = ("continued", "dose_reduced", "discontinued")

EVENT_CODES = (
    "bsab_dose",
    "crs",
    "icans",
    "fever",
    "infection",
    "workup_negative",
    "tocilizumab",
    "corticosteroid",
    "antipyretic",
    "ivig",
    "antibiotic",
    "schedule_change",
    "treatment_hold",
    "discontinuation",
    "response",
    "adverse_event",
)
#: Events whose `grade` is required.
GRADED_EVENTS = ("crs", "icans", "infection", "adverse_event")
#: A `bsab_dose` whose detail starts with this belongs to the step-up phase.
STEP_UP_PREFIX = "step-up"

#: Methods of measuring minimal residual disease: next-generation flow, next-generation sequencing.
MRD_METHOD_CODES = ("NGF", "NGS")

#: Adverse-event terms the contract names (others are kept as written).
AE_TERM_CODES = (
    "CRS",
    "ICANS",
    "infection",
    "neutropenia",
    "febrile_neutropenia",
    "anemia",
    "thrombocytopenia",
    "lymphopenia",
    "hypogammaglobulinemia",
    "dysgeusia",
    "nail_disorder",
    "skin_disorder",
    "weight_loss",
)
#: The dose after which an adverse event began, in the order of the step-up schedule.
AFTER_DOSE_CODES = ("step_up_1", "step_up_2", "step_up_3", "first_full_dose", "later")
#: Treatments named in `adverse_events.management` (`;`-separated; other names are kept).
MANAGEMENT_CODES = (
    "tocilizumab",
    "corticosteroid",
    "anakinra",
    "siltuximab",
    "antipyretic",
    "antibiotic",
    "ivig",
)

# --- tables ------------------------------------------------------------------------------------


def _b(name: str, label: str, description: str = "") -> Column:
    return Column(name, Kind.BOOL, label, description=description)


_CYTOGENETICS = (
    _b("del17p", "del(17p)"),
    _b("t_4_14", "t(4;14)"),
    _b("t_14_16", "t(14;16)"),
    _b("gain_1q21", "1q21 gain"),
    _b("amp_1q21", "1q21 amplification"),
    _b("del_1p32", "del(1p32)"),
)
CYTOGENETIC_COLUMNS = tuple(c.name for c in _CYTOGENETICS)

_EMD_SITES = (
    _b("emd_cerebral", "Cerebral"),
    _b("emd_lung", "Lung"),
    _b("emd_liver", "Liver"),
    _b("emd_kidney", "Kidney"),
    _b("emd_digestive", "Digestive"),
    _b("emd_cutaneous", "Cutaneous"),
    _b("emd_muscle", "Muscle"),
    _b("emd_orl", "ORL (ear, nose, throat)"),
)
EMD_SITE_COLUMNS = tuple(c.name for c in _EMD_SITES)

_CHEMO_AGENTS = (
    _b("chemo_cyclophosphamide", "Cyclophosphamide"),
    _b("chemo_bendamustine", "Bendamustine"),
    _b("chemo_lomustine", "Lomustine (Belustine)"),
    _b("chemo_anthracycline", "Anthracycline"),
    _b("chemo_etoposide", "Etoposide"),
    _b("chemo_vincristine", "Vincristine"),
    _b("chemo_cisplatin", "Cisplatin"),
    _b("chemo_other", "Other agent"),
)
CHEMO_AGENT_COLUMNS = tuple(c.name for c in _CHEMO_AGENTS)
#: Alkylating agents among the debulking agents.
ALKYLATING_COLUMNS = ("chemo_cyclophosphamide", "chemo_bendamustine", "chemo_lomustine")

PATIENTS = Table(
    name="patients",
    study="debulking",
    key="patient_id",
    description="One row per patient; time origin: first full dose of the bispecific antibody.",
    columns=(
        Column("patient_id", Kind.STRING, "Patient", required=True, unique=True),
        Column("center", Kind.STRING, "Center"),
        Column("age_years", Kind.INT, "Age (years)", minimum=18, maximum=AGE_CAP),
        Column("sex", Kind.CODE, "Sex", codes=SEX_CODES),
        Column("iss_stage", Kind.CODE, "ISS stage", codes=ISS_CODES),
        Column("prior_lines", Kind.INT, "Prior lines of therapy", minimum=0),
        _b("triple_class_refractory", "Triple-class refractory"),
        *_CYTOGENETICS,
        _b("hrca", "High-risk cytogenetics (HRCA)"),
        _b("emd", "Extramedullary disease (EMD)"),
        Column("emd_sites", Kind.INT, "Extramedullary sites (n)", minimum=0),
        *_EMD_SITES,
        _b("pmd", "Paramedullary disease"),
        _b("high_pc_infiltration", "Marrow plasma cells > 60 %"),
        _b("acute_kidney_failure", "Acute kidney failure"),
        _b("hypercalcemia", "Hypercalcemia"),
        Column("chemo_cycles", Kind.INT, "Debulking cycles (n)", minimum=1),
        *_CHEMO_AGENTS,
        Column("bsab", Kind.CODE, "Bispecific antibody", codes=BSAB_CODES, open_codes=True),
        Column("days_chemo_to_bsab", Kind.INT, "Chemotherapy to bispecific (days)", minimum=0),
        Column("crs_grade", Kind.INT, "Worst CRS grade", minimum=0, maximum=4),
        Column("icans_grade", Kind.INT, "Worst ICANS grade", minimum=0, maximum=4),
        _b("tocilizumab", "Tocilizumab"),
        _b("crs_dexamethasone", "Dexamethasone for CRS/ICANS"),
        _b("anakinra", "Anakinra"),
        _b("infection_grade3plus", "Grade ≥ 3 infection"),
        _b("cytopenia_grade3plus", "Grade ≥ 3 cytopenia"),
        _b("ig_supplementation", "Immunoglobulin supplementation"),
        _b("pjp_prophylaxis", "Anti-pneumocystis prophylaxis"),
        _b("antibacterial_prophylaxis", "Antibacterial prophylaxis"),
        _b("antiviral_prophylaxis", "Antiviral prophylaxis"),
        Column("best_response", Kind.CODE, "Best response", codes=RESPONSE_CODES),
        Column("pfs_days", Kind.NUMBER, "PFS (days)", minimum=0),
        _b("pfs_event", "PFS event (progression or death)"),
        Column("os_days", Kind.NUMBER, "OS (days)", minimum=0),
        _b("os_event", "Death"),
        Column("death_cause", Kind.CODE, "Cause of death", codes=DEATH_CAUSE_CODES),
    ),
)

RESPONSES = Table(
    name="responses",
    study="debulking",
    key="patient_id",
    parent=("patients", "patient_id"),
    description="One row per patient per assessment; no row means not assessed.",
    columns=(
        Column("patient_id", Kind.STRING, "Patient", required=True),
        Column("timepoint", Kind.CODE, "Timepoint", codes=TIMEPOINT_CODES),
        Column("response", Kind.CODE, "Response (IMWG)", codes=RESPONSE_CODES),
        _b("pet_ct", "PET-CT done"),
        Column("day", Kind.NUMBER, "Day", minimum=0),
        _b("mrd_negative", "MRD negative"),
        Column("mrd_sensitivity", Kind.NUMBER, "MRD sensitivity", minimum=0, maximum=1),
        Column("mrd_method", Kind.CODE, "MRD method", codes=MRD_METHOD_CODES),
    ),
)

ADVERSE_EVENTS = Table(
    name="adverse_events",
    study="debulking",
    key="patient_id",
    parent=("patients", "patient_id"),
    description="One row per adverse event; days since the first bispecific dose (step-up 1).",
    columns=(
        Column("patient_id", Kind.STRING, "Patient", required=True),
        Column("term", Kind.CODE, "Adverse event", codes=AE_TERM_CODES, open_codes=True),
        Column("grade", Kind.INT, "Grade", minimum=1, maximum=5),
        Column("onset_day", Kind.NUMBER, "Onset day", minimum=0),
        Column("resolution_day", Kind.NUMBER, "Resolution day", minimum=0),
        Column("after_dose", Kind.CODE, "After dose", codes=AFTER_DOSE_CODES),
        Column("dose_day", Kind.NUMBER, "Day of that dose", minimum=0),
        Column("management", Kind.STRING, "Management"),
    ),
)

CASES = Table(
    name="cases",
    study="recurrent_crs",
    key="case_id",
    description="One row per case; time origin: first bispecific dose (day 0).",
    columns=(
        Column("case_id", Kind.STRING, "Case", required=True, unique=True),
        Column("center", Kind.STRING, "Center"),
        Column("age_years", Kind.INT, "Age (years)", minimum=18, maximum=AGE_CAP),
        Column("sex", Kind.CODE, "Sex", codes=SEX_CODES),
        Column("isotype", Kind.CODE, "Isotype", codes=ISOTYPE_CODES),
        Column("light_chain", Kind.CODE, "Light chain", codes=LIGHT_CHAIN_CODES),
        Column("stage", Kind.STRING, "Stage (as reported)"),
        Column("prior_lines", Kind.INT, "Prior lines of therapy", minimum=0),
        Column("bsab", Kind.CODE, "Bispecific antibody", codes=BSAB_CODES, open_codes=True),
        Column("target", Kind.CODE, "Target antigen", codes=TARGET_CODES, open_codes=True),
        Column("premedication", Kind.STRING, "Premedication"),
        Column("outcome", Kind.CODE, "Impact on treatment", codes=OUTCOME_CODES),
    ),
)

EVENTS = Table(
    name="events",
    study="recurrent_crs",
    key="case_id",
    parent=("cases", "case_id"),
    description="One row per event on a case's timeline; day = days since first dose.",
    columns=(
        Column("case_id", Kind.STRING, "Case", required=True),
        Column("day", Kind.NUMBER, "Day", minimum=0),
        Column("event", Kind.CODE, "Event", required=True, codes=EVENT_CODES),
        Column("grade", Kind.INT, "Grade", minimum=1, maximum=5),
        Column("end_day", Kind.NUMBER, "End day", minimum=0),
        Column("detail", Kind.STRING, "Detail"),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (PATIENTS, RESPONSES, ADVERSE_EVENTS, CASES, EVENTS)}

#: Study ids: the cohort study and the case series.
COHORT = "debulking"
CASE_SERIES = "recurrent_crs"
#: The screens of an uploaded dataset (quick filters as the cohort's).
UPLOADED = "data"

#: The two studies and their tables, in load order (parents first).
STUDIES: dict[str, tuple[str, ...]] = {
    COHORT: ("patients", "responses", "adverse_events"),
    CASE_SERIES: ("cases", "events"),
}
STUDY_LABELS = {
    COHORT: "Debulking before anti-BCMA bispecifics (cohort, 44 patients)",
    CASE_SERIES: "Recurrent CRS during bispecific therapy (case series)",
}

#: Columns a grouping variable may use on the survival and response pages (boolean or coded).
GROUPING_COLUMNS = (
    "emd",
    "hrca",
    "bsab",
    "sex",
    "iss_stage",
    "triple_class_refractory",
    "pmd",
    "high_pc_infiltration",
    "del17p",
    "gain_1q21",
    "acute_kidney_failure",
    "center",
)

#: Yes/no quick filters of the sidebar, per study, in order.
QUICK_BOOLEANS: dict[str, tuple[str, ...]] = {
    COHORT: ("emd", "hrca", "triple_class_refractory"),
    CASE_SERIES: (),
    UPLOADED: ("emd", "hrca", "triple_class_refractory"),
}
#: Code quick filters of the sidebar, per study, in order.
QUICK_CODES: dict[str, tuple[str, ...]] = {
    COHORT: ("bsab", "sex", "iss_stage"),
    CASE_SERIES: ("bsab", "target", "sex"),
    UPLOADED: ("bsab", "sex", "iss_stage"),
}
#: The codes a code quick filter offers when the data have none.
QUICK_CODE_VALUES: dict[str, tuple[str, ...]] = {
    "bsab": BSAB_CODES,
    "sex": SEX_CODES,
    "iss_stage": ISS_CODES,
}

#: Subgroup comparisons of the survival section of a report by default (the study's Fig. 1D and
#: 1F), for the report builder and `bsab-explorer report --by`.
DEFAULT_COMPARISONS: tuple[str, ...] = ("emd",)

#: The banner shown wherever bundled data are displayed.
RECONSTRUCTED_NOTICE = "Reconstructed from published aggregates, not real patients."


def column_label(name: str) -> str:
    """Readable label of a contract column (searching every table), or the name itself."""
    for table in TABLES.values():
        if name in table.by_name:
            return table.by_name[name].label
    return name


#: Codes as clinicians read them, where the rule of `code_label` (underscores to spaces, the
#: first letter capital) does not give it.
CODE_LABELS = {
    "F": "Female",
    "M": "Male",
    "non_secretory": "Non-secretory",
    "first_full_dose": "First full dose",
    "workup_negative": "Work-up negative",
}


def code_label(code: str) -> str:
    """A code as a clinician reads it: ``dose_reduced`` -> "Dose reduced"; codes written with
    capitals (``IgG``, ``BCMA``, ``sCR``) stay as written.

    >>> code_label("light_chain"), code_label("IgG"), code_label("F")
    ('Light chain', 'IgG', 'Female')
    """
    if code in CODE_LABELS:
        return CODE_LABELS[code]
    if code != code.lower():
        return code
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def code_list_label(text: str) -> str:
    """A `;`-separated list of codes or names as a sentence's list.

    >>> code_list_label("paracetamol;cetirizine;dexamethasone")
    'Paracetamol, cetirizine, dexamethasone'
    """
    items = [item.strip().replace("_", " ") for item in text.split(";") if item.strip()]
    return code_label(", ".join(items)) if items else text


def column_short_label(name: str) -> str:
    """A column's label by its own abbreviation, where it has one ("EMD" for "Extramedullary
    disease (EMD)"), for headers that name the variable."""
    label = column_label(name)
    short = re.search(r"\(([^()]+)\)$", label)
    return short.group(1) if short else label
