"""`bsab-explorer audit`: the published values and their status, exit 1 only when one differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsab_explorer.audit import audit_dataset
from bsab_explorer.cli import main
from bsab_explorer.data.loading import BUNDLED_DATA_DIR, load_dataset


def test_audit_of_the_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    rows = audit_dataset(dataset)
    assert main(["audit", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert len(printed) == len(rows)
    assert {r["status"] for r in printed} <= {"reproduced", "paper inconsistent"}
    assert f"{len(rows)} published values" in err
    assert "0 differs" in err


def test_audit_only_inconsistencies_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--status", "paper inconsistent"]) == 0
    out, _ = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert lines
    assert all(line.startswith("[paper inconsistent]") for line in lines)


def test_a_changed_dataset_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patients = (BUNDLED_DATA_DIR / "debulking" / "patients.csv").read_text(encoding="utf-8")
    header, first, *rest = patients.splitlines()
    columns = header.split(",")
    cells = first.split(",")
    cells[columns.index("sex")] = "M" if cells[columns.index("sex")] == "F" else "F"
    (tmp_path / "patients.csv").write_text(
        "\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8"
    )
    assert main(["audit", "--data", str(tmp_path), "--status", "differs"]) == 1
    out, _ = capsys.readouterr()
    assert "[differs]" in out


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--status", "maybe"]) == 2
    assert main(["audit", "--data", "/no/such/folder"]) == 2
    _, err = capsys.readouterr()
    assert "--status must be one of" in err
    assert "No such file or folder" in err
