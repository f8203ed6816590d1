"""The per-dataset response index: a filtered cohort's index (taken from the whole dataset's)
equals the index built from the cohort's own frames, and every analysis gives the same result
with it as without it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bench import registry
from bsab_explorer.analyses import conversion
from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.response import (
    IndexedCohort,
    cohort_index,
    dataset_index,
    index_cohort,
    response_by_timepoint,
)
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import (
    RECENT_COHORTS,
    Cohort,
    CohortFilter,
    response_owners,
    select_cohort,
)
from tests.fixtures.cohorts import constructed_patients, constructed_responses

FILTERS = (
    "",
    "age_years>=65",
    "iss_stage=II,III",
    "iss_stage=na",
    "emd=true;age_years<70",
    "age_years>200",
)


@pytest.fixture(scope="module")
def generated() -> Dataset:
    tables = registry.generate(600, seed=11).tables
    return Dataset("generated", {k: tables[k] for k in ("patients", "responses")})


@pytest.fixture(scope="module")
def constructed() -> Dataset:
    """The ten constructed patients, with a repeated assessment and an orphan assessment."""
    responses = constructed_responses()
    extra = pl.DataFrame(
        {
            "patient_id": [responses["patient_id"][0], "NOBODY"],
            "timepoint": [responses["timepoint"][0], "C1"],
            "response": ["sCR", "PR"],
        }
    )
    responses = pl.concat([responses, extra], how="diagonal_relaxed")
    return Dataset("constructed", {"patients": constructed_patients(), "responses": responses})


def _same(a: IndexedCohort, b: IndexedCohort) -> None:
    assert a.patient_ids.to_list() == b.patient_ids.to_list()
    assert a.keys.tolist() == b.keys.tolist()
    assert np.array_equal(a.ranks, b.ranks)
    assert np.array_equal(a.pet, b.pet)


def _cohorts(dataset: Dataset) -> list[Cohort]:
    return [select_cohort(dataset, CohortFilter.parse(text)) for text in FILTERS]


@pytest.mark.parametrize("which", ["generated", "constructed"])
def test_the_cohort_index_equals_indexing_the_cohort_frames(
    which: str, request: pytest.FixtureRequest
) -> None:
    dataset: Dataset = request.getfixturevalue(which)
    sizes = set()
    for cohort in _cohorts(dataset):
        sizes.add(cohort.n)
        _same(cohort_index(cohort), index_cohort(cohort.patients, cohort.responses))
        assert cohort_index(cohort) is cohort_index(cohort)
    # The filters cut the cohort in different ways, including to nobody.
    assert 0 in sizes
    assert len(sizes) >= 4


def test_the_whole_dataset_is_indexed_once(generated: Dataset) -> None:
    first, second = (select_cohort(generated, CohortFilter.parse(t)) for t in FILTERS[1:3])
    cohort_index(first)
    whole = generated.memo["response_index"]
    cohort_index(second)
    assert generated.memo["response_index"] is whole


def test_responses_follow_their_patients(constructed: Dataset) -> None:
    owners = response_owners(constructed)
    responses = constructed.table("responses")
    assert owners.size == responses.height
    assert owners[-1] == -1  # the orphan assessment
    cohort = select_cohort(constructed, CohortFilter.parse("age_years>=65"))
    kept = set(cohort.patients["patient_id"])
    assert set(cohort.responses["patient_id"]) <= kept
    expected = responses.filter(pl.col("patient_id").is_in(list(kept)))
    assert cohort.responses.equals(expected)


@pytest.mark.parametrize("by", [None, "iss_stage", "emd"])
def test_analyses_agree_with_and_without_the_index(generated: Dataset, by: str | None) -> None:
    for cohort in _cohorts(generated):
        p, r, ix = cohort.patients, cohort.responses, cohort_index(cohort)
        for denominator in ("evaluable", "all_treated"):
            plain = response_by_timepoint(p, r, denominator, by)
            fast = response_by_timepoint(p, r, denominator, by, indexed=ix)
            assert fast.frame.equals(plain.frame)
            assert fast.counts.equals(plain.counts)
        assert alluvial_flows(p, r, indexed=ix).equals(alluvial_flows(p, r))
        assert conversion_statements(p, r, indexed=ix) == conversion_statements(p, r)
        assert observed_timepoints(r, indexed=ix) == observed_timepoints(r)
        for start, end in (("post_debulking", "best"), ("C1", "C3")):
            assert transition_table(r, start, end, p, indexed=ix).equals(
                transition_table(r, start, end, p)
            )


def test_transition_pseudonyms_are_sorted_within_each_cell(generated: Dataset) -> None:
    # Patients in a shuffled order: the pseudonyms of each cell still come out sorted.
    patients = generated.table("patients").sample(fraction=1.0, shuffle=True, seed=3)
    table = transition_table(generated.table("responses"), "post_debulking", "best", patients)
    for ids in table["patient_ids"].to_list():
        assert ids == sorted(ids)
    assert int(table["n"].sum()) == patients.height


def test_a_filter_asked_again_gives_the_same_cohort(generated: Dataset) -> None:
    first = select_cohort(generated, CohortFilter.parse("age_years>=65"))
    again = select_cohort(generated, CohortFilter.parse(" age_years >= 65 "))
    assert again is first
    assert cohort_index(again) is cohort_index(first)


def test_only_the_recent_cohorts_are_kept(generated: Dataset) -> None:
    oldest = select_cohort(generated, CohortFilter.parse("age_years>=20"))
    for age in range(21, 21 + RECENT_COHORTS):
        select_cohort(generated, CohortFilter.parse(f"age_years>={age}"))
    assert len(generated.memo["cohorts"]) == RECENT_COHORTS
    renewed = select_cohort(generated, CohortFilter.parse("age_years>=20"))
    assert renewed is not oldest
    assert renewed.patients.equals(oldest.patients)
    # Another dataset keeps its own cohorts.
    other = Dataset("other", dict(generated.tables))
    assert select_cohort(other, CohortFilter.parse("age_years>=20")) is not renewed


def test_forgotten_cohorts_are_selected_anew(generated: Dataset) -> None:
    from bsab_explorer.filters import forget_cohorts

    first = select_cohort(generated, CohortFilter.parse("age_years>=70"))
    whole = dataset_index(generated)
    forget_cohorts(generated)
    again = select_cohort(generated, CohortFilter.parse("age_years>=70"))
    assert again is not first
    assert again.patients.equals(first.patients)
    # What the dataset derived for every filter is kept.
    assert dataset_index(generated) is whole
    _same(cohort_index(again), cohort_index(first))


def test_a_cohorts_survival_summary_is_kept_with_it(generated: Dataset) -> None:
    from bsab_explorer.analyses.survival import cohort_survival, summarise_survival

    cohort = select_cohort(generated, CohortFilter.parse("age_years>=55"))
    first = cohort_survival(cohort, "os", "iss_stage", "log-log")
    assert cohort_survival(cohort, "os", "iss_stage", "log-log") is first
    plain = summarise_survival(cohort.patients, "os", "iss_stage", "log-log")
    assert first.medians_frame().equals(plain.medians_frame())
    assert first.logrank == plain.logrank
    assert cohort_survival(cohort, "pfs", "iss_stage", "log-log") is not first


def _shuffled(dataset: Dataset) -> Dataset:
    """The dataset with its patients (and responses) in a random order, not pseudonym order."""
    return Dataset(
        "shuffled",
        {
            name: dataset.table(name).sample(fraction=1.0, shuffle=True, seed=5)
            for name in ("patients", "responses")
        },
    )


@pytest.mark.parametrize("which", ["generated", "constructed"])
def test_a_cohorts_pseudonym_order_comes_from_the_datasets(
    which: str, request: pytest.FixtureRequest
) -> None:
    dataset = _shuffled(request.getfixturevalue(which))
    for cohort in _cohorts(dataset):
        indexed = cohort_index(cohort)
        sorted_ids = indexed.patient_ids.gather(indexed.pseudonym_order).to_list()
        assert sorted_ids == sorted(cohort.patients["patient_id"].to_list())
        # Renumbered from the dataset's order, not sorted again.
        assert (indexed is dataset_index(dataset)) == (indexed.derive_order is None)


@pytest.mark.parametrize("head", [7, 100, conversion._HEAD])
@pytest.mark.parametrize("limit", [0, 1, 3, 10_000])
def test_flows_with_a_few_pseudonyms_are_the_full_flows_cut_short(
    generated: Dataset, limit: int, head: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short head makes most cells look further on for their first pseudonyms.
    monkeypatch.setattr(conversion, "_HEAD", head)
    dataset = _shuffled(generated)
    for cohort in _cohorts(dataset):
        p, r, ix = cohort.patients, cohort.responses, cohort_index(cohort)
        full = alluvial_flows(p, r)
        short = alluvial_flows(p, r, indexed=ix, max_ids=limit)
        assert short.schema == full.schema
        assert short.equals(full.with_columns(pl.col("patient_ids").list.head(limit)))
