"""Download buttons and "Reproduce" popovers under every figure and table.

Files are made only when a button is pressed (Streamlit calls the data function on click, on
its own thread), so a page pays nothing for the PNGs it offers. Every file carries the
provenance of what the page shows (a PNG in its footer, data in a ZIP: the CSV and a provenance
file beside it), except the bare CSV offered next to the ZIP, which holds the rows only so that
pandas and R read it with their defaults. The Reproduce popover, at the end of the row of buttons,
gives the command line and the Python call that regenerate it from the same data. (A popover
is drawn only when opened: the browser does not lay out and highlight the commands of every
figure on every filter change, nor load the code highlighter before the first one is opened.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    ExportRequest,
    Provenance,
    chart_to_png,
    file_frame,
    make_export,
    reproduce_command,
    reproduce_python,
    request_provenance,
    table_to_csv,
    table_to_zip,
)
from bsab_explorer.exports.naming import export_name
from bsab_explorer.exports.reproduce import DATA_PLACEHOLDER, data_argument
from bsab_explorer.filters import CohortFilter
from bsab_explorer.report import build_report
from bsab_explorer.ui import access
from bsab_explorer.ui.text import escape_markdown

PNG = "image/png"
CSV = "text/csv"
ZIP = "application/zip"
HTML = "text/html"
PRINT_DPI = 300


def _key(request: ExportRequest, what: str, key: str | None) -> str:
    # Widget keys from the file name without the filter (unless the page passes `key`): one per
    # export and button, the same after a filter change, so that the browser updates the row in
    # place instead of drawing a new one and removing the old one when the rerun ends.
    base = key or f"{request.command}-{request.with_filter(CohortFilter()).file_name()}"
    return "download-" + re.sub(r"[^A-Za-z0-9_.=+-]+", "-", f"{base}-{what}")


def print_file_name(request: ExportRequest) -> str:
    """The file name of the print-resolution PNG."""
    return request.file_name("png").removesuffix(".png") + f"_print-{PRINT_DPI}dpi.png"


@dataclass(frozen=True)
class Download:
    """One download button: label, file name, MIME type, and the function that makes the bytes."""

    label: str
    file_name: str
    mime: str
    make: Callable[[], bytes]
    help: str
    what: str


def _frame(frame: pl.DataFrame | Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """A frame, or the frame a function makes (called only now: when its file is asked for)."""
    return frame() if callable(frame) else frame


def _file_frame(
    frame: pl.DataFrame | Callable[[], pl.DataFrame], request: ExportRequest
) -> pl.DataFrame:
    """The frame as the request's files hold it (columns with units, status beside bounds)."""
    return file_frame(request.command, request.name, _frame(frame))


def _data_downloads(
    frame: pl.DataFrame | Callable[[], pl.DataFrame],
    provenance: Provenance,
    request: ExportRequest,
    noun: str,
) -> tuple[Download, Download]:
    """A ZIP (the CSV and its provenance file) and the bare CSV of the same rows."""
    csv_name = request.file_name("csv")
    return (
        Download(
            f"{noun} (ZIP)",
            request.file_name("zip"),
            ZIP,
            lambda: table_to_zip(_file_frame(frame, request), provenance, csv_name),
            "The CSV with a provenance file beside it (data, filter, N, method, column meanings)",
            "zip",
        ),
        Download(
            f"{noun} (CSV)",
            csv_name,
            CSV,
            lambda: table_to_csv(_file_frame(frame, request)),
            "Rows only: reads as it is in pandas, R and spreadsheets (provenance in the ZIP)",
            "csv",
        ),
    )


