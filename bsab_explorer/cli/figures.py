"""The `figure` and `report` commands: every figure of the app, and the report, from the shell.

They call the same functions as the pages (`bsab_explorer.exports.make_export`,
`bsab_explorer.report.build_report`), so a page's "Reproduce" command regenerates exactly the
file it offered (tables: `bsab_explorer.cli.tables`). `bsab_explorer.cli` registers them with
`register_figure` and `register_report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bsab_explorer.cli.errors import EXIT_OK
from bsab_explorer.cli.options import (
    CI_METHODS,
    STATISTIC_OPTIONS,
    Subparsers,
    add_data_option,
    add_filter_option,
    add_survival_options,
    load_data,
    parse_filter,
)
from bsab_explorer.schema import DEFAULT_COMPARISONS

if TYPE_CHECKING:
    from bsab_explorer.exports import ExportRequest
    from bsab_explorer.exports.request import Command

# The analyses, charts and vl-convert are imported by the handlers, not here: registering these
# commands must not slow down `bsab-explorer validate` or `info` (scipy alone takes seconds).

#: Command-line names of the figures (a test keeps them equal to the catalogue's).
FIGURE_NAMES = (
    "response",
    "conversion",
    "km",
    "timeline",
    "swimmer",
    "crs-latency",
    "duration-of-response",
    "cumulative-incidence",
    "forest",
    "forest-response",
)

#: Further options (flag, help) passed on as `ExportRequest.options` when given.
EXTRA_OPTIONS: tuple[tuple[str, str], ...] = (
    ("denominator", "response rates of: evaluable (default) or all_treated"),
    ("unit", "time axis of case views: days (default) or months"),
    ("sort", "swimmer lanes: follow_up (default) or episodes"),
    ("bands", "Kaplan–Meier: draw the confidence bands (true, default, or false)"),
    ("median", "Kaplan–Meier: dashed lines to each median (true, or false, default)"),
    ("risk-table", "Kaplan–Meier: rows under the curves: at-risk (default), full or none"),
    *STATISTIC_OPTIONS,
)


def _add_export_options(parser: argparse.ArgumentParser) -> None:
    add_data_option(parser)
    add_filter_option(parser)
    add_survival_options(parser)
    parser.add_argument("--case", metavar="ID", help="case of a timeline, e.g. RC2")
    for flag, text in EXTRA_OPTIONS:
        parser.add_argument(f"--{flag}", dest=flag.replace("-", "_"), metavar="VALUE", help=text)


def request_from_args(command: Command, args: argparse.Namespace) -> ExportRequest:
    """The export request the parsed arguments describe (a bad filter is a UsageError)."""
    from bsab_explorer.exports import ExportRequest

    options = tuple(
        (flag, value)
        for flag, _ in EXTRA_OPTIONS
        if (value := getattr(args, flag.replace("-", "_"), None)) is not None
    )
    return ExportRequest(
        command,
        args.name,
        parse_filter(args.filter),
        by=args.by,
        endpoint=args.endpoint,
        ci=args.ci,
        case=args.case,
        options=options,
    )


# --- figure -------------------------------------------------------------------------------------


def figure_command(args: argparse.Namespace) -> int:
    """Write one figure (PNG at --dpi, default 144; SVG; or its data as CSV) to --out."""
    from bsab_explorer.exports import write_export

    request = request_from_args("figure", args)
    dataset = load_data(args.data, complete=False)
    out = Path(args.out) if args.out else Path(request.file_name())
    path = write_export(dataset, request, out, dpi=args.dpi)
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
    from bsab_explorer.report import build_report

    cohort_filter = parse_filter(args.filter)
    dataset = load_data(args.data, complete=False)
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
    add_data_option(parser)
    add_filter_option(parser)
    parser.add_argument("--ci", choices=CI_METHODS, default="log", help="survival CI method")
    parser.add_argument(
        "--by",
        metavar="COLUMN",
        action="append",
        help="survival comparison (repeatable; default: emd)",
    )
    parser.set_defaults(handler=report_command)
