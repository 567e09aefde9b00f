"""The measurements. Each section takes a scratch folder and returns plain data for the report."""

from __future__ import annotations

import io
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image

from bench import asr
from bench.students import students
from s2i_core.audio import decode_audio, wav_bytes
from s2i_core.exports import VideoOptions, export_pdf, export_video
from s2i_core.jobs.inline import story_here
from s2i_core.settings import Settings
from s2i_core.speech import load_engine, transcribe
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.drafts import StoryOptions
from s2i_core.story.narration import transcribe_narration
from tests.llm_stub import LLMStub
from tests.nvidia_stub import NvidiaStub

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "bench" / "clips"
FIXTURES = ROOT / "tests" / "fixtures"
ASR_CLIPS = [CLIPS / "story_20s.ogg", CLIPS / "story_60s.ogg"]
LATENCY = 2.0
REPEATS = 3  # transcriptions per clip with a cached model; the median is reported


def _median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    fn()  # warm caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# --- speech recognition: bench/asr.py -------------------------------------------------------
def clips(scratch: Path) -> dict:
    """Every test recording through what the Create page waits for (decode, transcribe, split,
    English lines for other languages), with the default engine, cached; plus noise, the format
    browsers record, and languages chosen by hand. The target: none slower than 0.5x its duration
    + 2 s. CPU seconds are the process's own: on a busy machine wall time also holds others' work.
    """
    settings = Settings(data_dir=scratch / "clips", asr_device="cpu")
    engine = load_engine(settings)
    story = decode_audio(FIXTURES / "en_story.wav", settings).samples
    hiss = np.random.default_rng(7).normal(0, 1, story.size).astype(np.float32)
    hiss *= np.sqrt(np.mean(story**2) / np.mean(hiss**2) / 10)  # 10 dB below the voice
    inputs = {f"{p.stem} (WAV)": (p.read_bytes(), None) for p in sorted(FIXTURES.glob("*.wav"))}
    inputs["hi_story, Hindi chosen"] = ((FIXTURES / "hi_story.wav").read_bytes(), "hi")
    inputs["es_story, Italian chosen (wrong)"] = ((FIXTURES / "es_story.wav").read_bytes(), "it")
    inputs["en_story + hiss at 10 dB SNR"] = (wav_bytes(story + hiss), None)
    inputs |= {f"{p.stem} (Ogg/Opus)": (p.read_bytes(), None) for p in ASR_CLIPS}
    transcribe_narration(inputs[next(iter(inputs))][0], settings, engine)  # warm up
    rows = []
    for label, (data, language) in inputs.items():
        times, cpu_times = [], []
        for _ in range(REPEATS):
            started, cpu = time.perf_counter(), time.process_time()
            narration = transcribe_narration(data, settings, engine, language)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu)
        seconds = statistics.median(times)
        decoded, duration = narration.decoded, narration.decoded.duration
        asr_only = statistics.median(
            _seconds(lambda d=decoded, lang=language: transcribe(d, settings, lang, engine))
            for _ in range(REPEATS)
        )
        info = narration.transcription.info
        rows.append({"clip": label, "language": narration.language,
                     "probability": info.language_probability,
                     "uncertain": info.language_uncertain, "duration": duration,
                     "sentences": len(narration.sentences), "seconds": seconds,
                     "cpu_seconds": statistics.median(cpu_times), "asr_seconds": asr_only,
                     "bound": 0.5 * duration + 2, "rtf": seconds / duration,
                     "load": os.getloadavg()[0]})  # fmt: skip
        print(f"   {label}: {seconds:.2f} s of {0.5 * duration + 2:.2f} s", file=sys.stderr)
    return {"engine": engine.name, "compute_type": engine.compute_type, "clips": rows}


