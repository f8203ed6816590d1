"""Response conversion on the constructed cohort (see conftest.py)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.response import NOT_ASSESSED
from bsab_explorer.analyses.response_tables import transition_display
from tests.fixtures.cohorts import contract_frame


def _cell(table: pl.DataFrame, start: str, end: str) -> tuple[int, list[str]]:
    row = table.filter((pl.col("from") == start) & (pl.col("to") == end)).row(0, named=True)
    return row["n"], row["patient_ids"]


def test_transition_table_counts_and_pseudonyms(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    table = transition_table(responses, "post_debulking", "C1", patients=patients)
    assert table.columns == ["from", "to", "n", "patient_ids"]
    assert table.get_column("n").sum() == 10
    assert _cell(table, "PD", "PR") == (2, ["P04", "P07"])
    assert _cell(table, NOT_ASSESSED, "CR") == (1, ["P09"])
    assert _cell(table, NOT_ASSESSED, NOT_ASSESSED) == (1, ["P10"])
    # Clinical order: best "from" first, "Not assessed" last.
    assert table.get_column("from").to_list() == [
        "CR", "VGPR", "PR", "SD", "PD", "PD", "NE", NOT_ASSESSED, NOT_ASSESSED,
    ]  # fmt: skip


def test_a_transition_table_may_list_only_the_first_pseudonyms(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    full = transition_table(responses, "post_debulking", "C1", patients=patients)
    short = transition_table(responses, "post_debulking", "C1", patients=patients, max_ids=1)
    assert short.select("from", "to", "n").equals(full.select("from", "to", "n"))
    assert _cell(short, "PD", "PR") == (2, ["P04"])
    shown = transition_display(short).filter(pl.col("From") == "PD", pl.col("To") == "PR")
    assert shown.row(0, named=True) == {
        "From": "PD",
        "To": "PR",
        "Patients": 2,
        "Pseudonyms": "P04 … and 1 more (all in the CSV)",
    }
    # Rows listing every patient read as the plain list.
    complete = transition_display(full)
    assert complete.filter(pl.col("From") == "PD", pl.col("To") == "PR")["Pseudonyms"].item() == (
        "P04, P07"
    )
    assert (
        transition_display(short)
        .filter(pl.col("Patients") == 1)
        .equals(complete.filter(pl.col("Patients") == 1))
    )


def test_transition_without_patients_counts_assessed_patients(responses: pl.DataFrame) -> None:
    table = transition_table(responses, "C1", "C3")
    # P10 has no assessment anywhere, so only nine patients.
    assert table.get_column("n").sum() == 9
    assert _cell(table, "VGPR", "PD") == (1, ["P03"])
    assert _cell(table, "CR", NOT_ASSESSED) == (1, ["P09"])


def test_transition_to_best(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    table = transition_table(responses, "post_debulking", "best", patients=patients)
    assert _cell(table, "PD", "VGPR") == (1, ["P04"])
    assert _cell(table, "PD", "CR") == (1, ["P07"])
    assert _cell(table, "SD", "PD") == (1, ["P06"])


def test_alluvial_flows_cover_every_patient_at_every_step(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    assert observed_timepoints(responses) == ["post_debulking", "C1", "C3"]
    flows = alluvial_flows(patients, responses)
    assert flows.group_by("step").agg(pl.col("n").sum()).sort("step").rows() == [(0, 10), (1, 10)]
    step1 = flows.filter(pl.col("step") == 1)
    assert set(step1.get_column("from_timepoint").to_list()) == {"C1"}
    assert _cell(step1, "SD", NOT_ASSESSED) == (1, ["P05"])
    chosen = alluvial_flows(patients, responses, timepoints=["post_debulking", "C3"])
    assert _cell(chosen, "PD", "VGPR") == (1, ["P04"])
    assert alluvial_flows(patients, responses, timepoints=["C1"]).height == 0


def test_conversion_statements(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    statements = conversion_statements(patients, responses)
    assert [(s.group, s.n, s.responders, s.not_assessed) for s in statements] == [
        ("sCR, CR or VGPR", 2, 2, 0),
        ("PR", 1, 1, 0),
        ("MR or SD", 1, 0, 0),
        ("PD", 3, 2, 0),
        ("NE", 1, 0, 0),
        (NOT_ASSESSED, 2, 1, 1),
    ]
    assert statements[0].text == (
        "Among patients in sCR, CR or VGPR after debulking (n = 2), 2 (100 %) responded to "
        "the bispecific (best response ≥ PR)."
    )
    assert statements[3].text == (
        "Among patients with progression after debulking chemotherapy (n = 3), 2 (67 %) "
        "responded to the bispecific (best response ≥ PR)."
    )
    assert statements[3].percent == 200 / 3
    assert statements[5].text.endswith("; 1 had no assessment on the bispecific.")


def test_statements_follow_the_filtered_cohort(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    no_emd = patients.filter(pl.col("emd") == False)  # noqa: E712
    statements = conversion_statements(no_emd, responses)
    # P05, P07 progressed after debulking; P07 then reached CR.
    pd = next(s for s in statements if s.group == "PD")
    assert (pd.n, pd.responders) == (2, 1)
    assert conversion_statements(patients.clear(), responses) == []


def test_conversion_needs_responses(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"responses\.response"):
        conversion_statements(patients, responses.drop("response"))
    with pytest.raises(ValueError, match=r"responses\.timepoint"):
        transition_table(responses.drop("timepoint"), "C1", "C3")

    with pytest.raises(ValueError, match="unknown timepoint 'week 4'"):
        transition_table(responses, "week 4", "C3")


_CODES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.integers(min_value=1, max_value=20),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=19),
            st.sampled_from(["post_debulking", "C1", "C3"]),
            st.sampled_from(_CODES),
        ),
        max_size=60,
    ),
)
def test_transitions_equal_a_plain_python_count(n: int, rows: list[tuple[int, str, str]]) -> None:
    ids = [f"Q{i:02d}" for i in range(n)]
    rows = [r for r in rows if r[0] < n]
    patients = contract_frame("patients", {"patient_id": ids})
    responses = contract_frame(
        "responses",
        {
            "patient_id": [ids[r[0]] for r in rows],
            "timepoint": [r[1] for r in rows],
            "response": [r[2] for r in rows],
        },
    )
    at: dict[tuple[str, str], int] = {}
    for i, t, code in rows:
        at[(ids[i], t)] = min(at.get((ids[i], t), 99), _CODES.index(code))
    expected: dict[tuple[str, str], list[str]] = {}
    for p in ids:
        start, end = at.get((p, "post_debulking")), at.get((p, "C3"))
        key = (
            NOT_ASSESSED if start is None else _CODES[start],
            NOT_ASSESSED if end is None else _CODES[end],
        )
        expected.setdefault(key, []).append(p)
    table = transition_table(responses, "post_debulking", "C3", patients=patients)
    got = {(r["from"], r["to"]): r["patient_ids"] for r in table.iter_rows(named=True)}
    assert got == {k: sorted(v) for k, v in expected.items()}
    assert table["n"].to_list() == [len(v) for v in table["patient_ids"].to_list()]
