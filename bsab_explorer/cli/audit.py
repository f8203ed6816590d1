"""`bsab-explorer audit`: every published number beside the number recomputed from the data."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from bsab_explorer.cli.errors import EXIT_INVALID, EXIT_OK, UsageError, print_error
from bsab_explorer.cli.options import Subparsers, add_data_option, load_data

#: Exit code when a published value is neither reproduced nor explained.
EXIT_DIFFERS = EXIT_INVALID
FORMATS = ("text", "csv", "json")


def register_audit(subparsers: Subparsers) -> None:
    """`audit [--data PATH] [--status STATUS] [--format text|csv|json]`."""
    parser = subparsers.add_parser(
        "audit",
        help="compare every published value with the value recomputed from the data",
        description=(
            "List every published figure of the papers beside the value the app's own analyses "
            "recompute from the data, with its status: reproduced, differs, or paper "
            "inconsistent (with the arithmetic). Exit 0 when nothing differs, 1 otherwise."
        ),
    )
    add_data_option(parser)
    parser.add_argument(
        "--status",
        default=None,
        metavar="STATUS",
        help="only rows with this status (reproduced, differs, paper inconsistent)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    """Print the audit; exit 1 when any published value is not reproduced or explained."""
    from bsab_explorer.audit import AUDIT_STATUSES, DIFFERS, audit_dataset, audit_frame

    if args.status is not None and args.status not in AUDIT_STATUSES:
        raise UsageError(f"--status must be one of: {', '.join(AUDIT_STATUSES)}")
    dataset = load_data(args.data)
    rows = audit_dataset(dataset)
    counts = Counter(row.status for row in rows)
    shown = [r for r in rows if args.status is None or r.status == args.status]
    frame = audit_frame(shown)
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1) + "\n")
    else:
        for row in shown:
            print(f"[{row.status}] {row.study} {row.target_id}: {row.label}")
            print(f"    published {row.published}; recomputed {row.recomputed}")
            if row.note:
                print(f"    {row.note}")
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in AUDIT_STATUSES)
    print_error(f"Audit of {dataset.name}: {len(rows)} published values: {summary}.")
    return EXIT_DIFFERS if counts.get(DIFFERS, 0) else EXIT_OK
