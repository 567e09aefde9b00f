"""A class opening the same story: pictures and narration come by link from our own route.

The route (s2i_ui/media_routes.py) runs here in a real uvicorn server on 127.0.0.1, as
s2i_ui/server.py mounts it; the story page is driven through AppTest with the route mounted and
without it (a bare ``streamlit run Home.py``).
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import anyio
import numpy as np
import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from streamlit.testing.v1 import AppTest

from s2i_core import media_links
from s2i_core.audio import wav_bytes
from s2i_core.replay import story_replay_html
from s2i_core.replay_media import REPLAY_SIDE, replay_copy
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import FrameDraft, Library
from s2i_ui import media_routes
from tests.postgres import free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ["The fox found a red balloon.", "The balloon flew over the river."]


def picture(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def textured(side: int) -> bytes:
    """A PNG with detail, which weighs what a drawn picture weighs (a flat one weighs nothing)."""
    grain = np.random.default_rng(7).integers(0, 256, (side // 16, side // 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grain).resize((side, side), Image.Resampling.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


def tone(seconds: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return wav_bytes((0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32))


@pytest.fixture
def library(tmp_path, monkeypatch) -> Iterator[Library]:
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_LLM", "off")
    with Library(Settings.load()) as library:
        yield library


@pytest.fixture
def story(library: Library):
    """Two drawn frames (a 1024 px square and a 4:3 picture) and a WAV narration."""
    made = library.create_story("The fox", language="en", duration=6.0, narration=tone(6.0),
                                narration_ext="wav")  # fmt: skip
    drafts = [FrameDraft(i, 3.0 * i, 3.0 * i + 3, s, s, s) for i, s in enumerate(SENTENCES)]
    first, second = library.set_frames(made.id, drafts)
    library.save_frame_result(first.id, "done", image=textured(1024))
    library.save_frame_result(second.id, "done", image=picture((640, 480), (40, 60, 200)))
    return library.get_story(made.id)


@pytest.fixture
def unmounted(monkeypatch):
    """Each test mounts the route afresh, and no other test sees it mounted."""
    monkeypatch.setattr(media_routes, "_mounted", {})


def under(base: str):
    """s2i_ui.server.url_path for an app served at ``base``."""
    return lambda path: f"/{base.strip('/')}{path}" if base.strip("/") else path


@contextmanager
def serving(base_url_path: str) -> Iterator[str]:
    """The routes as s2i_ui/server.py mounts them, on a real server; yields its address."""
    port = free_port()
    app = Starlette(routes=media_routes.routes(under(base_url_path)))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "the server stopped while starting"
        return server.started

    wait_for(started, "the media server to start", timeout=60, every=0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def get(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """Status, headers (any case) and body of a GET."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- links -------------------------------------------------------------------------------------
def test_a_link_opens_its_own_file_and_nothing_else(library, story):
    rel = story.narration_path
    link = media_links.link(library.data_dir, rel)
    assert link is not None and link.story_id == story.id and rel.endswith(link.name)
    found = media_links.resolve(library.data_dir, link.story_id, link.token, link.name)
    assert found == library.path(rel)

    other = library.create_story("Another", narration=tone(1.0), narration_ext="wav")
    flipped = ("B" if link.token[0] == "A" else "A") + link.token[1:]
    refused = [
        (link.story_id, flipped, link.name),  # altered
        (other.id, link.token, link.name),  # the same file name in another story
        (link.story_id, link.token, story.frames[0].image_path.rsplit("/", 1)[1]),
        (link.story_id, link.token, "../../s2i.db"),
        (link.story_id, link.token, media_links.SECRET_FILE),
        (link.story_id, "A" * 22, link.name),  # guessed
    ]
    for story_id, token, name in refused:
        assert media_links.resolve(library.data_dir, story_id, token, name) is None, name