# --- storyboard --------------------------------------------------------------------------------
def storyboard(scratch: Path) -> dict:
    """Six sentences against the NVIDIA stand-in answering after L seconds: streamed (pictures
    requested while transcription goes on) vs transcribe-then-draw, side by side."""
    clip = CLIPS / "six_sentences.ogg"
    base = Settings(data_dir=scratch / "storyboard", image_rpm=40, image_concurrency=4)
    engine = load_engine(base)
    engine.transcribe(decode_audio(clip, base).samples[: 16000 * 2])  # warm up

    t_asr = statistics.median(_seconds(lambda: transcribe_narration(clip, base, engine))
                              for _ in range(REPEATS))  # fmt: skip
    first_sentence_s = statistics.median(
        _first_sentence_seconds(clip, base, engine) for _ in range(REPEATS)
    )
    modes = {}
    for mode, concurrency in (("streamed", 4), ("sequential", 4), ("streamed", 6)):
        key = mode if concurrency == 4 else f"{mode}, {concurrency} at once"
        modes[key] = _repeated_storyboard(mode, concurrency, base, engine, clip, scratch / key)
    results = {"latency": LATENCY, "t_asr": t_asr, "t_asr_first_sentence": first_sentence_s,
               "sentences": modes["streamed"]["frames"], "repeats": REPEATS,
               "modes": modes}  # fmt: skip

    # A narration longer than Whisper's 30 s window: here streaming has something to overlap.
    long_clip = CLIPS / "story_60s.ogg"
    results["long"] = {
        "clip": long_clip.name,
        "t_asr": statistics.median(_seconds(lambda: transcribe_narration(long_clip, base, engine))
                                   for _ in range(REPEATS)),
        **{mode: _repeated_storyboard(mode, 4, base, engine, long_clip, scratch / f"long {mode}")
           for mode in ("streamed", "sequential")},
    }  # fmt: skip
    return results


def _repeated_storyboard(
    mode: str, concurrency: int, base: Settings, engine, clip: Path, scratch: Path
) -> dict:
    """Median of REPEATS runs, each against a fresh stand-in (requests per minute are its own)."""
    runs = []
    for attempt in range(REPEATS):
        with NvidiaStub(latency=LATENCY) as stub:
            settings = base.with_changes(
                nvidia_api_key=stub.key,
                nvidia_base_url=stub.base_url,
                nvcf_status_url=stub.status_url,
                data_dir=scratch / str(attempt),
                image_concurrency=concurrency,
                llm="off",  # pictures only; the "scenes" section measures the scene writer
            )
            run = _timed_storyboard(mode, settings, engine, clip)
            runs.append(run | {
                "peak_in_flight": stub.peak_in_flight,
                "max_per_minute": stub.max_in_window(60),
                "requests": len(stub.generation_requests()),
            })  # fmt: skip
    return {
        **{k: statistics.median(r[k] for r in runs)
           for k in ("total", "first_sentence", "first_picture")},
        **{k: max(r[k] for r in runs) for k in ("peak_in_flight", "max_per_minute", "frames")},
        "concurrency": concurrency,
        "runs": runs,
    }  # fmt: skip


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _first_sentence_seconds(clip: Path, settings: Settings, engine) -> float:
    from s2i_core.story.sentences import stream_sentences

    audio = decode_audio(clip, settings)
    started = time.perf_counter()
    segments, info = engine.transcribe(audio.samples)
    next(iter(stream_sentences(segments, info.language, duration=audio.duration)))
    return time.perf_counter() - started


def _timed_storyboard(mode: str, settings: Settings, engine, clip: Path) -> dict:
    """Seconds from "go" to: the first sentence ready for its picture, the first picture, the
    last picture."""
    from s2i_core.jobs.drawing import generate_story
    from s2i_core.pictures.nvidia import NvidiaBackend
    from s2i_core.story.drafts import save_draft

    library = Library(settings)
    client = NvidiaBackend(settings)
    options = StoryOptions("Bench story")
    started = time.perf_counter()
    sentence_times, picture_times = [], []
    if mode == "streamed":
        for event in story_here(library, settings, client, clip, options, engine):
            if event.kind == "frame_added":
                sentence_times.append(time.perf_counter() - started)
            elif event.kind == "frame_done":
                picture_times.append(time.perf_counter() - started)
    else:
        narration = transcribe_narration(clip, settings, engine)
        story = save_draft(library, settings, options, narration)
        sentence_times.append(time.perf_counter() - started)
        for _frame in generate_story(library, client, story.id):
            picture_times.append(time.perf_counter() - started)
    total = time.perf_counter() - started
    client.close()
    library.close()
    return {
        "total": total,
        "first_sentence": min(sentence_times),
        "first_picture": min(picture_times),
        "frames": len(picture_times),
    }


