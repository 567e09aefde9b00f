"""The app's web server: Streamlit and the routes of our own, as one ASGI app.

    streamlit run s2i_ui/server.py      (from the repository root: `make run` does this)

Streamlit finds ``app`` here and serves Home.py, the entry point of every page, with the routes
the modules below contribute (s2i_ui/routing.py says how) in front of its own. A module that adds
routes or middleware adds its list here.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `streamlit run` puts this file's folder on the import path; the app imports from the root
# (s2i_ui.…, s2i_core.…), and our module names (exports, scenes, …) must not shadow others.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "s2i_ui"]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit import config  # noqa: E402

from s2i_ui import auth_routes, routing  # noqa: E402

app = st.App(
    str(ROOT / "Home.py"),
    routes=routing.mount(config.get_option("server.baseUrlPath"), auth_routes.ROUTES),
    middleware=[*auth_routes.MIDDLEWARE],
    lifespan=auth_routes.check_sign_in_setup,
)
