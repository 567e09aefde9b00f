"""The read-along replay: narration audio, the current sentence's picture shown large, and the
sentence highlighted (word by word where word times exist), as one HTML page: self-contained (the
pictures and narration inlined), or with links the browser fetches them by (``story_replay_html``
with ``link``: a class opening the story then loads each file from a cache instead of receiving
it inside every student's page).

Everything a teacher typed (titles, sentences) reaches the page only as JSON inside a
``<script type="application/json">`` block, with ``<``, ``>`` and ``&`` escaped, and the script
puts it on screen with ``textContent`` and ``alt``, never as HTML.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from s2i_core.errors import StorageError
from s2i_core.exports.timeline import shown_picture
from s2i_core.replay_media import aspect_of, replay_copy, scaled_jpeg
from s2i_core.storage import Library, StoryRecord, narration_readable, picture_readable


@dataclass(frozen=True)
class ReplayWord:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class ReplayFrame:
    start: float
    end: float
    text: str
    image: bytes | str | None = None  # bytes, or a URL; None: the sentence is shown on a card
    image_mime: str = "image/jpeg"
    words: tuple[ReplayWord, ...] = field(default_factory=tuple)
    aspect: float | None = None  # width / height; read from the bytes when not given
    alt: str = ""  # what the picture shows (its scene), for screen readers; "" -> the sentence


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def words_fit(text: str, words: Sequence[ReplayWord]) -> bool:
    """Word timings are only usable while the sentence still reads as they were heard."""
    return bool(words) and _letters(" ".join(w.text for w in words)) == _letters(text)


def safe_json(value: object) -> str:
    """JSON that cannot end the surrounding <script> block or open a comment or CDATA."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def replay_html(
    frames: Sequence[ReplayFrame], audio: bytes | str | None, audio_mime: str, title: str
) -> str:
    """The page; ``audio`` is the narration's bytes or its URL (None: no narration)."""
    payload = {
        "title": title,
        "audio": _source(audio, audio_mime),
        "frames": [
            {
                "start": f.start,
                "end": f.end,
                "text": f.text,
                "image": _source(f.image, f.image_mime),
                "alt": f.alt or f.text,
                "aspect": f.aspect or _aspect(f.image),
                "words": [asdict(w) for w in f.words] if words_fit(f.text, f.words) else [],
            }
            for f in frames
        ],
    }
    return _PAGE.replace("__DATA__", safe_json(payload))


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _source(media: bytes | str | None, mime: str) -> str:
    if isinstance(media, str):
        return media
    return data_uri(media, mime) if media else ""


def _aspect(image: bytes | str | None) -> float | None:
    """Width over height, so the stage takes the picture's shape and shows it without bars."""
    if not image or isinstance(image, str):
        return None
    with Image.open(io.BytesIO(image)) as picture:
        return round(picture.width / picture.height, 4)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Read-along replay</title>
