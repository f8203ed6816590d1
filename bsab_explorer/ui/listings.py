"""CSV downloads of the tables that no `table` command makes (listings, the audit)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import Provenance, export_name, table_to_csv
from bsab_explorer.filters import CohortFilter


def offer_listing(
    frame: pl.DataFrame,
    name: str,
    dataset: Dataset,
    cohort_filter: CohortFilter,
    *,
    n: int,
    total: int,
    unit: str = "patients",
    command: str | None = None,
) -> None:
    """A CSV download of a shown table (provenance included); the command that makes it, if any."""
    provenance = Provenance.of(dataset, cohort_filter, n, total, unit=unit)
    with st.container(horizontal=True, gap="small", key=f"download-{name}-buttons"):
        st.download_button(
            "Table (CSV)",
            data=lambda: table_to_csv(frame, provenance),
            file_name=export_name(name, cohort_filter=cohort_filter, ext="csv"),
            mime="text/csv",
            key=f"download-{name}",
            on_click="ignore",
            icon=":material/download:",
            help="The table as shown, formula-safe, with its provenance as trailing # lines",
        )
        if command is not None:
            with st.popover(
                "Reproduce",
                icon=":material/terminal:",
                help="The command line that makes this file from the same data",
            ):
                st.code(command, language="bash")