def test_a_file_written_anew_gets_a_new_link_and_the_old_one_stops(library, story):
    rel = story.frames[0].image_path
    before = media_links.link(library.data_dir, rel)
    path = library.path(rel)
    path.write_bytes(picture((1024, 1024), (0, 0, 0)))
    after = media_links.link(library.data_dir, rel)
    assert after.token != before.token
    assert media_links.resolve(library.data_dir, story.id, before.token, before.name) is None
    library.delete_story(story.id)
    assert media_links.resolve(library.data_dir, story.id, after.token, after.name) is None


def test_links_survive_a_restart_and_hold_in_every_process(library, story):
    """The secret lives in the data folder: another process (a replica) makes the same link."""
    rel = story.narration_path
    link = media_links.link(library.data_dir, rel)
    media_links._secret.cache_clear()  # as a new process would start
    assert media_links.link(library.data_dir, rel) == link
    secret = library.data_dir / media_links.SECRET_FILE
    assert secret.stat().st_mode & 0o077 == 0  # readable by the app's user only


# --- the route ---------------------------------------------------------------------------------
def test_a_picture_is_served_for_good_and_its_etag_is_answered(library, story, unmounted):
    with serving("") as server:
        url = media_routes.media_url(library.data_dir, story.frames[0].image_path)
        status, headers, body = get(server + url)
        assert status == 200 and body == library.path(story.frames[0].image_path).read_bytes()
        assert headers["Content-Type"] == "image/png"
        assert (
            "immutable" in headers["Cache-Control"]
            and "max-age=31536000" in headers["Cache-Control"]
        )
        size = len(body)
        status, again, body = get(server + url, **{"If-None-Match": headers["ETag"]})
        assert status == 304 and body == b"" and again["ETag"] == headers["ETag"]
        request = urllib.request.Request(server + url, method="HEAD")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.read() == b"" and int(answer.headers["Content-Length"]) == size


def test_the_narration_answers_range_requests_as_safari_asks(library, story, unmounted):
    narration = library.path(story.narration_path).read_bytes()
    with serving("") as server:
        url = server + media_routes.media_url(library.data_dir, story.narration_path)
        status, headers, body = get(url, Range="bytes=0-1")  # Safari's first question
        assert (status, body) == (206, narration[:2])
        assert headers["Content-Range"] == f"bytes 0-1/{len(narration)}"
        assert headers["Content-Type"] == "audio/wav" and headers["Accept-Ranges"] == "bytes"
        status, _, body = get(url, Range="bytes=1000-")
        assert (status, body) == (206, narration[1000:])
        status, _, _ = get(url, Range=f"bytes={len(narration) + 10}-")
        assert status == 416


def test_guessed_tampered_or_outdated_links_are_not_found(library, story, unmounted):
    with serving("") as server:
        url = media_routes.media_url(library.data_dir, story.narration_path)
        prefix, story_id, token, name = url.rsplit("/", 3)
        wrong = [
            f"{prefix}/{story_id}/{'A' * 22}/{name}",
            f"{prefix}/{int(story_id) + 1}/{token}/{name}",
            f"{prefix}/{story_id}/{token}/%2e%2e%2f%2e%2e%2fs2i.db",
            f"{prefix}/{story_id}/{token}/{media_links.SECRET_FILE}",
        ]
        for path in wrong:
            status, _, body = get(server + path)
            assert status in (400, 404) and b"RIFF" not in body, path
        library.delete_story(story.id)
        assert get(server + url)[0] == 404


def test_the_route_lives_under_the_base_url_path(library, story, unmounted):
    with serving("/school/") as server:
        url = media_routes.media_url(library.data_dir, story.narration_path)
        assert url.startswith("/school/app/static/")
        assert get(server + url)[0] == 200
        assert get(server + url.removeprefix("/school"))[0] == 404
        # st.image puts the base URL path before "/app/static/..." itself
        plain = media_routes.media_url(library.data_dir, story.narration_path, for_streamlit=True)
        assert plain == url.removeprefix("/school")


def test_no_links_where_the_route_is_not_served(library, story, unmounted):
    assert media_routes.media_url(library.data_dir, story.narration_path) is None
    rel = story.frames[0].image_path
    assert media_routes.picture_source(library, rel) == str(library.path(rel))


