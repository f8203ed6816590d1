"""The `convert` command: a center's own export (a spreadsheet with dates, a REDCap export with
its dictionary, an ADaM set) written as contract tables. `ingest` takes the same options
(`options.add_conversion_options`) to store such an export in one step.

Conversion is all or nothing: a problem anywhere prints the whole report (file, row, column,
what was expected) and writes nothing, so a folder never holds half a conversion.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bsab_explorer.cli.errors import EXIT_INVALID, EXIT_OK, UsageError
from bsab_explorer.cli.options import Subparsers, add_conversion_options, run_conversion


def run_convert(args: argparse.Namespace) -> int:
    """Convert SOURCE into contract tables in FOLDER; exit 1 (nothing written) when invalid."""
    if args.to.exists() and not args.to.is_dir():
        raise UsageError(f"--to: '{args.to}' is a file; give a folder.")
    result = run_conversion(args, args.source)
    print(result.report.to_text())
    if not result.ok or not result.tables:
        print("Nothing was written: correct the problems above and convert again.")
        return EXIT_INVALID
    from bsab_explorer.data.convert.contract_files import write_tables

    write_tables(result.tables, args.to)
    for table, frame in result.tables.items():
        print(f"Wrote {args.to / f'{table}.csv'} ({frame.height} rows of {table}).")
    return EXIT_OK


def register_convert(subparsers: Subparsers) -> None:
    """`convert SOURCE... --to FOLDER [--mapping FILE] [--dictionary FILE] [--date-order]`."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a center's export (dates, own names and codes, REDCap, ADaM) into "
        "contract tables",
        description="Read a spreadsheet, a REDCap export (with --dictionary) or an ADaM set, map "
        "it to the contract, turn every date into days since the first full dose, and write "
        "the contract tables (CSV, no dates) into FOLDER. Exit 0 written; 1 invalid, with "
        "every problem listed and nothing written; 2 usage.",
    )
    parser.add_argument(
        "source",
        nargs="+",
        type=Path,
        help="the export: a file, several files, or a folder (an ADaM set)",
    )
    parser.add_argument("--to", required=True, metavar="FOLDER", type=Path, help="output folder")
    add_conversion_options(parser)
    parser.set_defaults(handler=run_convert)
