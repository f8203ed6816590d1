"""The `access-log` command: who signed in, stored, retracted or downloaded what, from the shell."""

from __future__ import annotations

import argparse
import datetime as dt

from bsab_explorer.cli.errors import EXIT_OK
from bsab_explorer.cli.options import Subparsers, add_store_option
from bsab_explorer.data.access import Action
from bsab_explorer.data.store import AccessEntry, open_store


def describe_entry(entry: AccessEntry) -> str:
    """One line of the log: time (UTC), user, action, batch or export, fingerprint."""
    when = entry.logged_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    fingerprint = entry.fingerprint[:12] or "-"
    return (
        f"{entry.entry_id:>6}  {when}  {entry.user:<32} {entry.action:<9} {fingerprint:<12}  "
        f"{entry.target}"
    )


def run_access_log(args: argparse.Namespace) -> int:
    """Print the store's access log, oldest first (optionally one user's or one action's)."""
    store = open_store(args.store)
    entries = [
        entry
        for entry in store.access_log()
        if (args.user is None or entry.user.lower() == args.user.lower())
        and (args.action is None or entry.action == args.action)
    ]
    print(f"Store: {store.path}")
    print(
        f"{'entry':>6}  {'time (UTC)':<19}  {'user':<32} {'action':<9} {'fingerprint':<12}  "
        "batch or export"
    )
    for entry in entries:
        print(describe_entry(entry))
    if not entries:
        print("(no entries)")
    return EXIT_OK


def register_access_log(subparsers: Subparsers) -> None:
    """`access-log [--user EMAIL] [--action ACTION] [--store PATH]`."""
    parser = subparsers.add_parser(
        "access-log",
        help="print who signed in, stored, retracted or downloaded what (the store's access log)",
    )
    parser.add_argument("--user", metavar="EMAIL", default=None, help="only this user's entries")
    parser.add_argument(
        "--action", choices=[a.value for a in Action], default=None, help="only this action"
    )
    add_store_option(parser)
    parser.set_defaults(handler=run_access_log)
