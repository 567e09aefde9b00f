"""The exported MP4 in Chromium: it loads, has the narration's length, plays, and shows the
pictures where the sentences say (decoded by the browser itself, read back through a canvas)."""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest

from s2i_core.exports import export_video
from s2i_core.settings import Settings
from s2i_core.storage import Library
from tests.exports.test_video import NARRATION, make_story

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><meta charset="utf-8">
<video id="video" src="story.mp4" preload="auto" playsinline></video>
<canvas id="canvas" width="1280" height="720"></canvas>
<script>
  window.pixel = (x, y) => {
    const video = document.getElementById("video");
    const context = document.getElementById("canvas").getContext("2d");
    context.drawImage(video, 0, 0, 1280, 720);
    return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
  };
  window.seek = (t) => new Promise((done) => {
    const video = document.getElementById("video");
    video.addEventListener("seeked", () => done(video.currentTime), { once: true });
    video.currentTime = t;
  });
</script>"""


class RangeHandler(SimpleHTTPRequestHandler):
    """Files with byte ranges, as any web server serves video (a browser seeks with them)."""

    def send_head(self):
        asked = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not asked or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start = int(asked[1])
        end = min(int(asked[2] or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data[start : end + 1])

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The folder over HTTP on a free port, as a web server would hand out the download."""
    handler = functools.partial(RangeHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_video_plays_in_chromium_for_the_narrations_length(browser, tmp_path: Path):
    with Library(Settings(data_dir=tmp_path / "data")) as library:
        export_video(make_story(library), library, tmp_path / "story.mp4")
    (tmp_path / "index.html").write_text(PAGE)
    with av.open(str(NARRATION)) as narration:
        expected = narration.duration / 1e6

    page = browser.new_page()
    with serve(tmp_path) as site:
        page.goto(f"{site}/index.html")
        _check_playback(page, expected)
    page.close()


def _check_playback(page, expected: float) -> None:
    page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=20_000)
    facts = page.evaluate(
        "() => { const v = document.getElementById('video');"
        " return [v.duration, v.videoWidth, v.videoHeight, v.error && v.error.message]; }"
    )
    assert abs(facts[0] - expected) <= 0.1
    assert facts[1:] == [1280, 720, None]

    page.evaluate("document.getElementById('video').play()")
    page.wait_for_function("document.getElementById('video').currentTime > 1.5", timeout=20_000)
    assert page.evaluate("document.getElementById('video').error") is None

    page.evaluate("document.getElementById('video').pause()")
    assert page.evaluate("seek(2.5)") == pytest.approx(2.5, abs=0.05)  # the red picture
    red = page.evaluate("pixel(360, 360)")  # RED, or half of it on a stripe
    page.evaluate("seek(0.5)")  # before the first sentence: the title card
    title = page.evaluate("pixel(360, 360)")
    assert red[0] > 80 and red[1] < 60 and red[2] < 60, red
    assert min(title) > 200, title  # paper, not picture
