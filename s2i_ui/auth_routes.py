"""The server's own HTTP routes for sessions: the cookies that page script must never set.

- ``GET <base>/s2i/session?ticket=…&next=…`` swaps a page's one-time ticket (s2i_core.storage.
  sessions) for the teacher cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, for as long as
  the lesson; then back to ``next``. The ticket works once, within a minute, and only for the
  browser that asked for it, so a ticket seen over a shoulder or in a log is worth nothing.
- ``GET <base>/s2i/lock?next=…`` clears that cookie (its session is already ended by the page).
- ``GET <base>/s2i/join?code=…`` keeps a student device's class code (see s2i_ui.roles).
- A middleware gives every browser a random name (``s2i_browser``) on its first page, so wrong
  passcodes slow down the browser that typed them and no other.
- Another one watches Streamlit's sign-in callback (``/oauth2callback``): when the provider
  refused or the sign-in expired, Streamlit goes back to the app without a word; the page is
  then told (``?signin=failed``) so it can say so.
- ``check_sign_in_setup``: at start, a sign-in set-up that cannot work ([auth] without
  cookie_secret, a provider whose address does not answer) is said in one line on the console.

None of them does anything for a request another site started (``Sec-Fetch-Site``): a link on
another page cannot lock a teacher out, or sign a browser into someone else's session.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from s2i_core.settings import Settings
from s2i_core.storage import SessionBook
from s2i_core.storage.database import open_engine, upgrade_schema, writer_of

from . import web

BROWSER_COOKIE_DAYS = 400  # the longest browsers keep a cookie
SIGNED_IN_COOKIE = "_streamlit_user"  # Streamlit's own, set by its sign-in callback


async def take_ticket(request: Request) -> RedirectResponse:
    response = _back(request)
    ticket = request.query_params.get("ticket", "")
    if _from_elsewhere(request) or not ticket:
        return response
    browser = request.cookies.get(web.BROWSER_COOKIE, "")
    redeemed = await run_in_threadpool(_book().redeem, ticket, browser)
    if redeemed is not None:
        token, session = redeemed
        _set_cookie(request, response, web.TEACHER_COOKIE, token, session.expires_at - time.time())
    return response


async def lock(request: Request) -> RedirectResponse:
    response = _back(request)
    token = request.cookies.get(web.TEACHER_COOKIE)
    if token and not _from_elsewhere(request):
        await run_in_threadpool(_book().revoke, None, token)
        response.delete_cookie(web.TEACHER_COOKIE, path=web.cookie_path())
    return response


async def join_class(request: Request) -> RedirectResponse:
    """A class link: the device keeps the class code and opens that class's library."""
    code = "".join(ch for ch in request.query_params.get("code", "") if ch.isalnum())[:12]
    response = RedirectResponse(web.url_path(f"/library?class={code.upper()}"), status_code=303)
    if code:
        _set_cookie(request, response, web.CLASS_COOKIE, code.upper(), 180 * 86400, "lax")
    return response


class BrowserName:
    """Gives a browser its random name with its first page (an HTML answer to a GET)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or web.BROWSER_COOKIE in HTTPConnection(scope).cookies
        ):
            await self.app(scope, receive, send)
            return
        name = secrets.token_urlsafe(24)
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = (
            f"{web.BROWSER_COOKIE}={name}; Path={web.cookie_path()}; "
            f"Max-Age={BROWSER_COOKIE_DAYS * 86400}; HttpOnly; SameSite=Lax{secure}"
        )

        async def send_named(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_named)


class SignInOutcome:
    """Tells the page when Streamlit's sign-in callback came back without a signed-in user."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        query = HTTPConnection(scope).query_params if scope["type"] == "http" else {}
        sign_in = "code" in query or "error" in query  # not the way back from a sign-out
        if not sign_in or scope.get("path") != web.url_path("/oauth2callback"):
            await self.app(scope, receive, send)
            return

        async def send_outcome(message):
            if message["type"] == "http.response.start" and message["status"] in (302, 303, 307):
                headers = MutableHeaders(scope=message)
                signed_in = any(
                    cookie.startswith(f"{SIGNED_IN_COOKIE}=") and "Max-Age=0" not in cookie
                    for cookie in headers.getlist("set-cookie")
                )
                if not signed_in:
                    headers["location"] = web.url_path("/") + "?signin=failed"
            await send(message)

        await self.app(scope, receive, send_outcome)


@asynccontextmanager
async def check_sign_in_setup(_app):
    """At start: one clear line when the sign-in set-up cannot work (pages say it too)."""
    from . import signin

    trouble = await run_in_threadpool(signin.problem, signin.auth_section())
    if trouble:
        print(f"error: {trouble}", file=sys.stderr, flush=True)
    yield None


def _set_cookie(
    request: Request,
    response: RedirectResponse,
    name: str,
    value: str,
    max_age: float,
    same_site: str = "strict",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max(int(max_age), 0),
        path=web.cookie_path(),
        httponly=True,
        samesite=same_site,
        secure=request.url.scheme == "https",
    )


def _back(request: Request) -> RedirectResponse:
    """A redirect to ``next`` if it is a path on this app, else to the app's Home."""
    wanted = request.query_params.get("next", "")
    parts = urlsplit(wanted)
    home = web.url_path("/")
    local = (
        wanted.startswith(home)
        and not wanted.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
    )
    response = RedirectResponse(wanted if local else home, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _from_elsewhere(request: Request) -> bool:
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


def _book() -> SessionBook:
    settings = Settings.load(secrets=_secrets())
    return _book_for(settings.db_url, str(settings.data_dir.resolve()))


@lru_cache(maxsize=4)
def _book_for(db_url: str, data_dir: str) -> SessionBook:
    from pathlib import Path

    engine = open_engine(db_url)
    upgrade_schema(writer_of(engine), Path(data_dir))
    return SessionBook(engine)


def _secrets():
    import streamlit as st

    return st.secrets


def routes(url_path: Callable[[str], str]) -> list[Route]:
    """The routes, under the app's base URL path (s2i_ui.server mounts them); from then on pages
    hand the browser to them."""
    web.mark_mounted()
    return [
        Route(url_path("/s2i/session"), take_ticket, methods=["GET"]),
        Route(url_path("/s2i/lock"), lock, methods=["GET"]),
        Route(url_path("/s2i/join"), join_class, methods=["GET"]),
    ]


MIDDLEWARE = [Middleware(BrowserName), Middleware(SignInOutcome)]
