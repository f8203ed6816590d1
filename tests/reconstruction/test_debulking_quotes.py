"""Every quote of the debulking targets is the paper's own words (data/debulking/quotes.toml).

A target's quote joins what it cites with ` | ` (the text, then "Table 1: " and the row) and
leaves words out with ` … `; a Table 1 quote may name a row's group before the row ("Number of
involved sites, n(%) 2 5 (11)"), list several rows with ` / `, or sum a group up as
"<group>: <row> <n>, …". Each part must be in the paper's passages kept in the repository.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "debulking"
_PARTS = re.compile(r" …,? | / ")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _passages() -> dict[str, list[str]]:
    quotes = tomllib.loads((DATA / "quotes.toml").read_text(encoding="utf-8"))
    assert quotes["source"]["doi"] == "10.1038/s41408-025-01365-y"
    found: dict[str, list[str]] = {"text": [], "Table 1": []}
    for passage in quotes["passage"]:
        found[passage["where"]].append(passage["text"])
    return found


PASSAGES = _passages()
TEXT = " ".join(_normal(p) for p in PASSAGES["text"])
ROWS = [_normal(row) for row in PASSAGES["Table 1"]]
#: Rows that head a group of rows (no value of their own).
GROUPS = [_normal(row) for row in PASSAGES["Table 1"] if row.endswith("\t")]


def _targets() -> list[dict[str, str]]:
    return tomllib.loads((DATA / "targets.toml").read_text(encoding="utf-8"))["target"]


def _parts(quote: str) -> list[str]:
    parts = []
    for piece in quote.split(" | "):
        parts += [_normal(part) for part in _PARTS.split(piece.removeprefix("Table 1: "))]
    return parts


def _in_table_1(part: str) -> bool:
    if part in ROWS or any(part == f"{group} {row}" for group in GROUPS for row in ROWS):
        return True
    group, _, items = part.partition(": ")
    return (
        bool(items)
        and any(heading.startswith(group) for heading in GROUPS)
        and all(any(row.startswith(f"{item} (") for row in ROWS) for item in items.split(", "))
    )


def test_the_passages_hold_table_1_whole() -> None:
    assert ROWS[0] == "n(%) N = 44 patients"
    assert len(ROWS) == 64
    assert "Number of involved sites, n(%)" in GROUPS
    assert all("\t" in row for row in PASSAGES["Table 1"])


@pytest.mark.parametrize("target", _targets(), ids=lambda t: t["id"])
def test_every_quote_is_made_of_the_papers_words(target: dict[str, str]) -> None:
    for part in _parts(target["quote"]):
        # A quote may end where the paper's sentence goes on ("for all patients." of
        # "for all patients (Fig. 1E).").
        assert part.rstrip(".") in TEXT or _in_table_1(part), part
