"""The options several commands share, defined once: ``--data``, ``--filter``, ``--store``,
the survival options ``--by``, ``--endpoint`` and ``--ci``, and the conversion options
``--mapping``, ``--dictionary`` and ``--date-order`` (`convert` and `ingest`).

Each comes with the one function that reads it (`parse_filter`, `load_data`), so a bad value is
refused in the same words and with the same exit code by every command that takes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from bsab_explorer.cli.errors import InvalidData, UsageError
from bsab_explorer.data.loading import Selection, load_dataset
from bsab_explorer.data.store import STORE_ENV
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter, FilterError

if TYPE_CHECKING:
    from bsab_explorer.data.convert import ConversionResult

# The subscripted form is only for type checkers (argparse does not subscript at run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: The --endpoint and --ci values, first the default (a test keeps them equal to the analysis's;
#: spelled out so that registering the commands does not import the analyses).
ENDPOINTS = ("pfs", "os")
CI_METHODS = ("log", "log-log", "plain")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--data PATH`` (default: the bundled data)."""
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=Path,
        default=None,
        help="folder of contract tables, table file or DuckDB file (default: the bundled data)",
    )


def add_filter_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--filter SPEC`` (default: everyone)."""
    parser.add_argument(
        "--filter",
        metavar="SPEC",
        default="",
        help="cohort filter, e.g. 'emd=true;bsab=teclistamab' (default: everyone)",
    )


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--store PATH`` (default: the environment's store, else the project's)."""
    parser.add_argument(
        "--store",
        metavar="PATH",
        # Kept as text: a postgresql:// URL is not a path (`resolve_store_path` tells them apart).
        type=str,
        default=None,
        help=f"DuckDB store file or postgresql:// URL (default: ${STORE_ENV}, else "
        "data/bsab-explorer.duckdb)",
    )


def add_survival_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--by COLUMN``, ``--endpoint`` and ``--ci``, read by the tables and figures."""
    parser.add_argument("--by", metavar="COLUMN", help="compare the groups of this column")
    parser.add_argument(
        "--endpoint", choices=ENDPOINTS, help="survival endpoint: %(choices)s (default: pfs)"
    )
    parser.add_argument(
        "--ci",
        choices=CI_METHODS,
        help="survival, 95 %% CI transformation: %(choices)s (default: log, as R)",
    )


#: The survival statistics' further options (flag, help), the same for `table` and `figure`.
STATISTIC_OPTIONS: tuple[tuple[str, str], ...] = (
    ("conf-level", "survival tables: confidence level 0.95 (default), 0.90 or 0.99"),
    ("times", "number-at-risk, survival-landmarks, cumulative-incidence: days, e.g. 182,365"),
    ("tau", "rmst: horizon in days (default 365)"),
    ("weights", "logrank: logrank (default) or peto-peto"),
    ("strata", "logrank, cox, proportional-hazards: stratify by this column"),
    ("covariates", "cox, proportional-hazards: columns of the model, e.g. age_years,iss_stage"),
    ("reference", "cox, forest: reference level of --by (default: its first level)"),
    ("ties", "cox, proportional-hazards, forest: efron (default) or breslow"),
    ("subgroups", "forest, forest-response: subgroup columns, e.g. sex,iss_stage"),
    ("timepoint", "forest-response: response timepoint (default best)"),
)


def add_statistic_options(parser: argparse.ArgumentParser) -> None:
    """Add the survival statistics' options (``--conf-level``, ``--times``, ``--tau``...)."""
    for flag, text in STATISTIC_OPTIONS:
        parser.add_argument(f"--{flag}", dest=flag.replace("-", "_"), metavar="VALUE", help=text)


def statistic_options(args: argparse.Namespace) -> dict[str, str]:
    """The survival statistics' options given on the command line, by flag."""
    values = {flag: getattr(args, flag.replace("-", "_"), None) for flag, _ in STATISTIC_OPTIONS}
    return {flag: value for flag, value in values.items() if value is not None}


def parse_filter(text: str) -> CohortFilter:
    """The cohort filter of ``--filter``; a bad one is a usage error (exit 2)."""
    try:
        return CohortFilter.parse(text)
    except FilterError as error:
        raise UsageError(f"--filter: {error}") from None


def check_data_path(path: Path | None) -> None:
    """Refuse a ``--data`` path that does not exist (a usage error, exit 2)."""
    if path is not None and not path.exists():
        raise UsageError(
            f"--data: there is no file or folder '{path}' (No such file or folder). Give a "
            "folder of contract tables, a table file (patients.csv, ...) or a DuckDB file."
        )


def load_data(
    path: Path | None, *, complete: bool = True, selection: Selection | None = None
) -> Dataset:
    """The dataset of ``--data``; raises InvalidData when it cannot be loaded.

    With `complete`, data with any validation problem are refused too; without, whatever
    loaded is used (as the pages do). `selection`: the tables and columns the command reads,
    all a store file is asked for (`loading.read_stored`).
    """
    check_data_path(path)
    result = load_dataset(path, selection=selection)
    if result.dataset is None or (complete and not result.report.ok):
        raise InvalidData(
            result.report.to_text()
            + "\nThe data are invalid: correct the problems above (`bsab-explorer validate`)."
        )
    return result.dataset


#: The --date-order values and the name of the `DateOrder` each stands for (names, so that
#: registering the option does not import the converters: only `convert` and `ingest` run them).
DATE_ORDERS = {"dmy": "DMY", "mdy": "MDY", "ymd": "ISO"}


def add_conversion_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--mapping FILE``, ``--dictionary FILE`` and ``--date-order``."""
    parser.add_argument(
        "--mapping",
        metavar="FILE",
        type=Path,
        help="mapping TOML: contract columns, codes and date roles of the source "
        "(default: the proposed mapping)",
    )
    parser.add_argument(
        "--dictionary",
        metavar="FILE",
        type=Path,
        help="REDCap data dictionary CSV (the source is then a REDCap export)",
    )
    parser.add_argument(
        "--date-order",
        choices=sorted(DATE_ORDERS),
        help="how slashed dates are written: dd/mm/yyyy (dmy), mm/dd/yyyy (mdy) or "
        "yyyy-mm-dd (ymd); required when the dates cannot tell",
    )


def _check_exists(option: str, path: Path | None) -> None:
    if path is not None and not path.exists():
        raise UsageError(f"{option}: there is no file or folder '{path}'.")


def run_conversion(args: argparse.Namespace, sources: list[Path]) -> ConversionResult:
    """Convert `sources` with the command's conversion options (usage errors exit 2)."""
    for path in sources:
        _check_exists("SOURCE", path)
    _check_exists("--mapping", args.mapping)
    _check_exists("--dictionary", args.dictionary)
    from bsab_explorer.data.convert import convert
    from bsab_explorer.data.convert.dates import DateOrder

    order = DateOrder[DATE_ORDERS[args.date_order]] if args.date_order else None
    source: Path | list[Path] = sources[0] if len(sources) == 1 else sources
    return convert(source, args.mapping, args.dictionary, order)
