"""Security promises of issue 5 that other test files do not already cover.

- The NVIDIA key is nowhere after a full run (story, regenerate, export; a good key, a wrong key,
  an unreachable service): not in the database, media, PDF, logs at DEBUG, stdout/stderr or error
  messages.
- The teacher passcode is checked in constant time and never kept in session state.
- A student session cannot trigger teacher actions by forging session state or query parameters.
- File names on disk never come from user text, on SQLite and PostgreSQL.
- Oversized uploads are refused from their size alone, without reading them.
"""

from __future__ import annotations

import hmac
import io
import logging
import re
import secrets
import sqlite3
import tomllib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from s2i_core import cli
from s2i_core.audio import decode_audio
from s2i_core.errors import AudioTooLargeError
from s2i_core.jobs import JobBook
from s2i_core.jobs.inline import story_here
from s2i_core.settings import ENV_NAMES, Settings
from s2i_core.storage import FrameDraft, Library
from s2i_core.story.drafts import StoryOptions, frame_drafts
from s2i_core.story.narration import transcribe_narration
from s2i_core.story.sentences import Sentence
from s2i_ui.create.draft import Draft
from s2i_ui.roles import SESSION_KEY
from tests.nvidia_stub import NvidiaStub
from tests.postgres import free_port
from tests.test_bad_input import bytes_read

ROOT = Path(__file__).resolve().parents[1]
STORY_WAV = ROOT / "tests" / "fixtures" / "en_story.wav"
CREATE, STORY = "app_pages/create.py", "app_pages/story.py"
PASSCODE = "otter-river-7"
FOX = ["The fox found a balloon.", "The balloon flew over the river.", "The fox came home."]


def clean_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S2I_DATA_DIR", str(data_dir))
    monkeypatch.setenv("S2I_LLM", "off")  # no scene writer: these tests draw from the stand-in


def point_at(monkeypatch: pytest.MonkeyPatch, stub: NvidiaStub, key: str) -> None:
    monkeypatch.setenv("NVIDIA_API_KEY", key)
    monkeypatch.setenv("S2I_NVIDIA_BASE_URL", stub.base_url)
    monkeypatch.setenv("S2I_NVCF_STATUS_URL", stub.status_url)