def chart_downloads(
    chart: Any,
    frame: pl.DataFrame | Callable[[], pl.DataFrame],
    provenance: Provenance,
    request: ExportRequest,
) -> tuple[Download, ...]:
    """The downloads of a chart: PNG for screens and for print (300 dpi), its data as ZIP and CSV.

    `frame` may be a function, called only when the data are asked for.
    """

    return (
        Download(
            "PNG",
            request.file_name("png"),
            PNG,
            lambda: chart_to_png(chart, provenance, "screen"),
            "Screen size (144 dpi), with the provenance footer",
            "png",
        ),
        Download(
            "PNG for print",
            print_file_name(request),
            PNG,
            lambda: chart_to_png(chart, provenance, "print"),
            f"{PRINT_DPI} dpi, with the provenance footer",
            "print",
        ),
        *_data_downloads(frame, provenance, request, "Data"),
    )


def table_downloads(
    frame: pl.DataFrame | Callable[[], pl.DataFrame], provenance: Provenance, request: ExportRequest
) -> tuple[Download, ...]:
    """The downloads of a table: a ZIP of the CSV and its provenance file, and the bare CSV.

    `frame` may be a function, called only when a file is asked for.
    """
    return _data_downloads(frame, provenance, request, "Table")


def _button(download: Download, request: ExportRequest, key: str | None, dataset: Dataset) -> None:
    st.download_button(
        escape_markdown(download.label),
        # called on click only, on Streamlit's own thread
        data=access.logged(download.make, download.file_name, dataset.fingerprint),
        file_name=download.file_name,
        mime=download.mime,
        key=_key(request, download.what, key),
        help=escape_markdown(download.help),
        on_click="ignore",  # a download must not rerun (and recompute) the page
        icon=":material/download:",
    )


def _buttons(
    downloads: tuple[Download, ...], request: ExportRequest, dataset: Dataset, key: str | None
) -> None:
    """One row: a button per download, then the Reproduce popover."""
    with st.container(horizontal=True, gap="small", key=_key(request, "buttons", key)):
        for download in downloads:
            _button(download, request, key, dataset)
        show_reproduce(request, dataset, key=key)


def show_reproduce(request: ExportRequest, dataset: Dataset, *, key: str | None = None) -> None:
    """The "Reproduce" popover: the CLI command and the Python call for this export."""
    _reproduce([(None, request)], dataset, _key(request, "reproduce", key))


def _reproduce(
    requests: Sequence[tuple[str | None, ExportRequest]], dataset: Dataset, key: str
) -> None:
    """A "Reproduce" popover with the command line and the Python call of each export."""
    data = data_argument(dataset)
    several = len(requests) > 1
    with st.popover(
        "Reproduce",
        icon=":material/terminal:",
        help=(
            f"The command lines and the Python calls that make these {len(requests)} files "
            "from the same data"
            if several
            else "The command line and the Python call that make this file from the same data"
        ),
        key=key,
    ):
        # One element, not five a file: every element is a message and a redraw on each rerun.
        note = f"Same data when `bsab-explorer info` reports sha256 `{dataset.fingerprint}`."
        if data == DATA_PLACEHOLDER:
            note = (
                f"Replace {DATA_PLACEHOLDER} with the folder or DuckDB file holding these data. "
                + note
            )
        parts: list[str] = []
        for label, request in requests:
            out = request.file_name()
            if label is not None:
                parts.append(f"**{escape_markdown(label)}** (`{out}`)")
            parts += [
                "Command line (after `pip install` of this project):",
                fenced(reproduce_command(request, out=out, data=data), "bash"),
                "Python:",
                fenced(reproduce_python(request, out=out, data=data), "python"),
            ]
        st.markdown("\n\n".join((*parts, f":small[{note}]")))


def offer_tables(
    dataset: Dataset, tables: Sequence[tuple[str, ExportRequest]], *, key: str
) -> None:
    """One row of downloads (ZIP: CSV and provenance) of tables the exports catalogue builds (each
    built only when its button is pressed), then one Reproduce popover with their commands."""
    with st.container(horizontal=True, gap="small", key=f"download-{key}-buttons"):
        for label, request in tables:
            download, _ = table_downloads(
                partial(_export_data, dataset, request),
                request_provenance(dataset, request),
                request,
            )
            # The whole export on click, so the ZIP also carries its notes (excluded patients).
            download = replace(
                download,
                label=label,
                help=f"{label}: {download.help}",
                make=partial(_export_zip, dataset, request),
            )
            _button(download, request, key=None, dataset=dataset)
        _reproduce(tables, dataset, f"download-{key}-reproduce")