# --- scene writer ------------------------------------------------------------------------------
LLM_LATENCY = 3.0  # the LLM stand-in's answer time
READING_S = 5.0  # how long the teacher reads the sentences before pressing "Generate"


def scenes(scratch: Path) -> dict:
    """Seconds from "Generate" to the first picture without and with the scene writer (LLM
    stand-in answering in LLM_LATENCY s), and the CLI's ``story`` (no review step) both ways."""
    # English, so the offline path's English line is the sentence itself: Whisper's translation
    # of es_story.wav ("...came to kill...") would stop that frame at the word list instead.
    clip = FIXTURES / "en_story.wav"
    base = Settings(data_dir=scratch / "scenes-model")
    engine = load_engine(base)
    narration = transcribe_narration(clip, base, engine)
    cases = {
        "no writer (S2I_LLM=off)": ("off", 0.0),
        "writer, Generate at once": ("auto", 0.0),
        f"writer, Generate after {READING_S:.0f} s of reading": ("auto", READING_S),
    }
    results: dict = {"llm_latency": LLM_LATENCY, "picture_latency": LATENCY, "reading": READING_S}
    results["generate"] = {
        name: statistics.median(
            _generate_to_first_picture(narration, scratch / f"gen {name} {n}", llm, reading)
            for n in range(REPEATS)
        )
        for name, (llm, reading) in cases.items()
    }
    results["cli"] = {
        name: statistics.median(
            _cli_first_picture(clip, engine, scratch / f"cli {name} {n}", llm)
            for n in range(REPEATS)
        )
        for name, llm in (("no writer", "off"), ("writer", "auto"))
    }
    results["repeats"] = REPEATS
    return results


def _writer_settings(stub: NvidiaStub, llm_stub, data_dir: Path, llm: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        nvidia_api_key=stub.key,
        nvidia_base_url=stub.base_url,
        nvcf_status_url=stub.status_url,
        llm=llm,
        llm_base_url=llm_stub.base_url,
    )


def _generate_to_first_picture(narration, data_dir: Path, llm: str, reading: float) -> float:
    from s2i_core.jobs.drawing import generate_story
    from s2i_core.pictures.nvidia import NvidiaBackend
    from s2i_core.story.drafts import save_draft
    from s2i_core.story.scenes import start_scenes, write_story_scenes

    with (
        NvidiaStub(latency=LATENCY) as stub,
        LLMStub(key=stub.key, latency=LLM_LATENCY) as llm_stub,
    ):
        settings = _writer_settings(stub, llm_stub, data_dir, llm)
        library, client = Library(settings), NvidiaBackend(settings)
        story = save_draft(library, settings, StoryOptions("Bench"), narration)
        job = start_scenes(settings, story)  # the transcript is ready: the writer starts
        time.sleep(reading)  # the teacher reads the sentences
        started = time.perf_counter()  # "Generate"
        write_story_scenes(library, settings, story.id, job)
        next(f for f in generate_story(library, client, story.id) if f.status == "done")
        seconds = time.perf_counter() - started
        client.close()
        library.close()
    return seconds


def _cli_first_picture(clip: Path, engine, data_dir: Path, llm: str) -> float:
    from s2i_core.pictures.nvidia import NvidiaBackend

    with (
        NvidiaStub(latency=LATENCY) as stub,
        LLMStub(key=stub.key, latency=LLM_LATENCY) as llm_stub,
    ):
        settings = _writer_settings(stub, llm_stub, data_dir, llm)
        library, client = Library(settings), NvidiaBackend(settings)
        started = time.perf_counter()
        for event in story_here(library, settings, client, clip, StoryOptions("Bench"), engine):
            if event.kind == "frame_done" and event.frame.status == "done":
                break
        seconds = time.perf_counter() - started
        client.close()
        library.close()
    return seconds


