"""What pages and the server's own routes share: cookie names, addresses under the base URL, and
whether those routes are there at all.

They are there when the app runs as ``s2i_ui/server.py`` (make run, make run-lan, AI Workbench).
Under Streamlit's AppTest, or a bare ``streamlit run Home.py``, there is no HTTP route to set a
cookie: teacher mode then lasts as long as the browser session, and everything else works alike.
"""

from __future__ import annotations

from streamlit import config

TEACHER_COOKIE = "s2i_teacher"  # a teacher session (HttpOnly, SameSite=Strict), set by the server
BROWSER_COOKIE = "s2i_browser"  # a random name for this browser: wrong passcodes count per browser
CLASS_COOKIE = "s2i_class"  # a student device's class code
_mounted: dict[str, bool] = {}  # "routes": this process serves s2i_ui/auth_routes.py


def url_path(path: str) -> str:
    """``path`` ("/s2i/session") under the base URL the app is served at (AI Workbench's prefix)."""
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{path}" if base else path


def cookie_path() -> str:
    return url_path("/")


def mark_mounted() -> None:
    _mounted["routes"] = True


def routes_mounted() -> bool:
    return "routes" in _mounted
