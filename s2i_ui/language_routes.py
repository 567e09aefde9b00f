"""``GET <base>/s2i/language?code=es``: the browser keeps the language chosen in the sidebar.

The page cannot set a cookie itself; after a choice it asks this route (s2i_ui.i18n), whose
answer carries ``s2i_lang`` for 400 days, so the next visit, in any tab, opens in that language.
A request another site started is ignored, like the other routes (s2i_ui.auth_routes).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from s2i_core.i18n import PSEUDO, normalise

from . import web
from .i18n import LANG_COOKIE

KEEP_DAYS = 400  # the longest browsers keep a cookie


async def remember_language(request: Request) -> Response:
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    code = normalise(request.query_params.get("code", ""))
    elsewhere = request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")
    if code and code != PSEUDO and not elsewhere:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=KEEP_DAYS * 86400,
            path=web.cookie_path(),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def routes(url_path: Callable[[str], str]) -> list[Route]:
    return [Route(url_path("/s2i/language"), remember_language, methods=["GET"])]
