"""The `bsab-explorer` command line: validate and describe data, and manage the store.

Each command is registered by a small function below (`_REGISTRARS`); a new command adds its
own `register_*` function there. Commands return an exit code: 0 success, 1 invalid input or
a refused request, 2 the command could not run (usage, unavailable store).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bsab_explorer import __version__
from bsab_explorer.cli_audit import register_audit
from bsab_explorer.cli_figures import register_figure, register_report
from bsab_explorer.cli_tables import register_table
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import (
    STORE_ENV,
    Batch,
    StoreDamaged,
    StoreUnavailable,
    open_store,
)
from bsab_explorer.schema import RECONSTRUCTED_NOTICE, STUDIES, STUDY_LABELS, TABLES

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as shells report it

Handler = Callable[[argparse.Namespace], int]


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="PATH",
        type=Path,
        default=None,
        help=f"DuckDB store file (default: ${STORE_ENV}, else data/bsab-explorer.duckdb)",
    )


# --- validate -----------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    """Print the validation report of PATH; exit 0 when valid, 1 when not."""
    result = load_dataset(args.path)
    _out(result.report.to_text())
    if result.report.ok and result.dataset is not None:
        rows = sum(frame.height for frame in result.dataset.tables.values())
        _out(f"Valid: {len(result.dataset.tables)} table(s), {rows} row(s).")
        return EXIT_OK
    _out("Invalid: correct the problems above and validate again.")
    return EXIT_INVALID


def register_validate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`validate PATH`."""
    parser = subparsers.add_parser(
        "validate",
        help="check a folder of tables, a table file or a DuckDB file against the contract",
        description="Print every problem found (file, row, column, value, rule, what to do).",
    )
    parser.add_argument("path", type=Path, help="folder of contract tables, table file, DuckDB")
    parser.set_defaults(handler=run_validate)


# --- info ---------------------------------------------------------------------------------------


def run_info(args: argparse.Namespace) -> int:
    """Print the datasets, tables, row counts and the sha256 fingerprint."""
    result = load_dataset(args.data)
    dataset = result.dataset
    if dataset is None:
        _out(result.report.to_text())
        return EXIT_INVALID
    _out(f"Dataset: {dataset.name}")
    if dataset.reconstructed:
        _out(f"  {RECONSTRUCTED_NOTICE}")
    _out(f"Source: {dataset.source}")
    _out(f"Fingerprint (sha256): {dataset.fingerprint}")
    for study, tables in STUDIES.items():
        loaded = [t for t in tables if t in dataset.tables]
        if not loaded:
            _out(f"{STUDY_LABELS[study]}: not loaded")
            continue
        _out(f"{STUDY_LABELS[study]}:")
        for table in loaded:
            frame = dataset.tables[table]
            recorded = sum(
                1 for c in frame.columns if frame.get_column(c).null_count() < frame.height
            )
            _out(
                f"  {table:<10} {frame.height:>7} rows  "
                f"{recorded}/{len(TABLES[table].columns)} columns with data"
            )
    if not result.report.ok:
        _out(f"Problems: {len(result.report.problems)} (run `bsab-explorer validate` for details)")
    return EXIT_OK


def register_info(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`info [--data PATH]`."""
    parser = subparsers.add_parser(
        "info", help="show datasets, tables, row counts and the data fingerprint"
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=Path,
        default=None,
        help="folder of contract tables or DuckDB file (default: the bundled data)",
    )
    parser.set_defaults(handler=run_info)


# --- store: ingest, batches, retract ------------------------------------------------------------


def _describe(batch: Batch) -> str:
    state = "retracted" if batch.retracted else "active"
    when = batch.ingested_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{batch.batch_id:>5}  {batch.table:<10} {batch.center:<10} {batch.rows:>7}  "
        f"{batch.origin:<8} {state:<9} {when}  {batch.sha256[:12]}  {batch.file_name}"
    )


def run_ingest(args: argparse.Namespace) -> int:
    """Validate FILE and store it as one batch; exit 1 (store unchanged) when invalid."""
    store = open_store(args.store)
    result = store.ingest_file(args.file, args.table, args.center, cap_ages=args.cap_ages)
    _out(result.report.to_text())
    if result.stored or result.duplicate_of is not None:
        return EXIT_OK
    _out("Nothing was stored: correct the problems above and ingest again.")
    return EXIT_INVALID


def register_ingest(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`ingest FILE --table NAME --center C [--store PATH]`."""
    parser = subparsers.add_parser(
        "ingest", help="validate a table file and store it as one batch for a center"
    )
    parser.add_argument("file", type=Path, help="CSV, XLSX or Parquet file of one table")
    parser.add_argument("--table", required=True, choices=sorted(TABLES), help="contract table")
    parser.add_argument("--center", required=True, help="center pseudonym, e.g. C07")
    parser.add_argument(
        "--cap-ages",
        action="store_true",
        help="code ages over 90 as 90 instead of refusing the file",
    )
    _add_store_option(parser)
    parser.set_defaults(handler=run_ingest)


def run_batches(args: argparse.Namespace) -> int:
    """List the store's batches (oldest first)."""
    store = open_store(args.store)
    batches = store.batches(include_retracted=not args.active)
    _out(f"Store: {store.path}")
    _out(
        f"{'batch':>5}  {'table':<10} {'center':<10} {'rows':>7}  {'origin':<8} {'state':<9} "
        f"{'stored (UTC)':<16}  {'sha256':<12}  file"
    )
    for batch in batches:
        _out(_describe(batch))
    return EXIT_OK


def register_batches(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`batches [--store PATH]`."""
    parser = subparsers.add_parser("batches", help="list the stored batches")
    parser.add_argument("--active", action="store_true", help="hide retracted batches")
    _add_store_option(parser)
    parser.set_defaults(handler=run_batches)


def run_retract(args: argparse.Namespace) -> int:
    """Retract (or with --undo restore) a batch; its rows are kept but not used."""
    store = open_store(args.store)
    batch = (
        store.restore(args.batch_id, args.reason)
        if args.undo
        else store.retract(args.batch_id, args.reason)
    )
    if batch is None:
        _out(f"There is no batch {args.batch_id}. See `bsab-explorer batches`.")
        return EXIT_INVALID
    verb = "restored" if args.undo else "retracted"
    _out(f"Batch {batch.batch_id} {verb} (nothing was deleted):")
    _out(_describe(batch))
    return EXIT_OK


def register_retract(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`retract BATCH_ID [--undo] [--store PATH]`."""
    parser = subparsers.add_parser(
        "retract", help="retract a batch (recorded, reversible with --undo, never deleted)"
    )
    parser.add_argument("batch_id", type=int, help="batch number (see `batches`)")
    parser.add_argument("--undo", action="store_true", help="restore a retracted batch")
    parser.add_argument("--reason", default="", help="why (kept in the store's log)")
    _add_store_option(parser)
    parser.set_defaults(handler=run_retract)


#: Every command, in help order. A new command adds its `register_*` function here.
_REGISTRARS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    register_validate,
    register_info,
    register_ingest,
    register_batches,
    register_retract,
    register_audit,
    register_table,
    register_figure,
    register_report,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="bsab-explorer",
        description="Bispecific-antibody therapy in myeloma: validate, describe and store data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return handler(args)
    except StoreUnavailable as error:
        _err(str(error))
        return EXIT_ERROR
    except StoreDamaged as error:
        _err(str(error))
        return EXIT_INVALID
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early: silence the rest, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