# --- library -----------------------------------------------------------------------------------
WORDS = (
    "fox river stone forest boat island bread song bird garden map tree bridge box letter "
    "dragon castle moon star rain cloud apple cat dog school teacher friend"
).split()


def library(scratch: Path) -> dict:
    """1,000 stories of 8 frames: list, search and open latencies, and the database size."""
    settings = Settings(data_dir=scratch / "library")
    lib = Library(settings)
    rng = random.Random(7)
    started = time.perf_counter()
    ids = []
    for n in range(1000):
        sentences = [" ".join(rng.choices(WORDS, k=9)).capitalize() + "." for _ in range(8)]
        story = lib.create_story(
            title=f"Story {n} about the {rng.choice(WORDS)}",
            class_name=f"Class {n % 12 + 1}",
            language=rng.choice(["en", "es", "hi", "de"]),
            duration=40.0,
            transcript=" ".join(sentences),
            style="storybook",
            image_model="stabilityai/stable-diffusion-xl",
            image_params={"seed": n},
            seed=n,
        )
        lib.set_frames(
            story.id,
            [FrameDraft(i, i * 5.0, i * 5.0 + 4.5, s, s, s) for i, s in enumerate(sentences)],
        )
        ids.append(story.id)
    populate_s = time.perf_counter() - started
    db = settings.data_dir / "s2i.db"
    result = {
        "stories": 1000,
        "frames_per_story": 8,
        "populate_s": populate_s,
        "list_ms": _median_ms(lambda: lib.list_stories(limit=24)),
        "list_page_20_ms": _median_ms(lambda: lib.list_stories(limit=24, offset=480)),
        "count_ms": _median_ms(lambda: lib.count_stories()),
        "search_title_ms": _median_ms(lambda: lib.list_stories(query="dragon", limit=24)),
        "search_rare_ms": _median_ms(lambda: lib.list_stories(query="zebra", limit=24)),
        "filter_ms": _median_ms(lambda: lib.list_stories(class_name="Class 3", language="es")),
        "open_ms": _median_ms(lambda: lib.get_story(rng.choice(ids))),
        "db_mb": sum(p.stat().st_size for p in db.parent.glob("s2i.db*")) / 1e6,
    }
    lib.close()
    return result


# --- export ------------------------------------------------------------------------------------
def export(scratch: Path) -> dict:
    """PDF of a 24-frame story with 1024x1024 PNG pictures, in English and in Chinese (whose
    font, Noto Sans CJK, is read from a 19 MB collection and subset), side by side."""
    lib = Library(Settings(data_dir=scratch / "export"))
    results = {"frames": 24}
    for language, title, sentence in (
        ("en", "A long story for the whole class", "Sentence number {i} of a long story."),
        ("zh", "全班的长故事", "这是一个很长的故事的第{i}句话，小猫在花园里追蝴蝶。"),
    ):
        story = lib.create_story(title=title, language=language, seed=1)
        frames = lib.set_frames(
            story.id,
            [FrameDraft(i, i * 3.0, i * 3.0 + 2.5, sentence.format(i=i), "") for i in range(24)],
        )
        for frame in frames:
            lib.save_frame_result(frame.id, "done", image=_picture(frame.index))
        story = lib.get_story(story.id)
        out = scratch / f"story-{language}.pdf"
        times = []
        for _ in range(3):
            started = time.perf_counter()
            export_pdf(story, lib, out)
            times.append(time.perf_counter() - started)
        suffix = "" if language == "en" else f"_{language}"
        results[f"seconds{suffix}"] = statistics.median(times)
        results[f"mb{suffix}"] = out.stat().st_size / 1e6
    lib.close()
    return results


# --- video -------------------------------------------------------------------------------------
VIDEO_FRAMES = 16


