"""Routes of our own beside Streamlit's, mounted by the app's server entry (s2i_ui/server.py).

Each module that serves something declares ``ROUTES`` at paths from the site's root; ``mount``
puts them under the app's base URL path (``server.baseUrlPath``, as Streamlit's own routes are)
and remembers that they are served, so pages link to them only when they are: a bare
``streamlit run Home.py`` (and AppTest) has none, and pages then do without.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Route, WebSocketRoute

_mounted: dict[str, str] = {}


def mount(base_url_path: str, *route_lists: Iterable[BaseRoute]) -> list[BaseRoute]:
    base = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    _mounted["base"] = base
    return [_under(base, route) for routes in route_lists for route in routes]


def base_path() -> str | None:
    """The URL path our routes are under ("" at the root), or None when they are not served."""
    return _mounted.get("base")


def _under(base: str, route: BaseRoute) -> BaseRoute:
    if not base:
        return route
    if isinstance(route, Route):
        return Route(base + route.path, route.endpoint, methods=route.methods, name=route.name)
    if isinstance(route, WebSocketRoute):
        return WebSocketRoute(base + route.path, route.endpoint, name=route.name)
    raise TypeError(f"cannot put {route!r} under {base}: declare a Route or a WebSocketRoute")
