"""The reconstructed case series: byte-for-byte rebuild, contract validity, narrative facts."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import polars as pl
import pytest

from bsab_explorer.dataset import polars_type
from bsab_explorer.reconstruction import recurrent_crs
from bsab_explorer.reconstruction.recurrent_crs import build_cases, build_events, month_offset
from bsab_explorer.schema import (
    CASES,
    EVENT_CODES,
    EVENTS,
    GRADED_EVENTS,
    RESPONSE_CODES,
    STEP_UP_PREFIX,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "recurrent_crs"


def _read(name: str) -> pl.DataFrame:
    table = CASES if name == "cases" else EVENTS
    schema = {c.name: polars_type(c.kind) for c in table.columns}
    return pl.read_csv(DATA / f"{name}.csv", schema=schema)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return build_events()


def _of(events: pl.DataFrame, case_id: str, event: str) -> pl.DataFrame:
    return events.filter((pl.col("case_id") == case_id) & (pl.col("event") == event))


def test_generator_rebuilds_the_committed_csvs_byte_for_byte(tmp_path: Path) -> None:
    assert recurrent_crs.main(["--out", str(tmp_path)]) == 0
    for name in ("cases.csv", "events.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_committed_csvs_have_contract_columns_in_order() -> None:
    assert tuple(_read("cases").columns) == CASES.column_names
    assert tuple(_read("events").columns) == EVENTS.column_names
    header = (DATA / "events.csv").read_text().splitlines()[0]
    assert header == ",".join(EVENTS.column_names)


def test_committed_csvs_equal_the_built_frames() -> None:
    assert _read("cases").equals(build_cases())
    assert _read("events").equals(build_events())


def test_cases_are_table_1() -> None:
    cases = build_cases()
    assert cases["case_id"].to_list() == ["RC1", "RC2", "RC3", "RC4", "RC5"]
    assert cases["age_years"].to_list() == [64, 65, 71, 75, 69]
    assert cases["sex"].to_list() == ["F", "M", "F", "F", "F"]
    assert cases["isotype"].to_list() == ["IgG", "IgG", "IgG", "IgA", "light_chain"]
    assert cases["light_chain"].to_list() == ["kappa", "kappa", "lambda", "lambda", "kappa"]
    assert cases["prior_lines"].to_list() == [4, 4, 5, 5, 4]
    assert cases["bsab"].to_list() == ["teclistamab"] + ["talquetamab"] * 4
    assert cases["target"].to_list() == ["BCMA"] + ["GPRC5D"] * 4
    assert cases["stage"].to_list() == [
        "ISS I",
        "Durie-Salmon IIIB",
        "Durie-Salmon IIIA",
        "Durie-Salmon IIIA",
        "ISS II",
    ]
    assert set(cases["premedication"]) == {"paracetamol;cetirizine;dexamethasone"}
    assert cases["outcome"].to_list() == [
        "discontinued",
        "continued",
        "continued",
        "continued",
        "dose_reduced",
    ]


def test_events_respect_the_contract(events: pl.DataFrame) -> None:
    assert set(events["event"]) <= set(EVENT_CODES)
    assert set(events["case_id"]) == {"RC1", "RC2", "RC3", "RC4", "RC5"}
    assert events["day"].min() == 0.0
    graded = events.filter(pl.col("event").is_in(GRADED_EVENTS))
    assert graded["grade"].null_count() == 0
    assert graded["grade"].is_between(1, 5).all()
    ended = events.filter(pl.col("end_day").is_not_null())
    assert (ended["end_day"] >= ended["day"]).all()
    responses = events.filter(pl.col("event") == "response")
    assert set(responses["detail"]) <= set(RESPONSE_CODES)
    doses = events.filter(pl.col("event") == "bsab_dose")
    assert set(doses["detail"].str.replace(r"^step-up \d$", STEP_UP_PREFIX)) == {
        STEP_UP_PREFIX,
        "treatment dose",
    }


@pytest.mark.parametrize(
    ("case_id", "step_ups"),
    [("RC1", [0.0, 4.0]), ("RC2", [0.0, 4.0]), ("RC3", [0.0, 6.0, 9.0]), ("RC4", [0.0, 4.0, 7.0])],
)
def test_step_up_doses_are_numbered_from_day_0(
    events: pl.DataFrame, case_id: str, step_ups: list[float]
) -> None:
    doses = _of(events, case_id, "bsab_dose").filter(pl.col("detail").str.starts_with("step"))
    assert doses["day"].to_list() == step_ups
    assert doses["detail"].to_list() == [f"step-up {i}" for i in range(1, len(step_ups) + 1)]


@pytest.mark.parametrize(
    ("case_id", "day", "grade"),
    [("RC1", 2.0, 2), ("RC2", 2.0, 2), ("RC3", 3.0, 2), ("RC4", 2.0, 2)],
)
def test_first_crs_is_at_the_stated_day_post_first_dose(
    events: pl.DataFrame, case_id: str, day: float, grade: int
) -> None:
    first = _of(events, case_id, "crs").row(0, named=True)
    assert (first["day"], first["grade"]) == (day, grade)


def test_case_1_renal_course_and_discontinuation(events: pl.DataFrame) -> None:
    # July 2023 -> January 2025 = 18 months, -> March 2025 = 20 months.
    assert (month_offset(18), month_offset(20)) == (548, 609)
    stop = _of(events, "RC1", "discontinuation")
    assert stop.select("day", "detail").rows() == [(609.0, "renal toxicity")]
    aes = _of(events, "RC1", "adverse_event").sort("day")
    assert aes.select("day", "detail", "grade").rows() == [
        (548.0, "renal function deterioration", 2),
        (609.0, "interstitial nephritis (renal biopsy)", 3),
    ]
    assert _of(events, "RC1", "crs")["grade"].max() == 3
    assert _of(events, "RC1", "bsab_dose")["day"].max() < 548
    assert _of(events, "RC1", "response").sort("day")["detail"].to_list()[-1] == "sCR"
    assert events.filter(pl.col("case_id") == "RC1")["day"].max() == 609 + month_offset(3)


def test_case_4_infections_fall_in_their_stated_months(events: pl.DataFrame) -> None:
    infections = _of(events, "RC4", "infection").sort("day")
    assert infections["detail"].to_list() == ["COVID-19 pneumonia", "bronchitis"]
    covid, bronchitis = infections["day"].to_list()
    # September 2023 start: December 2023 is months 3, January 2025 month 16.
    assert month_offset(3) <= covid < month_offset(4)
    assert month_offset(16) <= bronchitis < month_offset(17)
    antibiotic = _of(events, "RC4", "antibiotic")
    assert antibiotic["day"].to_list() == [bronchitis]


def test_case_5_timeline(events: pl.DataFrame) -> None:
    assert _of(events, "RC5", "crs").filter(pl.col("day") < month_offset(6)).height == 0
    infections = _of(events, "RC5", "infection").sort("day")
    assert infections.select("day", "detail").rows() == [
        (61.0, "SARS-CoV-2 infection (paucisymptomatic)"),
        (183.0, "Salmonella enteritidis"),
    ]
    assert _of(events, "RC5", "antibiotic").filter(pl.col("day") == 183)["detail"].to_list() == [
        "ceftriaxone"
    ]
    assert _of(events, "RC5", "treatment_hold")["day"].to_list() == [61.0, 183.0]
    assert _of(events, "RC5", "schedule_change")["detail"].to_list() == ["biweekly -> monthly"]
    responses = _of(events, "RC5", "response").sort("day")
    assert responses.select("day", "detail").rows() == [
        (30.0, "CR"),
        (274.0, "sCR"),
        (548.0, "sCR"),
    ]
    assert _of(events, "RC5", "crs").filter(pl.col("day") > month_offset(12)).height == 0
    palsy = _of(events, "RC5", "adverse_event").filter(pl.col("detail").str.contains("oculomotor"))
    assert palsy["day"].to_list() == [35.0]
    assert events.filter(pl.col("case_id") == "RC5")["day"].max() == 548.0


def test_cohort_targets_hold() -> None:
    targets = json.loads((DATA / "targets.json").read_text())
    by_id = {t["id"]: t for t in targets["targets"]}
    cases, events = build_cases(), build_events()
    assert by_id["series.n_cases"]["value"] == cases.height
    assert by_id["series.n_teclistamab"]["value"] == (cases["bsab"] == "teclistamab").sum()
    assert by_id["series.n_talquetamab"]["value"] == (cases["bsab"] == "talquetamab").sum()
    assert by_id["series.n_discontinued"]["value"] == (cases["outcome"] == "discontinued").sum()
    assert by_id["series.n_dose_reduced"]["value"] == (cases["outcome"] == "dose_reduced").sum()
    rank = {code: i for i, code in enumerate(RESPONSE_CODES)}
    best = (
        events.filter(pl.col("event") == "response")
        .with_columns(pl.col("detail").replace_strict(rank).alias("rank"))
        .group_by("case_id")
        .agg(pl.col("rank").min())
    )
    assert (best["rank"] <= rank["PR"]).sum() == by_id["series.n_at_least_pr"]["value"]
    assert (best["rank"] <= rank["CR"]).sum() >= by_id["series.n_cr_or_better"]["value"]


def _paper_passages() -> list[str]:
    """The paper's passages kept in the repository (quotes.toml), whitespace-normalised."""
    quotes = tomllib.loads((DATA / "quotes.toml").read_text(encoding="utf-8"))
    assert quotes["source"]["citation"].startswith("Della Pepa R, Leone A, Grimaldi F")
    return [" ".join(passage["text"].split()) for passage in quotes["passage"]]


