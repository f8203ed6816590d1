"""The app frame imports pandas whole before any page runs (Altair reads it from sys.modules)."""

from __future__ import annotations

import subprocess
import sys


def test_shell_imports_pandas_before_any_chart_is_drawn() -> None:
    # A fresh interpreter: in this one pandas may already be imported by other tests.
    probe = (
        "import sys; import bsab_explorer.ui.shell; "
        "pandas = sys.modules.get('pandas'); "
        "print(pandas is not None and hasattr(pandas, 'Timestamp'))"
    )
    reply = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert reply.stdout.strip().splitlines()[-1] == "True"
