"""The `ingest`, `batches` and `retract` commands: the store's batches, from the shell.

A batch stored, retracted or restored here is logged in the store's access log like one from
the app, in the same transaction, under ``--user`` (else $BSAB_EXPLORER_USER, else the
operating-system user).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bsab_explorer.cli.errors import EXIT_INVALID, EXIT_OK
from bsab_explorer.cli.options import (
    Subparsers,
    add_conversion_options,
    add_store_option,
    run_conversion,
)
from bsab_explorer.data.access import USER_ENV, command_line_user
from bsab_explorer.data.store import Batch, IngestResult, Store, open_store
from bsab_explorer.schema import TABLES


def _describe(batch: Batch) -> str:
    state = "retracted" if batch.retracted else "active"
    when = batch.ingested_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{batch.batch_id:>5}  {batch.table:<10} {batch.center:<10} {batch.rows:>7}  "
        f"{batch.origin:<8} {state:<9} {when}  {batch.sha256[:12]}  {batch.file_name}"
    )


def _converting(args: argparse.Namespace) -> bool:
    return bool(args.mapping or args.dictionary or args.date_order)


def _ingest_converted(store: Store, args: argparse.Namespace) -> IngestResult | None:
    """Convert FILE and store its table --table as one batch; None when the conversion failed
    (its report is printed, nothing is stored)."""
    # The converters load with the conversion they run, not with every command's registration.
    from bsab_explorer.data.convert.contract_files import converted_name, table_csv

    converted = run_conversion(args, [args.file])
    frame = converted.tables.get(args.table)
    if not converted.ok or frame is None:
        print(converted.report.to_text())
        if converted.ok:
            made = ", ".join(sorted(converted.tables)) or "none"
            print(f"The conversion made no {args.table} table (it made: {made}).")
        return None
    for notice in converted.report.notices:
        print(notice)
    others = sorted(set(converted.tables) - {args.table})
    if others:
        print(f"Also converted, not stored: {', '.join(others)} (ingest each with --table).")
    return store.ingest_bytes(
        table_csv(args.table, frame),
        converted_name(args.file.name, args.table),
        args.table,
        args.center,
        cap_ages=args.cap_ages,
        user=command_line_user(args.user),
    )


def run_ingest(args: argparse.Namespace) -> int:
    """Validate FILE (converted first with --mapping/--dictionary) and store it as one batch;
    exit 1 (store unchanged) when invalid."""
    store = open_store(args.store)
    if _converting(args):
        converted = _ingest_converted(store, args)
        if converted is None:
            print("Nothing was stored: correct the problems above and ingest again.")
            return EXIT_INVALID
        result = converted
    else:
        result = store.ingest_file(
            args.file,
            args.table,
            args.center,
            cap_ages=args.cap_ages,
            user=command_line_user(args.user),
        )
    print(result.report.to_text())
    if result.stored or result.duplicate_of is not None:
        return EXIT_OK
    print("Nothing was stored: correct the problems above and ingest again.")
    return EXIT_INVALID


def register_ingest(subparsers: Subparsers) -> None:
    """`ingest FILE --table NAME --center C [--mapping FILE] [--dictionary FILE] [--store PATH]
    [--user NAME]`."""
    parser = subparsers.add_parser(
        "ingest", help="validate a table file and store it as one batch for a center"
    )
    parser.add_argument(
        "file",
        type=Path,
        help="CSV, XLSX or Parquet file of one table (or a center's export, with --mapping "
        "or --dictionary: converted first, as `convert` does)",
    )
    parser.add_argument("--table", required=True, choices=sorted(TABLES), help="contract table")
    parser.add_argument("--center", required=True, help="center pseudonym, e.g. C07")
    parser.add_argument(
        "--cap-ages",
        action="store_true",
        help="code ages over 90 as 90 instead of refusing the file",
    )
    add_conversion_options(parser)
    add_store_option(parser)
    _add_user_option(parser)
    parser.set_defaults(handler=run_ingest)


def run_batches(args: argparse.Namespace) -> int:
    """List the store's batches (oldest first)."""
    store = open_store(args.store)
    batches = store.batches(include_retracted=not args.active)
    print(f"Store: {store.path}")
    print(
        f"{'batch':>5}  {'table':<10} {'center':<10} {'rows':>7}  {'origin':<8} {'state':<9} "
        f"{'stored (UTC)':<16}  {'sha256':<12}  file"
    )
    for batch in batches:
        print(_describe(batch))
    return EXIT_OK


def register_batches(subparsers: Subparsers) -> None:
    """`batches [--store PATH]`."""
    parser = subparsers.add_parser("batches", help="list the stored batches")
    parser.add_argument("--active", action="store_true", help="hide retracted batches")
    add_store_option(parser)
    parser.set_defaults(handler=run_batches)


def run_retract(args: argparse.Namespace) -> int:
    """Retract (or with --undo restore) a batch; its rows are kept but not used."""
    store = open_store(args.store)
    user = command_line_user(args.user)
    batch = (
        store.restore(args.batch_id, args.reason, user=user)
        if args.undo
        else store.retract(args.batch_id, args.reason, user=user)
    )
    if batch is None:
        print(f"There is no batch {args.batch_id}. See `bsab-explorer batches`.")
        return EXIT_INVALID
    verb = "restored" if args.undo else "retracted"
    print(f"Batch {batch.batch_id} {verb} (nothing was deleted):")
    print(_describe(batch))
    return EXIT_OK


def register_retract(subparsers: Subparsers) -> None:
    """`retract BATCH_ID [--undo] [--store PATH] [--user NAME]`."""
    parser = subparsers.add_parser(
        "retract", help="retract a batch (recorded, reversible with --undo, never deleted)"
    )
    parser.add_argument("batch_id", type=int, help="batch number (see `batches`)")
    parser.add_argument("--undo", action="store_true", help="restore a retracted batch")
    parser.add_argument("--reason", default="", help="why (kept in the store's log)")
    add_store_option(parser)
    _add_user_option(parser)
    parser.set_defaults(handler=run_retract)


def _add_user_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        default=None,
        help=f"who the store's access log records for this change (default: ${USER_ENV}, else "
        "the operating-system user)",
    )
