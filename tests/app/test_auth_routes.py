"""The server's session routes over real HTTP (Starlette's test client): the ticket becomes an
HttpOnly, SameSite=Strict cookie once, for its own browser; nothing is done for another site's
request; ``next`` never leads off the app; every browser gets a name with its first page."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import Library, SessionBook
from s2i_ui import auth_routes, web


def page(_request):
    return HTMLResponse("<html>the app</html>")


def callback_without_user(_request):
    return RedirectResponse("/", status_code=302)


@pytest.fixture
def server(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    auth_routes._book_for.cache_clear()
    routes = [
        *auth_routes.routes(lambda path: path),  # at the root, as without a base URL path
        Route("/", page),
        Route("/oauth2callback", callback_without_user),
    ]
    app = Starlette(routes=routes, middleware=auth_routes.MIDDLEWARE)
    with Library(Settings.load()) as library, TestClient(app, follow_redirects=False) as client:
        yield client, SessionBook(library.engine)
    web._mounted.clear()  # this test process serves no routes to the AppTest pages


def test_every_browser_gets_a_name_with_its_first_page_and_keeps_it(server):
    client, _ = server
    first = client.get("/")
    [cookie] = [c for c in first.headers.get_list("set-cookie") if c.startswith("s2i_browser=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert not [c for c in client.get("/").headers.get_list("set-cookie")]  # named already


def test_a_ticket_becomes_the_teacher_cookie_once_for_its_own_browser(server):
    client, book = server
    client.get("/")  # the browser is named
    browser = client.cookies["s2i_browser"]
    session = book.open("passcode:x", hours=8, browser=browser)
    ticket = book.ticket(session.id, browser)

    answer = client.get(f"/s2i/session?ticket={ticket}&next=/library%3Fclass%3DAB")
    assert answer.status_code == 303 and answer.headers["location"] == "/library?class=AB"
    [cookie] = answer.headers.get_list("set-cookie")
    assert cookie.startswith("s2i_teacher=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/" in cookie and "Max-Age=28" in cookie
    assert book.by_token(client.cookies["s2i_teacher"]).id == session.id

    again = client.get(f"/s2i/session?ticket={ticket}&next=/")  # used up
    assert not again.headers.get_list("set-cookie")


def test_another_browser_or_another_site_gets_nothing_from_a_ticket(server):
    client, book = server
    session = book.open("passcode:x", hours=8, browser="the-teachers-browser")
    ticket = book.ticket(session.id, "the-teachers-browser")
    client.cookies.set("s2i_browser", "a-students-browser")
    elsewhere = client.get(
        f"/s2i/session?ticket={ticket}", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert not elsewhere.headers.get_list("set-cookie")
    stolen = client.get(f"/s2i/session?ticket={ticket}")
    assert not stolen.headers.get_list("set-cookie")


@pytest.mark.parametrize("away", ["https://evil.example/", "//evil.example/", "/\\evil", "x"])
def test_next_never_leads_off_the_app(server, away):
    client, _ = server
    assert client.get("/s2i/session", params={"next": away}).headers["location"] == "/"


def test_lock_clears_the_cookie_and_ends_its_session_but_not_for_another_site(server):
    client, book = server
    session = book.open("passcode:x", hours=8, browser="b")
    client.cookies.set("s2i_browser", "b")
    token, _ = book.redeem(book.ticket(session.id, "b"), "b")
    client.cookies.set("s2i_teacher", token)
    client.get("/s2i/lock?next=/", headers={"Sec-Fetch-Site": "cross-site"})
    assert book.live(session.id)  # a link on another page locks nobody out
    answer = client.get("/s2i/lock?next=/")
    assert book.live(session.id) is None
    assert any(c.startswith('s2i_teacher=""') for c in answer.headers.get_list("set-cookie"))


def test_a_class_link_keeps_the_code_and_opens_the_library(server):
    client, _ = server
    answer = client.get("/s2i/join?code=k7q-3ab")
    assert answer.headers["location"] == "/library?class=K7Q3AB"
    assert any(c.startswith("s2i_class=K7Q3AB") for c in answer.headers.get_list("set-cookie"))


def test_a_sign_in_that_came_back_without_a_user_is_said(server):
    client, _ = server
    refused = client.get("/oauth2callback?error=access_denied&state=x")
    assert refused.headers["location"] == "/?signin=failed"
    after_sign_out = client.get("/oauth2callback")  # the provider's way back from signing out
    assert after_sign_out.headers["location"] == "/"
