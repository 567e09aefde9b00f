"""The read-along replay: narration audio, the current sentence's picture shown large, and the
sentence highlighted (word by word where word times exist), as one self-contained HTML page.

Everything a teacher typed (titles, sentences) reaches the page only as JSON inside a
``<script type="application/json">`` block, with ``<``, ``>`` and ``&`` escaped, and the script
puts it on screen with ``textContent`` and ``alt``, never as HTML.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from PIL import Image

from s2i_core.exports.timeline import shown_picture
from s2i_core.storage import Library, StoryRecord


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
    image: bytes | None = None  # None: the sentence is shown on a card instead
    image_mime: str = "image/jpeg"
    words: tuple[ReplayWord, ...] = field(default_factory=tuple)


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
    frames: Sequence[ReplayFrame], audio: bytes | None, audio_mime: str, title: str
) -> str:
    payload = {
        "title": title,
        "audio": data_uri(audio, audio_mime) if audio else "",
        "frames": [
            {
                "start": f.start,
                "end": f.end,
                "text": f.text,
                "image": data_uri(f.image, f.image_mime) if f.image else "",
                "words": [asdict(w) for w in f.words] if words_fit(f.text, f.words) else [],
            }
            for f in frames
        ],
    }
    return _PAGE.replace("__DATA__", safe_json(payload))


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --ink: #2b2f36; --accent: #c2410c; --soft: #f4efe6; --line: #e4dccd; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: "Source Sans Pro", "Noto Sans", sans-serif; color: var(--ink);
         background: transparent; overflow-x: hidden; }
  #replay { outline: none; max-width: 1100px; margin: 0 auto; }
  #replay:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .stage { margin: 0; width: 100%; aspect-ratio: 16 / 10; background: var(--soft);
           border: 1px solid var(--line); border-radius: 12px; overflow: hidden;
           display: flex; align-items: center; justify-content: center; }
  .stage img { width: 100%; height: 100%; object-fit: contain; display: block; }
  .card { padding: 8%; font-size: clamp(18px, 3.2vw, 30px); line-height: 1.4; text-align: center; }
  .card small { display: block; color: var(--accent); font-size: 0.6em; margin-bottom: 0.6em; }
  #sentence { font-size: clamp(20px, 3.4vw, 30px); line-height: 1.45; margin: 16px 4px 12px;
              min-height: 2.9em; overflow-wrap: anywhere; }
  .word { padding: 1px 2px; border-radius: 4px; transition: background 0.1s;
          -webkit-box-decoration-break: clone; box-decoration-break: clone; }
  .word.now { background: #fde68a; }
  .word.spoken { color: #7c5a2a; }
  .bar { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
  .bar button { font: inherit; font-size: 17px; padding: 8px 16px; border-radius: 8px;
                border: 1px solid var(--line); background: white; cursor: pointer; }
  .bar button:disabled { opacity: 0.4; cursor: default; }
  #counter { font-size: 17px; min-width: 4.5em; text-align: center; }
  audio { flex: 1 1 260px; min-width: 0; width: 100%; }
  .hint { color: #6b6f76; font-size: 14px; margin: 8px 4px 0; }
</style>
</head>
<body>
<main id="replay" tabindex="0" aria-label="Read-along replay" data-index="-1">
  <figure class="stage" id="stage">
    <img id="picture" alt="" hidden>
    <div class="card" id="card" hidden>
      <small>No picture yet</small><span id="card-text"></span>
    </div>
  </figure>
  <p id="sentence" aria-live="polite"></p>
  <div class="bar">
    <button type="button" id="prev" aria-label="Previous sentence">&#9664; Previous</button>
    <span id="counter" aria-live="polite"></span>
    <button type="button" id="next" aria-label="Next sentence">Next &#9654;</button>
    <audio id="audio" controls preload="auto"></audio>
  </div>
  <p class="hint">Press play to read along, or use the arrow keys to move between pictures.</p>
</main>
<script id="story-data" type="application/json">__DATA__</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById("story-data").textContent);
  const frames = data.frames;
  const $ = (id) => document.getElementById(id);
  const root = $("replay"), audio = $("audio"), picture = $("picture"), card = $("card");
  const sentence = $("sentence"), counter = $("counter"), prev = $("prev"), next = $("next");
  let current = -1, spans = [];

  if (data.audio) { audio.src = data.audio; } else { audio.hidden = true; }
  if (!frames.length) { sentence.textContent = "This story has no sentences yet."; return; }

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
      picture.alt = f.text;
      picture.hidden = false;
      card.hidden = true;
    } else {
      $("card-text").textContent = f.text;
      card.hidden = false;
      picture.hidden = true;
    }
    renderSentence(f);
    counter.textContent = (i + 1) + " / " + frames.length;
    root.dataset.index = String(i);
    prev.disabled = i === 0;
    next.disabled = i === frames.length - 1;
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

  function tick() { sync(); if (!audio.paused) requestAnimationFrame(tick); }

  for (const e of ["timeupdate", "seeking", "seeked", "loadedmetadata"]) {
    audio.addEventListener(e, sync);
  }
  audio.addEventListener("play", () => requestAnimationFrame(tick));
  prev.addEventListener("click", () => go(current - 1));
  next.addEventListener("click", () => go(current + 1));
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") { e.preventDefault(); go(current - 1); }
    if (e.key === "ArrowRight") { e.preventDefault(); go(current + 1); }
  });
  show(0);
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
REPLAY_SIDE = 960  # pixels: sharp on a classroom screen, small enough to inline every frame


def story_replay_html(story: StoryRecord, library: Library) -> str:
    """The replay page of a saved story: every frame's picture scaled down and inlined."""
    frames = []
    for frame in story.frames:
        picture = shown_picture(frame, library)
        image = _scaled_jpeg(picture.read_bytes()) if picture else None
        words = tuple(ReplayWord(word.strip(), start, end) for start, end, word in frame.words)
        frames.append(ReplayFrame(frame.start, frame.end, frame.text, image, words=words))
    audio, mime = None, "audio/webm"
    narration = story.narration_path and library.path(story.narration_path)
    if narration and narration.is_file():
        audio = narration.read_bytes()
        mime = AUDIO_TYPES.get(narration.suffix.lstrip(".").lower(), "audio/webm")
    return replay_html(frames, audio, mime, story.title)


def _scaled_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((REPLAY_SIDE, REPLAY_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=85, optimize=True)
        return buffer.getvalue()