def _export_zip(dataset: Dataset, request: ExportRequest) -> bytes:
    """The ZIP of a table export: its CSV and provenance file with notes (on click only)."""
    return make_export(dataset, request).zip()


def _export_data(dataset: Dataset, request: ExportRequest) -> pl.DataFrame:
    """The data of an export (for a download: called on click only)."""
    return make_export(dataset, request).data


def fenced(code: str, language: str) -> str:
    """`code` as a Markdown code block, its fence longer than any run of backticks in it.

    >>> print(fenced("echo `date`", "bash"))
    ```bash
    echo `date`
    ```
    """
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def offer_chart(
    chart: Any,
    request: ExportRequest,
    dataset: Dataset,
    *,
    data: pl.DataFrame | None = None,
    provenance: Provenance | None = None,
    key: str | None = None,
) -> None:
    """PNG (screen, print 300 dpi) and data downloads of a shown chart, and its Reproduce popover.

    `request` must describe the chart as drawn (name, filter, by, endpoint, CI and options such
    as ``("bands", "false")``), so that its Reproduce command makes the same figure. `data`
    defaults to the request's data as the command writes them (`--out FILE.csv`), computed
    only when the data are asked for; `provenance` defaults to the request's.
    """
    frame: pl.DataFrame | Callable[[], pl.DataFrame] = (
        partial(_export_data, dataset, request) if data is None else data
    )
    facts = request_provenance(dataset, request) if provenance is None else provenance
    _buttons(chart_downloads(chart, frame, facts, request), request, dataset, key)


def offer_table(
    frame: pl.DataFrame | Callable[[], pl.DataFrame],
    request: ExportRequest,
    dataset: Dataset,
    *,
    provenance: Provenance | None = None,
    key: str | None = None,
) -> None:
    """The ZIP and CSV downloads of a shown table (as the request's table gives it), Reproduce.

    `frame` may be a function, called only when a file is asked for."""
    facts = request_provenance(dataset, request) if provenance is None else provenance
    _buttons(table_downloads(frame, facts, request), request, dataset, key)


def offer_export(dataset: Dataset, request: ExportRequest, *, key: str | None = None) -> None:
    """Downloads of a figure or table built by the exports catalogue (as the CLI makes it).

    A table is built only when its file is asked for: the page has already computed what it
    shows, and a rerun must not compute it again (at registry size, Table 1 twice).
    """
    if request.command == "table":
        offer_table(partial(_export_data, dataset, request), request, dataset, key=key)
        return
    export = make_export(dataset, request)
    if export.is_figure:
        offer_chart(
            export.chart, request, dataset, data=export.data, provenance=export.provenance, key=key
        )
    else:
        offer_table(export.data, request, dataset, provenance=export.provenance, key=key)


def offer_report(
    dataset: Dataset,
    cohort_filter: CohortFilter,
    *,
    ci: str = "log",
    key: str = "download-report",
) -> None:
    """A button that builds and downloads the self-contained HTML report for the filter."""
    file_name = export_name("report", cohort_filter=cohort_filter, ext="html")
    st.download_button(
        "Report (HTML)",
        data=access.logged(
            lambda: build_report(dataset, cohort_filter, ci=ci).encode("utf-8"),
            file_name,
            dataset.fingerprint,
        ),
        file_name=file_name,
        mime=HTML,
        key=key,
        help="Every figure and table for the current filter, methods and provenance, in one "
        "file that opens offline and prints on A4",
        on_click="ignore",
        icon=":material/description:",
    )