def video(scratch: Path) -> dict:
    """Narrated MP4 of a 60 s story with 16 frames of 1024x1024 PNG pictures, at 720p (the
    default) and at 1080p: wall-clock and CPU seconds against the narration's own length.
    One run each: a run is about a minute of both cores, and its time barely varies."""
    clip = CLIPS / "story_60s.ogg"
    lib = Library(Settings(data_dir=scratch / "video"))
    story = lib.create_story(
        "A long story for the whole class", class_name="4B", language="en",
        narration=clip.read_bytes(), narration_ext="ogg",
    )  # fmt: skip
    with av.open(str(clip)) as container:
        duration = container.duration / 1e6
    step = duration / VIDEO_FRAMES
    frames = lib.set_frames(
        story.id,
        [FrameDraft(i, i * step, (i + 1) * step, f"Sentence number {i + 1} of a long story "
                    "that the class told together, one picture at a time.", "")
         for i in range(VIDEO_FRAMES)],
    )  # fmt: skip
    for frame in frames:
        lib.save_frame_result(frame.id, "done", image=_picture(frame.index))
    story = lib.get_story(story.id)
    runs, load = {}, os.getloadavg()[0]
    for resolution in ("720p", "1080p"):
        out = scratch / f"story-{resolution}.mp4"
        cpu, started = time.process_time(), time.perf_counter()
        summary = export_video(story, lib, out, VideoOptions(resolution=resolution))
        runs[resolution] = {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu,
            "video_seconds": summary.duration,
            "mb": summary.bytes / 1e6,
        }
        print(f"   {resolution}: {runs[resolution]['seconds']:.1f} s", file=sys.stderr)
    lib.close()
    load = max(load, os.getloadavg()[0])
    return {"frames": VIDEO_FRAMES, "narration_s": duration, "runs": runs, "load_average": load}


def _picture(seed: int) -> bytes:
    """A 1024x1024 PNG with texture, so it compresses like an illustration, not a flat colour."""
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 64))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(64 * 64)])
    buffer = io.BytesIO()
    small.resize((1024, 1024), Image.Resampling.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


SECTIONS: dict[str, Callable[[Path], dict]] = {
    "asr": asr.measure,
    "clips": clips,
    "storyboard": storyboard,
    "scenes": scenes,
    "library": library,
    "export": export,
    "video": video,
}


# --- job queue ---------------------------------------------------------------------------------
QUEUE_STORIES, QUEUE_FRAMES, QUEUE_RPM, QUEUE_LATENCY = 3, 8, 20, 1.0


def queue(scratch: Path) -> dict:
    """Three stories queued at once, drawn by two worker processes sharing one key's rate
    (S2I_IMAGE_RPM, kept in the database); then the memory of an app process with the speech
    model (its own worker transcribes) and without it (a separate worker does)."""
    return {"three_stories": _three_stories(scratch / "queue"), "memory": _app_memory(scratch)}


def _three_stories(data_dir: Path) -> dict:
    from s2i_core.jobs import JobBook, queue_pictures

    with NvidiaStub(latency=QUEUE_LATENCY) as stub:
        env = _worker_env(data_dir, stub, S2I_IMAGE_RPM=str(QUEUE_RPM))
        settings = Settings.load().with_changes(data_dir=data_dir)
        library = Library(settings)
        stories = [_queued_story(library, n) for n in range(QUEUE_STORIES)]
        workers = [_start_worker(env, "pictures", data_dir / f"worker-{n}.log") for n in range(2)]
        try:
            time.sleep(3)  # both workers up and polling before the work arrives
            started = time.monotonic()
            for story_id in stories:
                queue_pictures(settings.with_changes(**_stub_settings(stub)), library,
                               library.get_story(story_id))  # fmt: skip
            book = JobBook(library)
            while book.active():
                time.sleep(0.2)
            total = time.monotonic() - started
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=60)
        prompts = [r.body["text_prompts"][0]["text"] for r in stub.generation_requests()]
        frames = QUEUE_STORIES * QUEUE_FRAMES
        return {
            "stories": QUEUE_STORIES,
            "frames": frames,
            "workers": 2,
            "rpm": QUEUE_RPM,
            "latency": QUEUE_LATENCY,
            "total": total,
            # the 21st request may start only when the first leaves the minute window
            "floor": (frames - 1) // QUEUE_RPM * 60.0 + QUEUE_LATENCY,
            "requests": len(prompts),
            "drawn_more_than_once": len(prompts) - len(set(prompts)),
            "max_per_minute": stub.max_in_window(60),
            "complete": sum(library.get_story(s).status == "complete" for s in stories),
        }