def picture(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


# --- the API key -------------------------------------------------------------------------------
def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["-v", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_full_run_leaves_the_key_nowhere(tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    good_key = f"nvapi-{secrets.token_urlsafe(24)}"
    wrong_key = f"nvapi-{secrets.token_urlsafe(24)}"
    data_dir, exports = tmp_path / "data", tmp_path / "exports"
    clean_env(monkeypatch, data_dir)
    monkeypatch.setenv("S2I_WHISPER_MODEL", "tiny.en")  # bundled, small: this test is about keys
    monkeypatch.setenv("S2I_IMAGE_TIMEOUT", "60")  # a hang guard: failures here are immediate
    seen: list[str] = []

    with NvidiaStub(key=good_key, latency=0.05) as stub:
        point_at(monkeypatch, stub, good_key)
        stub.fail_next("401")  # one frame refused, so that "regenerate" has work to do
        code, out = run_cli(capsys, "story", STORY_WAV, "--title", "The fox", "--json")
        assert code == 0, out
        seen.append(out)
        story_id = re.search(r'"id": (\d+)', out).group(1)
        for args in (["regenerate", story_id], ["regenerate", story_id, "--frame", "0"]):
            code, out = run_cli(capsys, *args, "--json")
            assert code == 0, out
            seen.append(out)
        assert '"status": "complete"' in out
        code, out = run_cli(capsys, "export", story_id, "--pdf", exports / "fox.pdf")
        assert code == 0, out
        seen.append(out)

        monkeypatch.setenv("NVIDIA_API_KEY", wrong_key)
        code, out = run_cli(capsys, "story", STORY_WAV, "--title", "Wrong key", "--json")
        assert code == 0 and '"status": "failed"' in out and "key" in out.lower(), out
        seen.append(out)
        wrong_id = re.search(r'"id": (\d+)', out).group(1)
        code, out = run_cli(capsys, "regenerate", wrong_id)
        seen.append(out)
        code, out = run_cli(capsys, "export", wrong_id, "--pdf", exports / "wrong.pdf")
        seen.append(out)

        monkeypatch.setenv("NVIDIA_API_KEY", good_key)
        monkeypatch.setenv("S2I_NVIDIA_BASE_URL", f"http://127.0.0.1:{free_port()}/v1/genai")
        code, out = run_cli(capsys, "regenerate", wrong_id)  # connection refused, every frame
        seen.append(out)
        code, out = run_cli(capsys, "regenerate", "9999")  # an error raised to the top
        assert code == 2 and "9999" in out
        seen.append(out)
        requests = stub.generation_requests()

    # the run was real: both keys were sent to the service, and failures were stored
    assert {r.authorized for r in requests} == {True, False}
    with Library(Settings(data_dir=data_dir)) as library:
        errors = [f.error for s in (story_id, wrong_id) for f in library.get_story(int(s)).frames]
    assert all("could not reach" in e for e in errors if e)  # the last run: connection refused
    assert [r for r in caplog.records if r.levelno == logging.DEBUG]

    seen += errors
    seen += [caplog.text, *(r.getMessage() for r in caplog.records)]
    seen += [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    with sqlite3.connect(data_dir / "s2i.db") as connection:
        seen += list(connection.iterdump())
    pdfs = sorted(exports.glob("*.pdf"))
    assert len(pdfs) == 2
    for pdf in pdfs:
        reader = PdfReader(pdf)
        seen += [page.extract_text() for page in reader.pages] + [str(reader.metadata)]
    files = [p for p in [*data_dir.rglob("*"), *pdfs] if p.is_file()]
    assert any(p.suffix == ".png" for p in files) and any(p.name == "s2i.db" for p in files)
    for key in (good_key, wrong_key):
        secret = key.removeprefix("nvapi-")
        assert not [text for text in seen if secret in text]
        assert not [p for p in files if secret.encode() in p.read_bytes()]


# --- the teacher passcode ----------------------------------------------------------------------
def passcode_script() -> None:
    import streamlit as st

    from s2i_core.settings import Settings
    from s2i_ui import roles

    settings = Settings(
        teacher_passcode=st.session_state["server_passcode"], data_dir=st.session_state["data_dir"]
    )
    typed = st.session_state.pop("typed", None)
    if typed is not None:
        st.session_state["unlocked"] = bool(roles.unlock(settings, typed))
    st.session_state["teacher"] = roles.is_teacher(settings)


def test_the_passcode_is_compared_in_constant_time_and_never_kept(monkeypatch, tmp_path):
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    at = AppTest.from_function(passcode_script)
    at.session_state["server_passcode"] = PASSCODE
    at.session_state["data_dir"] = tmp_path
    for typed, unlocked in (("otter-river-8", False), ("", False), (f" {PASSCODE} ", True)):
        at.session_state["typed"] = typed
        at.run()
        assert not at.exception
        assert (at.session_state["unlocked"], at.session_state["teacher"]) == (unlocked, unlocked)
    assert compared == [
        (b"otter-river-8", PASSCODE.encode()),
        (b"", PASSCODE.encode()),
        (PASSCODE.encode(), PASSCODE.encode()),
    ]
    # the session keeps a session id, not the passcode itself
    state = {k: v for k, v in at.session_state.to_dict().items() if k != "server_passcode"}
    assert PASSCODE.encode() not in (tmp_path / "s2i.db").read_bytes()
    assert PASSCODE not in repr(state)
    # a new passcode on the server locks sessions unlocked with the old one
    at.session_state["server_passcode"] = "badger-hill-3"
    at.run()
    assert at.session_state["teacher"] is False


# --- student sessions --------------------------------------------------------------------------
@pytest.fixture
def classroom(tmp_path, monkeypatch):
    """A passcode-protected app whose picture service is the stand-in, and one saved story."""
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("S2I_TEACHER_PASSCODE", PASSCODE)
    with NvidiaStub() as stub, Library(Settings.load()) as library:
        point_at(monkeypatch, stub, stub.key)
        story = library.create_story(
            "The fox", language="en", narration=b"RIFF", narration_ext="wav"
        )
        sentences = [Sentence(i, 3.0 * i, 3.0 * i + 3, t, t) for i, t in enumerate(FOX)]
        frames = library.set_frames(story.id, frame_drafts(sentences, story))
        library.save_frame_result(frames[0].id, "done", image=picture(), thumbnail=picture())
        yield stub, library, library.get_story(story.id)


def snapshot(library: Library, story_id: int) -> tuple:
    story = library.get_story(story_id)
    files = sorted(p.name for p in (library.media_dir / str(story_id)).iterdir())
    return (
        story.title,
        story.status,
        [(f.id, f.text, f.status, f.attempts) for f in story.frames],
        files,
    )


FORGED_UNLOCKS = {  # what a student might hope to slip into the session: no session there
    "true": True,
    "one": "1",
    "a-session-that-never-was": 424242,
    "another-servers-fingerprint": hmac.new(b"s2i-teacher", b"guess", "sha256").hexdigest(),
}


@pytest.mark.parametrize("unlock", FORGED_UNLOCKS.values(), ids=FORGED_UNLOCKS)
def test_a_student_cannot_forge_teacher_actions_on_the_story_page(classroom, unlock):
    stub, library, story = classroom
    before = snapshot(library, story.id)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.switch_page(STORY)
    at.session_state[SESSION_KEY] = unlock
    at.session_state["confirm_delete"] = story.id
    for name, value in {
        "story": str(story.id),
        "teacher": "1",
        "role": "teacher",
        SESSION_KEY: "1",
        "s2i_teacher": "1",
        "confirm_delete": str(story.id),
        "delete_yes": "true",
    }.items():
        at.query_params[name] = value
    at.run()
    at.run()  # a second run, as after any click: nothing deferred happens either

    assert not at.exception
    assert not [e for e in at.expander if e.label in ("Teacher tools", "Redo this picture")]
    assert not [b for b in at.button if b.label.startswith(("Delete", "Generate", "New picture"))]
    assert "Student view" in " ".join(c.value for c in at.caption)
    assert stub.generation_requests() == []
    assert snapshot(library, story.id) == before
    assert JobBook(library).of_story(story.id) == []  # nothing was queued either


def test_a_student_cannot_forge_a_draft_on_the_create_page(classroom):
    stub, library, story = classroom
    before = snapshot(library, story.id)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.switch_page(CREATE)
    at.session_state["draft"] = Draft(
        story.id, [Sentence(0, 0.0, 9.0, "Hacked.", "Hacked.")], "en", generated=True
    )
    at.session_state["sent_0_0"] = "Hacked."
    at.run()
    at.run()

    assert not at.exception
    assert any("Only a teacher can create stories" in i.value for i in at.info)
    assert not at.text_area and not [b for b in at.button if "Generate" in b.label]
    assert stub.generation_requests() == []
    assert snapshot(library, story.id) == before


# --- file names --------------------------------------------------------------------------------
HOSTILE_TEXT = [
    "../../../etc/passwd",
    "/absolute/path",
    "a/b\\c",
    "nul\x00byte",
    "..",
    "~root",
    "x" * 10_000,
    "ذهب الولد — שלום",
    "🎉 party 👩🏽‍🏫",
    "<img src=x onerror=alert(1)>",
    "CON.txt",
]
MEDIA_NAME = re.compile(r"media/\d+/(narration\.wav|frame-\d+-\d+(-thumb)?\.(png|jpg))")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    if request.param == "sqlite":
        return ""
    from tests.storage.test_storage import drop_all_tables

    url = request.getfixturevalue("postgres_url")
    drop_all_tables(url)
    return url


def test_file_names_never_come_from_user_text(tmp_path, database_url):
    data_dir = tmp_path / "data"
    with Library(Settings(data_dir=data_dir, database_url=database_url)) as library:
        for text in HOSTILE_TEXT:
            story = library.create_story(
                text, class_name=text, characters=text, narration=b"RIFF", narration_ext="wav"
            )
            drafts = [FrameDraft(0, 0, 2, text, text, prompt=text), FrameDraft(1, 2, 4, text)]
            for frame in library.set_frames(story.id, drafts):
                library.save_frame_result(frame.id, "done", image=picture(), thumbnail=picture())
            saved = library.get_story(story.id)
            # PostgreSQL cannot store NUL: it is dropped on every database alike
            assert saved.title == saved.frames[0].text == text.replace("\x00", "")
        assert len(library.list_stories(query="nul\x00byte")) == 1
        assert library.count_stories(query="../") == 1

    stored = [p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file()]
    media = [p for p in stored if not p.startswith("s2i.db")]
    assert len(media) == len(HOSTILE_TEXT) * 5  # narration, and a picture and thumb per frame
    assert [p for p in media if not MEDIA_NAME.fullmatch(p)] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing outside the data dir


# --- upload size -------------------------------------------------------------------------------
def test_an_oversized_upload_is_refused_without_reading_it(tmp_path, monkeypatch, capsys):
    huge = tmp_path / "story.wav"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB that cost no disk
    settings = Settings(data_dir=tmp_path / "data")
    clean_env(monkeypatch, tmp_path / "data")
    options = StoryOptions("Huge")
    with Library(settings) as library:
        refusals = [
            lambda: decode_audio(huge, settings),
            lambda: transcribe_narration(huge, settings),  # without an engine: Whisper not loaded
            lambda: next(story_here(library, settings, None, huge, options)),
            lambda: cli.main(["story", str(huge), "--title", "Huge"]),
        ]
        for refuse in refusals:
            before = bytes_read()
            try:
                assert refuse() == 2  # the CLI: exit status 2, bad input
            except AudioTooLargeError as error:
                assert "2048.0 MB; the limit is 50 MB" in str(error)
            assert bytes_read() - before < 1 << 20
        assert "error: This file is 2048.0 MB" in capsys.readouterr().err
        assert library.count_stories() == 0  # nothing was saved


def test_the_web_server_refuses_uploads_larger_than_the_audio_limit():
    """Streamlit reads an upload whole before the page sees it, so its own limit must be near
    ours (its default is 200 MB)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = config["server"]["maxUploadSize"]
    assert Settings().max_audio_mb <= limit_mb <= Settings().max_audio_mb * 1.5
