"""The Streamlit pages, driven through Streamlit's AppTest: roles, forms, sentence editing, library.

Stories are seeded through ``s2i_core.storage`` in a temporary S2I_DATA_DIR; pictures come from
the local NVIDIA stand-in server over real HTTP. Only the transcription test loads Whisper.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from s2i_core.audio import wav_bytes
from s2i_core.errors import StorageError
from s2i_core.jobs import JobBook, Transcribe
from s2i_core.jobs.worker import WorkerPool
from s2i_core.pictures.images import placeholder_card, thumbnail
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.speech import Word, choose_engine, device_label
from s2i_core.storage import Library, StoryNotFoundError
from s2i_core.story.drafts import frame_drafts
from s2i_core.story.sentences import Sentence
from s2i_ui.create.draft import Draft
from s2i_ui.widgets import STATUS_LABELS
from tests.llm_stub import LLMStub, StubStory
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "fox_and_balloon.wav"
CREATE, LIBRARY, STORY = "app_pages/create.py", "app_pages/library.py", "app_pages/story.py"
WORD_LIST = "app_pages/word_list.py"
PASSCODE = "river-otter-42"
TIMEOUT = 60


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("S2I_LLM", "off")  # tests that want the scene writer point it at a stub
    return monkeypatch


@pytest.fixture
def classroom(env):
    env.setenv("S2I_TEACHER_PASSCODE", PASSCODE)
    return env


@pytest.fixture
def library(env):
    with Library(Settings.load()) as library:
        yield library


def open_page(page: str | None = None, timeout: float = TIMEOUT, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=timeout)
    if page:
        at.switch_page(page)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def go(at: AppTest, page: str, **query: str) -> AppTest:
    """Move to another page in the same browser session (session state is kept)."""
    at.switch_page(page)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "success", "error", "warning")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {labels(at)}"
    return matches[0]


def unlock(at: AppTest, passcode: str, form: str = "page_unlock") -> AppTest:
    at.text_input(key=f"{form}_passcode").input(passcode)
    [submit] = [b for b in at.button if b.label == "Unlock teacher mode" and b.form_id == form]
    return submit.click().run()


def seed_story(
    library: Library,
    title: str,
    sentences: list[str],
    class_name: str = "",
    language: str = "en",
    pictures: bool = True,
    timed: bool = False,
) -> int:
    story = library.create_story(
        title=title,
        class_name=class_name,
        language=language,
        duration=3.0 * len(sentences),
        transcript=" ".join(sentences),
        style="storybook",
        image_model="stabilityai/stable-diffusion-xl",
        image_params={"model": "stabilityai/stable-diffusion-xl", "steps": 5, "seed": 7},
    )
    drafts = frame_drafts(as_sentences(sentences, timed), library.get_story(story.id))
    frames = library.set_frames(story.id, drafts)
    if pictures:
        card = placeholder_card(sentences[0], 256, 256)
        library.save_frame_result(frames[0].id, "done", image=card, thumbnail=thumbnail(card))
    return story.id


def as_sentences(texts_: list[str], timed: bool = False) -> list[Sentence]:
    return [
        Sentence(i, 3.0 * i, 3.0 * i + 3.0, t, t, spoken(t, 3.0 * i) if timed else ())
        for i, t in enumerate(texts_)
    ]


def spoken(text: str, start: float) -> tuple[Word, ...]:
    """Word times as Whisper writes them (leading space, punctuation attached), 0.5 s a word."""
    return tuple(
        Word(start + 0.5 * n, start + 0.5 * n + 0.4, f" {word}", 0.9)
        for n, word in enumerate(text.split())
    )


def triples(words: tuple[Word, ...]) -> tuple[tuple[float, float, str], ...]:
    return tuple((w.start, w.end, w.word) for w in words)


FOX = ["The fox found a balloon.", "The balloon flew over the river.", "The fox came home."]


# --- Home --------------------------------------------------------------------------------------
def test_home_says_single_user_mode_and_loads_no_model(env, library):
    seed_story(library, "The fox", FOX)
    at = open_page()
    page = texts(at)
    assert "Single-user mode" in page
    assert "not loaded yet" in page  # the speech model waits for the first transcription
    name, device = choose_engine("auto", "auto")  # what auto picks on this machine
    assert f"{name} · Whisper `base` · {device_label(device)}" in page
    assert "1 story saved" in page
    assert "Neither NVIDIA_API_KEY nor S2I_LOCAL_IMAGE_MODEL is set" in page
    assert "Start a storytelling session" in labels(at)


def test_a_setting_with_a_typo_is_named_on_every_page(env):
    env.setenv("S2I_MAX_FRAMES", "twenty")
    for page in (None, "app_pages/library.py"):
        at = open_page(page)
        assert not at.exception
        assert [e.value for e in at.error] == [
            "The setting S2I_MAX_FRAMES must be a whole number above 0, not 'twenty'. "
            "Fix it in the environment or in .streamlit/secrets.toml and start the app again."
        ]


def test_home_with_a_passcode_is_a_student_view(classroom):
    at = open_page()
    assert "Student view" in texts(at)
    assert "Single-user mode" not in texts(at)
    assert "Start a storytelling session" not in labels(at)


# --- roles -------------------------------------------------------------------------------------
def menu(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


def test_picture_options_offer_only_what_each_model_accepts(env):
    at = open_page(CREATE)
    assert at.selectbox(key="c_model").value == "stabilityai/stable-diffusion-xl"
    assert not [box for box in at.selectbox if box.key.startswith("c_shape_")]  # square only
    assert "1:1 square (1024×1024), the only one it draws" in texts(at)
    assert at.selectbox(key="c_sampler_stabilityai/stable-diffusion-xl").options == [
        "K_DPM_2_ANCESTRAL", "K_EULER_ANCESTRAL", "DDIM", "K_LMS",
    ]  # fmt: skip
    steps = at.slider(key="c_steps_stabilityai/stable-diffusion-xl")
    cfg = at.slider(key="c_cfg_stabilityai/stable-diffusion-xl")
    assert (steps.min, steps.max, steps.value) == (5, 100, 25)
    assert (cfg.min, cfg.max, cfg.value) == (1.5, 9.0, 5.0)

    at.selectbox(key="c_model").select("stabilityai/stable-diffusion-3-medium").run()
    shapes = at.selectbox(key="c_shape_stabilityai/stable-diffusion-3-medium").options
    assert [shape.split()[0] for shape in shapes] == [
        "1:1", "16:9", "9:16", "5:4", "4:5", "3:2", "2:3",
    ]  # fmt: skip
    at.selectbox(key="c_model").select("black-forest-labs/flux.1-schnell").run()
    shapes = at.selectbox(key="c_shape_black-forest-labs/flux.1-schnell").options
    sizes = [tuple(map(int, shape.split("(")[1].rstrip(")").split("×"))) for shape in shapes]
    assert all(768 <= side <= 1344 and side % 64 == 0 for size in sizes for side in size)
    assert not [s for s in at.slider if s.key.startswith("c_cfg_black")]  # no guidance to set


def test_the_menu_lists_create_only_for_the_teacher(classroom):
    at = open_page()
    assert menu(at) == ["Home", "Library"]
    at = unlock(at, PASSCODE, form="home_unlock")
    assert menu(at) == ["Home", "Create a story", "Library", "Word list"]


def test_student_gets_the_passcode_form_instead_of_the_create_page(classroom):
    at = open_page(CREATE)
    assert "Only a teacher can create stories" in texts(at)
    assert not [w for w in at.text_input if w.label == "Title"]
    assert "Transcribe the narration" not in labels(at)


def test_wrong_passcode_is_refused_and_the_right_one_unlocks_for_the_session(classroom):
    at = open_page(CREATE)
    at = unlock(at, "not-the-passcode")
    assert "That passcode is not right" in texts(at)
    assert not [w for w in at.text_input if w.label == "Title"]

    at = unlock(at, PASSCODE)
    assert at.text_input(key="c_title") is not None
    assert "Teacher mode is on." in texts(at)
    at = go(at, LIBRARY)  # unlocked once, it stays unlocked in this browser session
    at = go(at, CREATE)
    assert at.text_input(key="c_title") is not None


def test_student_replays_but_cannot_rename_delete_or_redraw(classroom, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    assert not at.exception
    assert [e for e in at.get("iframe")]  # the replay is there
    assert "Make the PDF" not in labels(at)  # students download what is made, no more
    assert not at.expander  # no teacher tools, no "Redo this picture"
    assert not [b for b in labels(at) if b.startswith(("Delete", "Generate", "New picture"))]

    at = unlock(at, PASSCODE, form="sidebar_unlock")
    assert [e for e in at.expander if e.label == "Teacher tools"]
    assert "Delete this story…" in labels(at)


def test_an_unforeseen_error_shows_a_plain_message_and_no_details(env, library, monkeypatch):
    story_id = seed_story(library, "The fox", FOX)

    def broken(*_args, **_kwargs):
        raise OSError("image file is truncated: /srv/school/data/media/1/frame-1-1.png")

    monkeypatch.setattr("s2i_core.replay.story_replay_html", broken)
    at = open_page(STORY, story=str(story_id))
    assert not at.exception  # no traceback, no exception type, no server path
    page = texts(at)
    assert "Something went wrong on this page" in page
    assert "/srv/school" not in page and "OSError" not in page and "truncated" not in page


def test_students_see_no_drafts_in_the_library_or_by_address(classroom, library):
    drawn = seed_story(library, "The fox, drawn", FOX)
    draft = seed_story(library, "The fox, a draft", FOX, pictures=False)
    empty = library.create_story("Nothing heard yet").id
    at = open_page(LIBRARY)
    page = texts(at)
    assert "The fox, drawn" in page and "1 story" in page
    assert "a draft" not in page and "Nothing heard yet" not in page
    assert "frames" not in page and "In progress" not in page
    for story_id in (draft, empty):
        at = go(at, STORY, story=str(story_id))
        assert "That story is not ready yet" in texts(at) and not at.get("iframe")
    at = go(at, STORY, story=str(drawn))
    assert at.get("iframe")  # the replay

    at = unlock(at, PASSCODE, form="sidebar_unlock")
    at = go(at, LIBRARY)
    assert "3 stories" in texts(at) and "Draft: nothing heard yet" in texts(at)


def test_the_teacher_makes_a_narrated_video_to_download(classroom, library):
    classroom.setenv("S2I_APP_WORKER", "none")  # a worker of its own below, once it is queued
    silent = seed_story(library, "No recording", FOX)
    at = unlock(open_page(STORY, story=str(silent)), PASSCODE, form="sidebar_unlock")
    assert button(at, "Make a narrated video").disabled  # nothing to narrate it with

    story = library.create_story(
        "The fox, told", narration=(ROOT / "tests" / "fixtures" / "hi_story.wav").read_bytes()
    )
    library.set_frames(story.id, frame_drafts(as_sentences(FOX[:2]), story))
    at = go(at, STORY, story=str(story.id))
    at = button(at, "Make a narrated video").click().run()
    assert "Waiting for a worker" in str(at.get("progress")[0].proto)
    at = button(at, "Stop making the video").click().run()
    assert "Make a narrated video" in labels(at)  # stopped before a worker took it

    at = button(at, "Make a narrated video").click().run()
    worker = WorkerPool(Settings.load(), queues=["pictures"]).start()  # exports' queue
    try:
        at = settle(at, library, timeout=240)
    finally:
        worker.stop()
    assert not at.exception and not at.error
    assert "Download video (MP4)" in [b.label for b in at.get("download_button")]


def test_the_pdf_is_made_once_per_version_of_the_story(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    at = settle(button(at, "Make the PDF").click().run(), library)
    assert "Download PDF" in [b.label for b in at.get("download_button")]
    # A download reruns nothing: a rerun ending before the browser fetched the file retired it
    # (the browser test's video download under load got "Deferred file not found").
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))

    at = go(at, LIBRARY)
    at = go(at, STORY, story=str(story_id))  # coming back finds it made
    assert "Download PDF" in [b.label for b in at.get("download_button")]
    assert "Make the PDF" not in labels(at)

    frame = library.get_story(story_id).frames[0]
    library.update_frame_text(frame.id, "The fox found a red balloon.")
    at = at.run()
    assert "The story changed after its PDF was made." in texts(at)
    at = settle(button(at, "Make a fresh PDF").click().run(), library)
    assert "Download PDF" in [b.label for b in at.get("download_button")]


def test_an_export_that_could_not_be_saved_says_why_and_can_be_asked_again(env, library):
    story_id = seed_story(library, "The fox", FOX)
    (library.media_dir / str(story_id) / "exports").write_text("a file where the folder goes")
    at = open_page(STORY, story=str(story_id))
    at = settle(button(at, "Make the PDF").click().run(), library)
    assert "The export could not be saved" in texts(at)
    assert not button(at, "Make the PDF").disabled


def test_the_teacher_is_told_which_characters_would_print_as_boxes(env, library):
    story_id = seed_story(library, "Owls 🦉", ["The owl 𓅓 hoots."])
    at = open_page(STORY, story=str(story_id))
    [warning] = [w.value for w in at.warning if "empty boxes" in w.value]
    assert "🦉 𓅓" in warning
    plain = seed_story(library, "Canción del jardín", ["El búho canta."])
    at = go(at, STORY, story=str(plain))
    assert not [w for w in at.warning if "empty boxes" in w.value]


def test_a_pdf_without_pictures_is_refused_with_advice(env, library):
    story_id = seed_story(library, "The fox", FOX, pictures=False)
    at = open_page(STORY, story=str(story_id))
    make = button(at, "Make the PDF")
    assert make.disabled and "Draw the pictures first" in make.help


def replay_payload(at: AppTest) -> dict:
    [iframe] = at.get("iframe")
    data = re.search(r'<script id="story-data"[^>]*>(.*?)</script>', iframe.proto.srcdoc, re.S)
    return json.loads(data.group(1))


def test_replay_highlights_the_stored_word_times_of_a_saved_story(env, library):
    story_id = seed_story(library, "The fox", FOX, timed=True)
    last = library.get_story(story_id).frames[-1]
    library.update_frame_text(last.id, text="The fox ran home.")  # reworded after saving
    at = open_page(STORY, story=str(story_id))
    frames = replay_payload(at)["frames"]
    assert [f["words"] for f in frames[:2]] == [
        [{"text": w.word.strip(), "start": w.start, "end": w.end} for w in spoken(text, 3.0 * n)]
        for n, text in enumerate(FOX[:2])
    ]
    assert frames[2]["text"] == "The fox ran home." and frames[2]["words"] == []


def test_teacher_actions_check_the_role_where_they_run(classroom, library):
    """Calling an action directly, as a student session: refused, nothing changes."""
    story_id = seed_story(library, "The fox", FOX, pictures=False)

    def script(story_id: int) -> None:
        from s2i_core.story.sentences import Sentence
        from s2i_ui import resources, storyboard

        settings = resources.settings()
        library = resources.library(settings)
        story = library.get_story(story_id)
        if __import__("streamlit").session_state.get("try") == "edit":
            hacked = [Sentence(0, 0, 1, "Hacked.", "")]
            storyboard.save_sentences(library, settings, story.id, None, hacked)
        else:
            storyboard.request_generation(settings, story)

    for attempt in ("edit", "generate"):
        at = AppTest.from_function(script, args=(story_id,), default_timeout=TIMEOUT)
        at.session_state["try"] = attempt
        at.run()
        assert "Only a teacher can" in at.error[0].value
        assert "s2i_generation_job" not in at.session_state
    assert [f.text for f in library.get_story(story_id).frames] == FOX


def test_teacher_deletes_a_story_only_after_confirming(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    at = button(at, "Delete this story…").click().run()
    assert "cannot be undone" in texts(at)
    at = button(at, "Cancel").click().run()
    assert library.get_story(story_id).title == "The fox"

    at = button(at, "Delete this story…").click().run()
    button(at, "Yes, delete it").click().run()
    with pytest.raises(StoryNotFoundError):
        library.get_story(story_id)


def test_teacher_renames_a_story(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    [title] = [w for w in at.text_input if w.label == "Title"]
    title.input("The brave fox")
    button(at, "Save title").click().run()
    assert library.get_story(story_id).title == "The brave fox"


def test_a_library_damaged_while_the_app_runs_refuses_a_rename_as_a_new_start_would(
    env, library, tmp_path
):
    """The file is replaced under the running app: the rename is refused with the words a new
    process says of that file, instead of being confirmed into the old, deleted file."""
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    with closing(sqlite3.connect(tmp_path / "s2i.db")) as journal:  # emptied, as SQLite does
        journal.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damaged = tmp_path / "copied-over.db"
    damaged.write_bytes(os.urandom(64 * 1024))
    os.replace(damaged, tmp_path / "s2i.db")
    with pytest.raises(StorageError) as new_start:
        Library(Settings.load())
    [title] = [w for w in at.text_input if w.label == "Title"]
    title.input("The brave fox")
    at = button(at, "Save title").click().run()
    assert [e.value for e in at.error] == [str(new_start.value)]
    assert "damaged" in str(new_start.value) and not at.exception
    assert not at.toast  # no "The new title is saved."


# --- create: form validation -------------------------------------------------------------------
def test_transcribe_asks_for_a_title_and_a_narration(env):
    at = open_page(CREATE)
    at = at.button(key="c_transcribe").click().run()
    errors = [e.value for e in at.error]
    assert "Give the story a title." in errors
    assert "Record, upload or choose the sample narration first." in errors
    assert "draft" not in at.session_state


def test_sample_story_fills_the_title_and_a_too_large_narration_is_refused(env):
    env.setenv("S2I_MAX_AUDIO_MB", "0.1")
    at = open_page(CREATE)
    at = at.radio(key="c_how").set_value("Sample story").run()
    at = at.button(key="c_use_sample").click().run()
    assert at.text_input(key="c_title").value == "The fox and the balloon"
    assert at.get("audio")  # playback of the chosen narration
    at = at.button(key="c_transcribe").click().run()
    assert any("larger than 0.1 MB" in e.value for e in at.error)
    assert "draft" not in at.session_state


def test_sample_narration_is_transcribed_and_saved_as_a_draft_at_once(env, library):
    at = open_page(CREATE, timeout=300)  # the first transcription loads Whisper
    at = at.radio(key="c_how").set_value("Sample story").run()
    at = at.button(key="c_use_sample").click().run()
    at = at.button(key="c_transcribe").click().run()
    assert library.count_stories() == 1  # saved with its narration before anything is heard
    at = settle(at, library, timeout=300)  # a worker transcribes (the first time loads Whisper)
    assert not at.error
    shown = [t.value for t in at.text_area]
    assert len(shown) >= 3 and "balloon" in " ".join(shown).lower()

    [summary] = library.list_stories()
    assert (summary.title, summary.status, summary.frame_count) == (
        "The fox and the balloon",
        "draft",
        len(shown),
    )
    story = library.get_story(summary.id)
    assert [f.text for f in story.frames] == shown
    assert library.path(story.narration_path).read_bytes()[:4] == b"RIFF"

    # Without a "/" mark, a split cuts at a word Whisper timed, not at a guessed moment.
    words = at.session_state["draft"].sentences[0].words
    assert story.frames[0].words == tuple((w.start, w.end, w.word) for w in words)
    at = at.button(key="split_0_0").click().run()
    first, second = library.get_story(summary.id).frames[:2]
    assert first.end == second.start and second.start in [w.start for w in words[1:]]
    assert f"{first.text} {second.text}" == shown[0]
    assert first.words + second.words == story.frames[0].words  # the replay can still follow

    at = go(at, "app_pages/home.py")  # the model stays loaded, and Home now says where it runs
    assert "not loaded yet" not in texts(at) and "Running on " in texts(at)


def test_the_uploader_states_the_one_upload_limit_and_refuses_past_it(env):
    env.setenv("S2I_MAX_AUDIO_MB", "20")
    at = open_page(CREATE)
    at = at.radio(key="c_how").set_value("Upload a file").run()
    [uploader] = at.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == 20  # the browser refuses a larger file, and says so
    assert "Up to 20 MB" in uploader.proto.help
    assert "MB" not in uploader.proto.label  # one limit on screen: the uploader's own


def upload_and_transcribe(at: AppTest, name: str, data: bytes) -> AppTest:
    at.text_input(key="c_title").input("My story")
    at = at.radio(key="c_how").set_value("Upload a file").run()
    at = at.file_uploader(key="c_upload").upload(name, data, "audio/wav").run()
    return at.button(key="c_transcribe").click().run()


@pytest.fixture
def separate_worker(env, tmp_path, monkeypatch):
    """A school's topology: this process serves pages only (S2I_APP_WORKER=none) and must never
    load Whisper; ``python -m s2i_core worker`` in another process does the work."""
    env.setenv("S2I_APP_WORKER", "none")

    def no_model_here(*_args, **_kwargs):
        raise AssertionError("the app process loaded a speech model")

    monkeypatch.setattr("s2i_core.speech.load_engine", no_model_here)
    monkeypatch.setattr("s2i_core.speech.registry.load_engine", no_model_here)
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "s2i_core", "worker"],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield worker
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)


def test_an_unsure_language_is_said_and_the_teacher_can_choose_it_and_transcribe_again(
    library, separate_worker
):
    at = open_page(CREATE, timeout=300)
    french = (ROOT / "tests" / "fixtures" / "fr_story.wav").read_bytes()
    at = upload_and_transcribe(at, "french.wav", french)  # base hears French, unsure of it
    at = settle(at, library, timeout=300)  # the worker process transcribes
    assert not at.exception and not at.error
    [warning] = [w.value for w in at.warning]
    assert "not sure" in warning
    assert any("Not right? Choose the language" in e.label for e in at.expander)
    story_id = at.session_state["draft"].story_id
    narration = library.path(library.get_story(story_id).narration_path).read_bytes()
    reloaded = open_page(CREATE, draft=str(story_id))  # kept with the story, not the session
    assert "not sure" in " ".join(w.value for w in reloaded.warning)

    at = at.selectbox(key=f"c_relanguage_{story_id}").set_value("fr").run()
    at = at.button(key="c_transcribe_again").click().run()
    assert not at.exception and not at.error
    assert "Transcribing the narration" in [h.value for h in at.subheader]
    at = settle(at, library, timeout=300)  # the worker hears it again, in French
    assert not at.exception and not at.error and not at.warning
    assert "Heard as French" in " ".join(c.value for c in at.caption)
    story = library.get_story(story_id)
    assert story.language == "fr" and at.session_state["draft"].language == "fr"
    assert [f.text for f in story.frames] == [t.value for t in at.text_area]
    assert [f.index for f in story.frames] == list(range(len(story.frames)))
    assert library.path(story.narration_path).read_bytes() == narration  # the narration stays
    heard = [j for j in JobBook(library).of_story(story_id) if j.kind == "transcribe"]
    assert [j.state for j in heard] == ["done", "done"]  # both by the worker process


def test_a_draft_whose_hearing_again_is_cancelled_keeps_its_sentences(env, library):
    env.setenv("S2I_APP_WORKER", "none")  # no worker: the new hearing waits in the queue
    story = library.create_story("The fox", language="en", narration=SAMPLE.read_bytes())
    library.set_frames(story.id, frame_drafts(as_sentences(FOX), story))
    book = JobBook(library)
    book.start(book.create(Transcribe(story.id)).id, 60)
    book.finish(book.of_story(story.id)[0].id)  # heard once, in English
    at = open_page(CREATE, draft=str(story.id))
    at = at.button(key="c_transcribe_again").click().run()
    assert "Transcribing the narration" in [h.value for h in at.subheader]
    at = at.button(key="c_cancel_transcription").click().run()
    assert [t.value for t in at.text_area][: len(FOX)] == FOX  # back to the same sentences
    kept = library.get_story(story.id)
    assert [f.text for f in kept.frames] == FOX and not kept.sentences_missing
    assert library.path(kept.narration_path).read_bytes() == SAMPLE.read_bytes()


def test_an_uploaded_silent_recording_is_refused_with_advice(env):
    at = open_page(CREATE, timeout=300)
    at = upload_and_transcribe(at, "silence.wav", wav_bytes(np.zeros(16000 * 2, np.float32)))
    [error] = [e.value for e in at.error]
    assert "silent" in error and "record again" in error
    assert "draft" not in at.session_state


def test_an_uploaded_story_longer_than_allowed_is_refused(env, library):
    env.setenv("S2I_MAX_AUDIO_SECONDS", "5")
    at = open_page(CREATE, timeout=300)
    at = upload_and_transcribe(at, "fox.wav", SAMPLE.read_bytes())
    [error] = [e.value for e in at.error]
    assert "too long" in error and "5 s" in error
    assert library.count_stories() == 0


# --- create: sentence editing and the storyboard -----------------------------------------------
def start_draft(
    library: Library, sentences: list[str], language: str = "en", timed: bool = False
) -> AppTest:
    """The Create page right after transcription: the draft saved, the sentences on screen."""
    story_id = seed_story(
        library, "The fox", sentences, language=language, pictures=False, timed=timed
    )
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=TIMEOUT)
    at.switch_page(CREATE)
    at.session_state["draft"] = Draft(story_id, as_sentences(sentences, timed), language)
    return at.run()


@pytest.fixture
def pictures(env):
    """The NVIDIA stand-in, with the app's settings pointing at it."""
    with NvidiaStub() as stub:
        env.setenv("NVIDIA_API_KEY", stub.key)
        env.setenv("S2I_NVIDIA_BASE_URL", stub.base_url)
        env.setenv("S2I_NVCF_STATUS_URL", stub.status_url)
        yield stub


