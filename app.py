"""bsab-explorer: page config, the shared cohort filter and the navigation — nothing else."""

import streamlit as st

from bsab_explorer.ui import shell

# An emoji icon is drawn by the browser itself: a Material icon (":material/…:") is fetched from a
# font CDN on every rerun, a request to another host that a clinical network may block or log.
st.set_page_config(page_title="bsab-explorer", page_icon="🧬", layout="wide")
page = shell.navigation()
shell.draw_sidebar(page)
shell.run(page)
