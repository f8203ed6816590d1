"""The debulking cohort (44 patients), reconstructed from the published aggregates.

Reconstructed from published aggregates, not real patients. Source: Chalopin et al., "Debulking
strategy prior to anti-BCMA/CD3 bispecific antibodies in extramedullary and/or high tumor burden
RRMM", Blood Cancer J 2025;15:174. Every count, share, median, confidence limit and p-value of the
text and Table 1 is a target in `data/debulking/targets.toml`; where the paper contradicts itself
the reading chosen is recorded there and in `data/debulking/PROVENANCE.md`.

Two parts:
- `COURSES`: per patient, the survival times, the EMD/HRCA groups and the response course. They
  were found by the seeded search in `tools/reconstruction/debulking_search.py` (Kaplan-Meier
  medians, CIs and log-rank p-values as printed; response counts per cycle and subgroup) and
  are embedded here as data.
- Everything else is allocated by explicit counts (the published ones), the patients who get
  each value being drawn with a fixed seed under clinical constraints (e.g. infection deaths
  had a grade >= 3 infection, delays over a month only after several cycles).

    python -m bsab_explorer.reconstruction.debulking [--out DIR]

rebuilds `patients.csv` and `responses.csv` byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bsab_explorer.schema import (
    CYTOGENETIC_COLUMNS,
    EMD_SITE_COLUMNS,
    PATIENTS,
    RESPONSE_CODES,
    RESPONSES,
)

SEED = 20251021
N_PATIENTS = 44
N_CENTERS = 14
DEFAULT_OUT = Path("data/debulking")

Value = str | int | float | bool | None
Row = dict[str, Value]


@dataclass(frozen=True)
class Course:
    """One patient's solved part: survival, groups, cause of death and response course."""

    pfs_days: float
    pfs_event: bool
    os_days: float
    os_event: bool
    emd: bool
    hrca: bool | None
    death_cause: str | None
    #: post_debulking, C1, C3, C6, C12 separated by spaces; "-" = not assessed; "*" = PET-CT.
    responses: str


def _c(
    pfs: float, pfs_e: int, os: float, os_e: int, emd: int, hrca: int, cause: str, resp: str
) -> Course:
    return Course(
        float(pfs),
        bool(pfs_e),
        float(os),
        bool(os_e),
        bool(emd),
        None if hrca < 0 else bool(hrca),
        cause or None,
        resp,
    )