def settle(at: AppTest, library: Library, timeout: float = TIMEOUT) -> AppTest:
    """Wait until the app's worker has done the jobs the page queued, then run the page again
    (as its once-a-second refresh would)."""
    book = JobBook(library)
    wait_for(lambda: not book.active(), "the jobs the page queued", timeout)
    return at.run()


def frame_texts(library: Library, at: AppTest) -> list[str]:
    return [f.text for f in library.get_story(at.session_state["draft"].story_id).frames]


def test_sentence_edits_are_saved_as_they_happen(env, library):
    at = start_draft(library, FOX)
    assert [t.value for t in at.text_area] == FOX

    at.text_area[0].input("The little fox found a red balloon.").run()
    assert frame_texts(library, at)[0] == "The little fox found a red balloon."

    at = at.button(key="merge_0_0").click().run()
    assert frame_texts(library, at) == [
        "The little fox found a red balloon. The balloon flew over the river.",
        "The fox came home.",
    ]
    merged = library.get_story(at.session_state["draft"].story_id).frames[0]
    assert (merged.start, merged.end) == (0.0, 6.0)

    at.text_area[0].input("The little fox found a red balloon. / It flew over the river.").run()
    at = at.button(key="split_1_0").click().run()
    assert frame_texts(library, at) == [
        "The little fox found a red balloon.",
        "It flew over the river.",
        "The fox came home.",
    ]
    first, second, _ = library.get_story(at.session_state["draft"].story_id).frames
    assert 0.0 < first.end == second.start < 6.0

    at = at.button(key="delete_2_2").click().run()
    assert frame_texts(library, at) == [
        "The little fox found a red balloon.",
        "It flew over the river.",
    ]
    assert [t.value for t in at.text_area] == frame_texts(library, at)


