"""bsab-explorer: page config, the shared cohort filter and the navigation — nothing else."""

import streamlit as st

from bsab_explorer.ui import shell

st.set_page_config(page_title="bsab-explorer", page_icon=":material/biotech:", layout="wide")
page = shell.navigation()
shell.draw_sidebar(page)
shell.run(page)