def test_every_inconsistency_quotes_the_paper() -> None:
    text = " ".join(_paper_passages())
    targets = json.loads((DATA / "targets.json").read_text())
    quoted = [t["quote"] for t in targets["targets"] if "\t" not in t["quote"]]
    for quote in quoted:
        for part in quote.split(" ... "):
            assert " ".join(part.split()) in text, part


def test_every_quote_is_part_of_one_passage_of_the_paper() -> None:
    passages = _paper_passages()
    targets = json.loads((DATA / "targets.json").read_text())
    quotes = [t["quote"] for t in targets["targets"] + targets["inconsistencies"]]
    assert len(quotes) == 94
    for quote in quotes:
        for part in quote.split(" ... "):
            assert any(" ".join(part.split()) in passage for passage in passages), part


def test_table_1_rows_keep_the_papers_cells() -> None:
    quotes = tomllib.loads((DATA / "quotes.toml").read_text(encoding="utf-8"))
    rows = [p["text"].split("\t") for p in quotes["passage"] if p["where"] == "Table 1"]
    header = next(p["text"] for p in quotes["passage"] if p["where"] == "Table 1 (header)")
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert {len(row) for row in rows} == {len(header.split("\t"))} == {11}
    assert [row[4] for row in rows] == ["Tecelstamab"] + ["Talquetamab"] * 4


def test_event_targets_hold(events: pl.DataFrame) -> None:
    targets = json.loads((DATA / "targets.json").read_text())["targets"]
    rank = {code: i for i, code in enumerate(RESPONSE_CODES)}
    checked = 0
    for target in targets:
        if not target["quantity"].startswith("events:") or target["case_id"] is None:
            continue  # series-level response targets: test_cohort_targets_hold
        case = events.filter(pl.col("case_id") == target["case_id"])
        match target["quantity"]:
            case "events:best response":
                details = case.filter(pl.col("event") == "response")["detail"].to_list()
                assert min(details, key=rank.__getitem__) == target["value"], target["id"]
            case "events:last day":
                assert case["day"].max() == target["value"], target["id"]
            case "events:discontinuation day":
                stop = case.filter(pl.col("event") == "discontinuation")["day"].to_list()
                assert stop == [target["value"]], target["id"]
            case other:
                raise AssertionError(f"unchecked target {other}")
        checked += 1
    assert checked == 5