def test_an_emptied_sentence_is_not_saved(env, library):
    at = start_draft(library, FOX)
    at.text_area[1].input("   ").run()
    assert "A sentence cannot be empty. Use Delete to remove it." in [e.value for e in at.error]
    assert frame_texts(library, at) == FOX


def test_a_translated_story_keeps_an_editable_english_line_for_the_pictures(env, library):
    at = start_draft(library, ["El zorro encontró un globo."], language="es")
    english = at.text_input(key="sent_en_0_0")
    assert english.label == "In English, for the picture"
    english.input("The fox found a big balloon.").run()
    [frame] = library.get_story(at.session_state["draft"].story_id).frames
    assert (frame.text, frame.text_en) == (
        "El zorro encontró un globo.",
        "The fox found a big balloon.",
    )
    assert "The fox found a big balloon." in frame.prompt


def test_word_times_follow_merges_and_splits_and_leave_a_reworded_sentence(env, library):
    at = start_draft(library, FOX, timed=True)
    story_id = at.session_state["draft"].story_id
    heard = [triples(spoken(text, 3.0 * n)) for n, text in enumerate(FOX)]
    assert [f.words for f in library.get_story(story_id).frames] == heard

    at = at.button(key="merge_0_0").click().run()
    merged = library.get_story(story_id).frames[0]
    assert merged.words == heard[0] + heard[1]

    at = at.button(key="split_1_0").click().run()
    first, second, last = library.get_story(story_id).frames
    assert first.words and second.words and first.words + second.words == merged.words
    assert first.end == second.start == second.words[0][0]

    at.text_area(key="sent_2_2").input("the fox came home!").run()  # same words, new punctuation
    assert library.get_story(story_id).frames[2].words == last.words == heard[2]
    at.text_area(key="sent_2_2").input("The fox ran home.").run()  # no longer what was heard
    frames = library.get_story(story_id).frames
    assert frames[2].text == "The fox ran home." and frames[2].words == ()
    assert [f.words for f in frames[:2]] == [first.words, second.words]