# fmt: off
#: (pfs days, pfs event, os days, os event, EMD, HRCA 1/0/-1 untested, cause of death,
#:  responses post_debulking C1 C3 C6 C12), found by `debulking_search` (seeded) and checked
#:  with R (data/debulking/verify_survival.R).
COURSES: tuple[Course, ...] = (
    _c(39, 1, 39, 1, 1, 1, "infection", "PD SD - - -"),
    _c(32, 1, 189, 1, 1, 0, "progression", "PD - - - -"),
    _c(39, 1, 77, 1, 1, 0, "infection", "PD PD - - -"),
    _c(114, 1, 179, 1, 1, 1, "other", "- VGPR PD* - -"),
    _c(10, 1, 147, 1, 1, 1, "progression", "MR - - - -"),
    _c(10, 1, 178, 1, 1, 0, "progression", "- PD - - -"),
    _c(419, 1, 750, 0, 1, 0, "", "CR PR VGPR VGPR PD"),
    _c(15, 1, 198, 1, 1, 1, "progression", "SD PD* - - -"),
    _c(152.9, 0, 152.9, 0, 1, 0, "", "PR SD SD - -"),
    _c(315, 1, 663, 0, 1, 0, "", "- CR CR* SD -"),
    _c(283, 1, 417, 1, 1, -1, "progression", "SD VGPR VGPR* CR* -"),
    _c(237, 1, 242, 1, 1, -1, "progression", "MR SD SD - -"),
    _c(290, 1, 587, 1, 1, 1, "progression", "VGPR - - PR* -"),
    _c(311, 1, 612, 1, 1, 1, "progression", "PR - MR - -"),
    _c(373, 0, 373, 0, 1, 1, "", "- SD MR MR* MR"),
    _c(560, 0, 560, 0, 1, 1, "", "PD PR* VGPR - VGPR"),
    _c(231, 1, 231, 1, 1, 0, "infection", "PR PR* VGPR* VGPR* -"),
    _c(566, 1, 791, 0, 1, 0, "", "SD SD PR* - -"),
    _c(263, 0, 263, 0, 1, 1, "", "PR CR CR CR* -"),
    _c(91, 1, 130, 1, 1, 0, "progression", "PD - MR* - -"),
    _c(421, 1, 587, 0, 1, 1, "", "- CR CR* CR* -"),
    _c(786, 1, 948, 0, 1, -1, "", "MR VGPR* SD VGPR* CR"),
    _c(325, 0, 325, 0, 0, -1, "", "MR CR CR CR -"),
    _c(429, 1, 440, 0, 0, -1, "", "MR CR CR CR -"),
    _c(255, 0, 255, 0, 0, 1, "", "CR CR - CR -"),
    _c(379, 0, 379, 0, 0, 1, "", "PD MR PR PR CR"),
    _c(152, 1, 226.8, 1, 0, 0, "progression", "MR VGPR VGPR - -"),
    _c(152.8, 1, 311, 0, 0, 1, "", "SD PR VGPR PD -"),
    _c(167, 1, 421, 1, 0, 0, "progression", "VGPR CR CR - -"),
    _c(197, 1, 226.9, 1, 0, 0, "progression", "MR SD MR - -"),
    _c(335, 1, 611, 0, 0, 1, "", "CR PR PR - -"),
    _c(209, 1, 419, 1, 0, 1, "progression", "PD MR PR - -"),
    _c(369, 0, 369, 0, 0, 1, "", "SD CR CR PR VGPR"),
    _c(174, 1, 462, 0, 0, -1, "", "SD CR CR CR -"),
    _c(519, 0, 519, 0, 0, 1, "", "PR CR PR PR PR"),
    _c(130, 1, 197, 1, 0, 1, "progression", "MR CR CR - -"),
    _c(93, 1, 467, 0, 0, 1, "", "PD MR VGPR - -"),
    _c(138, 1, 176, 1, 0, 1, "other", "MR MR - - -"),
    _c(324, 0, 324, 0, 0, 0, "", "- CR CR - -"),
    _c(300, 0, 300, 0, 0, 1, "", "PR PR PR PR -"),
    _c(336, 0, 336, 0, 0, 1, "", "MR CR - PR VGPR"),
    _c(598, 0, 598, 0, 0, 0, "", "- PR VGPR CR CR"),
    _c(589, 0, 589, 0, 0, 0, "", "SD MR MR - -"),
    _c(835, 0, 835, 0, 0, 0, "", "VGPR VGPR VGPR VGPR VGPR"),
)
# fmt: on

TIMEPOINTS = ("post_debulking", "C1", "C3", "C6", "C12")


def _ages(rng: random.Random) -> list[int]:
    """44 ages: min 45, max 82, the 22nd and 23rd 66 and 67 (median 66.5, see targets)."""
    low = [rng.randint(46, 65) for _ in range(20)]
    high = [rng.randint(68, 81) for _ in range(20)]
    ages = [45, 66, 67, 82, *low, *high]
    rng.shuffle(ages)
    return ages


def _counts(values: Sequence[Value], counts: Sequence[int]) -> list[Value]:
    """A list holding each value its count of times, in order."""
    out: list[Value] = []
    for value, count in zip(values, counts, strict=True):
        out.extend([value] * count)
    return out


def _assign(rng: random.Random, pool: Sequence[int], values: Sequence[Value]) -> dict[int, Value]:
    """Give `values` to patients drawn at random from `pool` (one value each)."""
    chosen = rng.sample(list(pool), len(values))
    return dict(zip(chosen, values, strict=True))


@dataclass(frozen=True)
class Regimen:
    """A debulking regimen (set of agent columns) and how many patients received it."""

    agents: tuple[str, ...]
    patients: int


CY, BENDA, LOMU = "chemo_cyclophosphamide", "chemo_bendamustine", "chemo_lomustine"
ANTHRA, ETO, VINC = "chemo_anthracycline", "chemo_etoposide", "chemo_vincristine"
CIS, OTHER = "chemo_cisplatin", "chemo_other"

#: Regimens whose margins are the published ones: cyclophosphamide 37, bendamustine 5, lomustine 1
#: (alkylating 39: 4 patients had two alkylating agents), anthracycline 15 (12 with an
#: alkylating agent), etoposide 22, vincristine 4, cisplatin 7, other 9.
REGIMENS = (
    Regimen((CY, ANTHRA, ETO, CIS, OTHER), 3),  # VDT-PACE-like
    Regimen((CY, ANTHRA, ETO, CIS), 4),  # PACE-like
    Regimen((CY, ANTHRA, VINC), 3),
    Regimen((CY, ANTHRA), 2),
    Regimen((ANTHRA, OTHER), 3),  # PAd-like (bortezomib counted as other)
    Regimen((CY, ETO), 12),
    Regimen((CY, LOMU, ETO), 1),
    Regimen((CY, BENDA), 3),
    Regimen((BENDA,), 1),
    Regimen((BENDA, OTHER), 1),
    Regimen((ETO, VINC), 1),
    Regimen((ETO, OTHER), 1),
    Regimen((CY, OTHER), 1),
    Regimen((CY,), 8),
)


