"""The report's methods: definitions of every endpoint and subgroup, and how numbers are made.

Sources: the debulking cohort study (Table 1, Fig. 1 and its methods paragraph), the
recurrent-CRS case series (Table 1 and narratives) and the project's data contract.
"""

from __future__ import annotations

from bsab_explorer.analyses.recurrence import (
    DOSE_FOLLOW_HOURS,
    EPISODE_WINDOW_DAYS,
    GAP_FACTOR,
    INFECTION_WINDOW_DAYS,
)
from bsab_explorer.analyses.survival import SMALL_GROUP_SIZE, CIMethod
from bsab_explorer.formatting import P_FLOOR
from bsab_explorer.schema import DAYS_PER_MONTH

#: The packages that computed, drew or served a report, with what each did: the provenance lists
#: their versions. The statistics themselves (Kaplan–Meier, log-rank, Cox, Clopper–Pearson) are
#: bsab-explorer's own code, checked against R's survival package; no survival library runs.
SOFTWARE: tuple[tuple[str, str], ...] = (
    ("polars", "reads, filters and counts the tables"),
    ("numpy", "the arithmetic of Kaplan–Meier, log-rank and Cox"),
    ("scipy", "distribution functions (chi-square, normal, beta) and Table 1's tests"),
    ("duckdb", "the store the data are read from"),
    ("altair", "the figures' specifications"),
    ("vl-convert-python", "renders the figures"),
    ("streamlit", "the app that offers the report"),
)

#: (term, definition) pairs, in the order the report lists them.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Response categories",
        "International Myeloma Working Group (IMWG) criteria, best to worst: stringent complete "
        "response (sCR), complete response (CR), very good partial response (VGPR), partial "
        "response (PR), minimal response (MR), stable disease (SD), progressive disease (PD); "
        "NE = assessed but not evaluable. No assessment at a timepoint means not assessed.",
    ),
    (
        "ORR",
        "Overall response rate: patients with a partial response or better (sCR, CR, VGPR or "
        "PR) at a timepoint, as a share of the denominator stated with it: patients evaluable "
        "at that timepoint (as in the study) or all treated patients. Its 95 % confidence "
        "interval is the Clopper–Pearson exact interval.",
    ),
    ("≥VGPR", "Very good partial response or better: sCR, CR or VGPR, of the same denominator."),
    ("CR", "Complete response or better: sCR or CR, of the same denominator."),
    (
        "Best response",
        "Best IMWG category on the bispecific antibody: the recorded best response, or when "
        "it is missing the best assessment on a treatment cycle (the post-debulking assessment "
        "excluded).",
    ),
    (
        "Response conversion",
        "For each patient, the response category at one timepoint against the next (or "
        "against the best response); patients not assessed at a timepoint are counted as "
        '"Not assessed" there, never dropped.',
    ),
    (
        "PFS",
        "Progression-free survival: time from the first full dose of the bispecific antibody "
        "to progression or death from any cause, censored at the last contact without either.",
    ),
    (
        "OS",
        "Overall survival: time from the first full dose of the bispecific antibody to death "
        "from any cause, censored at the last contact alive.",
    ),
    (
        "HRCA",
        "High-risk cytogenetic abnormalities: presence of del(17p), t(4;14) or t(14;16), as "
        "the study recorded it (1q21 gain or amplification is reported separately).",
    ),
    (
        "EMD",
        "Extramedullary disease: a lesion confined to soft tissue without contact with bony "
        "structures. Paramedullary disease (contact with bone) is reported separately.",
    ),
    (
        "High tumour burden",
        "Marrow plasma-cell infiltration above 60 %, paramedullary disease, and/or a high "
        "monoclonal protein (peak > 30 g/L or abnormal free light chain > 5000 mg/L).",
    ),
    (
        "CRS and ICANS",
        "Cytokine release syndrome and immune effector cell-associated neurotoxicity syndrome, "
        "graded by the ASTCT consensus (grade 0 = none).",
    ),
    (
        "CRS episode attribution",
        "Each CRS episode is attributed to the latest bispecific dose at or before its onset; "
        "its latency is the time from that dose to onset, in hours. Episodes attributed to a "
        "step-up dose or to the first treatment dose are initial; every other episode is "
        "recurrent.",
    ),
    (
        "Recurrence pattern",
        "Intervals are the days between consecutive recurrent episodes; an interval longer "
        f"than {GAP_FACTOR:g} times the case's median interval is a gap and reported apart. "
        "Latency statistics are over recurrent episodes. An episode within "
        f"{INFECTION_WINDOW_DAYS:g} days of a documented infection is flagged as a possible "
        f"infection. Management counts episodes with a treatment within {EPISODE_WINDOW_DAYS:g} "
        f"days of onset; the share of treatment doses followed by CRS uses a "
        f"{DOSE_FOLLOW_HOURS:g}-hour window.",
    ),
)


