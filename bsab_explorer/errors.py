"""The one exception by which the package refuses a request for a reason a user can act on.

An analysis or an export that cannot answer (a column the data do not record, too few patients,
an unknown group or option value) raises `Unavailable` with a message written for the user; the
command line and the pages show that message and carry on. Anything else that escapes is a bug
and must surface as one, never be dressed up as "unavailable".

`Unavailable` derives from `ValueError` so that callers written before it existed still catch it.
"""

from __future__ import annotations


class Unavailable(ValueError):
    """A request the data or its options cannot answer; the message says why, for a user."""