def _queued_story(library: Library, n: int) -> int:
    story = library.create_story(f"Story {n}", style="storybook", image_params={"seed": 7 + n})
    library.set_frames(story.id, [
        FrameDraft(index=i, start=i, end=i + 1, text=f"Story {n}, picture {i}.",
                   prompt=f"A storybook picture {i} of story {n}")
        for i in range(QUEUE_FRAMES)
    ])  # fmt: skip
    return story.id


def _stub_settings(stub: NvidiaStub) -> dict:
    return {"nvidia_api_key": stub.key, "nvidia_base_url": stub.base_url,
            "nvcf_status_url": stub.status_url}  # fmt: skip


def _worker_env(data_dir: Path, stub: NvidiaStub | None = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S2I_", "NVIDIA_"))}
    env |= {"S2I_DATA_DIR": str(data_dir), "S2I_IMAGE_TIMEOUT": "300", "S2I_LLM": "off"}
    if stub is not None:
        env |= {"NVIDIA_API_KEY": stub.key, "S2I_NVIDIA_BASE_URL": stub.base_url,
                "S2I_NVCF_STATUS_URL": stub.status_url}  # fmt: skip
    return env | extra


def _start_worker(env: dict, queue_name: str, log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "s2i_core", "worker", "--queue", queue_name],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


def _app_memory(scratch: Path) -> dict:
    """RSS (MB) of the app (`streamlit run s2i_ui/server.py`) after one story was transcribed: by
    the app's own worker (S2I_APP_WORKER=all: the model lives in the app) or by a separate speech
    worker (S2I_APP_WORKER=none: the app holds no model)."""
    results = {}
    for mode in ("all", "none"):
        data_dir = scratch / f"memory-{mode}"
        env = _worker_env(data_dir, S2I_APP_WORKER=mode)
        worker = _start_worker(env, "speech", data_dir / "worker.log") if mode == "none" else None
        app, url = _start_app(env, data_dir / "app.log")
        try:
            _open_once(url)  # the first page run starts the app's own worker
            idle_mb = _rss_mb(app.pid)
            queued = subprocess.run(
                [sys.executable, "-m", "s2i_core", "story", str(FIXTURES / "en_story.wav"),
                 "--title", "Memory", "--enqueue"],
                cwd=ROOT, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            _wait_transcribed(data_dir, int(queued.stdout))
            results[mode] = {
                "app_idle_mb": idle_mb,
                "app_mb": _rss_mb(app.pid),
                "worker_mb": _rss_mb(worker.pid) if worker else None,
            }
        finally:
            for process in (app, worker):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=60)
    return results


def _start_app(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    import urllib.request

    from tests.postgres import free_port

    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "s2i_ui/server.py",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return app, url
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not start")


def _open_once(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        page.wait_for_timeout(3000)  # the app's worker starts in the background
        browser.close()


def _wait_transcribed(data_dir: Path, story_id: int, timeout: float = 600) -> None:
    from s2i_core.jobs import JobBook

    library = Library(Settings(data_dir=data_dir))
    deadline = time.monotonic() + timeout
    while library.get_story(story_id).sentences_missing:
        failed = [j.error for j in JobBook(library).of_story(story_id) if j.state == "failed"]
        if failed or time.monotonic() > deadline:
            raise RuntimeError(f"the story was not transcribed: {failed or 'timed out'}")
        time.sleep(0.5)


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return round(kb / 1024, 1)


SECTIONS["queue"] = queue


# --- a class at once (bench/students.py) -------------------------------------------------------
SECTIONS["students"] = students


def _live(scratch: Path) -> dict:
    from bench.live import live

    return live(scratch)


SECTIONS["live"] = _live  # bench/live.py: a story told live, in real time
