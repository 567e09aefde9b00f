"""`python -m s2i_core` as other tools use it: real processes, JSON on stdout, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import av
import pytest
from pypdf import PdfReader

from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.llm_stub import LLMStub, StubStory
from tests.nvidia_stub import NvidiaStub
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
STATUSES = {"done", "filtered", "failed", "pending", "no_backend"}


def cli_env(data_dir: Path, stub: NvidiaStub | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S2I_", "NVIDIA_"))}
    env["S2I_DATA_DIR"] = str(data_dir)
    env["S2I_LLM"] = "off"  # the scene writer only where a test points it at tests/llm_stub.py
    if stub is not None:
        env |= {
            "NVIDIA_API_KEY": stub.key,
            "S2I_NVIDIA_BASE_URL": stub.base_url,
            "S2I_NVCF_STATUS_URL": stub.status_url,
        }
    return env | extra


def run_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "s2i_core", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def made_story(tmp_path_factory):
    """One storyboard made through the CLI against the local NVIDIA stand-in."""
    data_dir = tmp_path_factory.mktemp("cli-data")
    with NvidiaStub(latency=0.05) as stub:
        env = cli_env(data_dir, stub)
        result = run_cli(
            "story", FIXTURES / "en_story.wav", "--title", "The little fox", "--class", "2B",
            "--style", "crayon", "--characters", "a small orange fox", "--json", env=env,
        )  # fmt: skip
        yield json.loads(result.stdout), env, data_dir, result, stub


def test_transcribe_json_has_the_promised_shape_and_words(tmp_path):
    result = run_cli("transcribe", FIXTURES / "en_story.wav", "--json", env=cli_env(tmp_path))
    out = json.loads(result.stdout)
    assert set(out) == {
        "language", "language_probability", "language_uncertain", "duration", "engine", "model",
        "device", "text", "sentences",
    }  # fmt: skip
    assert out["language"] == "en" and out["device"] in {"cpu", "cuda"}
    assert out["language_uncertain"] is False
    assert "fox" in out["text"].lower() and "river" in out["text"].lower()
    starts = [s["start"] for s in out["sentences"]]
    assert starts == sorted(starts) and out["sentences"][-1]["end"] <= out["duration"] + 0.05
    assert all(s["text_en"] == s["text"] for s in out["sentences"])
    assert [s["index"] for s in out["sentences"]] == list(range(len(out["sentences"])))


def test_transcribe_spanish_keeps_the_caption_and_adds_english(tmp_path):
    result = run_cli("transcribe", FIXTURES / "es_story.wav", "--json", env=cli_env(tmp_path))
    out = json.loads(result.stdout)
    assert out["language"] == "es"
    assert {"perro", "gato", "parque"} <= set(out["text"].lower().replace(",", " ").split())
    english = " ".join(s["text_en"] for s in out["sentences"]).lower()
    assert any(word in english for word in ("cat", "children", "park", "dog"))
    assert english != out["text"].lower()


def test_story_json_lists_every_frame_with_a_picture_on_disk(made_story):
    story, _env, data_dir, _result, _stub = made_story
    assert set(story) >= {"id", "title", "status", "language", "frames"}
    assert story["title"] == "The little fox" and story["status"] == "complete"
    assert story["language"] == "en"
    for frame in story["frames"]:
        assert set(frame) >= {
            "index", "start", "end", "text", "text_en", "prompt", "status", "image", "error",
        }  # fmt: skip
        assert frame["status"] in STATUSES and frame["status"] == "done"
        image = Path(frame["image"])
        assert image.is_file() and image.resolve().is_relative_to(data_dir.resolve())
        assert "crayon" in frame["prompt"] and "orange fox" in frame["prompt"]


def test_list_show_export_and_delete(made_story, tmp_path):
    story, env, _data_dir, _result, _stub = made_story
    listed = json.loads(run_cli("list", "--json", env=env).stdout)
    assert [s["title"] for s in listed] == ["The little fox"]
    shown = json.loads(run_cli("show", story["id"], "--json", env=env).stdout)
    assert shown["frames"] == story["frames"]

    pdf = tmp_path / "fox.pdf"
    run_cli("export", story["id"], "--pdf", pdf, env=env)
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "The little fox" in text and story["frames"][0]["text"].split()[0] in text


def test_delete_removes_the_story_and_its_files(tmp_path, made_story):
    _story, env, _data_dir, _result, _stub = made_story
    env = env | {"S2I_DATA_DIR": str(tmp_path), "NVIDIA_API_KEY": ""}
    story = json.loads(
        run_cli("story", FIXTURES / "en_story.wav", "--title", "Gone", "--json", env=env).stdout
    )
    assert {f["status"] for f in story["frames"]} == {"no_backend"}
    media = tmp_path / "media" / str(story["id"])
    assert media.is_dir()
    run_cli("delete", story["id"], env=env)
    assert not media.exists()
    assert json.loads(run_cli("list", "--json", env=env).stdout) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("transcribe", "no/such/file.wav"), "no audio file"),
        (("transcribe", FIXTURES / "make_fixtures.sh"), "audio"),
        (("show", "999"), "999"),
        (("regenerate", "999"), "999"),
        (("story", FIXTURES / "en_story.wav"), "--title"),
        (("story", FIXTURES / "en_story.wav", "--title", "x", "--style", "oil"), "style"),
        (
            ("story", FIXTURES / "en_story.wav", "--title", "x", "--image-model", "acme/nope"),
            "acme/nope",
        ),
        *[
            (("story", FIXTURES / "en_story.wav", "--title", "x", *options), allowed)
            for options, allowed in [
                (("--aspect", "16:9"), "choose one of 1:1)"),
                (("--steps", "3"), "from 5 to 100"),
                (("--cfg", "1"), "above 1 up to 9"),
                (("--cfg", "12.5"), "above 1 up to 9"),
                (("--sampler", "K_EULER"), "K_DPM_2_ANCESTRAL, K_EULER_ANCESTRAL, DDIM, K_LMS"),
                (("--seed", "4294967296"), "0 to 4294967295"),
                (("--seed", "-1"), "0 to 4294967295"),
                (("--image-model", "stabilityai/sdxl-turbo"), "stable-diffusion-xl"),
                (
                    ("--image-model", "stabilityai/stable-diffusion-3-medium", "--aspect", "21:9"),
                    "1:1, 16:9, 9:16, 5:4, 4:5, 3:2, 2:3",
                ),
                (
                    ("--image-model", "black-forest-labs/flux.1-schnell", "--steps", "8"),
                    "from 1 to 4",
                ),
            ]
        ],
        (("regenerate", "999", "--steps", "3"), "999"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(tmp_path, args, needle):
    result = run_cli(*args, env=cli_env(tmp_path), check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_setting_with_a_typo_is_named_not_traced_back(tmp_path):
    env = cli_env(tmp_path, S2I_IMAGE_RPM="forty")
    result = run_cli("list", env=env, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: The setting S2I_IMAGE_RPM must be a whole number above 0, not 'forty'. "
        "Fix it in the environment or in .streamlit/secrets.toml and start the app again."
    ]


def test_the_key_never_leaves_the_environment(made_story, tmp_path):
    story, env, data_dir, result, _stub = made_story
    key = env["NVIDIA_API_KEY"]
    pdf = tmp_path / "k.pdf"
    export = run_cli("export", story["id"], "--pdf", pdf, env=env)
    verbose = run_cli("-v", "show", story["id"], "--json", env=env)
    outputs = [result.stdout, result.stderr, export.stderr, verbose.stdout, verbose.stderr]
    assert not any(key in text for text in outputs)
    files = [p for p in data_dir.rglob("*") if p.is_file()] + [pdf]
    assert files and not any(key.encode() in p.read_bytes() for p in files)


def test_a_killed_run_keeps_finished_frames_and_regenerate_completes_it(tmp_path):
    """SIGKILL in the middle of a storyboard: what was finished survives, the rest is redone."""
    with NvidiaStub(hold_after=2) as stub:  # the third picture is held until the kill
        env = cli_env(tmp_path, stub, S2I_IMAGE_CONCURRENCY="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "s2i_core", "story", FIXTURES / "en_story.wav",
             "--title", "Interrupted"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        db = tmp_path / "s2i.db"
        try:
            wait_for(lambda: done_frames(db, proc) >= 2, "two pictures", timeout=240, every=0.05)
            done = done_frames(db, proc)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        stub.stop_holding()
        assert done == 2

        with sqlite3.connect(db) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = con.execute('SELECT status, image_path FROM frames ORDER BY "index"').fetchall()
        finished = [path for status, path in rows if status == "done"]
        assert len(finished) >= done and len(finished) < len(rows)
        for rel in finished:  # every finished frame is whole on disk
            assert (tmp_path / rel).stat().st_size > 0
        assert not list(tmp_path.rglob("*.tmp"))

        listed = json.loads(run_cli("list", "--json", env=env).stdout)
        assert listed[0]["title"] == "Interrupted" and listed[0]["status"] != "complete"
        story_id = listed[0]["id"]
        requests_before = len(stub.generation_requests())
        story = json.loads(run_cli("regenerate", story_id, "--json", env=env).stdout)
        assert story["status"] == "complete"
        redone = len(stub.generation_requests()) - requests_before
        assert redone <= len(rows) - len(finished) + 1  # only what was missing (+1 in flight)


def done_frames(db: Path, proc: subprocess.Popen) -> int:
    """Frames with their picture so far (0 before the tables exist), while ``proc`` runs."""
    assert proc.poll() is None, proc.stderr.read().decode()
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT count(*) FROM frames WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_export_mp4_is_as_long_as_the_narration(made_story, tmp_path):
    story, env, _data_dir, _result, _stub = made_story
    mp4 = tmp_path / "videos" / "fox.mp4"
    result = run_cli("export", story["id"], "--mp4", mp4, env=env)
    with av.open(str(FIXTURES / "en_story.wav")) as narration, av.open(str(mp4)) as video:
        assert abs(video.duration - narration.duration) / 1e6 <= 0.1
        assert {s.codec_context.name for s in video.streams} == {"h264", "aac"}
    assert result.stderr.startswith(f"Wrote {mp4} (")


def test_an_export_never_overwrites_the_library_or_a_file_that_is_not_an_export(
    made_story, tmp_path
):
    story, env, data_dir, _result, _stub = made_story
    media = data_dir / "media" / str(story["id"])
    narration = next(media.glob("narration.*"))
    picture = Path(story["frames"][0]["image"])
    notes = tmp_path / "notes.pdf"
    notes.write_text("Lesson notes for Monday")
    kept = {path: path.read_bytes() for path in (narration, picture, notes)}
    for option, target in [
        ("--pdf", data_dir / "s2i.db"),
        ("--mp4", narration),
        ("--pdf", picture),
        ("--mp4", media / "new.mp4"),  # not there yet, but in the library's folder
        ("--pdf", notes),  # outside, but not a PDF made before
        ("--mp4", notes),
    ]:
        result = run_cli("export", story["id"], option, target, env=env, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "data folder" in lines[0] or "not replaced" in lines[0]
    assert {path: path.read_bytes() for path in kept} == kept
    assert not (media / "new.mp4").exists()
    with sqlite3.connect(data_dir / "s2i.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [s["id"] for s in json.loads(run_cli("list", "--json", env=env).stdout)] == [story["id"]]

    again = tmp_path / "fox.pdf"  # an earlier export of the same kind is replaced, as before
    for _ in range(2):
        assert "Wrote" in run_cli("export", story["id"], "--pdf", again, env=env).stderr
    assert again.read_bytes().startswith(b"%PDF-") and not list(tmp_path.glob(".*.tmp"))


def test_export_mp4_bad_cases_exit_2_with_one_clear_line(made_story, tmp_path):
    story, env, _data_dir, _result, _stub = made_story
    (tmp_path / "a-file").write_text("not a folder")
    own = cli_env(tmp_path / "data")
    with Library(Settings(data_dir=tmp_path / "data")) as library:
        silent = library.create_story("Silent")
        library.set_frames(silent.id, [FrameDraft(0, 0.0, 2.0, "Hello.")])
        empty = library.create_story("Empty", narration=(FIXTURES / "en_story.wav").read_bytes())
    cases = [
        ((story["id"], "--mp4", tmp_path / "a-file" / "fox.mp4"), env, "cannot write"),
        ((silent.id, "--mp4", tmp_path / "silent.mp4"), own, "no narration"),
        ((empty.id, "--mp4", tmp_path / "empty.mp4"), own, "no sentences"),
        ((story["id"],), env, "--mp4"),
        ((story["id"], "--mp4", tmp_path / "x.mp4", "--resolution", "4k"), env, "resolution"),
    ]
    for args, case_env, needle in cases:
        result = run_cli("export", *args, env=case_env, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert needle in lines[0].lower()
    assert not list(tmp_path.glob("*.mp4"))


def test_story_with_the_scene_writer_says_how_long_pictures_waited_for_it(tmp_path):
    """No review step in the CLI: the scene writer's time is added before the first picture,
    and the CLI says how much. Every prompt holds its scene and the named character's look."""
    story = StubStory(
        characters=[{"name": "Lupe", "look": "a little grey wolf with a yellow hat"}],
        setting="a pine forest",
        english_template="English line {index}: {text}",
        scene_template="Lupe the wolf in picture {index}",
    )
    with NvidiaStub() as stub, LLMStub(key=stub.key, story=story, latency=0.5) as llm:
        env = cli_env(tmp_path, stub, S2I_LLM="auto", S2I_LLM_BASE_URL=llm.base_url)
        result = run_cli(
            "story", FIXTURES / "es_story.wav", "--title", "Lupe", "--language", "es", "--json",
            env=env,
        )  # fmt: skip
        prompts = [r.body["text_prompts"][0]["text"] for r in stub.generation_requests()]
    assert re.search(r"Scene writer \(llm\): \d+\.\d s before the first picture", result.stderr)
    out = json.loads(result.stdout)
    assert out["bible"]["characters"] == story.characters and out["bible"]["path"] == "llm"
    assert len(llm.requests()) == 1 and len(prompts) == len(out["frames"]) > 0
    for frame in out["frames"]:
        assert frame["scene"] == f"Lupe the wolf in picture {frame['index']}"
        assert frame["text_en"] == f"English line {frame['index']}: {frame['text']}"
        assert (
            frame["prompt"] in prompts and "a little grey wolf with a yellow hat" in frame["prompt"]
        )


