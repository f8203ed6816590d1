"""How every command ends: exit codes, the shared options' refusals, and bugs left visible."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bsab_explorer import exports
from bsab_explorer.cli import EXIT_ERROR, EXIT_INVALID, build_parser, main
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import ExportUnavailable

#: The least each command needs besides the option under test.
REQUIRED_ARGS: dict[str, list[str]] = {
    "info": [],
    "audit": [],
    "table": ["logrank"],
    "figure": ["km"],
    "report": ["--out", "report.html"],
}


def commands_with(option: str) -> set[str]:
    """The commands whose parser has `option`."""
    (subparsers,) = (
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    return {
        name
        for name, parser in subparsers.choices.items()
        if any(option in action.option_strings for action in parser._actions)
    }


def test_every_command_with_a_shared_option_is_tested() -> None:
    assert commands_with("--filter") == {"table", "figure", "report"}
    assert commands_with("--data") == set(REQUIRED_ARGS)


@pytest.mark.parametrize(
    ("command", "spec", "message"),
    [
        ("table", "emd=maybe", "'emd' is yes/no"),
        ("figure", "shoe_size=4", "'shoe_size' is not a column"),
        ("report", "emd=maybe", "'emd' is yes/no"),
    ],
)
def test_a_bad_filter_exits_2_in_every_command(
    command: str,
    spec: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([command, *REQUIRED_ARGS[command], "--filter", spec]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("--filter: ")
    assert message in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(REQUIRED_ARGS))
def test_a_missing_data_path_exits_2_in_every_command(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere"
    assert main([command, *REQUIRED_ARGS[command], "--data", str(missing)]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--data: there is no file or folder '{missing}'" in captured.err


def test_an_analysis_refusal_exits_1_with_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Assessments without a response: the response analyses refuse, naming the column.
    (tmp_path / "patients.csv").write_text("patient_id,emd\nP01,true\nP02,false\n")
    (tmp_path / "responses.csv").write_text("patient_id,timepoint\nP01,C1\nP02,C1\n")
    out = tmp_path / "response.svg"
    code = main(["figure", "response", "--data", str(tmp_path), "--out", str(out)])
    assert code == EXIT_INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Response analyses are unavailable: the data have no values in " in captured.err
    assert captured.err.strip().endswith("responses.response.")
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["table", "response", "--by", "patient_id"],
        ["table", "table1", "--by", "patient_id"],
        ["figure", "response", "--by", "patient_id", "--out", "response.svg"],
    ],
)
def test_grouping_by_a_column_with_too_many_values_exits_1_with_its_message(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "values; choose a variable with at most 12 groups" in err
    assert "Traceback" not in err
    assert not (tmp_path / "response.svg").exists()


def test_a_refusal_of_the_table_command_names_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_: object) -> None:
        raise Unavailable("too few patients in each group")

    monkeypatch.setattr(exports, "make_export", refuse)
    assert main(["table", "logrank", "--endpoint", "os"]) == EXIT_INVALID
    assert capsys.readouterr().err.strip() == (
        "Table 'logrank' (Log-rank test, OS) is unavailable for these data: "
        "too few patients in each group"
    )


@pytest.mark.parametrize(
    ("argv", "patched"),
    [
        (["table", "logrank"], "make_export"),
        (["figure", "km", "--out", "km.svg"], "write_export"),
    ],
)
def test_a_programming_error_is_not_reported_as_unavailable(
    argv: list[str],
    patched: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ValueError("a bug: lengths differ")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(exports, patched, broken)
    with pytest.raises(ValueError, match="a bug: lengths differ"):
        main(argv)
    assert "unavailable" not in capsys.readouterr().err


def test_the_export_refusal_is_the_domains_unavailable() -> None:
    assert issubclass(ExportUnavailable, Unavailable)
    # Callers that caught ValueError before Unavailable existed still catch it.
    assert issubclass(Unavailable, ValueError)