<style>
  :root { --ink: #2b2f36; --accent: #c2410c; --soft: #f4efe6; --line: #e4dccd; --gap: 14px; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  html, body { margin: 0; background: transparent; }
  body { font-family: "Source Sans Pro", "Noto Sans", sans-serif; color: var(--ink);
         overflow: hidden; }
  #replay { outline: none; display: flex; flex-direction: column; align-items: center;
            gap: var(--gap); }
  #replay.side { flex-direction: row; align-items: center; justify-content: center; }
  #replay:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  #replay:fullscreen { background: #fffdf8; padding: var(--pad, 24px); justify-content: center; }
  .stage { margin: 0; flex: none; background: var(--soft); border: 1px solid var(--line);
           border-radius: 12px; overflow: hidden; position: relative;
           display: flex; align-items: center; justify-content: center; }
  .stage img { display: block; width: 100%; height: 100%; object-fit: cover; }
  .card { padding: 8%; font-size: clamp(18px, 3vw, 34px); line-height: 1.4; text-align: center;
          overflow-wrap: anywhere; }
  .card small { display: block; color: var(--accent); font-size: 0.6em; margin-bottom: 0.6em; }
  .words { flex: 1 1 auto; min-width: 0; width: 100%; display: flex; flex-direction: column;
           gap: 10px; }
  #replay.side .words { flex: 0 1 auto; }
  #sentence { font-size: var(--caption, 26px); line-height: 1.4; margin: 0 4px;
              min-height: 2.8em; overflow-wrap: anywhere; }
  .word { padding: 1px 2px; border-radius: 4px; transition: background 0.1s;
          -webkit-box-decoration-break: clone; box-decoration-break: clone; }
  .word.now { background: #fde68a; }
  .word.spoken { color: #7c5a2a; }
  .bar { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
  .bar button { display: inline-flex; align-items: center; gap: 6px; font: inherit;
                font-size: 17px; padding: 8px 14px; border-radius: 8px;
                border: 1px solid var(--line); background: white; color: var(--ink);
                cursor: pointer; min-height: 44px; }
  .bar button.primary { background: var(--accent); border-color: var(--accent); color: white;
                        min-width: 6.5em; }
  .bar button:disabled { opacity: 0.45; cursor: default; }
  .bar button:focus-visible { outline: 3px solid var(--ink); outline-offset: 2px; }
  #counter { font-size: 17px; min-width: 3.5em; text-align: center; }
  #full { margin-left: auto; }
  audio { width: 100%; height: 40px; }
  #replay:fullscreen audio { display: none; }
</style>
</head>
<body>
<main id="replay" tabindex="-1" aria-label="Read-along replay" data-index="-1"
      aria-keyshortcuts="ArrowLeft ArrowRight Space F">
  <figure class="stage" id="stage">
    <img id="picture" alt="" hidden>
    <div class="card" id="card" aria-hidden="true" hidden>
      <small>Imagine this picture!</small><span id="card-text"></span>
    </div>
  </figure>
  <section class="words" id="words">
    <p id="sentence" aria-live="polite" aria-atomic="true"></p>
    <div class="bar">
      <button type="button" id="prev" title="Previous picture (left arrow)">
        &#9664; Previous</button>
      <button type="button" id="play" class="primary" title="Play or pause (space)">
        &#9654; Play</button>
      <button type="button" id="next" title="Next picture (right arrow)">Next &#9654;</button>
      <span id="counter"></span>
      <button type="button" id="full" title="Full screen (F)"></button>
    </div>
    <audio id="audio" controls preload="auto"></audio>
  </section>
</main>
<script id="story-data" type="application/json">__DATA__</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById("story-data").textContent);
  const frames = data.frames;
  const $ = (id) => document.getElementById(id);
  const root = $("replay"), audio = $("audio"), picture = $("picture"), card = $("card");
  const stage = $("stage"), words = $("words"), sentence = $("sentence");
  const counter = $("counter"), prev = $("prev"), next = $("next"), play = $("play");
  const full = $("full");
  let current = -1, spans = [];

  if (data.title) document.title = "Read-along: " + data.title;
  if (data.audio) { audio.src = data.audio; } else { audio.hidden = true; play.hidden = true; }
  if (!document.fullscreenEnabled) full.hidden = true;
  if (!frames.length) { sentence.textContent = "This story has no sentences yet."; return; }
  const shapes = frames.filter((f) => f.aspect).map((f) => f.aspect);
  const storyAspect = shapes.length ? shapes[0] : 1;

  // The space the replay may use: from where its frame starts to the bottom of the window, so
  // the picture, the sentence and the buttons are all on screen without scrolling.
  function room() {
    const width = document.documentElement.clientWidth;
    if (document.fullscreenElement) {
      const pad = innerWidth < 600 ? 12 : 24;  // a phone keeps its few pixels for the picture
      root.style.setProperty("--pad", pad + "px");
      return { width: innerWidth - 2 * pad, height: innerHeight - 2 * pad };
    }
    let height = innerHeight;
    try {
      const host = window.frameElement;
      if (host) {
        let top = host.getBoundingClientRect().top;
        for (let e = host.parentElement; e; e = e.parentElement) top += e.scrollTop;
        height = parent.innerHeight - top - 16;
      }
    } catch (_) { /* a page that does not let us look: use our own window */ }
    return { width, height: Math.max(height, 300) };
  }

  function fitBox(aspect, width, height) {
    return width / height > aspect
      ? { width: Math.floor(height * aspect), height: Math.floor(height) }
      : { width: Math.floor(width), height: Math.floor(width / aspect) };
  }

  function layout() {
    const space = room();
    const aspect = frames[Math.max(current, 0)].aspect || storyAspect;
    const side = space.width >= 860 && space.width > space.height * 1.35;
    root.classList.toggle("side", side);
    sentence.style.minHeight = "";
    if (document.fullscreenElement && !side) { fillUpright(space, aspect); return; }
    const caption = Math.round(Math.max(18, Math.min(side ? space.height / 14 : space.width / 26,
                                                   document.fullscreenElement ? 56 : 34)));
    root.style.setProperty("--caption", caption + "px");
    let box;
    if (side) {
      const panel = Math.max(320, Math.min(560, space.width * 0.38));
      words.style.width = panel + "px";
      box = fitBox(aspect, space.width - panel - 14, space.height);
    } else {
      words.style.width = "100%";
      box = fitBox(aspect, space.width, Math.max(120, space.height - words.offsetHeight - 14));
    }
    stage.style.width = box.width + "px";
    stage.style.height = box.height + "px";
    if (!document.fullscreenElement) {
      root.style.height = (side ? space.height : box.height + 14 + words.offsetHeight) + "px";
    } else {
      root.style.height = "";
    }
  }

  // Full screen on a phone or an upright tablet: the picture as wide as the screen allows,
  // then the largest caption that fits the height left, so no part of the screen stays empty.
  const GAP = 14, SMALLEST = 22, LARGEST = 72;
  function fillUpright(space, aspect) {
    words.style.width = "100%";
    root.style.height = "";
    const controls = words.querySelector(".bar").offsetHeight + 10;
    const box = fitBox(aspect, space.width, space.height - controls - 3 * 1.4 * SMALLEST - GAP);
    stage.style.width = box.width + "px";
    stage.style.height = box.height + "px";
    const rest = Math.floor(space.height - box.height - GAP - controls);
    sentence.style.minHeight = "0";
    let low = SMALLEST;  // fits (or is the least we show); high: does not fit, or the most
    let high = Math.max(SMALLEST, Math.floor(Math.min(LARGEST, space.width / 7))) + 1;
    while (high - low > 1) {  // the caption's height grows with its size: halve the interval
      const size = Math.floor((low + high) / 2);
      root.style.setProperty("--caption", size + "px");
      if (sentence.scrollHeight <= rest) low = size; else high = size;
    }
    root.style.setProperty("--caption", low + "px");
    sentence.style.minHeight = rest + "px";
  }

  function frameAt(t) {
    let found = 0;
    frames.forEach((f, i) => { if (t + 0.05 >= f.start) found = i; });
    return found;
  }

  function renderSentence(f) {
    sentence.replaceChildren();
    spans = [];
    if (!f.words.length) {  // no word times: the whole sentence is the highlight
      const span = document.createElement("span");
      span.className = "word now";
      span.textContent = f.text;
      sentence.append(span);
      return;
    }
    f.words.forEach((w, i) => {
      const span = document.createElement("span");
      span.className = "word";
      span.textContent = w.text;
      spans.push(span);
      sentence.append(span);
      if (i < f.words.length - 1) sentence.append(" ");
    });
  }

  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    if (i === current) return;
    current = i;
    const f = frames[i];
    if (f.image) {
      picture.src = f.image;
      picture.alt = f.alt || f.text;
      picture.hidden = false;
      card.hidden = true;
    } else {
      $("card-text").textContent = f.text;
      picture.removeAttribute("src");
      picture.alt = "";
      picture.hidden = true;
      card.hidden = false;
    }
    renderSentence(f);
    counter.textContent = (i + 1) + " / " + frames.length;
    root.dataset.index = String(i);
    prev.disabled = i === 0;
    next.disabled = i === frames.length - 1;
    layout();
  }

  function highlightWords(t) {
    const words = frames[current].words;
    spans.forEach((span, i) => {
      span.classList.toggle("spoken", t >= words[i].end);
      span.classList.toggle("now", t >= words[i].start && t < words[i].end);
    });
  }

  function sync() {
    const t = audio.currentTime || 0;
    show(frameAt(t));
    highlightWords(t);
  }

  function go(i) {
    show(i);
    if (data.audio) audio.currentTime = frames[current].start + 0.01;
    highlightWords(frames[current].start + 0.01);
  }

  const FULL_ICON = '<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">'
    + '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" fill="none" stroke="currentColor" '
    + 'stroke-width="2"/></svg> ';
  function updateFull() {
    full.innerHTML = document.fullscreenElement ? "&#x2715; Exit full screen"
                                                : FULL_ICON + "Full screen";
  }

  function togglePlay() {
    if (!data.audio) return;
    if (audio.paused) { audio.play().catch(() => {}); } else { audio.pause(); }
  }

  function toggleFullScreen() {
    if (document.fullscreenElement) { document.exitFullscreen(); }
    else if (root.requestFullscreen) { root.requestFullscreen().catch(() => {}); }
  }

  function tick() { sync(); if (!audio.paused) requestAnimationFrame(tick); }

  function updatePlay() {
    play.innerHTML = audio.paused ? "&#9654; Play" : "&#10074;&#10074; Pause";
    play.setAttribute("aria-pressed", String(!audio.paused));
  }

  // Keys work from the moment the page opens, wherever the focus is, except while typing.
  function alive() {  // false once the app has moved to another page and dropped our frame
    try {
      if (window.parent === window) return true;  // a page of its own
      const host = window.frameElement;
      return Boolean(host && host.isConnected);
    } catch (_) { return false; }
  }

  function onKey(e) {
    if (!alive()) return;
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const target = e.target && e.target.closest ? e.target : null;
    if (target && target.closest("input, textarea, select, [contenteditable='true'], "
                                 + "[contenteditable=''], [role='slider'], [role='combobox']")) {
      return;
    }
    if (e.key === "ArrowLeft") { go(current - 1); }
    else if (e.key === "ArrowRight") { go(current + 1); }
    else if (e.key === " " || e.key === "Spacebar") {
      if (target && target.closest("button, a, audio, summary")) return;
      togglePlay();
    }
    else if (e.key === "f" || e.key === "F") { toggleFullScreen(); }
    else { return; }
    e.preventDefault();
  }

  for (const e of ["timeupdate", "seeking", "seeked", "loadedmetadata"]) {
    audio.addEventListener(e, sync);
  }
  audio.addEventListener("play", () => { updatePlay(); requestAnimationFrame(tick); });
  audio.addEventListener("pause", updatePlay);
  audio.addEventListener("ended", updatePlay);
  prev.addEventListener("click", () => go(current - 1));
  next.addEventListener("click", () => go(current + 1));
  play.addEventListener("click", togglePlay);
  full.addEventListener("click", toggleFullScreen);
  document.addEventListener("fullscreenchange", () => {
    updateFull();
    layout();
  });
  document.addEventListener("keydown", onKey);
  addEventListener("resize", layout);
  try {  // the app page around us: one listener, replaced when the replay is drawn again
    if (parent !== window) {
      if (parent.__s2iReplayKeys) {
        parent.document.removeEventListener("keydown", parent.__s2iReplayKeys);
      }
      parent.__s2iReplayKeys = onKey;
      parent.document.addEventListener("keydown", onKey);
      if (parent.__s2iReplayResize) {
        parent.removeEventListener("resize", parent.__s2iReplayResize);
      }
      parent.__s2iReplayResize = layout;
      parent.addEventListener("resize", layout);
    }
  } catch (_) { /* not allowed to listen there: keys work once the replay has the focus */ }
  show(0);
  updatePlay();
  updateFull();
})();
</script>
</body>
</html>
"""


AUDIO_TYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "flac": "audio/flac",
}


def story_replay_html(
    story: StoryRecord, library: Library, link: Callable[[str], str | None] | None = None
) -> str:
    """The replay page of a saved story. With ``link`` (a stored file's path relative to the data
    folder -> a URL the browser can fetch it by, or None), the pictures' replay-size copies (made
    once, see replay_media) and the narration are linked; anything it gives no URL for, and
    everything without it, is inlined (pictures scaled down first). A damaged picture file gives
    its frame the card, a damaged narration a replay without sound: the rest of the story plays
    (the story page tells the teacher which file)."""
    frames = []
    for frame in story.frames:
        picture = shown_picture(frame, library)
        readable = picture is not None and picture_readable(picture)
        image, aspect = _frame_image(picture, library, link) if readable else (None, None)
        words = tuple(ReplayWord(word.strip(), start, end) for start, end, word in frame.words)
        alt = frame.scene or frame.text_en or frame.text  # what the picture shows
        frames.append(ReplayFrame(frame.start, frame.end, frame.text, image, words=words,
                                  aspect=aspect, alt=alt))  # fmt: skip
    audio: bytes | str | None = None
    mime = "audio/webm"
    narration = _narration(story, library)
    if narration is not None:
        audio = (link and link(story.narration_path)) or narration.read_bytes()
        mime = AUDIO_TYPES.get(narration.suffix.lstrip(".").lower(), "audio/webm")
    return replay_html(frames, audio, mime, story.title)


def _narration(story: StoryRecord, library: Library) -> Path | None:
    if not story.narration_path:
        return None
    try:
        path = library.path(story.narration_path)
    except StorageError:  # a link out of the data folder
        return None
    return path if narration_readable(path) else None


def _frame_image(
    picture: Path, library: Library, link: Callable[[str], str | None] | None
) -> tuple[bytes | str | None, float | None]:
    try:
        if link is not None:
            try:
                copy = replay_copy(picture, library)
            except StorageError:  # not in a story's media folder: inlined, as before
                copy = None
            url = copy and link(copy)
            if url:
                return url, aspect_of(library.path(copy))
        return scaled_jpeg(picture.read_bytes()), None
    except OSError:  # changed on disk since it was checked: its card instead
        return None, None
