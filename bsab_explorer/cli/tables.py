"""The `table` command: every table of the app as CSV, a ZIP with provenance, or JSON rows.

`bsab-explorer table NAME` builds its table with the exports catalogue (`make_export`), the
function behind the pages' download buttons and their "Reproduce" commands, which calls the
analyses the pages show (`summarise_survival`, `response_by_timepoint`, `transition_table`,
`build_table1`, `analyse_recurrence`, `build_case_table`). So a command line, a page and a
downloaded file never disagree, and the Reproduce command a page prints runs here unchanged.

- CSV is the download's own file (`table_to_csv`: formula-injection safe, header and rows only,
  so pandas and R read it as it is); on standard output without the byte-order mark
  spreadsheets want.
- ZIP is the page's download: that CSV and a provenance file beside it (``--format zip``, or an
  ``--out`` ending in ``.zip``).
- JSON is a list of row objects; floats at full precision, NaN and infinities as null, list
  columns (e.g. the conversion table's ``patient_ids``) as lists.

CSV and ZIP hold the file form of the table (`bsab_explorer.exports.columns`): column names with
their unit and scale, a status column beside each bound that can be missing. JSON keeps the
analysis' own rows (null marks a missing bound; the CSV's status columns say why).

Exit codes as `bsab_explorer.cli.errors`: 0 written; 1 the data are invalid or cannot answer
the table (the message names the table, the analysis and the missing columns); 2 the command
could not run (bad filter, no such --data path, usage).

Registering and parsing the command import nothing heavy: the NAME choices are `TABLE_NAMES`
(a test keeps them equal to the catalogue's), and the catalogue (and with it the analyses) loads
only when a `table` command runs, so `validate` and `info` stay quick and a mistyped name is
refused at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from bsab_explorer.cli.errors import EXIT_OK, print_error
from bsab_explorer.cli.options import (
    ENDPOINTS,
    Subparsers,
    add_data_option,
    add_filter_option,
    add_statistic_options,
    add_survival_options,
    load_data,
    parse_filter,
    statistic_options,
)
from bsab_explorer.errors import Unavailable
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import PATIENTS

if TYPE_CHECKING:
    from bsab_explorer.dataset import Dataset
    from bsab_explorer.exports import Entry, ExportRequest

FORMATS = ("csv", "zip", "json")
#: Tables whose rows come from the response assessments (the catalogue's cohort tables).
RESPONSE_TABLES = ("response", "conversion")

_BOM = b"\xef\xbb\xbf"


# --- what the package offers (loaded on first use) ----------------------------------------------


#: Command-line names of the tables, in the catalogue's order (a test keeps them equal to it).
TABLE_NAMES = (
    "table1",
    "response",
    "conversion",
    "survival-medians",
    "survival-landmarks",
    "survival-curve",
    "logrank",
    "cox",
    "follow-up",
    "number-at-risk",
    "rmst",
    "proportional-hazards",
    "cumulative-incidence",
    "forest",
    "forest-response",
    "crs-recurrence",
    "case-table",
    "duration-of-response",
    "time-to-response",
    "mrd",
    "adverse-events",
    "crs-course",
    "crs-course-patients",
)


@cache
def table_entries() -> dict[str, Entry]:
    """Every table of the exports catalogue by name, in the catalogue's order."""
    from bsab_explorer.exports import TABLES

    return dict(TABLES)


def table_names() -> tuple[str, ...]:
    """The NAME values of `table`."""
    return TABLE_NAMES


def survival_tables() -> tuple[str, ...]:
    """Tables whose rows come from a survival summary (they read --endpoint, --ci, --by)."""
    return tuple(name for name, entry in table_entries().items() if "endpoint" in entry.options)


#: The --denominator values, first the default (a test keeps them equal to the analysis's).
DENOMINATORS = ("evaluable", "all_treated")


# --- the request --------------------------------------------------------------------------------


