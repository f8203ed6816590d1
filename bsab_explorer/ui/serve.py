"""`python -m bsab_explorer.ui.serve [streamlit run options]`: the app's server, warmed up.

Starts `streamlit run app.py` with the options given (e.g. `--server.port 8502`) and, once the
server is up, imports the libraries and loads the bundled data in the background
(`bsab_explorer.ui.warmup`), so the first visitor does not wait for them. `make run` starts the
app this way; a plain `streamlit run app.py` works too, without the warm-up.

Either way the server listens on 127.0.0.1 only: `.streamlit/config.toml` beside app.py sets it,
whatever the working folder. `--server.address 0.0.0.0` (or STREAMLIT_SERVER_ADDRESS) opens it
to other machines, for a reverse proxy in front (README, "Deployment").
"""

from __future__ import annotations

import sys

from bsab_explorer.ui import warmup


def main(argv: list[str] | None = None) -> None:
    """Start the warm-up, then Streamlit's own command line (it does not return until exit)."""
    from streamlit.web import cli

    warmup.start()
    args = ["run", str(warmup.ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    cli.main(args, prog_name="streamlit")


if __name__ == "__main__":
    main()
