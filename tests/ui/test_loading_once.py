"""A dataset is loaded once however many sessions ask for it at the same time (`cache._fill`)."""

from __future__ import annotations

import threading
import time

import pytest

from bsab_explorer.ui.cache import _fill, _Slot
from bsab_explorer.ui.progress import ProgressBar


def test_sessions_asking_at_once_wait_for_one_load() -> None:
    slot: _Slot[list[int]] = _Slot()
    started = threading.Event()
    loads: list[int] = []

    def load(bar: ProgressBar) -> list[int]:
        loads.append(1)
        started.set()
        time.sleep(0.2)  # the second session asks while this load runs
        bar(0.5, "Reading the store: responses (2 of 5)")  # outside a page: draws nothing
        return [42]

    got: list[list[int]] = []
    first = threading.Thread(target=lambda: got.append(_fill(slot, load)))
    first.start()
    started.wait(5)
    second = _fill(slot, load)
    first.join(5)
    assert loads == [1]
    assert got == [[42]]
    assert second is got[0]
    assert _fill(slot, load) is second  # later calls find it filled
    assert loads == [1]


def test_a_failed_load_is_tried_again_by_the_next_caller() -> None:
    slot: _Slot[str] = _Slot()

    def fail(bar: ProgressBar) -> str:
        raise OSError("store busy")

    with pytest.raises(OSError, match="store busy"):
        _fill(slot, fail)
    assert _fill(slot, lambda bar: "loaded") == "loaded"
    assert not slot.lock.locked()
