"""Upload: contribute a center's tables to the pooled store, safely."""

import streamlit as st

from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.upload import batches_panel, upload_form

shell.ensure_shell()
st.title("Upload data")
st.markdown(
    "Add a center's table to the pooled data. Every file is checked against the data contract "
    "and for identifiers (names, dates, record numbers, contact details) before anything is "
    "shown or stored; a valid file is stored as one batch, all rows or none."
)
store = cache.store()
upload_form(store)
st.divider()
st.subheader("Stored batches")
batches_panel(store)