def test_generate_fills_the_storyboard_from_the_picture_service(library, pictures):
    at = start_draft(library, FOX)
    at = settle(at.button(key="c_generate").click().run(), library)
    story = library.get_story(at.session_state["draft"].story_id)
    assert [f.status for f in story.frames] == ["done"] * 3
    assert len(pictures.generation_requests()) == 3
    assert texts(at).count(STATUS_LABELS["done"]) == 3
    assert not [b for b in labels(at) if b.startswith("Draw the missing pictures")]


def test_a_filtered_frame_says_so_and_is_redrawn_from_an_edited_prompt(library, pictures):
    at = start_draft(library, ["The fox met a FILTERME.", FOX[1]])
    at = settle(at.button(key="c_generate").click().run(), library)
    story = library.get_story(at.session_state["draft"].story_id)
    filtered, done = story.frames
    assert (filtered.status, done.status) == ("filtered", "done")
    assert STATUS_LABELS["filtered"] in texts(at) and "Draw the missing pictures (1)" in labels(at)

    at = open_fix(at, filtered)
    at.text_area(key=f"prompt_{filtered.id}_{filtered.attempts}").input("A fox meets an owl.")
    at = settle(at.button(key=f"reprompt_{filtered.id}").click().run(), library)
    redrawn = library.get_story(story.id).frames[0]
    assert (redrawn.status, redrawn.prompt) == ("done", "A fox meets an owl.")
    assert (
        pictures.generation_requests()[-1].body["text_prompts"][0]["text"] == "A fox meets an owl."
    )
    assert library.get_story(story.id).frames[1].attempts == 1  # the other frame was left alone


