"""The only streamlit-aware part of the package: state, sidebar, cache, downloads."""
