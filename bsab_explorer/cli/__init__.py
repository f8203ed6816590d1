"""The `bsab-explorer` command line: validate, describe and store data; write tables, figures,
the report and the audit.

One module a group of commands (`data`, `store`, `tables`, `figures`, `audit`); the options
they share are in `options`, and how a command ends in `errors`. Each command registers itself
with a `register_*` function listed in `REGISTRARS` and returns an exit code, or raises one of
the refusals below, which `main` alone prints and turns into its code:

- `bsab_explorer.errors.Unavailable`: the data cannot answer the request (exit 1);
- `InvalidData`: the data do not pass the contract (exit 1);
- `StoreDamaged`: the store file is damaged; nothing was written (exit 1);
- `UsageError` (bad ``--filter``, no such ``--data``) and `StoreUnavailable` (exit 2).

Any other exception is a bug: it is not caught, so it shows as one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from bsab_explorer import __version__
from bsab_explorer.cli.access import register_access_log
from bsab_explorer.cli.audit import register_audit
from bsab_explorer.cli.data import register_info, register_validate
from bsab_explorer.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    InvalidData,
    UsageError,
    print_error,
)
from bsab_explorer.cli.figures import register_figure, register_report
from bsab_explorer.cli.options import Subparsers
from bsab_explorer.cli.store import register_batches, register_ingest, register_retract
from bsab_explorer.cli.tables import register_table
from bsab_explorer.data.store import StoreDamaged, StoreUnavailable
from bsab_explorer.errors import Unavailable

__all__ = ["EXIT_ERROR", "EXIT_INVALID", "EXIT_OK", "REGISTRARS", "build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

#: Every command, in help order. A new command adds its `register_*` function here.
REGISTRARS: tuple[Callable[[Subparsers], None], ...] = (
    register_validate,
    register_info,
    register_ingest,
    register_batches,
    register_retract,
    register_access_log,
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
    for register in REGISTRARS:
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
    except (Unavailable, InvalidData, StoreDamaged) as refusal:
        print_error(str(refusal))
        return EXIT_INVALID
    except (UsageError, StoreUnavailable) as error:
        print_error(str(error))
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early: silence the rest, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
