"""Exports: every figure and table as a file that says what it shows and how to make it again.

- `provenance`: the `Provenance` value and its footer lines;
- `naming`: deterministic, safe file names;
- `tables`: CSV safe against spreadsheet formula injection, and a ZIP of it with its provenance;
- `columns`: what the columns of a file are called and hold (units, a status beside bounds);
- `figures`: PNG/SVG rendered with vl-convert, provenance drawn under the chart;
- `request`/`reproduce`: what to export, and the CLI command and Python call that remake it;
- `catalogue`: every figure and table by its command-line name: `build` (what a page draws),
  `make_export` and `write_export` (its files);
- `cohort_builders`, `summary_builders`, `survival_builders`, `endpoint_builders`,
  `case_builders`: what each entry of the catalogue builds, by domain, reading its options
  through `options`.

`figures` (Altair and vl-convert, a third of a second to import) is loaded on first use of one
of its names, and the builders import their charts when they draw one: a command writing a table
never renders a chart, and must not wait for it. A server, which will draw, imports them ahead
(`load_rendering`). Likewise the builder modules load with the first entry that needs them, and
`survival_summary` with its module.
"""

import importlib
from typing import TYPE_CHECKING, Any

from bsab_explorer.exports.catalogue import (
    FIGURES,
    TABLES,
    Built,
    Entry,
    Export,
    ExportUnavailable,
    build,
    catalogue,
    make_export,
    needed_data,
    request_provenance,
    write_export,
)
from bsab_explorer.exports.columns import column_notes, file_frame
from bsab_explorer.exports.naming import export_name
from bsab_explorer.exports.provenance import Clock, Provenance, provenance_lines, utc_now
from bsab_explorer.exports.reproduce import (
    command_arguments,
    reproduce_command,
    reproduce_python,
)
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.exports.tables import (
    neutralise_frame,
    neutralise_text,
    provenance_text,
    read_table_csv,
    read_table_zip,
    table_to_csv,
    table_to_zip,
)

if TYPE_CHECKING:
    from bsab_explorer.exports.figures import (
        EXPORT_FONT,
        SIZE_PPI,
        ExportError,
        Size,
        chart_data_frame,
        chart_datasets,
        chart_to_png,
        chart_to_svg,
        svg_to_png,
    )
    from bsab_explorer.exports.summary_builders import survival_summary

_FIGURE_NAMES = frozenset(
    {
        "EXPORT_FONT",
        "SIZE_PPI",
        "ExportError",
        "Size",
        "chart_data_frame",
        "chart_datasets",
        "chart_to_png",
        "chart_to_svg",
        "svg_to_png",
    }
)


#: What drawing the catalogue's figures imports (a test keeps it complete).
RENDERING_MODULES = (
    "bsab_explorer.exports.figures",
    "bsab_explorer.charts.conversion",
    "bsab_explorer.charts.crs_latency",
    "bsab_explorer.charts.cumulative_incidence",
    "bsab_explorer.charts.forest",
    "bsab_explorer.charts.response",
    "bsab_explorer.charts.survival",
    "bsab_explorer.charts.swimmer",
    "bsab_explorer.charts.timeline",
)


def load_rendering() -> None:
    """Import what drawing a figure needs (Altair, vl-convert, the charts) ahead of the first."""
    for name in RENDERING_MODULES:
        importlib.import_module(name)


def __getattr__(name: str) -> Any:
    """The rendering names of `figures` and `survival_summary`, imported when first asked for."""
    if name in _FIGURE_NAMES:
        from bsab_explorer.exports import figures

        return getattr(figures, name)
    if name == "survival_summary":
        from bsab_explorer.exports import summary_builders

        return summary_builders.survival_summary
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXPORT_FONT",
    "FIGURES",
    "RENDERING_MODULES",
    "SIZE_PPI",
    "TABLES",
    "Built",
    "Clock",
    "Entry",
    "Export",
    "ExportError",
    "ExportRequest",
    "ExportUnavailable",
    "Provenance",
    "Size",
    "build",
    "catalogue",
    "chart_data_frame",
    "chart_datasets",
    "chart_to_png",
    "chart_to_svg",
    "column_notes",
    "command_arguments",
    "export_name",
    "file_frame",
    "load_rendering",
    "make_export",
    "needed_data",
    "neutralise_frame",
    "neutralise_text",
    "provenance_lines",
    "provenance_text",
    "read_table_csv",
    "read_table_zip",
    "reproduce_command",
    "reproduce_python",
    "request_provenance",
    "survival_summary",
    "svg_to_png",
    "table_to_csv",
    "table_to_zip",
    "utc_now",
    "write_export",
]
