"""The upload workflow: check a file against the contract and the store, show the report, and
store it only when it is valid and the user confirms. Uploaded text is only ever shown in data
grids or as plain text, never as markdown or HTML."""

from __future__ import annotations

from pathlib import PurePath

import streamlit as st

from bsab_explorer.data.access import Role, set_retracted, upload
from bsab_explorer.data.convert.review import problems_table
from bsab_explorer.data.store import Store, UploadCheck
from bsab_explorer.schema import STUDIES, TABLES
from bsab_explorer.ui.access import current
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

TABLE_CHOICES = tuple(name for tables in STUDIES.values() for name in tables)
PREVIEW_ROWS = 50
#: What a user may bring to the Upload page: a contract table, an export to map, or nothing yet.
UPLOAD_MODES = (
    "A contract table",
    "Our own export (map it to the contract)",
    "Nothing yet: a template",
)


def guess_table(file_name: str) -> str:
    """The contract table a file is named after (e.g. patients.csv), else patients."""
    stem = PurePath(file_name).stem.lower()
    return next((t for t in TABLE_CHOICES if stem.startswith(t)), TABLE_CHOICES[0])


def show_check(check: UploadCheck) -> None:
    """The validation report, notices and the preview of a checked file (as plain text/grids)."""
    report = check.report
    if check.duplicate_of is not None:
        batch = check.duplicate_of
        st.info(
            f"This very file is already stored as batch {escape_markdown(batch.batch_id)} "
            f"({escape_markdown(batch.rows)} rows, center {escape_markdown(batch.center)}). "
            "Storing it again would change nothing."
        )
    if report.ok:
        st.success("No problems found.", icon=":material/check_circle:")
    else:
        st.error(
            f"{len(report.problems)} problem(s) found. Nothing was stored. Correct the file and "
            "upload it again.",
            icon=":material/error:",
        )
        show_table(problems_table(report), wrap=True)  # "What to do" wraps, never cut
    for notice in report.notices:
        st.text(notice)
    preview = check.preview
    if preview is not None and preview.height > 0:
        st.subheader("Preview")
        st.caption(
            f"First {escape_markdown(min(PREVIEW_ROWS, preview.height))} of "
            f"{escape_markdown(preview.height)} rows, as they would be "
            "stored (file row numbers first; rejected cells are blank)."
        )
        # A grid: a listing of up to PREVIEW_ROWS rows and every column, to scroll through.
        st.dataframe(preview.head(PREVIEW_ROWS), hide_index=True)


def refused() -> bool:
    """Whether this visitor may not store or retract (then it says so)."""
    if current().may(Role.UPLOADER):
        return False
    st.error("Storing and retracting batches needs the uploader role.")
    return True


def upload_form(store: Store) -> None:
    """File, table and center; then the report, and a confirm button when the file is valid."""
    if refused():
        return
    uploaded = st.file_uploader(
        "Table file (CSV, XLSX or Parquet)",
        type=["csv", "txt", "tsv", "xlsx", "parquet"],
        key="upload_file",
        help="One table per file, named after the table (patients.csv, responses.csv, …).",
    )
    if uploaded is None:
        st.caption("Nothing is stored until the whole file is valid and you confirm.")
        return
    left, middle, right = st.columns(3)
    table = left.selectbox(
        "Contract table",
        TABLE_CHOICES,
        index=TABLE_CHOICES.index(guess_table(uploaded.name)),
        format_func=lambda t: f"{t} ({TABLES[t].study.replace('_', ' ')})",
        key="upload_table",
    )
    center = middle.text_input(
        "Center pseudonym",
        key="upload_center",
        max_chars=32,
        placeholder="e.g. C15",
        help="Letters, digits, - and _ only; never the hospital's name.",
    )
    cap_ages = right.checkbox(
        "Code ages over 90 as 90",
        key="upload_cap_ages",
        help="The contract stores ages of 90 or more as 90 (shown as 90+).",
    )
    if not center.strip():
        st.info("Enter the center pseudonym to check the file.")
        return
    data = uploaded.getvalue()
    with st.spinner("Checking the file…"):
        check = store.check_upload(data, uploaded.name, table, center, cap_ages=cap_ages)
    show_check(check)
    if not check.storable:
        return
    rows = check.rows.height if check.rows is not None else 0
    if st.button(
        f"Store {escape_markdown(rows)} rows as a new batch", type="primary", key="upload_store"
    ):
        result = upload(store, current(), data, uploaded.name, table, center, cap_ages=cap_ages)
        if result.stored and result.batch is not None:
            st.success(
                f"Stored as batch {escape_markdown(result.batch.batch_id)}: "
                f"{escape_markdown(result.batch.rows)} rows of "
                f"{escape_markdown(result.batch.table)} for center "
                f"{escape_markdown(result.batch.center)}. Choose 'Pooled uploads' or "
                "'Bundled + pooled' in the sidebar to analyse them."
            )
        else:
            st.error("The file was not stored. The report says why:")
            show_table(result.report.to_frame())


def batches_panel(store: Store) -> None:
    """Every stored batch, with retract and restore (recorded, reversible, never deleted)."""
    if refused():
        return
    show_bundled = st.toggle("Include the bundled data's batches", key="batches_bundled")
    frame = store.batches_frame()
    shown = frame if show_bundled else frame.filter(frame["origin"] != "bundled")
    if shown.height:
        # A grid: the listing of every stored batch grows without bound, to scroll and sort.
        st.dataframe(shown.drop("sha256"), hide_index=True)
    uploads = [b.batch_id for b in store.batches() if b.origin == "upload"]
    if not uploads:
        st.caption("No uploaded batches yet.")
        return
    left, middle, right = st.columns([1, 2, 1])
    batch_id = left.selectbox("Batch", uploads, key="batch_choice")
    reason = middle.text_input("Reason (recorded)", key="batch_reason", max_chars=200)
    batch = store.batch(int(batch_id))
    if batch is None:
        return
    if batch.retracted:
        if right.button("Restore batch", key="batch_restore"):
            set_retracted(store, current(), batch.batch_id, False, reason)
            st.rerun()
    elif right.button("Retract batch", key="batch_retract"):
        set_retracted(store, current(), batch.batch_id, True, reason)
        st.rerun()
