"""The progress bar in the main area while the data load: how far, and what runs now, in words.

At a million patients reading the store and preparing the pages take seconds; a spinner alone
says nothing of how long. The loaders tell a callback how far they are (`Progress`); this module
turns those calls into one `st.progress` bar, drawn on the first call and removed when the load
ends. Outside a page run (the server's warm-up) there is nowhere to draw, and nothing is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bsab_explorer.data.loading import Progress
from bsab_explorer.ui.text import escape_markdown


class ProgressBar:
    """One `st.progress` bar in the main area, drawn on the first call, then updated."""

    def __init__(self) -> None:
        self._slot: st.delta_generator.DeltaGenerator | None = None

    def __call__(self, fraction: float, words: str) -> None:
        """Show `fraction` done (clamped to 0..1) and `words` (escaped: they may name a file)."""
        if get_script_run_ctx(suppress_warning=True) is None:
            return
        if self._slot is None:
            self._slot = st.empty()
        self._slot.progress(min(max(fraction, 0.0), 1.0), text=escape_markdown(words))

    def remove(self) -> None:
        """Take the bar off the page (nothing when it was never drawn)."""
        if self._slot is not None:
            self._slot.empty()
            self._slot = None


@contextmanager
def progress_bar() -> Iterator[ProgressBar]:
    """A progress bar for the duration of the block, removed at its end (however it ends)."""
    bar = ProgressBar()
    try:
        yield bar
    finally:
        bar.remove()


def within(progress: Progress, start: float, end: float) -> Progress:
    """`progress` told of a stage that runs from `start` to `end` of the whole."""
    return lambda fraction, words: progress(start + (end - start) * fraction, words)
