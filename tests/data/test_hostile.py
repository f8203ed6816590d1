"""Hostile uploads (bombs, names, look-alike ids, mixed encodings, formulas) are refused with a
plain message by `validate`, `ingest` and the Upload page, and the store stays as it was."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.cli import main
from bsab_explorer.data import limits
from bsab_explorer.data.identifiers import NAME_TOKENS_VARIABLE
from bsab_explorer.data.ingest import too_large
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import Store, open_store
from bsab_explorer.data.validation import Rule
from tests.data.hostile_files import CORPUS, Hostile, parquet_bomb, xlsx_shared_string_bomb
from tests.data.test_upload_checks import snapshot

ROOT = Path(__file__).resolve().parents[2]
IDS = [h.label for h in CORPUS]


def _found(text: str, hostile: Hostile) -> None:
    assert hostile.message in text, text
    assert f"[{hostile.rule}]" in text, text
    if hostile.secret is not None:
        assert hostile.secret not in text, text


def _location(hostile: Hostile) -> str:
    where = [hostile.file_name]
    if hostile.row is not None:
        where.append(f"row {hostile.row}")
    if hostile.column is not None:
        where.append(f"column {hostile.column}")
    return ", ".join(where)


@pytest.mark.parametrize("hostile", CORPUS, ids=IDS)
def test_validate_refuses_the_file(
    hostile: Hostile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / hostile.file_name).write_bytes(hostile.data)
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    _found(out, hostile)
    line = next(line for line in out.splitlines() if hostile.message in line)
    assert line.lstrip(" -").startswith(_location(hostile)), line


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one uploaded batch of center C01 besides the bundled data."""
    path = tmp_path_factory.mktemp("hostile") / "store.duckdb"
    store = open_store(path)
    assert store.ingest_bytes(b"case_id,age_years\nRC7,60\n", "cases.csv", "cases", "C01").stored
    store.close()
    return path


def _snapshot(path: Path) -> tuple[object, ...]:
    store = open_store(path)
    try:
        return snapshot(store)
    finally:
        store.close()


