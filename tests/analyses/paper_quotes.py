"""The papers' passages as the repository holds them (data/*/quotes.toml), for quoting tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"


def quoted(study: str, text: str) -> str:
    """`text`, after checking that it is part of a passage of `study`'s quotes.toml."""
    passages = tomllib.loads((DATA / study / "quotes.toml").read_text(encoding="utf-8"))["passage"]
    assert any(text in passage["text"] for passage in passages), text
    return text