def test_models_lists_each_model_with_its_options_and_defaults(tmp_path):
    listed = json.loads(run_cli("models", "--json", env=cli_env(tmp_path)).stdout)
    models = {model["id"]: model for model in listed["models"]}
    assert listed["default"] == "stabilityai/stable-diffusion-xl"
    assert listed["backend"]["name"] == "none"  # no key, no local model: the cards
    sdxl = models["stabilityai/stable-diffusion-xl"]
    assert sdxl["aspect_ratios"] == ["1:1"] and sdxl["sizes"] == {"1:1": "1024x1024"}
    assert sdxl["steps"] == {"min": 5, "max": 100, "default": 25}
    assert sdxl["cfg"] == {"above": 1.0, "max": 9.0, "default": 5.0}
    assert sdxl["default_sampler"] == "K_DPM_2_ANCESTRAL" and "K_LMS" in sdxl["samplers"]
    assert models["black-forest-labs/flux.1-schnell"]["cfg"] is None
    assert len(models["stabilityai/stable-diffusion-3-medium"]["aspect_ratios"]) == 7
    assert "stabilityai/sdxl-turbo" not in models
    text = run_cli("models", env=cli_env(tmp_path)).stdout
    assert "black-forest-labs/flux.2-klein-4b" in text and "K_DPM_2_ANCESTRAL (default)" in text


