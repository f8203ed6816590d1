"""The exact command line and Python call that regenerate an export from the same data.

>>> from bsab_explorer.filters import CohortFilter
>>> r = ExportRequest(
...     "figure", "km", CohortFilter.parse("emd=true"), by="emd", endpoint="pfs", ci="log"
... )
>>> print(reproduce_command(r, out="km-pfs_by-emd.png"))
bsab-explorer figure km --endpoint pfs --by emd --filter emd=true --ci log --out km-pfs_by-emd.png
>>> print(reproduce_command(ExportRequest("figure", "km", endpoint="os"), data="/my study"))
bsab-explorer figure km --endpoint os --out km-os.png --data '/my study'
"""

from __future__ import annotations

import shlex
from pathlib import Path

from bsab_explorer.data.loading import BUNDLED_DATA_DIR
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports.request import ExportRequest

#: The console script installed with the package.
PROGRAM = "bsab-explorer"


#: Stands for the data's location when the app cannot name a path that reloads them.
DATA_PLACEHOLDER = "PATH"


def is_bundled(dataset: Dataset) -> bool:
    """Whether `dataset` is the bundled data (the commands' default: no `--data` needed)."""
    if not dataset.source:
        return False
    return Path(dataset.source).resolve() == BUNDLED_DATA_DIR.resolve()


def data_argument(dataset: Dataset) -> str | None:
    """The `--data` value that reloads `dataset`: None for the bundled data, else its path.

    Data the app assembled in memory (pooled uploads) have no such path: `DATA_PLACEHOLDER`
    is returned and the reader must put the folder or DuckDB file of those data in its place.
    """
    if is_bundled(dataset):
        return None
    if dataset.source and Path(dataset.source).exists():
        return dataset.source
    return DATA_PLACEHOLDER


def command_arguments(
    request: ExportRequest,
    *,
    out: str | None = None,
    data: str | None = None,
    dpi: int | None = None,
) -> list[str]:
    """The command-line arguments (after the program name) that regenerate the export."""
    args: list[str] = [request.command, request.name]
    for flag, value in (
        ("endpoint", request.endpoint),
        ("by", request.by),
        ("filter", request.cohort_filter.to_text() or None),
        ("ci", request.ci),
        ("case", request.case),
        *request.options,
    ):
        if value is not None:
            args += [f"--{flag}", value]
    if dpi is not None:
        args += ["--dpi", str(dpi)]
    if out is not None:
        args += ["--out", out]
    if data is not None:
        args += ["--data", data]
    return args


def reproduce_command(
    request: ExportRequest,
    *,
    out: str | None = None,
    data: str | None = None,
    dpi: int | None = None,
) -> str:
    """The shell command (arguments quoted for POSIX shells) that regenerates the export."""
    out = request.file_name() if out is None else out
    args = command_arguments(request, out=out, data=data, dpi=dpi)
    return shlex.join([PROGRAM, *args])


def _py(value: object) -> str:
    return repr(value)


def reproduce_python(
    request: ExportRequest,
    *,
    out: str | None = None,
    data: str | None = None,
    dpi: int | None = None,
) -> str:
    """The Python code that regenerates the export (the same functions as the command)."""
    out = request.file_name() if out is None else out
    fields = [f"{request.command!r}", f"{request.name!r}"]
    if not request.cohort_filter.is_empty:
        fields.append(f"CohortFilter.parse({request.cohort_filter.to_text()!r})")
    keywords = [
        (key, value)
        for key, value in (
            ("by", request.by),
            ("endpoint", request.endpoint),
            ("ci", request.ci),
            ("case", request.case),
        )
        if value is not None
    ]
    fields += [f"{key}={_py(value)}" for key, value in keywords]
    if request.options:
        fields.append(f"options={request.options!r}")
    imports = ["from bsab_explorer.data.loading import load_dataset"]
    imports.append("from bsab_explorer.exports import ExportRequest, write_export")
    if not request.cohort_filter.is_empty:
        imports.append("from bsab_explorer.filters import CohortFilter")
    call = f"ExportRequest({', '.join(fields)})"
    write = f"write_export(dataset, request, {out!r}"
    write += f", dpi={dpi})" if dpi is not None else ")"
    return "\n".join(
        [
            *imports,
            "",
            f"dataset = load_dataset({_py(data)}).dataset",
            f"request = {call}",
            write,
        ]
    )
