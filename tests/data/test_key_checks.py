"""Repeated keys and unknown parent ids, found without hashing every row, against plain sets.

`all_distinct` proves keys distinct by counting their hashes; `unknown_ids` looks up the first
id of each run by an anti-join. Both are compared here with the obvious Python computation on
generated ids, sorted and not, with nulls and repeats.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.data.validation import all_distinct, unknown_ids

_IDS = st.lists(st.one_of(st.none(), st.sampled_from(["P1", "P2", "P10", "p1", "", "Z"])))


@settings(max_examples=300, deadline=None)
@given(ids=_IDS, known=_IDS, sort_ids=st.booleans(), sort_known=st.booleans())
def test_unknown_ids_are_the_ids_missing_from_the_known(
    ids: list[str | None], known: list[str | None], sort_ids: bool, sort_known: bool
) -> None:
    child = pl.Series("patient_id", ids, dtype=pl.String)
    parent = pl.Series("patient_id", known, dtype=pl.String)
    if sort_ids:
        child = child.sort()
    if sort_known:
        parent = parent.sort()
    expected = {i for i in ids if i is not None} - {k for k in known if k is not None}
    found = unknown_ids(child, parent)
    assert sorted(found.to_list()) == sorted(expected)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["P1", "P2", "P10", None]), st.sampled_from(["C1", "C3"]))
    )
)
def test_all_distinct_says_whether_a_key_repeats(rows: list[tuple[str | None, str]]) -> None:
    frame = pl.DataFrame(
        {"patient_id": [p for p, _ in rows], "timepoint": [t for _, t in rows]},
        schema={"patient_id": pl.String, "timepoint": pl.String},
    )
    assert all_distinct(frame, ["patient_id", "timepoint"]) == (len(set(rows)) == len(rows))
    ids = [p for p, _ in rows]
    assert all_distinct(frame, ["patient_id"]) == (len(set(ids)) == len(ids))
    # Sorted ids without nulls are told apart by their neighbours.
    present = frame.drop_nulls("patient_id").sort("patient_id")
    named = [p for p in ids if p is not None]
    assert all_distinct(present, ["patient_id"]) == (len(set(named)) == len(named))


def test_a_sorted_registry_and_an_unsorted_one_name_the_same_unknown_ids() -> None:
    known = pl.Series([f"P{i:07d}" for i in range(0, 10_000, 2)])
    ids = pl.Series([f"P{i:07d}" for i in range(10_000) for _ in range(2)])
    sorted_found = unknown_ids(ids, known)
    shuffled_found = unknown_ids(ids.shuffle(seed=1), known.shuffle(seed=2))
    assert sorted(sorted_found.to_list()) == sorted(shuffled_found.to_list())
    assert sorted_found.len() == 5_000