def given_options(args: argparse.Namespace) -> dict[str, str]:
    """The table options given on the command line, keyed by their catalogue names."""
    values = {
        "by": args.by,
        "endpoint": args.endpoint,
        "ci": args.ci,
        "denominator": args.denominator,
        "from": args.from_tp,
        "to": args.to_tp,
        "p-values": args.p_values,
        "source": args.source,
        **statistic_options(args),
    }
    return {flag: value for flag, value in values.items() if value is not None}


def ignored_options(args: argparse.Namespace) -> tuple[str, ...]:
    """The given options the table does not read (as flags, e.g. ``--endpoint``)."""
    reads = table_entries()[args.name].options
    return tuple(f"--{flag}" for flag in given_options(args) if flag not in reads)


def request_from_args(args: argparse.Namespace, cohort_filter: CohortFilter) -> ExportRequest:
    """The export request of parsed `table` arguments: only the options the table reads.

    So the request (and the provenance lines it gives) equals the one the table's page makes.
    """
    from bsab_explorer.exports import ExportRequest

    reads = table_entries()[args.name].options
    given = {flag: value for flag, value in given_options(args).items() if flag in reads}
    by, endpoint, ci = (given.pop(flag, None) for flag in ("by", "endpoint", "ci"))
    return ExportRequest(
        "table",
        args.name,
        cohort_filter,
        by=by,
        endpoint=endpoint,
        ci=ci,
        options=tuple(given.items()),
    )


def _endpoint(request: ExportRequest) -> str:
    # The catalogue's default endpoint is the first one (PFS).
    return request.endpoint or ENDPOINTS[0]


def needed_columns(request: ExportRequest) -> tuple[tuple[str, str], ...]:
    """The (table, column) pairs the analysis behind a cohort table needs recorded."""
    from bsab_explorer.analyses.response import REQUIRED_COLUMNS
    from bsab_explorer.analyses.survival import required_columns

    by = () if request.by is None else ((PATIENTS.name, request.by),)
    if request.name in survival_tables():
        columns = required_columns(_endpoint(request), request.by)
        return tuple((PATIENTS.name, c) for c in columns)
    if request.name in RESPONSE_TABLES:
        declared = tuple((t, c) for t, columns in REQUIRED_COLUMNS.items() for c in columns)
        return declared + (by if request.name == "response" else ())
    if request.name == "table1":
        return ((PATIENTS.name, PATIENTS.key), *by)
    return ()


def missing_columns(dataset: Dataset, request: ExportRequest) -> tuple[str, ...]:
    """Needed columns the data lack or never record, as ``table.column``.

    Judged on the whole loaded table, not the filtered subgroup, so that an empty subgroup
    gives an empty table rather than a refusal. A loaded table holds every contract column
    (absent ones as nulls), hence "no recorded value" is the test.
    """
    missing = []
    for table, column in needed_columns(request):
        frame = dataset.tables.get(table)
        recorded = (
            frame is not None
            and column in frame.columns
            and frame.get_column(column).null_count() < frame.height
        )
        if not recorded:
            missing.append(f"{table}.{column}")
    return tuple(missing)


def analysis_name(request: ExportRequest) -> str:
    """What a table is, in words, for messages: e.g. "Median survival, PFS"."""
    title = table_entries()[request.name].title
    if request.name in survival_tables():
        return f"{title}, {_endpoint(request).upper()}"
    return title


# --- output -------------------------------------------------------------------------------------


def _finite(name: str, dtype: pl.DataType) -> pl.Expr | None:
    # JSON has no NaN or infinity: such values become null (as R's NA), never a bare NaN.
    col = pl.col(name)
    if dtype.is_float():
        return pl.when(col.is_finite()).then(col).alias(name)
    if isinstance(dtype, pl.List) and dtype.inner.is_float():
        element = pl.element()
        return col.list.eval(pl.when(element.is_finite()).then(element)).alias(name)
    return None


