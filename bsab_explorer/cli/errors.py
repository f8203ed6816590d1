"""How a command ends: its exit code, the refusals it raises, and the one place they are printed.

0 success; 1 the data are invalid or cannot answer the request (`InvalidData`,
`bsab_explorer.errors.Unavailable`); 2 the command could not run (`UsageError`: a bad
``--filter``, no such ``--data`` path, an unknown option value; or an unavailable store). A
command raises these; `bsab_explorer.cli.main` turns each into its code and message, so every
command says the same thing the same way. Any other exception is a bug and is not caught.
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 128 + 13  # killed by SIGPIPE, as shells report it


class UsageError(Exception):
    """The command could not run as given (exit 2); the message names the option."""


class InvalidData(Exception):
    """The data do not pass the contract (exit 1); the message is the validation report."""


def print_error(text: str) -> None:
    """Write a message for the user to standard error."""
    print(text, file=sys.stderr)
