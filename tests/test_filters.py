"""The cohort filter: grammar round-trips and row selection, as one parametrised table."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bsab_explorer.filters import Clause, CohortFilter, FilterError
from bsab_explorer.schema import PATIENTS

COHORT = pl.DataFrame(
    {
        "patient_id": ["D001", "D002", "D003", "D004", "D005"],
        "age_years": [45, 65, 70, 90, None],
        "sex": ["F", "M", "F", "M", "F"],
        "emd": [True, False, True, None, False],
        "bsab": ["teclistamab", "elranatamab", "teclistamab", "teclistamab", "linvoseltamab"],
        "iss_stage": ["I", "III", "II", None, "III"],
        "pfs_days": [10.5, 300.0, 120.0, 45.0, 700.0],
    },
    schema_overrides={"age_years": pl.Int64},
)


@pytest.mark.parametrize(
    ("text", "canonical", "expected_ids"),
    [
        ("", "", ["D001", "D002", "D003", "D004", "D005"]),
        ("emd=true", "emd=true", ["D001", "D003"]),
        ("EMD = Yes", "emd=true", ["D001", "D003"]),
        ("emd=0", "emd=false", ["D002", "D005"]),
        ("emd=na", "emd=na", ["D004"]),
        ("emd=unknown", "emd=na", ["D004"]),
        ("emd=true,na", "emd=na,true", ["D001", "D003", "D004"]),
        ("emd!=true", "emd!=true", ["D002", "D004", "D005"]),
        ("age_years>=65", "age_years>=65", ["D002", "D003", "D004"]),
        ("age_years>65", "age_years>65", ["D003", "D004"]),
        ("age_years<65", "age_years<65", ["D001"]),
        ("age_years<=65.0", "age_years<=65", ["D001", "D002"]),
        ("age_years=na", "age_years=na", ["D005"]),
        ("bsab=Teclistamab", "bsab=teclistamab", ["D001", "D003", "D004"]),
        ("bsab=LINVOSELTAMAB", "bsab=linvoseltamab", ["D005"]),
        ("sex=f", "sex=F", ["D001", "D003", "D005"]),
        ("iss_stage=ii,iii", "iss_stage=II,III", ["D002", "D003", "D005"]),
        ("iss_stage!=III", "iss_stage!=III", ["D001", "D003", "D004"]),
        ("pfs_days<100", "pfs_days<100", ["D001", "D004"]),
        (
            "emd=true;bsab=teclistamab;age_years>=65",
            "age_years>=65;bsab=teclistamab;emd=true",
            ["D003"],
        ),
        (" ; emd=false ; ", "emd=false", ["D002", "D005"]),
        ("sex=F;sex=M", "sex=M", ["D002", "D004"]),
    ],
)
def test_filter_grammar_and_rows(text: str, canonical: str, expected_ids: list[str]) -> None:
    cohort_filter = CohortFilter.parse(text)
    assert cohort_filter.to_text() == canonical
    assert CohortFilter.parse(canonical) == cohort_filter
    kept = cohort_filter.apply(COHORT, PATIENTS)
    assert kept["patient_id"].to_list() == expected_ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("emd", "'emd' is not a filter clause"),
        ("nonsense=1", "'nonsense' is not a column of the data contract"),
        ("emd=maybe", "'emd' is yes/no: use true or false, not 'maybe'"),
        ("age_years>=old", "'age_years' is a number, not 'old'"),
        ("age_years>=inf", "'age_years' needs a finite number"),
        ("sex=X", "'X' is not a code of 'sex' (use one of: F, M)"),
        ("sex>=F", "'sex' is not a number; '>=' needs a number column"),
        ("age_years>=60,70", "'age_years>=' takes one number"),
        ("emd=", "'emd' needs a value after the operator"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        CohortFilter.parse(text)
    assert message in str(caught.value)


def test_describe_and_slug_read_well() -> None:
    cohort_filter = CohortFilter.parse("emd=true;bsab=teclistamab;age_years>=65")
    assert cohort_filter.describe() == (
        "Age (years) ≥ 65; Bispecific antibody is teclistamab; Extramedullary disease (EMD) is true"
    )
    assert cohort_filter.slug() == "age_years-ge-65_bsab=teclistamab_emd=true"
    assert CohortFilter().describe() == "all patients"
    assert CohortFilter().slug() == "all"


def test_with_clause_replaces_one_column() -> None:
    base = CohortFilter.parse("emd=true;sex=F")
    changed = base.with_clause(Clause("emd", "=", ("false",)), "emd")
    assert changed.to_text() == "emd=false;sex=F"
    assert base.with_clause(None, "sex").to_text() == "emd=true"


def test_clauses_on_columns_a_table_lacks_do_not_filter_it() -> None:
    from bsab_explorer.schema import CASES

    cohort_filter = CohortFilter.parse("emd=true;sex=F")
    cases = pl.DataFrame({"case_id": ["RC1", "RC2"], "sex": ["F", "M"]})
    assert cohort_filter.apply(cases, CASES)["case_id"].to_list() == ["RC1"]


_VALUES = {
    "emd": st.sampled_from(["true", "false", "na", "yes", "0"]),
    "sex": st.sampled_from(["F", "m", "na"]),
    "age_years": st.integers(18, 90).map(str),
    "bsab": st.sampled_from(["teclistamab", "Elranatamab", "other drug"]),
}


@given(
    st.lists(
        st.sampled_from(sorted(_VALUES)).flatmap(
            lambda c: st.tuples(
                st.just(c),
                st.sampled_from([">=", "<", "="] if c == "age_years" else ["=", "!="]),
                _VALUES[c],
            )
        ),
        max_size=4,
    )
)
def test_any_parsed_filter_round_trips(parts: list[tuple[str, str, str]]) -> None:
    text = ";".join(f"{c}{op}{v}" for c, op, v in parts)
    parsed = CohortFilter.parse(text)
    assert CohortFilter.parse(parsed.to_text()) == parsed
    assert parsed.apply(COHORT, PATIENTS).height <= COHORT.height


def test_not_equal_keeps_unrecorded_unless_na_is_listed() -> None:
    keeps = CohortFilter.parse("emd!=true").apply(COHORT, PATIENTS)["patient_id"].to_list()
    drops = CohortFilter.parse("emd!=true,na").apply(COHORT, PATIENTS)["patient_id"].to_list()
    assert keeps == ["D002", "D004", "D005"]
    assert drops == ["D002", "D005"]
