"""Statistics and summaries on Polars frames: no streamlit, no charts."""
