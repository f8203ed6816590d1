"""`python -m bsab_explorer`: the same command line as `bsab-explorer`."""

from bsab_explorer.cli import main

raise SystemExit(main())