def _jsonable(value: object) -> object:
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def table_to_json(frame: pl.DataFrame) -> str:
    """A frame as JSON: a list of row objects, full-precision floats, NaN/inf as null."""
    exprs = [e for name, dtype in frame.schema.items() if (e := _finite(name, dtype)) is not None]
    rows = (frame.with_columns(exprs) if exprs else frame).to_dicts()
    return json.dumps(rows, allow_nan=False, ensure_ascii=False, indent=2, default=_jsonable)


def output_format(out: str | None) -> str:
    """The format an --out file name implies when --format is not given (CSV by default)."""
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in FORMATS else "csv"


# --- the command --------------------------------------------------------------------------------


def run_table(args: argparse.Namespace) -> int:
    """Write one table as CSV, ZIP (CSV and provenance) or JSON rows, to --out or stdout."""
    from bsab_explorer.exports import make_export, needed_data

    cohort_filter = parse_filter(args.filter)
    request = request_from_args(args, cohort_filter)
    # From a store, only what the table reads (a medians table: a few patient columns).
    dataset = load_data(args.data, selection=needed_data(request))
    for flag in ignored_options(args):
        print_error(f"Note: {flag} does not apply to the table '{args.name}' and was ignored.")
    unavailable = f"Table '{request.name}' ({analysis_name(request)}) is unavailable for these data"
    missing = missing_columns(dataset, request)
    if missing:
        raise Unavailable(
            f"{unavailable}: it needs {', '.join(missing)}, not recorded in these data."
        )
    try:
        export = make_export(dataset, request)
    except Unavailable as refusal:
        raise Unavailable(f"{unavailable}: {refusal}") from refusal
    for note in export.notes:
        print_error(f"Note: {note}")
    if export.provenance.n == 0:
        print_error(f"Note: the filter keeps no {export.provenance.unit}; the table is empty.")
    file_format = args.format or output_format(args.out)
    if file_format == "json":
        data = (table_to_json(export.data) + "\n").encode("utf-8")
    elif file_format == "zip":
        data = export.zip()
    else:
        data = export.csv()
    if args.out is not None:
        Path(args.out).write_bytes(data)
        print(args.out)
    else:
        # The byte-order mark helps spreadsheets opening a file, not programs reading a pipe.
        sys.stdout.buffer.write(data.removeprefix(_BOM))
        sys.stdout.flush()
    return EXIT_OK


def register_table(subparsers: Subparsers) -> None:
    """`table NAME [--data PATH] [--filter SPEC] [--by COLUMN] ... [--format F] [--out FILE]`."""
    parser = subparsers.add_parser(
        "table",
        help="write a table of the app as CSV, a ZIP (CSV and provenance) or JSON rows",
        description="Write one table of the app, computed by the same functions as its pages "
        "and downloads: CSV (rows only), a ZIP of the CSV and its provenance file, or JSON rows.",
    )
    parser.add_argument("name", choices=TABLE_NAMES, metavar="NAME", help="one of: %(choices)s")
    add_data_option(parser)
    add_filter_option(parser)
    add_survival_options(parser)
    add_statistic_options(parser)
    parser.add_argument(
        "--denominator",
        choices=DENOMINATORS,
        help="response rates of: %(choices)s (default: the first)",
    )
    parser.add_argument(
        "--from",
        dest="from_tp",
        metavar="TP",
        help="conversion: first timepoint (default post_debulking)",
    )
    parser.add_argument(
        "--to", dest="to_tp", metavar="TP", help="conversion: second timepoint (default best)"
    )
    parser.add_argument(
        "--p-values",
        dest="p_values",
        nargs="?",
        const="true",
        choices=("true", "false"),
        help="table1: add comparison p-values (Fisher exact, Wilcoxon)",
    )
    parser.add_argument(
        "--source",
        choices=("adverse-events", "case-series"),
        help="crs-course: episodes of the cohort's adverse_events table or of the case series' "
        "events (default: the adverse_events table when the data have one)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="default: from the --out suffix (.zip, .json), else csv",
    )
    parser.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    parser.set_defaults(handler=run_table)
