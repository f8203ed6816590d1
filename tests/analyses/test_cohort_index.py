"""The per-dataset response index: a filtered cohort's index (taken from the whole dataset's)
equals the index built from the cohort's own frames, and every analysis gives the same result
with it as without it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import registry
from bsab_explorer.analyses import conversion
from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.prepared import (
    PreparedDataset,
    cohort_index,
    prepare_dataset,
    select_prepared_cohort,
)
from bsab_explorer.analyses.response import (
    IndexedCohort,
    best_responses,
    index_cohort,
    response_by_timepoint,
    response_rank,
    timepoint_key,
)
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import (
    Cohort,
    CohortFilter,
    response_owners,
    select_cohort,
)
from bsab_explorer.schema import RESPONSE_CODES
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


def _cohorts(dataset: Dataset) -> list[tuple[Cohort, IndexedCohort]]:
    """Each filter's cohort of the prepared dataset, with its index narrowed from the dataset's."""
    prepared = prepare_dataset(dataset)
    found = []
    for text in FILTERS:
        cohort = select_prepared_cohort(prepared, CohortFilter.parse(text))
        found.append((cohort, cohort_index(cohort, prepared)))
    return found


@pytest.mark.parametrize("which", ["generated", "constructed"])
def test_the_cohort_index_equals_indexing_the_cohort_frames(
    which: str, request: pytest.FixtureRequest
) -> None:
    dataset: Dataset = request.getfixturevalue(which)
    sizes = set()
    for cohort, indexed in _cohorts(dataset):
        sizes.add(cohort.n)
        _same(indexed, index_cohort(cohort.patients, cohort.responses))
        _same(cohort_index(cohort), indexed)  # without the prepared dataset: the same index
    # The filters cut the cohort in different ways, including to nobody.
    assert 0 in sizes
    assert len(sizes) >= 4


def test_the_whole_dataset_is_indexed_once(generated: Dataset) -> None:
    prepared = prepare_dataset(generated)
    whole = prepared.index
    _same(whole, index_cohort(generated.table("patients"), generated.table("responses")))
    everyone = select_prepared_cohort(prepared, CohortFilter())
    assert cohort_index(everyone, prepared) is whole
    first, second = (select_prepared_cohort(prepared, CohortFilter.parse(t)) for t in FILTERS[1:3])
    # Each filter narrows the prepared index: its pseudonym order is renumbered, not re-sorted.
    assert cohort_index(first, prepared).derive_order is not None
    assert cohort_index(second, prepared).derive_order is not None
    assert prepared.index is whole


def test_a_cohort_of_another_dataset_is_refused(generated: Dataset, constructed: Dataset) -> None:
    prepared = prepare_dataset(generated)
    other = select_cohort(constructed, CohortFilter.parse("age_years>=65"))
    with pytest.raises(ValueError, match="not selected from this prepared dataset"):
        cohort_index(other, prepared)


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
    for cohort, ix in _cohorts(generated):
        p, r = cohort.patients, cohort.responses
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


def test_a_filter_asked_again_gives_an_equal_cohort(generated: Dataset) -> None:
    prepared = prepare_dataset(generated)
    first = select_prepared_cohort(prepared, CohortFilter.parse("age_years>=65"))
    again = select_prepared_cohort(prepared, CohortFilter.parse(" age_years >= 65 "))
    assert again.patients.equals(first.patients)
    assert again.responses.equals(first.responses)
    assert again.rows is not None
    assert first.rows is not None
    assert again.rows.tolist() == first.rows.tolist()
    _same(cohort_index(again, prepared), cohort_index(first, prepared))
    # The same as selecting without the prepared value.
    plain = select_cohort(generated, CohortFilter.parse("age_years>=65"))
    assert plain.patients.equals(first.patients)
    assert plain.responses.equals(first.responses)


def test_preparing_keeps_nothing_with_the_dataset(generated: Dataset) -> None:
    # The fingerprint is part of the dataset's value, computed on first read: read it first.
    assert len(generated.fingerprint) == 64
    before = dict(vars(generated))
    prepared = prepare_dataset(generated)
    assert isinstance(prepared, PreparedDataset)
    assert prepared.dataset is generated
    assert prepared.fingerprint == generated.fingerprint
    assert vars(generated) == before
    # Preparing again gives an equal value (a pure function of the dataset).
    again = prepare_dataset(generated)
    _same(again.index, prepared.index)
    assert again.owners.tolist() == prepared.owners.tolist()


def test_a_cohorts_survival_summary_is_the_summary_of_its_patients(generated: Dataset) -> None:
    from bsab_explorer.analyses.survival import cohort_survival, summarise_survival

    cohort = select_cohort(generated, CohortFilter.parse("age_years>=55"))
    first = cohort_survival(cohort, "os", "iss_stage", "log-log")
    plain = summarise_survival(cohort.patients, "os", "iss_stage", "log-log")
    assert first.medians_frame().equals(plain.medians_frame())
    assert first.logrank == plain.logrank
    other = cohort_survival(cohort, "pfs", "iss_stage", "log-log")
    assert other.endpoint.value == "pfs"


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
    prepared = prepare_dataset(dataset)
    for text in FILTERS:
        cohort = select_prepared_cohort(prepared, CohortFilter.parse(text))
        indexed = cohort_index(cohort, prepared)
        sorted_ids = indexed.patient_ids.gather(indexed.pseudonym_order).to_list()
        assert sorted_ids == sorted(cohort.patients["patient_id"].to_list())
        # Renumbered from the dataset's order, not sorted again.
        assert (indexed is prepared.index) == (indexed.derive_order is None)


@pytest.mark.parametrize("head", [7, 100, conversion._HEAD])
@pytest.mark.parametrize("limit", [0, 1, 3, 10_000])
def test_flows_with_a_few_pseudonyms_are_the_full_flows_cut_short(
    generated: Dataset, limit: int, head: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short head makes most cells look further on for their first pseudonyms.
    monkeypatch.setattr(conversion, "_HEAD", head)
    dataset = _shuffled(generated)
    for cohort, ix in _cohorts(dataset):
        p, r = cohort.patients, cohort.responses
        full = alluvial_flows(p, r)
        short = alluvial_flows(p, r, indexed=ix, max_ids=limit)
        assert short.schema == full.schema
        assert short.equals(full.with_columns(pl.col("patient_ids").list.head(limit)))


def test_owners_of_another_dataset_are_refused(generated: Dataset, constructed: Dataset) -> None:
    with pytest.raises(ValueError, match="not the response rows of this dataset"):
        select_cohort(generated, CohortFilter.parse("age_years>=65"), response_owners(constructed))


@pytest.mark.parametrize("which", ["generated", "constructed"])
def test_indexing_with_the_responses_owners_equals_joining_by_id(
    which: str, request: pytest.FixtureRequest
) -> None:
    dataset: Dataset = request.getfixturevalue(which)
    patients, responses = dataset.table("patients"), dataset.table("responses")
    # A response whose patient is not in the table, and one without a patient id: left out.
    stray = responses.head(2).with_columns(
        pl.Series("patient_id", ["nobody", None], dtype=pl.String)
    )
    responses = pl.concat([stray, responses])
    with_stray = Dataset("with a stray response", {"patients": patients, "responses": responses})
    owners = response_owners(with_stray)
    assert owners[:2].tolist() == [-1, -1]
    _same(index_cohort(patients, responses, owners), index_cohort(patients, responses))
    # Owners that do not fit the responses (another frame's) are not used.
    _same(index_cohort(patients, responses, owners[1:]), index_cohort(patients, responses))


def _owners_by_join(dataset: Dataset) -> list[int]:
    """Each response's patient row, joining by id (what `response_owners` must equal)."""
    rows = dataset.table("patients").select("patient_id").with_row_index("row")
    joined = (
        dataset.table("responses")
        .select("patient_id")
        .join(rows, on="patient_id", how="left", maintain_order="left")
    )
    return joined.get_column("row").cast(pl.Int64).fill_null(-1).to_list()