def test_new_picture_draws_one_frame_again_with_a_new_seed(library, pictures):
    at = start_draft(library, FOX)
    at = settle(at.button(key="c_generate").click().run(), library)
    before = library.get_story(at.session_state["draft"].story_id).frames[1]
    at = settle(open_fix(at, before).button(key=f"reseed_{before.id}").click().run(), library)
    after = library.get_story(before.story_id).frames[1]
    assert (after.status, after.attempts) == ("done", 2) and after.seed != before.seed
    assert len(pictures.generation_requests()) == 4


def test_teacher_generates_the_missing_pictures_of_a_saved_story(library, pictures):
    story_id = seed_story(library, "The fox", FOX, pictures=False)
    at = open_page(STORY, story=str(story_id))
    at = settle(button(at, "Draw the missing pictures (3)").click().run(), library)
    assert {f.status for f in library.get_story(story_id).frames} == {"done"}
    assert not [b for b in labels(at) if b.startswith("Draw the missing pictures")]


def test_a_bad_key_is_reported_once_in_words_a_teacher_can_act_on(env, library):
    with NvidiaStub() as stub:
        env.setenv("NVIDIA_API_KEY", "nvapi-wrong-key")
        env.setenv("S2I_NVIDIA_BASE_URL", stub.base_url)
        env.setenv("S2I_NVCF_STATUS_URL", stub.status_url)
        at = start_draft(library, FOX)
        at = settle(at.button(key="c_generate").click().run(), library)
    story = library.get_story(at.session_state["draft"].story_id)
    assert {f.status for f in story.frames} == {"failed"}
    [notice] = [w.value for w in at.warning]
    assert notice.startswith("3 pictures: ") and "key" in notice.lower()
    assert "nvapi-wrong-key" not in texts(at)
    assert "Draw the missing pictures (3)" in labels(at)


