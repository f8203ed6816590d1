"""Which columns an analysis needs that the data do not record.

Loaded tables carry every contract column, with nulls where a file had none, so "missing"
means absent or not recorded for anyone.

>>> import polars as pl
>>> frame = pl.DataFrame({"os_days": [1.0, None], "os_event": [None, None]})
>>> unrecorded(frame, ("os_days", "os_event", "emd"))
['os_event', 'emd']
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def unrecorded(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns of `columns` that `frame` lacks or records for no row."""
    return [
        c
        for c in columns
        if c not in frame.columns or (frame.height > 0 and frame[c].null_count() == frame.height)
    ]
