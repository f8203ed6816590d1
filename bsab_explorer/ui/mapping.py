"""The Upload page's mapping step: a center's own export (its column names, codes and dates, a
REDCap export, an ADaM set) mapped to a contract table, previewed, and stored on confirmation.

The proposer's mapping (or one the user saved before) preselects a contract column or date role
for each source column and a code for each source value; the user corrects what is wrong, says
how dates are written when the values cannot tell, and sees what each column became and the
converted rows before anything is stored. The confirmed mapping downloads as the TOML file the
command line takes. Uploaded text reaches Streamlit's markdown only through `escape_markdown`.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import polars as pl
import streamlit as st

from bsab_explorer.data.access import upload
from bsab_explorer.data.convert.contract_files import converted_name, table_csv
from bsab_explorer.data.convert.conversion import ConversionResult, convert_read, read_source
from bsab_explorer.data.convert.dates import DateOrder, needs_order
from bsab_explorer.data.convert.mapping import (
    ConversionMapping,
    TableMapping,
    propose_mapping,
    propose_values,
    read_mapping,
    write_mapping,
)
from bsab_explorer.data.convert.review import (
    NOT_USED,
    choice_label,
    chosen_twice,
    code_choices,
    coded_target,
    column_choices,
    initial_choices,
    mapping_from_choices,
    problems_table,
    recorded_columns,
    values_to_map,
    what_became,
)
from bsab_explorer.data.convert.source import SourceSet, SourceTable
from bsab_explorer.data.store import Store, file_sha256
from bsab_explorer.data.templates import contract_columns, template_csv, template_xlsx
from bsab_explorer.data.upload import base_name
from bsab_explorer.data.validation import ValidationReport
from bsab_explorer.schema import STUDIES, TABLES
from bsab_explorer.ui.access import current
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown
from bsab_explorer.ui.upload import refused

TABLE_CHOICES = tuple(name for tables in STUDIES.values() for name in tables)
SOURCE_TYPES = ["csv", "txt", "tsv", "xlsx", "parquet", "xpt", "sas7bdat"]
PREVIEW_ROWS = 50
#: Select boxes a row, so that a dozen source columns fit a 1280 x 720 screen.
PER_ROW = 4
_ORDER_LABELS = {
    DateOrder.DMY: "day first: dd/mm/yyyy",
    DateOrder.MDY: "month first: mm/dd/yyyy",
}


@dataclass(frozen=True)
class SourceFile:
    """An uploaded file: its own name (no folder) and its bytes."""

    name: str
    data: bytes


def read_files(files: Sequence[SourceFile], dictionary: SourceFile | None = None) -> SourceSet:
    """The source tables of uploaded files (and a REDCap dictionary), read from a temporary
    folder that is gone when this returns."""
    with tempfile.TemporaryDirectory(prefix="bsab-upload-") as folder:
        paths = []
        for file in files:
            path = Path(folder) / base_name(file.name)
            path.write_bytes(file.data)
            paths.append(path)
        dictionary_path = None
        if dictionary is not None:
            (Path(folder) / "dictionary").mkdir()
            dictionary_path = Path(folder) / "dictionary" / base_name(dictionary.name)
            dictionary_path.write_bytes(dictionary.data)
        return read_source(paths, dictionary_path)


def _uploaded(file: object) -> SourceFile:
    name = str(getattr(file, "name", "upload"))
    return SourceFile(base_name(name), file.getvalue())  # type: ignore[attr-defined]


def _show_problems(problems: pl.DataFrame) -> None:
    show_table(problems)


def _guess_table(source: SourceTable, given: ConversionMapping | None) -> str:
    if given is not None:
        return given.main
    stem = PurePath(source.name).stem.lower()
    return next((t for t in TABLE_CHOICES if stem.startswith(t)), TABLE_CHOICES[0])


def _column_widgets(
    table: str, source: SourceTable, initial: TableMapping, salt: str
) -> dict[str, str]:
    choices = column_choices(table)
    preset = initial_choices(initial, source.columns)
    chosen: dict[str, str] = {}
    columns = source.columns
    for start in range(0, len(columns), PER_ROW):
        cells = st.columns(PER_ROW)
        for cell, column in zip(cells, columns[start : start + PER_ROW], strict=False):
            chosen[column] = cell.selectbox(
                escape_markdown(column),
                choices,
                index=choices.index(preset[column]) if preset[column] in choices else 0,
                format_func=lambda c: choice_label(table, c),
                key=f"map_column:{salt}:{column}",
            )
    return chosen


def _value_widgets(
    table: str,
    source: SourceTable,
    choices: dict[str, str],
    initial: TableMapping,
    salt: str,
) -> dict[str, dict[str, str]]:
    mapped: dict[str, dict[str, str]] = {}
    for column, choice in choices.items():
        target = coded_target(table, choice)
        if target is None:
            continue
        values = source.values(column)
        to_map = values_to_map(table, target, values)
        if not to_map:
            continue
        same = initial.columns.get(target) == column
        preset = dict(initial.values.get(target, {})) if same else {}
        preset = preset or propose_values(table, target, values)
        options = code_choices(table, target)
        st.markdown(f"**{escape_markdown(column)}** → {escape_markdown(target)}")
        codes: dict[str, str] = {}
        for start in range(0, len(to_map), PER_ROW):
            cells = st.columns(PER_ROW)
            for cell, value in zip(cells, to_map[start : start + PER_ROW], strict=False):
                default = preset.get(value, NOT_USED)
                code = cell.selectbox(
                    escape_markdown(value),
                    options,
                    index=options.index(default) if default in options else 0,
                    format_func=lambda c: c or "as written",
                    key=f"map_value:{salt}:{column}:{value}",
                )
                if code != NOT_USED:
                    codes[value] = code
        mapped[target] = codes
    return mapped


def _date_order(
    source: SourceTable, choices: dict[str, str], initial: TableMapping, salt: str
) -> tuple[DateOrder | None, bool]:
    """The date order the user chose (or the mapping gave), and whether one is still needed."""
    dated = [c for c, choice in choices.items() if choice.startswith("date:")]
    undeclared = [c for c in dated if c not in source.date_orders]
    values = [v for c in undeclared for v in source.values(c)]
    if not needs_order(values):
        return initial.date_order, False
    options = list(_ORDER_LABELS)
    order = st.radio(
        "How does the file write its dates? Its dates cannot tell day from month.",
        options,
        index=options.index(initial.date_order) if initial.date_order in options else None,
        format_func=lambda o: _ORDER_LABELS[o],
        horizontal=True,
        key=f"map_date_order:{salt}",
    )
    return order, order is None


def _result_panel(
    result: ConversionResult,
    table: str,
    mapping: TableMapping,
    source: SourceTable,
) -> None:
    st.subheader("4. Result")
    frame = result.tables.get(table)
    columns = frame.columns if frame is not None else []
    st.caption("What each of your columns became (dates are turned into days, then dropped).")
    show_table(what_became(table, mapping, source.columns, columns))
    report = result.report
    if report.ok:
        st.success("No problems found.", icon=":material/check_circle:")
    else:
        st.error(
            f"{len(report.problems)} problem(s) found. Nothing can be stored until they are "
            "corrected (in the mapping above or in the file).",
            icon=":material/error:",
        )
        _show_problems(problems_table(report))
    for notice in report.notices:
        st.text(notice)
    if frame is not None and frame.height:
        shown = recorded_columns(table, frame)
        st.caption(
            f"The converted {escape_markdown(table)}: first "
            f"{escape_markdown(min(PREVIEW_ROWS, frame.height))} of "
            f"{escape_markdown(frame.height)} rows, columns with data only."
        )
        # A grid: a listing of up to PREVIEW_ROWS rows and every column, to scroll through.
        st.dataframe(shown.head(PREVIEW_ROWS), hide_index=True)


def _store_panel(
    store: Store, result: ConversionResult, table: str, center: str, file_name: str
) -> None:
    frame = result.tables.get(table)
    if not result.ok or frame is None or frame.height == 0:
        return
    others = sorted(set(result.tables) - {table})
    if others:
        st.caption(
            f"Also converted, not stored here: {escape_markdown(', '.join(others))}. Choose "
            "that contract table above to store it."
        )
    if not center.strip():
        st.info("Enter the center pseudonym (above) to store the converted rows.")
        return
    data = table_csv(table, frame)
    name = converted_name(file_name, table)
    if _show_stored(file_sha256(data), center):
        return
    check = store.check_upload(data, name, table, center)
    if not check.storable:
        st.error("The converted rows cannot be stored:", icon=":material/error:")
        _show_problems(problems_table(check.report))
        return
    st.button(
        f"Store {escape_markdown(frame.height)} rows of {escape_markdown(table)} as a new batch",
        type="primary",
        key="map_store",
        on_click=_store_converted,
        args=(store, data, name, table, center),
    )


#: Session key of the outcome of the last "Store" click: the stored rows' sha256 and center,
#: and the batch (id, rows, table, center) or the problems that kept them out.
_STORED = "map_stored"
_PROBLEM_COLUMNS = ("Where", "Value", "Rule", "What to do")


def _store_converted(store: Store, data: bytes, name: str, table: str, center: str) -> None:
    """Store the converted rows as one batch (a button callback: it runs on the click, before
    the page is drawn again) and keep the outcome for the page to show."""
    # Through the access rules: a viewer is refused here, server-side, and the upload is logged.
    stored = upload(store, current(), data, name, table, center)
    # A second click (or a rerun of the click) finds the very same rows already stored.
    batch = stored.batch if stored.stored else stored.duplicate_of
    outcome: object
    if batch is not None:
        outcome = (batch.batch_id, batch.rows, batch.table, batch.center)
    else:
        outcome = problems_table(stored.report).rows()
    st.session_state[_STORED] = (file_sha256(data), center, outcome)


def _show_stored(digest: str, center: str) -> bool:
    """Show what the last click on "Store" did with these very rows; True when they are stored."""
    saved = st.session_state.get(_STORED)
    if saved is None or saved[:2] != (digest, center):
        return False
    outcome = saved[2]
    if isinstance(outcome, tuple):
        batch_id, rows, table, stored_center = outcome
        st.success(
            f"Stored as batch {escape_markdown(batch_id)}: {escape_markdown(rows)} rows of "
            f"{escape_markdown(table)} for center {escape_markdown(stored_center)}. Choose "
            "'Pooled uploads' or 'Bundled + pooled' in the sidebar to analyse them."
        )
        return True
    st.error("Nothing was stored. The report says why:")
    _show_problems(pl.DataFrame(outcome, schema=list(_PROBLEM_COLUMNS), orient="row"))
    return False


def _saved_mapping(file: object | None) -> tuple[ConversionMapping | None, str]:
    if file is None:
        return None, ""
    data = file.getvalue()  # type: ignore[attr-defined]
    salt = hashlib.sha256(data).hexdigest()[:12]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        st.error("The mapping file is not UTF-8 text; it was not used.")
        return None, salt
    parsed, problems = read_mapping(text, base_name(str(getattr(file, "name", "mapping.toml"))))
    if parsed is None:
        st.error("The mapping file was not used:", icon=":material/error:")
        _show_problems(problems_table(ValidationReport(tuple(problems))))
    return parsed, salt


def mapping_form(store: Store) -> None:
    """Files, dictionary and saved mapping; then map, preview, and store on confirmation."""
    if refused():
        return
    files = st.file_uploader(
        "Your export: one or more files (CSV, XLSX, Parquet, SAS)",
        type=SOURCE_TYPES,
        accept_multiple_files=True,
        key="map_files",
        help="A spreadsheet with your own column names, codes and dates; a REDCap export (add "
        "its data dictionary); or ADaM datasets (ADSL, ADTTE, ADRS, ADAE, ADEX).",
    )
    left, right = st.columns(2)
    dictionary = left.file_uploader(
        "REDCap data dictionary (optional)", type=["csv"], key="map_dictionary"
    )
    saved = right.file_uploader(
        "A mapping you saved before (optional)", type=["toml"], key="map_toml"
    )
    if not files:
        st.caption("Nothing is stored until you have seen the result and confirm.")
        return
    given, salt = _saved_mapping(saved)
    found = read_files([_uploaded(f) for f in files], _uploaded(dictionary) if dictionary else None)
    if not found.tables:
        st.error("The files could not be read:", icon=":material/error:")
        _show_problems(problems_table(ValidationReport(found.problems)))
        return
    names = list(found.tables)
    first, second, third = st.columns(3)
    source_name = (
        second.selectbox(
            "Your table",
            names,
            index=names.index(found.main) if found.main in names else 0,
            format_func=escape_markdown,
            key="map_source",
        )
        if len(names) > 1
        else names[0]
    )
    source = found.tables[source_name]
    guessed = _guess_table(source, given)
    table = first.selectbox(
        "Contract table",
        TABLE_CHOICES,
        index=TABLE_CHOICES.index(guessed),
        format_func=lambda t: f"{t} ({TABLES[t].study.replace('_', ' ')})",
        key="map_table",
    )
    center = third.text_input(
        "Center pseudonym",
        key="map_center",
        max_chars=32,
        placeholder="e.g. C15",
        help="Letters, digits, - and _ only; never the hospital's name.",
    )
    with st.expander(f"The contract's {escape_markdown(table)} columns and codes"):
        # A grid: the contract's reference listing of every column, to scroll through.
        st.dataframe(contract_columns(table), hide_index=True)
    given_table = given.tables.get(table) if given is not None else None
    initial = given_table or propose_mapping(
        table, source.columns, {c: source.values(c) for c in source.columns}
    )
    salt = f"{salt}:{table}:{source_name}"
    st.subheader("1. Your columns")
    st.caption(
        "Each of your columns, and the contract column or date it holds (proposed from its "
        "name; correct what is wrong). Dates become days since the first full dose."
    )
    choices = _column_widgets(table, source, initial, salt)
    twice = chosen_twice(choices)
    if twice:
        for choice, sources in twice.items():
            st.error(
                f"{escape_markdown(', '.join(sources))} are all mapped to "
                f"{escape_markdown(choice_label(table, choice))}: keep one."
            )
        return
    st.subheader("2. Your codes")
    values = _value_widgets(table, source, choices, initial, salt)
    if not values:
        st.caption("Every coded value is already written as the contract spells it.")
    st.subheader("3. Dates")
    order, missing = _date_order(source, choices, initial, salt)
    if missing:
        st.info("Choose how the file writes its dates to see the result.")
        return
    if not any(c.startswith("date:") for c in choices.values()):
        st.caption("No date column is mapped.")
    mapping = mapping_from_choices(choices, values, source=source_name, date_order=order)
    whole = ConversionMapping(
        {**(given.tables if given is not None else {}), table: mapping}, main=table
    )
    result = convert_read(found, whole)
    _result_panel(result, table, mapping, source)
    st.download_button(
        "Download this mapping (TOML)",
        write_mapping(whole),
        file_name="mapping.toml",
        mime="application/toml",
        key="map_download",
        help="Upload it here next time, or give it to `bsab-explorer convert --mapping`.",
    )
    _store_panel(store, result, table, center, source.file)


def templates_panel() -> None:
    """A template of a contract table (CSV and XLSX) and the table's columns and codes."""
    table = st.selectbox(
        "Contract table",
        TABLE_CHOICES,
        format_func=lambda t: f"{t} ({TABLES[t].study.replace('_', ' ')})",
        key="template_table",
    )
    left, right = st.columns(2)
    left.download_button(
        "Template (CSV)",
        template_csv(table),
        file_name=f"{table}.csv",
        mime="text/csv",
        key="template_csv",
    )
    right.download_button(
        "Template with a sheet of codes (XLSX)",
        template_xlsx(table),
        file_name=f"{table}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="template_xlsx",
    )
    st.caption(
        "The header, one example row (replace it), and in the workbook a sheet of every "
        "column's type and codes. The contract's columns:"
    )
    # A grid: the contract's reference listing of every column, to scroll through.
    st.dataframe(contract_columns(table), hide_index=True)
