"""Streamlit-side helpers: cached engine objects, teacher gating, shared widgets, the replay view.

The pages import these; ``s2i_core`` never imports Streamlit.
"""