@given(
    ids=st.lists(st.text("ab1", min_size=1, max_size=3), unique=True, max_size=12),
    picks=st.lists(st.one_of(st.none(), st.integers(0, 15)), max_size=40),
    order=st.sampled_from(["sorted", "reversed", "as drawn"]),
)
def test_the_responses_owners_are_their_patients_rows_in_any_order(
    ids: list[str], picks: list[int | None], order: str
) -> None:
    # Sorted ids take the binary search by runs; any other order the join: both give the same.
    if order != "as drawn":
        ids = sorted(ids, reverse=order == "reversed")
    strays = ["zz", "", "a0"]
    wanted = [
        None if p is None else (ids[p] if p < len(ids) else strays[p % len(strays)]) for p in picks
    ]
    dataset = Dataset(
        "drawn",
        {
            "patients": pl.DataFrame({"patient_id": ids}, schema={"patient_id": pl.String}),
            "responses": pl.DataFrame({"patient_id": wanted}, schema={"patient_id": pl.String}),
        },
    )
    owners = response_owners(dataset)
    assert owners.dtype == np.int64
    assert owners.tolist() == _owners_by_join(dataset)


def test_the_registrys_owners_take_the_search_and_equal_the_join(generated: Dataset) -> None:
    assert generated.table("patients").get_column("patient_id").is_sorted()
    assert response_owners(generated).tolist() == _owners_by_join(generated)


def test_a_derived_best_response_is_the_best_assessment_on_a_cycle(generated: Dataset) -> None:
    # Without a recorded best response, each patient's best is the least rank of its cycles
    # (post-debulking excluded), whatever order its assessments come in.
    patients = generated.table("patients").drop("best_response")
    responses = generated.table("responses").sample(fraction=1.0, shuffle=True, seed=3)
    ranked = responses.with_columns(
        response_rank().alias("rank"), timepoint_key().alias("tp")
    ).filter((pl.col("tp") > 0) & pl.col("rank").is_not_null())
    expected = (
        ranked.group_by("patient_id")
        .agg(pl.col("rank").min())
        .join(
            pl.DataFrame({"rank": range(len(RESPONSE_CODES)), "response": list(RESPONSE_CODES)}),
            on="rank",
        )
        .select("patient_id", "response")
        .sort("patient_id")
    )
    assert expected.height > 100
    assert best_responses(patients, responses).to_dicts() == expected.to_dicts()


@given(st.lists(st.one_of(st.integers(0, 40), st.sampled_from([10_000, -1, 1 << 20, 1 << 40]))))
def test_timepoint_columns_are_the_sorted_distinct_keys_and_each_rows_position(
    drawn: list[int],
) -> None:
    from bsab_explorer.analyses.response import _timepoint_columns

    tp = np.array(drawn, dtype=np.int64)
    keys, column = _timepoint_columns(tp)
    expected = np.unique(tp)
    assert keys.dtype == expected.dtype
    assert keys.tolist() == expected.tolist()
    assert column.tolist() == np.searchsorted(expected, tp).tolist()
