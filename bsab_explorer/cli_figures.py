"""The `figure` and `report` commands: every figure of the app, and the report, from the shell.

They call the same functions as the pages (`bsab_explorer.exports.make_export`,
`bsab_explorer.report.build_report`), so a page's "Reproduce" command regenerates exactly the
file it offered (tables: `bsab_explorer.cli_tables`). `bsab_explorer.cli` registers them with
`register_figure` and `register_report`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from bsab_explorer.dataset import Dataset
    from bsab_explorer.exports import ExportRequest
    from bsab_explorer.exports.request import Command

# The analyses, charts and vl-convert are imported by the handlers, not here: registering these
# commands must not slow down `bsab-explorer validate` or `info` (scipy alone takes seconds).

#: Command-line names of the figures (a test keeps them equal to the catalogue's).
FIGURE_NAMES = ("response", "conversion", "km", "timeline", "swimmer", "crs-latency")
ENDPOINTS = ("pfs", "os")
CI_METHODS = ("log", "log-log", "plain")
DEFAULT_COMPARISONS = ("emd",)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

# The subscripted form is only for type checkers (argparse does not subscript at run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: Further options (flag, help) passed on as `ExportRequest.options` when given.
EXTRA_OPTIONS: tuple[tuple[str, str], ...] = (
    ("denominator", "response rates of: evaluable (default) or all_treated"),
    ("unit", "time axis of case views: days (default) or months"),
    ("sort", "swimmer lanes: follow_up (default) or episodes"),
    ("bands", "Kaplan–Meier: draw the confidence bands (true, default, or false)"),
    ("risk-table", "Kaplan–Meier: rows under the curves: at-risk (default), full or none"),
)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="folder of contract tables or DuckDB file (default: the bundled data)",
    )
    parser.add_argument(
        "--filter",
        metavar="SPEC",
        default="",
        help="cohort filter, e.g. 'emd=true;bsab=teclistamab' (default: everyone)",
    )


def _add_export_options(parser: argparse.ArgumentParser) -> None:
    _add_data_options(parser)
    parser.add_argument("--by", metavar="COLUMN", help="compare groups of this column")
    parser.add_argument("--endpoint", choices=ENDPOINTS, help="survival endpoint (default pfs)")
    parser.add_argument("--ci", choices=CI_METHODS, help="survival CI method (default log)")
    parser.add_argument("--case", metavar="ID", help="case of a timeline, e.g. RC2")
    for flag, text in EXTRA_OPTIONS:
        parser.add_argument(f"--{flag}", dest=flag.replace("-", "_"), metavar="VALUE", help=text)


def _load(path: str | None) -> Dataset | None:
    from bsab_explorer.data.loading import load_dataset

    result = load_dataset(path)
    if result.dataset is None:
        _err(result.report.to_text())
    return result.dataset


def request_from_args(command: Command, args: argparse.Namespace) -> ExportRequest:
    """The export request the parsed arguments describe (raises FilterError on a bad filter)."""
    from bsab_explorer.exports import ExportRequest
    from bsab_explorer.filters import CohortFilter

    options = tuple(
        (flag, value)
        for flag, _ in EXTRA_OPTIONS
        if (value := getattr(args, flag.replace("-", "_"), None)) is not None
    )
    return ExportRequest(
        command,
        args.name,
        CohortFilter.parse(args.filter),
        by=args.by,
        endpoint=args.endpoint,
        ci=args.ci,
        case=args.case,
        options=options,
    )


def _refusal(error: Exception) -> int:
    _err(str(error))
    return EXIT_INVALID


# --- figure -------------------------------------------------------------------------------------


def figure_command(args: argparse.Namespace) -> int:
    """Write one figure (PNG at --dpi, default 144; SVG; or its data as CSV) to --out."""
    from bsab_explorer.exports import ExportError, ExportUnavailable, write_export
    from bsab_explorer.filters import FilterError

    try:
        request = request_from_args("figure", args)
    except FilterError as error:
        return _refusal(error)
    dataset = _load(args.data)
    if dataset is None:
        return EXIT_INVALID
    out = Path(args.out) if args.out else Path(request.file_name())
    try:
        path = write_export(dataset, request, out, dpi=args.dpi)
    except (ExportUnavailable, ExportError, ValueError) as error:
        return _refusal(error)
    print(path)
    return EXIT_OK


def register_figure(subparsers: Subparsers) -> None:
    """`figure NAME [--out FILE] [--data PATH] [--filter SPEC] [--by COLUMN] ... [--dpi N]`."""
    parser = subparsers.add_parser(
        "figure",
        help="write a figure of the app as PNG (screen or print dpi), SVG, or its data as CSV",
        description="Figures: " + ", ".join(FIGURE_NAMES),
    )
    parser.add_argument("name", choices=FIGURE_NAMES, metavar="NAME", help="figure name")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="file to write (.png, .svg or .csv; default: a name "
        "saying what and for which subgroup)",
    )
    parser.add_argument(
        "--dpi", type=int, default=None, help="PNG resolution (default 144; 300 for print)"
    )
    _add_export_options(parser)
    parser.set_defaults(handler=figure_command)


# --- report -------------------------------------------------------------------------------------


def report_command(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report for the filter to --out."""
    from bsab_explorer.filters import CohortFilter, FilterError
    from bsab_explorer.report import build_report

    try:
        cohort_filter = CohortFilter.parse(args.filter)
    except FilterError as error:
        return _refusal(error)
    dataset = _load(args.data)
    if dataset is None:
        return EXIT_INVALID
    comparisons = tuple(args.by) if args.by else DEFAULT_COMPARISONS
    html = build_report(dataset, cohort_filter, ci=args.ci, comparisons=comparisons)
    out = Path(args.out)
    out.write_text(html, encoding="utf-8")
    print(out)
    return EXIT_OK


def register_report(subparsers: Subparsers) -> None:
    """`report --out FILE.html [--data PATH] [--filter SPEC] [--ci METHOD] [--by COLUMN]...`."""
    parser = subparsers.add_parser(
        "report",
        help="write one self-contained HTML report (every figure and table) for a filter",
    )
    parser.add_argument("--out", metavar="FILE", required=True, help="HTML file to write")
    _add_data_options(parser)
    parser.add_argument("--ci", choices=CI_METHODS, default="log", help="survival CI method")
    parser.add_argument(
        "--by",
        metavar="COLUMN",
        action="append",
        help="survival comparison (repeatable; default: emd)",
    )
    parser.set_defaults(handler=report_command)


#: The registrars this module offers, in help order.
REGISTRARS = (register_figure, register_report)


def register_all(subparsers: Subparsers) -> None:
    """Register `figure` and `report`."""
    for register in REGISTRARS:
        register(subparsers)