def statistical_methods(ci: CIMethod) -> tuple[str, ...]:
    """Paragraphs describing how the numbers of the report were computed."""
    return (
        "Survival curves are Kaplan–Meier estimates; times are stored in days and shown in "
        f"months (1 month = {DAYS_PER_MONTH} days). Pointwise 95 % confidence intervals use "
        f'the {ci.label}, conf.type = "{ci.value}" in R\'s survfit; medians and their '
        "confidence limits follow R's print.survfit, including the midpoint rule when the "
        'curve is flat at 50 %. "NR": not reached; "NE": not estimable.',
        "Groups are compared with the log-rank test (R's survdiff) and a Cox proportional "
        "hazards model (Efron ties) giving hazard ratios with Wald 95 % confidence intervals "
        "against the named reference group. When a group has fewer than "
        f"{SMALL_GROUP_SIZE} patients the p-value is printed with a warning. P-values read "
        f'"< {P_FLOOR}" below {P_FLOOR}, else with three decimals, everywhere in the app.',
        "These estimates, tests and models are computed by bsab-explorer's own code (NumPy "
        "arithmetic, SciPy's distribution functions); no survival library is used. Every number "
        "equals R's survival package to the printed digit (checked by the test suite against "
        "values computed with R).",
        "Median follow-up is the reverse Kaplan–Meier estimate (Schemper and Smith): censoring "
        "counted as the event, deaths as censored, read as a median with the CI above (R's "
        "survfit(Surv(time, 1 - status) ~ 1)). Numbers at risk, cumulative events and censored "
        "are R's summary.survfit(times =, extend = TRUE). Restricted mean survival up to τ is the "
        "area under the Kaplan–Meier curve with R's variance (print.survfit, rmean = τ); "
        "differences of survival at a time and of RMST have Wald CIs.",
        "Weighted log-rank tests weight each event time by S(t−)^ρ (ρ = 1: Peto–Peto), within "
        "strata when asked (R's survdiff with strata()). The multivariable Cox model repeats R's "
        "coxph Newton–Raphson (Efron or Breslow ties, at most 20 iterations): hazard ratios with "
        "Wald CIs, the global likelihood-ratio, Wald and score tests, Harrell's concordance; "
        "fewer than 10 events per coefficient, non-convergence and coefficients that may be "
        "infinite are stated. A non-converged fit reports the inverse of the information at its "
        "last coefficients as its variance (R's own is not reproducible, see the documentation). "
        "Proportional hazards are tested as R's cox.zph (survival ≥ 3.0, Kaplan–Meier "
        "transform).",
        "Competing risks: progression, with death without progression (a PFS event on the day "
        "of death) as the competing event; Aalen–Johansen cumulative incidence with Gray's "
        "variance and log(−log) CIs, and Gray's test between groups, as cmprsk's cuminc; the "
        "test is not computed, and says why, when a group has no event of a type. Subgroup "
        "hazard ratios are Cox models within each level, the interaction p the likelihood-ratio "
        "test of comparison × subgroup (not computed, with the reason, when a cell is empty); "
        "subgroup response rates have Clopper–Pearson exact CIs (R's binom.test).",
        "All of these are bsab-explorer's own code (NumPy and SciPy), checked against R's "
        "survival and cmprsk packages with reference values in the test suite; no survival library "
        "computes any of them.",
        "Percentages state their denominator. Missing values are counted as not recorded, "
        "never as negative.",
    )