# --- replay-size copies and the replay page ----------------------------------------------------
def test_a_replay_copy_is_made_once_small_and_goes_with_the_story(library, story):
    original = library.path(story.frames[0].image_path)
    rel = replay_copy(original, library)
    copy = library.path(rel)
    with Image.open(copy) as image:
        assert image.format == "JPEG" and max(image.size) == REPLAY_SIDE
    assert copy.stat().st_size < original.stat().st_size
    made = copy.stat().st_mtime_ns
    assert replay_copy(original, library) == rel and copy.stat().st_mtime_ns == made
    library.delete_story(story.id)
    assert not copy.exists()


def test_the_replay_links_its_pictures_and_narration_when_it_can(library, story):
    def link(rel: str) -> str:
        return f"/files/{rel}"

    linked = payload(story_replay_html(story, library, link))
    assert linked["audio"] == f"/files/{story.narration_path}"
    assert [f["image"] for f in linked["frames"]] == [
        f"/files/{replay_copy(library.path(f.image_path), library)}" for f in story.frames
    ]
    assert [f["aspect"] for f in linked["frames"]] == [1.0, pytest.approx(4 / 3, rel=1e-3)]

    inlined = payload(story_replay_html(story, library))
    assert inlined["audio"].startswith("data:audio/wav;base64,")
    assert all(f["image"].startswith("data:image/jpeg;base64,") for f in inlined["frames"])
    assert [f["aspect"] for f in inlined["frames"]] == [f["aspect"] for f in linked["frames"]]


def payload(html: str) -> dict:
    data = re.search(r'<script id="story-data"[^>]*>(.*?)</script>', html, re.S)
    return json.loads(data.group(1))


def story_page(story_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.switch_page("app_pages/story.py")
    at.query_params["story"] = str(story_id)
    return at.run()


def picture_urls(at: AppTest) -> list[str]:
    """The storyboard's pictures, as the browser is told to fetch them."""
    return [image.url for element in at.get("image") for image in element.proto.imgs]


def test_the_story_page_sends_links_not_bytes_when_the_route_is_served(library, story, unmounted):
    media_routes.routes(under(""))
    at = story_page(story.id)
    [iframe] = at.get("iframe")
    page = iframe.proto.srcdoc
    assert "data:" not in page and len(page) < 50_000  # a page of text, whatever the pictures
    grid = picture_urls(at)
    assert len(grid) == 2 and all(url.startswith(media_routes.PREFIX + "/") for url in grid)
    assert payload(page)["audio"].startswith(media_routes.PREFIX + "/")


def test_the_story_page_inlines_its_media_without_the_route(library, story, unmounted):
    at = story_page(story.id)
    [iframe] = at.get("iframe")
    assert payload(iframe.proto.srcdoc)["audio"].startswith("data:audio/wav;base64,")
    grid = picture_urls(at)
    assert len(grid) == 2 and not any(media_routes.PREFIX in url for url in grid)  # Streamlit's


def test_a_class_shares_one_copy_of_each_file_and_old_ones_make_room(tmp_path):
    kept = media_routes._Kept(limit=250_000, largest=200_000)
    for name, size in (("a", 100_000), ("b", 100_000), ("c", 100_000), ("big", 300_000)):
        (tmp_path / name).write_bytes(bytes(size))

    async def visits() -> list:
        first = await kept.read("token-a", tmp_path / "a")
        again = await kept.read("token-a", tmp_path / "a")
        await kept.read("token-b", tmp_path / "b")
        await kept.read("token-c", tmp_path / "c")  # over the limit: "a" was used least lately
        return [first, again, await kept.read("token-big", tmp_path / "big")]

    first, again, big = anyio.run(visits)
    assert again is first  # thirty requests, one copy
    assert list(kept.files) == ["token-b", "token-c"] and kept.size == 200_000
    assert big is None  # too large to keep: served from disk
