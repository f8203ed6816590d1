"""Exports: every figure and table as a file that says what it shows and how to make it again.

- `provenance`: the `Provenance` value and its footer lines;
- `naming`: deterministic, safe file names;
- `tables`: CSV safe against spreadsheet formula injection, with a provenance footer;
- `figures`: PNG/SVG rendered with vl-convert, provenance drawn under the chart;
- `request`/`reproduce`: what to export, and the CLI command and Python call that remake it;
- `catalogue`: every figure and table by its command-line name: `build` (what a page draws),
  `make_export` and `write_export` (its files).
"""

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
    request_provenance,
    survival_summary,
    write_export,
)
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
    read_table_csv,
    table_to_csv,
)

__all__ = [
    "EXPORT_FONT",
    "FIGURES",
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
    "command_arguments",
    "export_name",
    "make_export",
    "neutralise_frame",
    "neutralise_text",
    "provenance_lines",
    "read_table_csv",
    "reproduce_command",
    "reproduce_python",
    "request_provenance",
    "survival_summary",
    "svg_to_png",
    "table_to_csv",
    "utc_now",
    "write_export",
]
