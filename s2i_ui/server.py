"""The web server: Streamlit's app (Home.py and its pages) plus the routes our modules add.

``streamlit run s2i_ui/server.py`` (make run, make run-lan, AI Workbench) finds ``app`` below and
serves it with uvicorn. A module that needs plain HTTP beside the pages (a cookie only the server
may set, files served by range) contributes its routes and middleware to the lists here; route
paths start with the configured ``server.baseUrlPath`` (see ``s2i_ui.web.url_path``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts only this file's folder on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from s2i_ui import auth_routes  # noqa: E402
from s2i_ui.web import url_path  # noqa: E402, F401 (modules build their paths with it)

ROUTES: list = [*auth_routes.routes()]  # Starlette routes, each module's list added here
MIDDLEWARE: list = [*auth_routes.middleware()]  # Starlette middleware, outermost first

app = st.App(ROOT / "Home.py", routes=ROUTES, middleware=MIDDLEWARE)