def _delays(rng: random.Random, multi_cycle: Sequence[int], n: int) -> dict[int, int]:
    """Days from chemotherapy to bispecific: median 28, range 4-197.

    Delays over 35 days go to patients who had several cycles (see the inclusion-window
    inconsistency in the targets).
    """
    long_delays = [197, 121, 84, 63, 56, 49, 45, 42]
    # 21 below 28, the 22nd and 23rd at 28, 21 above (8 of them long)
    short = (
        [4, 28, 28]
        + [rng.randint(5, 27) for _ in range(20)]
        + [rng.randint(29, 35) for _ in range(n - 23 - len(long_delays))]
    )
    out: dict[int, int] = {}
    long_patients = rng.sample(list(multi_cycle), len(long_delays))
    out.update(zip(long_patients, long_delays, strict=True))
    rest = [i for i in range(n) if i not in out]
    rng.shuffle(short)
    out.update(zip(rest, short, strict=True))
    return out


def _response_course(course: Course) -> dict[str, tuple[str, bool]]:
    """The course's responses by timepoint: (IMWG code, PET-CT done)."""
    out: dict[str, tuple[str, bool]] = {}
    for timepoint, token in zip(TIMEPOINTS, course.responses.split(), strict=True):
        if token != "-":  # noqa: S105 (a placeholder, not a secret)
            out[timepoint] = (token.rstrip("*"), token.endswith("*"))
    return out


def best_response(course: Course) -> str:
    """Best response on the bispecific (C1 onwards); NE when never assessed on it."""
    codes = [code for tp, (code, _) in _response_course(course).items() if tp != "post_debulking"]
    return min(codes, key=RESPONSE_CODES.index) if codes else "NE"


def patient_courses(courses: Sequence[Course] = COURSES, seed: int = SEED) -> list[Course]:
    """The courses in patient order (D001 first): a seeded shuffle, so ids carry no group."""
    order = random.Random(seed).sample(range(len(courses)), len(courses))  # noqa: S311
    return [courses[k] for k in order]


