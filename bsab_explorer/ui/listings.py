"""Downloads of the tables that no `table` command makes (listings, the audit)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import Provenance, export_name, table_to_zip
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
    """A download of a shown table (a ZIP of the CSV and its provenance); the command, if any."""
    provenance = Provenance.of(dataset, cohort_filter, n, total, unit=unit)
    csv_name = export_name(name, cohort_filter=cohort_filter, ext="csv")
    with st.container(horizontal=True, gap="small", key=f"download-{name}-buttons"):
        st.download_button(
            "Table (ZIP)",
            data=lambda: table_to_zip(frame, provenance, csv_name),
            file_name=export_name(name, cohort_filter=cohort_filter, ext="zip"),
            mime="application/zip",
            key=f"download-{name}",
            on_click="ignore",
            icon=":material/download:",
            help="The table as shown as a formula-safe CSV, with its provenance file beside it",
        )
        if command is not None:
            with st.popover(
                "Reproduce",
                icon=":material/terminal:",
                help="The command line that makes this file from the same data",
            ):
                st.code(command, language="bash")