def test_without_a_key_frames_get_a_no_picture_card(env, library):
    at = start_draft(library, FOX)
    at = settle(at.button(key="c_generate").click().run(), library)
    story = library.get_story(at.session_state["draft"].story_id)
    assert {f.status for f in story.frames} == {"no_backend"}
    assert texts(at).count(STATUS_LABELS["no_backend"]) == 3


# --- fixing a saved story ---------------------------------------------------------------------
def open_fix(at: AppTest, frame) -> AppTest:
    """Open the frame's "Fix this frame" box (its fields are drawn only while it is open)."""
    at.session_state[f"fix_open_{frame.id}"] = True
    return at.run()


def fix_fields(at: AppTest, frame) -> tuple:
    at = open_fix(at, frame)
    key = f"{frame.id}_{frame.attempts}"
    return at.text_area(key=f"text_{key}"), at.button(key=f"fix_{frame.id}")


def test_a_frame_stopped_by_the_word_list_is_fixed_from_the_story_page(library, pictures):
    story_id = seed_story(
        library, "The fox", ["The fox saw blood on the snow.", FOX[1]], pictures=False
    )
    at = open_page(STORY, story=str(story_id))
    at = settle(button(at, "Draw the missing pictures (2)").click().run(), library)
    blocked, drawn = library.get_story(story_id).frames
    assert (blocked.status, drawn.status) == ("filtered", "done")
    assert len(pictures.generation_requests()) == 1

    # A new prompt alone cannot help while the sentence holds the word: say so, draw nothing.
    at = open_fix(at, blocked)
    at.text_area(key=f"prompt_{blocked.id}_{blocked.attempts}").input("A fox in the snow.")
    at = at.button(key=f"reprompt_{blocked.id}").click().run()
    assert any("“blood” in the sentence" in e.value for e in at.error)
    assert library.get_story(story_id).frames[0].attempts == blocked.attempts
    assert len(pictures.generation_requests()) == 1

    text, save = fix_fields(at, blocked)
    text.input("The fox saw red berries on the snow.")
    at = save.click().run()
    toasts = [t.value for t in at.toast]
    at = settle(at, library)
    fixed = library.get_story(story_id)
    assert (fixed.frames[0].status, fixed.frames[0].text) == (
        "done",
        "The fox saw red berries on the snow.",
    )
    assert "red berries" in fixed.frames[0].prompt and "blood" not in fixed.frames[0].prompt
    assert "blood" not in fixed.transcript
    assert len(pictures.generation_requests()) == 2
    assert fixed.frames[1].attempts == drawn.attempts  # the other frame was left alone
    assert "The sentence of picture 1 is saved. Its picture is being drawn again." in toasts


def test_a_translated_frame_gets_a_new_english_line_and_picture(library, pictures):
    story_id = seed_story(library, "El zorro", ["El zorro encontró un globo."], language="es")
    at = open_page(STORY, story=str(story_id))
    [frame] = library.get_story(story_id).frames
    text, save = fix_fields(at, frame)
    text.input("El zorro encontró una pelota.")
    at.text_input(key=f"en_{frame.id}_{frame.attempts}").input("The fox found a ball.")
    settle(save.click().run(), library)
    [fixed] = library.get_story(story_id).frames
    assert (fixed.text, fixed.text_en, fixed.status) == (
        "El zorro encontró una pelota.",
        "The fox found a ball.",
        "done",
    )
    assert (
        "The fox found a ball."
        in pictures.generation_requests()[-1].body["text_prompts"][0]["text"]
    )