def build_patients(courses: Sequence[Course] = COURSES, seed: int = SEED) -> list[Row]:
    """The patients table as rows (contract columns, contract order)."""
    courses = patient_courses(courses, seed)
    rng = random.Random(seed + 1)  # noqa: S311 (reproducible draws, not secrets)
    n = len(courses)
    ids = range(n)
    rows: list[Row] = [dict.fromkeys(PATIENTS.column_names) for _ in ids]
    for i, row in enumerate(rows):
        row["patient_id"] = f"D{i + 1:03d}"

    # centres: each of the 14 has at least one patient
    centers = [f"C{k + 1:02d}" for k in range(N_CENTERS)]
    centers += [rng.choice(centers[: N_CENTERS // 2] * 2 + centers) for _ in range(n - N_CENTERS)]
    rng.shuffle(centers)
    for row, center in zip(rows, centers, strict=True):
        row["center"] = center

    for row, age in zip(rows, _ages(rng), strict=True):
        row["age_years"] = age
    for i, sex in _assign(rng, ids, _counts(("F", "M"), (22, 22))).items():
        rows[i]["sex"] = sex
    # ISS III 20 of 42 staged (Table 1: 20 (48) = 20/42); 2 not staged
    for i, stage in _assign(rng, ids, _counts(("I", "II", "III", None), (8, 14, 20, 2))).items():
        rows[i]["iss_stage"] = stage
    lines = _counts((2, 3, 4, 5, 6, 7, 8, 9), (5, 10, 12, 7, 5, 3, 1, 1))
    for i, count in _assign(rng, ids, lines).items():
        rows[i]["prior_lines"] = count
    # the 3 patients who were not triple-class refractory had 2-3 prior lines
    few_lines = [i for i in ids if int(rows[i]["prior_lines"] or 0) <= 3]
    not_tcr = set(rng.sample(few_lines, 3))
    for i in ids:
        rows[i]["triple_class_refractory"] = i not in not_tcr

    _fill_cytogenetics(rng, rows, courses)
    _fill_disease(rng, rows, courses)
    _fill_debulking(rng, rows)
    _fill_safety(rng, rows, courses)

    for row, course in zip(rows, courses, strict=True):
        row["best_response"] = best_response(course)
        row["pfs_days"] = course.pfs_days
        row["pfs_event"] = course.pfs_event
        row["os_days"] = course.os_days
        row["os_event"] = course.os_event
        row["death_cause"] = course.death_cause
    return rows


#: One abnormality per patient with HRCA as the study recorded it (22 = 9 + 3 + 2 + 5 + 1 + 2).
HRCA_ABNORMALITIES = _counts(
    ("del17p", "t_4_14", "t_14_16", "gain_1q21", "amp_1q21", "del_1p32"), (9, 3, 2, 5, 1, 2)
)


def _fill_cytogenetics(rng: random.Random, rows: list[Row], courses: Sequence[Course]) -> None:
    hrca = [i for i, c in enumerate(courses) if c.hrca]
    for i, (row, course) in enumerate(zip(rows, courses, strict=True)):
        row["hrca"] = course.hrca
        for column in CYTOGENETIC_COLUMNS:
            row[column] = None if course.hrca is None else False
        del i
    for i, abnormality in _assign(rng, hrca, HRCA_ABNORMALITIES).items():
        rows[i][str(abnormality)] = True


#: EMD localisations (Table 1): 33 flags over the 22 patients with EMD.
EMD_LOCALISATIONS = _counts(EMD_SITE_COLUMNS, (2, 4, 3, 3, 7, 8, 5, 1))


def _fill_disease(rng: random.Random, rows: list[Row], courses: Sequence[Course]) -> None:
    emd = [i for i, c in enumerate(courses) if c.emd]
    no_emd = [i for i, c in enumerate(courses) if not c.emd]
    for i, row in enumerate(rows):
        row["emd"] = courses[i].emd
        row["emd_sites"] = None if courses[i].emd else 0
        for column in EMD_SITE_COLUMNS:
            row[column] = False
    # sites: 4 with one, 5 with two, 10 with three or more, 3 not counted (19 of 22)
    sites = _counts((1, 2, 3, 4, 5, 6, None), (4, 5, 6, 2, 1, 1, 3))
    for i, n_sites in _assign(rng, emd, sites).items():
        rows[i]["emd_sites"] = n_sites
    # every EMD patient gets one localisation first, then the rest go where sites allow
    capacity = {i: int(rows[i]["emd_sites"] or 2) for i in emd}
    flags = EMD_LOCALISATIONS[:]
    rng.shuffle(flags)
    for i, site in zip(rng.sample(emd, len(emd)), flags[: len(emd)], strict=True):
        rows[i][str(site)] = True
        capacity[i] -= 1
    for site in flags[len(emd) :]:
        free = [i for i in emd if capacity[i] > 0 and not rows[i][str(site)]]
        i = rng.choice(free)
        rows[i][str(site)] = True
        capacity[i] -= 1
    # high tumour burden without EMD: PMD or marrow plasma cells > 60 % (3 by M-protein alone)
    pmd = set(rng.sample(no_emd, 11)) | set(rng.sample(emd, 4))
    rest = [i for i in no_emd if i not in pmd]
    high_pc = set(rng.sample(rest, 8))
    high_pc |= set(rng.sample([i for i in range(len(rows)) if i not in high_pc], 4))
    unknown_pc = rng.choice([i for i in emd if i not in high_pc])
    for i, row in enumerate(rows):
        row["pmd"] = i in pmd
        row["high_pc_infiltration"] = None if i == unknown_pc else i in high_pc
    for column, count in (("acute_kidney_failure", 14), ("hypercalcemia", 10)):
        chosen = set(rng.sample(range(len(rows)), count))
        for i, row in enumerate(rows):
            row[column] = i in chosen


def _fill_debulking(rng: random.Random, rows: list[Row]) -> None:
    n = len(rows)
    cycles = _counts((1, 2, 3, 4, 5, 6), (30, 7, 3, 2, 1, 1))
    rng.shuffle(cycles)
    regimens = [r.agents for r in REGIMENS for _ in range(r.patients)]
    rng.shuffle(regimens)
    for row, count, agents in zip(rows, cycles, regimens, strict=True):
        row["chemo_cycles"] = count
        for column in (CY, BENDA, LOMU, ANTHRA, ETO, VINC, CIS, OTHER):
            row[column] = column in agents
    multi_cycle = [i for i in range(n) if int(rows[i]["chemo_cycles"] or 1) > 1]
    for i, days in _delays(rng, multi_cycle, n).items():
        rows[i]["days_chemo_to_bsab"] = days
    for i, bsab in _assign(
        rng, range(n), _counts(("teclistamab", "elranatamab"), (31, 13))
    ).items():
        rows[i]["bsab"] = bsab


def _fill_safety(rng: random.Random, rows: list[Row], courses: Sequence[Course]) -> None:
    n = len(rows)
    grades = _counts((0, 1, 2, 3), (16, 21, 6, 1))
    rng.shuffle(grades)
    for row, grade in zip(rows, grades, strict=True):
        row["crs_grade"] = grade
        row["icans_grade"] = 0
        for column in ("tocilizumab", "crs_dexamethasone", "anakinra"):
            row[column] = False
    by_grade = {g: [i for i in range(n) if rows[i]["crs_grade"] == g] for g in (1, 2, 3)}
    # ICANS: grade 4 after a grade 2 CRS (tocilizumab, dexamethasone, anakinra); two grade 1
    icans4 = rng.choice(by_grade[2])
    icans1 = rng.sample(by_grade[1], 2)
    rows[icans4]["icans_grade"] = 4
    for i in icans1:
        rows[i]["icans_grade"] = 1
    # tocilizumab 10: every CRS grade >= 2 (7) and three grade 1
    toci = by_grade[2] + by_grade[3] + rng.sample(by_grade[1], 3)
    for i in toci:
        rows[i]["tocilizumab"] = True
    # dexamethasone 4: the grade 4 ICANS, the grade 3 CRS and two grade 2 CRS
    others = [i for i in by_grade[2] if i != icans4]
    for i in [icans4, *by_grade[3], *rng.sample(others, 2)]:
        rows[i]["crs_dexamethasone"] = True
    rows[icans4]["anakinra"] = True

    # one patient without recorded infections/cytopenias (35 % = 15/43, 33 % = 14/43)
    infection_deaths = [i for i, c in enumerate(courses) if c.death_cause == "infection"]
    unknown = rng.choice([i for i in range(n) if i not in infection_deaths])
    known = [i for i in range(n) if i != unknown]
    candidates = [i for i in known if i not in infection_deaths]
    infected = set(infection_deaths) | set(rng.sample(candidates, 15 - len(infection_deaths)))
    cytopenic = set(rng.sample(known, 14))
    for i, row in enumerate(rows):
        row["infection_grade3plus"] = None if i == unknown else i in infected
        row["cytopenia_grade3plus"] = None if i == unknown else i in cytopenic
    for column, count in (
        ("ig_supplementation", 35),
        ("pjp_prophylaxis", 38),
        ("antibacterial_prophylaxis", 24),
        ("antiviral_prophylaxis", 43),
    ):
        chosen = set(rng.sample(range(n), count))
        for i, row in enumerate(rows):
            row[column] = i in chosen


def build_responses(courses: Sequence[Course] = COURSES, seed: int = SEED) -> list[Row]:
    """The responses table as rows: one per patient and assessed timepoint."""
    rows: list[Row] = []
    for i, course in enumerate(patient_courses(courses, seed)):
        for timepoint, (code, pet) in _response_course(course).items():
            rows.append(
                {
                    "patient_id": f"D{i + 1:03d}",
                    "timepoint": timepoint,
                    "response": code,
                    "pet_ct": pet,
                }
            )
    return rows


def format_value(value: Value) -> str:
    """Contract spelling of a value: true/false, empty for missing, whole numbers without .0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def to_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """CSV text of rows in the given column order (LF line ends); a column the rows do not
    hold (what the paper does not report, e.g. assessment days) is left empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row.get(c)) for c in columns])
    return buffer.getvalue()


def write_tables(out: Path = DEFAULT_OUT) -> list[Path]:
    """Write patients.csv and responses.csv into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    patients = out / "patients.csv"
    responses = out / "responses.csv"
    patients.write_text(to_csv(build_patients(), PATIENTS.column_names), encoding="utf-8")
    responses.write_text(to_csv(build_responses(), RESPONSES.column_names), encoding="utf-8")
    return [patients, responses]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: rebuild the cohort's CSV files."""
    parser = argparse.ArgumentParser(description="Rebuild the reconstructed debulking cohort.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    for path in write_tables(args.out):
        print(path)


if __name__ == "__main__":
    main()