def test_a_listed_word_in_the_notes_or_the_teachers_list_stops_pictures_and_says_where(tmp_path):
    """The school's list reads the final prompt (the notes go into every prompt), a teacher's
    words from the Word list page apply to a story made on the command line, and nothing that a
    list stops reaches the picture service."""
    Library(Settings(data_dir=tmp_path)).set_classroom_setting("word_list", ["river"])
    with NvidiaStub() as stub:
        env = cli_env(tmp_path, stub)
        story = json.loads(
            run_cli(
                "story", FIXTURES / "en_story.wav", "--title", "Fox",
                "--characters", "a fox with a bl00dy kn1fe", "--json", env=env,
            ).stdout
        )  # fmt: skip
        assert stub.generation_requests() == []
    frames = story["frames"]
    assert {f["status"] for f in frames} == {"filtered"} and len(frames) >= 2
    assert all("“bl00dy” (listed: bloody)" in f["error"] for f in frames)
    assert all("in the picture prompt" in f["error"] for f in frames)
    assert any("“river” in the sentence" in f["error"] for f in frames)


def test_picture_options_reach_the_service_and_regenerate_keeps_them(tmp_path):
    with NvidiaStub() as stub:
        env = cli_env(tmp_path, stub)
        story = json.loads(
            run_cli(
                "story", FIXTURES / "en_story.wav", "--title", "Wide", "--json",
                "--image-model", "black-forest-labs/flux.1-dev", "--aspect", "16:9",
                "--steps", "12", "--cfg", "3.5", "--seed", "4294967295", env=env,
            ).stdout
        )  # fmt: skip
        first = stub.generation_requests()[0].body
        assert (first["width"], first["height"], first["steps"]) == (1344, 768, 12)
        assert (first["cfg_scale"], first["seed"]) == (3.5, 4294967295)
        stub.reset()
        run_cli("regenerate", story["id"], "--frame", "0", "--steps", "20", env=env)
        [again] = stub.generation_requests()
        assert (again.body["width"], again.body["steps"]) == (1344, 20)
        assert again.body["seed"] != 4294967295  # a redone frame is a new picture
        assert all(r.status == 200 for r in stub.generation_requests())


def test_a_second_regenerate_says_the_story_is_being_finished_elsewhere(tmp_path):
    with Library(Settings(data_dir=tmp_path)) as library:
        story = library.create_story("The fox")
        library.set_frames(story.id, [FrameDraft(0, 0.0, 2.0, "A fox.", "A fox.", prompt="A fox.")])
        library.hold_story(story.id, lease_s=120)  # a first run (this live process) holds it
        before = library.get_story(story.id)
        result = run_cli("regenerate", story.id, env=cli_env(tmp_path), check=False)
        assert result.returncode == 1
        assert f"Story {story.id} is being finished elsewhere" in result.stderr
        assert "Traceback" not in result.stderr
        after = library.get_story(story.id)  # the first run keeps its hold and its frames
        assert (after.status, after.frames) == ("generating", before.frames)
        library.end_work(story.id)