@pytest.mark.parametrize("hostile", CORPUS, ids=IDS)
def test_ingest_refuses_the_file_and_stores_nothing(
    hostile: Hostile, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(store_path)
    path = tmp_path / hostile.file_name
    path.write_bytes(hostile.data)
    store = ["--store", str(store_path)]
    code = main(["ingest", str(path), "--table", hostile.table, "--center", "C01", *store])
    out = capsys.readouterr().out
    assert code == 1, out
    _found(out, hostile)
    assert out.rstrip().endswith("Nothing was stored: correct the problems above and ingest again.")
    assert _snapshot(store_path) == before


@pytest.fixture(scope="module")
def upload_page(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppTest]:
    """The Upload page of the real app, on a store of its own, listing every batch."""
    patch = pytest.MonkeyPatch()
    patch.setenv("BSAB_EXPLORER_STORE", str(tmp_path_factory.mktemp("page") / "store.duckdb"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    # Every batch is listed (the bundled ones too), so a change would show.
    app.toggle(key="batches_bundled").set_value(True)
    app.run()
    assert _batches(app).height > 0
    yield app
    patch.undo()


def _batches(app: AppTest) -> pl.DataFrame:
    return pl.from_pandas(app.dataframe[-1].value)


@pytest.mark.app
@pytest.mark.parametrize("hostile", CORPUS, ids=IDS)
def test_upload_page_refuses_the_file(upload_page: AppTest, hostile: Hostile) -> None:
    app = upload_page
    before = _batches(app)
    app.file_uploader(key="upload_file").upload(hostile.file_name, hostile.data)
    app.run()
    app.text_input(key="upload_center").set_value("C01")
    app.selectbox(key="upload_table").set_value(hostile.table)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    report = pl.from_pandas(app.dataframe[0].value)
    assert [e.value for e in app.error] == [
        f"{report.height} problem(s) found. Nothing was stored. Correct the file and upload it "
        "again."
    ]
    shown = report.filter(pl.col("Rule") == hostile.rule)
    assert shown.height, report
    assert hostile.message in shown.get_column("What to do")[0]
    if hostile.secret is not None:
        assert not any(hostile.secret in str(v) for v in report.iter_rows()), report
    assert not [b for b in app.button if b.key == "upload_store"]
    app.file_uploader(key="upload_file").set_value(None)
    app.run()
    assert _batches(app).equals(before)


# --- the budget ---------------------------------------------------------------------------------

_MEASURE = """
import sys, time
from pathlib import Path
from bsab_explorer.data.ingest import read_table_bytes
data = Path(sys.argv[1]).read_bytes()
start = time.perf_counter()
result = read_table_bytes(data, Path(sys.argv[1]).name, "patients")
took = time.perf_counter() - start
# VmHWM is this process's own peak (ru_maxrss may carry the parent's over the fork).
status = Path("/proc/self/status").read_text().split("VmHWM:")[1].split()
peak = int(status[0]) * 1024
print(took, peak, *(p.rule for p in result.problems))
"""


@pytest.mark.parametrize(
    ("name", "build"),
    [("patients.parquet", parquet_bomb), ("patients.xlsx", xlsx_shared_string_bomb)],
)
def test_a_bomb_is_refused_in_seconds_within_the_memory_budget(
    name: str, build: object, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(build())  # type: ignore[operator]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    took, peak, *rules = done.stdout.split()
    assert rules == [Rule.DECODING_LIMIT]
    assert float(took) < 10
    # Before the limits, the Parquet bomb took 33 s and 3.3 GB.
    assert int(peak) < limits.MEMORY_BUDGET_BYTES / 2


def test_sizes_are_given_in_one_unit() -> None:
    result = too_large("patients", "patients.csv", 111_043_789, 100 * limits.MIB)
    assert result.problems[0].message.startswith("The file is 105.9 MiB; the limit is 100 MiB.")


# --- look-alikes, typos, long lists -------------------------------------------------------------


def test_look_alike_ids_are_one_patient(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP001,F\nP\uff10\uff101,F\n")
    report = load_dataset(tmp_path).report
    assert [(p.rule, p.row, p.value) for p in report.problems] == [(Rule.DUPLICATE_ID, 3, "P001")]
    assert (
        "patients.csv: 1 cell(s) written with look-alike characters (such as fullwidth digits) "
        "were read in their plain form."
    ) in report.notices


def test_a_code_typo_is_reported_with_the_nearest_code(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(
        "case_id,bsab\nRC1,teclistamab\nRC2,teclistqmab\nRC3,teclistqmab\nRC4,newmab\n"
    )
    result = load_dataset(tmp_path)
    assert result.report.ok
    assert (
        "cases.csv: bsab 'teclistqmab' (row 3, 2 row(s)) is not a known code and is close to "
        "teclistamab: it is kept as a group of its own. If it is a typo, correct it to "
        "teclistamab."
    ) in result.report.notices
    assert not [n for n in result.report.notices if "newmab" in n]


def test_an_unknown_code_suggests_the_nearest(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("case_id,day,event\nRC1,2,tocilizumb\n")
    problem = load_dataset(tmp_path).report.problems[0]
    assert problem.rule == Rule.UNKNOWN_CODE
    assert "'tocilizumb' is not a known code for event (Event). Did you mean tocilizumab?" in (
        problem.message
    )


def test_a_5000_column_file_is_summarised(tmp_path: Path) -> None:
    header = ",".join(["patient_id", *(f"extra{i}" for i in range(5000))])
    values = ",".join(["P1", *("1" for _ in range(5000))])
    (tmp_path / "patients.csv").write_text(f"{header}\n{values}\n")
    text = load_dataset(tmp_path).report.to_text()
    assert (
        "patients.csv: columns outside the contract were not kept: extra0, extra1, extra2, "
        "extra3, extra4, extra5, extra6, extra7 and 4,992 more."
    ) in text
    assert max(len(line) for line in text.splitlines()) < 300


def test_the_report_names_the_free_text_columns() -> None:
    notices = load_dataset().report.notices
    assert (
        "recurrent_crs/cases.csv: free-text column(s), checked for names, dates and contact "
        "details, at most 200 characters a cell: stage, premedication."
    ) in notices


def test_local_name_tokens_are_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cases.csv").write_text("case_id,stage\nRC1,ISS I seen by Ingrid\n")
    assert load_dataset(tmp_path).report.ok
    monkeypatch.setenv(NAME_TOKENS_VARIABLE, "Ingrid, Sven")
    problem = load_dataset(tmp_path).report.problems[0]
    assert (problem.rule, problem.row, problem.column, problem.value) == (
        Rule.PERSON_NAME, 2, "stage", "xxx x xxxx xx xxxxxx",
    )  # fmt: skip


@pytest.mark.parametrize("pseudonym", ["P001", "D-17", "rc_3", "A", "C01x", "X9Y"])
def test_pseudonyms_of_the_documented_shape_pass(tmp_path: Path, pseudonym: str) -> None:
    (tmp_path / "patients.csv").write_text(f"patient_id\n{pseudonym}\n")
    assert load_dataset(tmp_path).report.ok


@pytest.mark.parametrize(
    "name", ["Dupont", "DUPONT", "jean", "Jean-Luc", "P 001", "P001,2", "P0ü1", "P0/1"]
)
def test_names_and_odd_ids_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "patients.csv").write_text(f'patient_id,sex\n"{name}",F\n')
    report = load_dataset(tmp_path).report
    assert [p.rule for p in report.problems] == [Rule.BAD_PSEUDONYM]
    assert name not in report.to_text()


def test_store_center_is_kept(store_path: Path) -> None:
    store: Store = open_store(store_path)
    try:
        assert [b.center for b in store.batches() if b.origin == "upload"] == ["C01"]
    finally:
        store.close()


def test_an_invisible_character_is_named_and_the_value_masked(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP0\u200b01,F\n")
    problem = load_dataset(tmp_path).report.problems[0]
    assert (problem.rule, problem.value) == (Rule.INVISIBLE_CHARACTER, "x9<U+200B>99")


def test_a_parquet_text_column_with_no_value_fits_the_budget() -> None:
    # Optional contract columns exported empty: dictionary-encoded with an empty dictionary.
    buffer = io.BytesIO()
    pl.DataFrame(
        {"patient_id": ["P001", "P002"], "mrd_method": pl.Series([None, None], dtype=pl.String)}
    ).write_parquet(buffer)
    assert limits.check_parquet(buffer.getvalue()) is None
