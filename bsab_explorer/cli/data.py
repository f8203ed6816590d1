"""The `validate` and `info` commands: does a data folder meet the contract, and what it holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from bsab_explorer.cli.errors import EXIT_INVALID, EXIT_OK
from bsab_explorer.cli.options import Subparsers, add_data_option, check_data_path
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.schema import RECONSTRUCTED_NOTICE, STUDIES, STUDY_LABELS, TABLES


def run_validate(args: argparse.Namespace) -> int:
    """Print the validation report of PATH; exit 0 when valid, 1 when not."""
    result = load_dataset(args.path)
    print(result.report.to_text())
    if result.report.ok and result.dataset is not None:
        rows = sum(frame.height for frame in result.dataset.tables.values())
        print(f"Valid: {len(result.dataset.tables)} table(s), {rows} row(s).")
        return EXIT_OK
    print("Invalid: correct the problems above and validate again.")
    return EXIT_INVALID


def register_validate(subparsers: Subparsers) -> None:
    """`validate PATH`."""
    parser = subparsers.add_parser(
        "validate",
        help="check a folder of tables, a table file or a DuckDB file against the contract",
        description="Print every problem found (file, row, column, value, rule, what to do).",
    )
    parser.add_argument("path", type=Path, help="folder of contract tables, table file, DuckDB")
    parser.set_defaults(handler=run_validate)


def run_info(args: argparse.Namespace) -> int:
    """Print the datasets, tables, row counts and the sha256 fingerprint."""
    check_data_path(args.data)
    result = load_dataset(args.data)
    dataset = result.dataset
    if dataset is None:
        print(result.report.to_text())
        return EXIT_INVALID
    print(f"Dataset: {dataset.name}")
    if dataset.reconstructed:
        print(f"  {RECONSTRUCTED_NOTICE}")
    print(f"Source: {dataset.source}")
    print(f"Fingerprint (sha256): {dataset.fingerprint}")
    for study, tables in STUDIES.items():
        loaded = [t for t in tables if t in dataset.tables]
        if not loaded:
            print(f"{STUDY_LABELS[study]}: not loaded")
            continue
        print(f"{STUDY_LABELS[study]}:")
        for table in loaded:
            frame = dataset.tables[table]
            recorded = sum(
                1 for c in frame.columns if frame.get_column(c).null_count() < frame.height
            )
            print(
                f"  {table:<10} {frame.height:>7} rows  "
                f"{recorded}/{len(TABLES[table].columns)} columns with data"
            )
    if not result.report.ok:
        print(f"Problems: {len(result.report.problems)} (run `bsab-explorer validate` for details)")
    return EXIT_OK


def register_info(subparsers: Subparsers) -> None:
    """`info [--data PATH]`."""
    parser = subparsers.add_parser(
        "info", help="show datasets, tables, row counts and the data fingerprint"
    )
    add_data_option(parser)
    parser.set_defaults(handler=run_info)
