"""The store's memo of the fingerprint of what it loads as.

A dataset's fingerprint (`dataset.fingerprint_tables`: sha256 over the tables' CSV text) keys
every cache and every export, and at a million patients it took longer than reading the rows.
A store's content only changes when a batch is stored, retracted or restored, and each of those
changes its generation: so the fingerprint of each of the three datasets a store loads as
(bundled, pooled, both) is computed once per generation, on the first load, and kept in the
store's ``store_meta`` table beside the generation it belongs to.

The memo is only a shortcut, never a source of truth. It is used only when everything it was
computed from is still the same: the store's generation (read in the same snapshot as the rows),
the contract's columns, this loader's version, the Polars version (which writes the CSV text
hashed) and the number of rows of every loaded table; and its own check digest must match, so
a damaged or hand-edited memo is ignored (and replaced), never trusted. What it cannot see is a
stored value changed in place behind the store's back (an UPDATE typed into the DuckDB file):
the store is append-only by contract, and PostgreSQL's triggers refuse such a change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from bsab_explorer.dataset import fingerprint_tables
from bsab_explorer.schema import TABLES

#: Raised whenever loading from the store changes what a loaded table holds (its rows, their
#: order or their values) without a change of the contract or of Polars.
LOADER_VERSION = "1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def memo_key(which: str) -> str:
    """The ``store_meta`` key of the memo of the dataset `which` (bundled, pooled or both)."""
    return f"fingerprint:{which}"


#: A row of every kind of value and a row of nulls: their fingerprint changes when the
#: fingerprint's definition (`dataset.fingerprint_tables`) or the text Polars writes does.
_PROBE = pl.DataFrame(
    {"text": ["a,b", None], "whole": [-3, None], "number": [0.1, None], "flag": [True, None]}
)


def loader_key() -> str:
    """What, besides the stored rows, decides the loaded tables and their fingerprint."""
    contract = [(t, [(c.name, c.kind.value) for c in TABLES[t].columns]) for t in sorted(TABLES)]
    probe = fingerprint_tables({"probe": _PROBE})
    text = json.dumps([LOADER_VERSION, pl.__version__, probe, contract], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FingerprintMemo:
    """The fingerprint of the dataset `which` of a store at one generation, and its row counts."""

    which: str
    generation: str
    loader: str
    rows: Mapping[str, int]
    fingerprint: str

    def _body(self) -> str:
        return json.dumps(
            {
                "which": self.which,
                "generation": self.generation,
                "loader": self.loader,
                "rows": dict(sorted(self.rows.items())),
                "fingerprint": self.fingerprint,
            },
            sort_keys=True,
        )

    def encode(self) -> str:
        """The memo as the text stored in ``store_meta`` (with its check digest)."""
        body = self._body()
        return json.dumps({"memo": body, "check": hashlib.sha256(body.encode()).hexdigest()})

    @classmethod
    def decode(cls, text: str | None) -> FingerprintMemo | None:
        """The memo stored as `text`; None when there is none or it is damaged."""
        if not text:
            return None
        try:
            outer = json.loads(text)
            body = outer["memo"]
            if hashlib.sha256(body.encode()).hexdigest() != outer["check"]:
                return None
            fields = json.loads(body)
            memo = cls(
                which=str(fields["which"]),
                generation=str(fields["generation"]),
                loader=str(fields["loader"]),
                rows={str(k): int(v) for k, v in fields["rows"].items()},
                fingerprint=str(fields["fingerprint"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return memo if _HEX64.fullmatch(memo.fingerprint) else None

    def fits(self, which: str, generation: str, tables: Mapping[str, pl.DataFrame]) -> bool:
        """Whether this memo was computed for exactly these tables (same store state, loader
        and row counts)."""
        return self.fits_rows(which, generation, {n: f.height for n, f in tables.items()})

    def fits_rows(self, which: str, generation: str, rows: Mapping[str, int]) -> bool:
        """Whether this memo was computed for tables of these row counts at this store state,
        by this loader (`fits`, for a load that counted some tables without reading them)."""
        return (
            self.which == which
            and self.generation == generation
            and self.loader == loader_key()
            and dict(self.rows) == dict(rows)
        )
