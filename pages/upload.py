"""Upload: contribute a center's tables to the pooled store, safely."""

import streamlit as st

from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.mapping import mapping_form, templates_panel
from bsab_explorer.ui.upload import UPLOAD_MODES, batches_panel, upload_form

shell.ensure_shell()
st.title("Upload data")
st.markdown(
    "Add a center's table to the pooled data. Every file is checked against the data contract "
    "and for identifiers (names, dates, record numbers, contact details) before anything is "
    "shown or stored; a valid file is stored as one batch, all rows or none. Your own export "
    "(your column names, codes and dates; REDCap; ADaM) is mapped to the contract first."
)
store = cache.store()
mode = st.radio("What do you have?", UPLOAD_MODES, horizontal=True, key="upload_mode")
if mode == UPLOAD_MODES[0]:
    upload_form(store)
elif mode == UPLOAD_MODES[1]:
    mapping_form(store)
else:
    templates_panel()
st.divider()
st.subheader("Stored batches")
batches_panel(store)