def test_an_emptied_sentence_on_the_story_page_is_refused(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    frame = library.get_story(story_id).frames[1]
    text, save = fix_fields(at, frame)
    text.input("  ")
    at = save.click().run()
    assert any("cannot be empty" in e.value for e in at.error)
    assert [f.text for f in library.get_story(story_id).frames] == FOX


def test_a_reloaded_draft_returns_to_its_sentence_editor(env, library):
    story_id = seed_story(library, "The fox", FOX, pictures=False, timed=True)
    at = open_page(CREATE, draft=str(story_id))  # a fresh browser session, as after a reload
    assert [t.value for t in at.text_area] == FOX
    at = at.button(key="merge_0_0").click().run()
    assert len(library.get_story(story_id).frames) == 2

    at = open_page(STORY, story=str(story_id))  # the story page leads back to it
    at = button(at, "Check the sentences").click().run()
    assert at.query_params["draft"] == str(story_id)


def test_students_see_pictures_and_sentences_without_the_machinery(classroom, library):
    story_id = seed_story(library, "The fox", FOX)
    library.save_frame_result(
        library.get_story(story_id).frames[1].id, "filtered", error="Stopped by the word list."
    )
    student = texts(open_page(STORY, story=str(story_id)))
    for machinery in ("Done", "Filtered", "Waiting", "0:03", "word list", "of 3 pictures"):
        assert machinery not in student, machinery
    assert "Imagine this picture!" in student and "balloon flew over the river" in student

    assert "In progress" not in texts(open_page(LIBRARY))

    at = unlock(open_page(STORY, story=str(story_id)), PASSCODE, form="sidebar_unlock")
    teacher = texts(at)
    assert STATUS_LABELS["filtered"] in teacher and "Stopped by the word list\\." in teacher
    assert "1 of 3 pictures" in teacher
    library_page = texts(go(at, LIBRARY))
    assert "1 of 3 pictures; 2 without one" in library_page  # nothing runs: not "In progress"
    assert "In progress" not in library_page


def test_student_home_has_no_engine_details_and_a_passcode_form_on_the_page(classroom):
    at = open_page()
    page = texts(at)
    assert "Whisper" not in page and "NVIDIA" not in page and "CPU" not in page
    assert labels(at).count("Open the library") == 1
    at = unlock(at, PASSCODE, form="home_unlock")  # a phone: the sidebar is hidden
    assert "Teacher mode." in texts(at) and "Whisper" in texts(at)


def test_the_class_of_the_last_story_is_filled_in(env, library):
    seed_story(library, "The fox", FOX, class_name="Year 2 Robins")
    at = open_page(CREATE)
    assert at.text_input(key="c_class").value == "Year 2 Robins"
    assert at.text_input(key="c_title").value == ""
    assert at.text_input(key="c_title").placeholder == "The fox and the balloon"  # an example


def test_renaming_says_it_is_saved(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    [title] = [w for w in at.text_input if w.label == "Title"]
    title.input("The brave fox")
    at = button(at, "Save title").click().run()
    assert [t.value for t in at.toast] == ["The new title is saved."]


# --- library -----------------------------------------------------------------------------------
def seed_library(library: Library) -> None:
    for n in range(14):
        seed_story(
            library,
            f"Weather diary {n}",
            [f"Day {n} was rainy and grey."],
            class_name="Owls" if n % 2 else "Robins",
            language="en",
            pictures=n % 3 == 0,
        )
    seed_story(
        library,
        "El zorro y el globo",
        ["El zorro encontró un globo rojo."],
        class_name="Robins",
        language="es",
    )


def open_buttons(at: AppTest) -> int:
    return sum(label == "Open story" for label in labels(at))


def test_library_pages_through_every_story(env, library):
    seed_library(library)
    at = open_page(LIBRARY)
    assert "15 stories · page 1 of 2" in texts(at)
    assert open_buttons(at) == 12
    at = at.get("pagination")[0].set_value(2).run()
    assert open_buttons(at) == 3


def test_library_search_finds_words_in_titles_and_sentences(env, library):
    seed_library(library)
    at = open_page(LIBRARY)
    at = at.text_input(key="lib_query").input("globo").run()
    assert "1 story" in texts(at) and "El zorro y el globo" in texts(at)
    at = at.text_input(key="lib_query").input("rainy day 7").run()
    assert "Weather diary 7" in texts(at) and open_buttons(at) == 1
    at = at.text_input(key="lib_query").input("volcano").run()
    assert "No story matches" in texts(at) and open_buttons(at) == 0


def test_library_filters_by_class_and_language(env, library):
    seed_library(library)
    at = open_page(LIBRARY)
    assert at.selectbox(key="lib_class").options == ["All classes", "Owls", "Robins"]
    at = at.selectbox(key="lib_class").set_value("Owls").run()
    assert "7 stories" in texts(at) and "Robins" not in texts(at)
    at = at.selectbox(key="lib_class").set_value("Robins").run()
    at = at.selectbox(key="lib_language").set_value("es").run()
    assert "1 story" in texts(at) and "El zorro y el globo" in texts(at)


def test_library_opens_the_story_view(env, library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(LIBRARY)
    at = button(at, "Open story").click().run()
    assert at.query_params["story"] == str(story_id)
    assert [t.value for t in at.title] == ["The fox"]


# --- the scene writer, the story bible and the word list ---------------------------------------
@pytest.fixture
def scene_writer(env, pictures):
    """The LLM stand-in (same key as the picture stand-in), with the app pointing at it."""
    story = StubStory(
        characters=[{"name": "Rosa", "look": "a small red fox with a green scarf"}],
        setting="a windy hill",
        scene_template="Rosa the fox, picture {index}: {text}",
    )
    with LLMStub(key=pictures.key, story=story) as llm:
        env.setenv("S2I_LLM", "auto")
        env.setenv("S2I_LLM_BASE_URL", llm.base_url)
        yield llm


def test_the_writers_bible_and_scenes_show_before_pictures_and_every_prompt_uses_them(
    library, pictures, scene_writer
):
    at = start_draft(library, FOX)
    story_id = at.session_state["draft"].story_id
    at = settle(at, library)  # a worker wrote the scenes while the teacher read
    assert "Scenes by the scene writer" in texts(at)
    assert "Picture: Rosa the fox, picture 1" in texts(at).replace("\\", "")
    assert scene_writer.base_url not in texts(at) and "llama" not in texts(at)  # no model names
    assert library.get_story(story_id).bible["characters"][0]["name"] == "Rosa"
    assert pictures.generation_requests() == []  # nothing drawn yet

    at = settle(at.button(key="c_generate").click().run(), library)
    sent = [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]
    assert len(sent) == 3 and len(scene_writer.requests()) == 1
    for n, prompt in enumerate(sorted(sent)):
        assert prompt.startswith(f"Rosa the fox, picture {n}: {FOX[n].rstrip('.')}")
        assert "a small red fox with a green scarf" in prompt and "a windy hill" in prompt


def test_an_edited_sentence_drops_its_old_picture_line_at_once(library, pictures, scene_writer):
    at = settle(start_draft(library, FOX), library)
    assert "Picture: Rosa the fox, picture 1" in texts(at).replace("\\", "")
    at.text_area(key="sent_0_1").input("The balloon flew over the sea.")
    at = at.run()  # the run the edit causes, before any scene is written for it
    assert "Picture: Rosa the fox, picture 1" not in texts(at).replace("\\", "")
    assert "Picture: Rosa the fox, picture 0" in texts(at).replace("\\", "")


def test_pictures_wait_for_the_writer_and_a_sentence_changed_meanwhile_gets_its_own_scene(
    env, library, pictures, scene_writer
):
    """The teacher changes a sentence and presses Generate while a worker's scene writer is
    still reading the story, then closes the tab: no picture is drawn before its scene, and the
    changed sentence gets a scene written for it, not the one written for the old sentence."""
    env.setenv("S2I_LLM_TIMEOUT", "600")  # the held answer must not fall back to the offline path
    scene_writer.hold()
    at = start_draft(library, FOX)
    story_id = at.session_state["draft"].story_id
    wait_for(lambda: scene_writer.held == 1, "the scene writer's request", TIMEOUT)
    assert "The scene writer is reading the story" in texts(at)
    at.text_area(key="sent_0_2").input("The fox flew home.").run()
    at.button(key="c_generate").click().run()
    assert pictures.generation_requests() == []
    del at  # the tab is closed; the workers go on

    scene_writer.release()
    wait_for(lambda: not JobBook(library).active(), "the workers", TIMEOUT)
    story = library.get_story(story_id)
    told = [[s["index"] for s in asked["sentences"]] for asked in scene_writer.user_stories()]
    assert told == [[0, 1, 2], [2]]  # the story, then the sentence changed while it was read
    texts_ = [*FOX[:2], "The fox flew home."]
    assert [f.scene for f in story.frames] == [
        f"Rosa the fox, picture {n}: {text}" for n, text in enumerate(texts_)
    ]
    assert [f.status for f in story.frames] == ["done"] * 3
    sent = [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]
    assert sorted(sent) == sorted(f.prompt for f in story.frames)  # each once, from its scene


def test_the_writers_english_lines_arrive_without_losing_what_the_teacher_is_typing(
    env, library, pictures, scene_writer
):
    scene_writer.story.english_template = "English line {index}: {text}"
    scene_writer.hold()
    at = start_draft(library, ["El zorro encontró un globo.", "El globo voló."], language="es")
    story_id = at.session_state["draft"].story_id
    wait_for(lambda: scene_writer.held == 1, "the scene writer's request", TIMEOUT)
    scene_writer.release()
    wait_for(lambda: not JobBook(library).active(), "the scene writer", TIMEOUT)
    at = at.text_area(key="sent_0_1").input("El globo rojo voló.").run()  # as the lines arrive
    assert [f.text for f in library.get_story(story_id).frames] == [
        "El zorro encontró un globo.",
        "El globo rojo voló.",
    ]
    assert at.text_input(key="sent_en_0_0").value == "English line 0: El zorro encontró un globo."


def test_a_frame_is_redrawn_from_the_scene_the_teacher_wrote(library, pictures):
    at = start_draft(library, FOX)
    at = settle(at.button(key="c_generate").click().run(), library)
    frame = library.get_story(at.session_state["draft"].story_id).frames[1]
    assert frame.scene_source == "offline" and frame.scene == FOX[1]  # no writer: the line
    key = f"{frame.id}_{frame.attempts}"
    at = open_fix(at, frame)
    at.text_area(key=f"scene_{key}").input("A red balloon floats above a blue river")
    at = at.button(key=f"fix_{frame.id}").click().run()
    toasts = [t.value for t in at.toast]  # says what was saved: the scene, not the sentence
    assert toasts == ["The scene of picture 2 is saved. Its picture is being drawn again."]
    at = settle(at, library)
    redrawn = library.get_story(frame.story_id).frames[1]
    assert (redrawn.status, redrawn.scene_source, redrawn.attempts) == ("done", "teacher", 2)
    assert (
        pictures.generation_requests()[-1]
        .body["text_prompts"][0]["text"]
        .startswith("A red balloon floats above a blue river. children's storybook")
    )


def test_the_teacher_edits_the_word_list_and_new_stories_start_with_it(library):
    at = open_page(WORD_LIST)
    at.text_area(key="wl_words").input("dragon, ghost")
    at = at.button(key="wl_save").click().run()
    assert library.classroom_setting("word_list") == ["dragon", "ghost"]
    at.text_input(key="wl_try").input("Two ghosts danced.")
    at = at.run()
    assert "Stopped by: ghost" in texts(at)
    at = go(at, CREATE)
    assert at.text_area(key="c_blocklist").value == "dragon, ghost"


def test_the_word_list_page_adds_words_lets_some_through_and_shows_the_school_list(library):
    at = open_page(WORD_LIST)
    at.text_area(key="wl_words").input("dragon")
    at.text_area(key="wl_allow").input("knife")
    at = at.button(key="wl_save").click().run()
    assert library.classroom_setting("word_list") == ["dragon", "!knife"]
    at.text_input(key="wl_try").input("The cook sharpened his knives for the bloody dragon.")
    at = at.run()
    [warning] = at.warning
    assert "bloody (gore)" in warning.value and "dragon (your list)" in warning.value
    assert "knives" not in warning.value  # let through
    assert "LDNOOBW" in texts(at) and "killer whale" in texts(at)  # the list and its source
    at = go(at, CREATE)
    assert at.text_area(key="c_blocklist").value == "dragon, !knife"


def test_an_edited_sentence_gets_its_scene_written_again_and_is_redrawn(
    library, pictures, scene_writer
):
    at = start_draft(library, FOX)
    at = settle(at.button(key="c_generate").click().run(), library)
    frame = library.get_story(at.session_state["draft"].story_id).frames[2]
    assert frame.scene == "Rosa the fox, picture 2: The fox came home."
    at = open_fix(at, frame)
    at.text_area(key=f"text_{frame.id}_{frame.attempts}").input("The fox flew home.")
    at = settle(at.button(key=f"fix_{frame.id}").click().run(), library)
    assert scene_writer.user_stories()[-1]["sentences"] == [
        {"index": 2, "text": "The fox flew home."}
    ]
    redrawn = library.get_story(frame.story_id).frames[2]
    assert (redrawn.text, redrawn.status, redrawn.attempts) == ("The fox flew home.", "done", 2)
    assert redrawn.scene == "Rosa the fox, picture 2: The fox flew home."
    assert pictures.generation_requests()[-1].body["text_prompts"][0]["text"] == redrawn.prompt


def test_the_teacher_changes_the_setting_on_the_story_page_and_every_prompt_follows(library):
    story_id = seed_story(library, "The fox", FOX)
    at = open_page(STORY, story=str(story_id))
    at.text_input(key="bible_setting_story").input("a snowy mountain at dawn")
    at = at.button(key="bible_save_story").click().run()
    assert not at.exception
    story = library.get_story(story_id)
    assert story.bible["setting"] == "a snowy mountain at dawn"
    assert story.bible["source"] == "teacher"
    assert all("a snowy mountain at dawn" in f.prompt for f in story.frames)


def test_the_teacher_switches_a_frame_back_to_an_earlier_picture(env, library):
    story_id = seed_story(library, "Two tries", FOX)
    frame = library.get_story(story_id).frames[0]
    library.update_frame_text(frame.id, prompt="A fox in deep snow, the second try.")
    second = placeholder_card("the second try", 256, 256, label="Second try")
    library.save_frame_result(frame.id, "done", image=second, thumbnail=thumbnail(second))
    first, latest = library.frame_pictures(frame.id)
    frame = library.get_story(story_id).frames[0]
    assert frame.image_path == latest.image_path

    at = open_fix(open_page(STORY, story=str(story_id)), frame)
    prompt_box = f"prompt_{frame.id}_{frame.attempts}"
    assert at.text_area(key=prompt_box).value == "A fox in deep snow, the second try."
    at = at.button(key=f"use_{frame.id}_{first.id}").click().run()
    assert not at.exception
    shown = library.get_story(story_id).frames[0]
    assert (shown.image_path, shown.picture_id) == (first.image_path, first.id)
    assert at.text_area(key=prompt_box).value == first.prompt == shown.prompt  # try 1's prompt
    assert len(library.frame_pictures(frame.id)) == 2  # nothing was thrown away
