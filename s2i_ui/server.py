"""The web server: Streamlit's app (Home.py and its pages) plus the routes our modules add.

``streamlit run s2i_ui/server.py`` (make run, make run-lan, AI Workbench) finds ``app`` below and
serves it with uvicorn. A module that needs plain HTTP beside the pages (a cookie only the server
may set, files served by range) contributes its routes and middleware to the lists here; route
paths start with the configured ``server.baseUrlPath`` (see ``url_path``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts only this file's folder on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit import config  # noqa: E402

from s2i_ui import auth_routes, live_routes, media_routes  # noqa: E402


def url_path(path: str) -> str:
    """``path`` ("/s2i/unlock") under the base URL the app is served at (AI Workbench's prefix)."""
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{path}" if base else path


ROUTES: list = [  # Starlette routes, each module's list added here
    *media_routes.routes(url_path),  # a story's pictures and narration, by link
    *auth_routes.routes(url_path),  # the teacher cookie, class links (set by the server only)
    *live_routes.live_routes(url_path),  # Tell it live: the microphone's socket, the projector
]
MIDDLEWARE: list = [*auth_routes.MIDDLEWARE]  # Starlette middleware, outermost first

app = st.App(
    ROOT / "Home.py",
    routes=ROUTES,
    middleware=MIDDLEWARE,
    lifespan=auth_routes.check_sign_in_setup,  # a sign-in set-up that cannot work, said at start
)
