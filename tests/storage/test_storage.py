"""The story library against real databases: every test runs on SQLite in a temporary folder and
on PostgreSQL, a throwaway server (tests/postgres.py) or the one named by S2I_TEST_DATABASE_URL
(its tables are dropped before each test)."""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import pickle
import threading
import time
from datetime import UTC
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import create_engine, inspect, text

from s2i_core.errors import FrameNotFoundError, StorageError, StoryNotFoundError
from s2i_core.settings import Settings
from s2i_core.storage import (
    FRAME_STATUSES,
    MIGRATIONS_DIR,
    Base,
    FrameDraft,
    Library,
    StoryRecord,
    StorySummary,
)


def drop_all_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))  # every table
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    database_url = ""  # SQLite in the data folder
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        drop_all_tables(database_url)
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def library(settings: Settings):
    with Library(settings) as lib:
        yield lib


def picture(color: str = "red", kind: str = "PNG", size: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, kind)
    return buffer.getvalue()


def drafts(*texts: str) -> list[FrameDraft]:
    return [
        FrameDraft(index=i, start=i * 3.0, end=i * 3.0 + 3, text=t, text_en=f"en {t}", prompt=t)
        for i, t in enumerate(texts)
    ]


def leftover_temp_files(library: Library) -> list[Path]:
    return list(library.media_dir.rglob("*.tmp"))


# --- schema and opening ------------------------------------------------------------------------
def test_opening_an_empty_database_creates_the_schema_at_head(library: Library):
    tables = set(inspect(library.engine).get_table_names())
    assert {"stories", "frames", "jobs", "alembic_version"} <= tables
    with library.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert (
            context.get_current_revision()
            == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        )
        # the migration builds exactly what the models describe
        assert compare_metadata(context, Base.metadata) == []
    inspector = inspect(library.engine)
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("frames")}
    assert ("story_id", "index") in unique
    indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("stories")}
    assert {("created_at",), ("class_name",), ("language",)} <= indexed
    foreign_key = inspector.get_foreign_keys("frames")[0]
    assert foreign_key["options"].get("ondelete") == "CASCADE"


def test_opening_again_keeps_the_stories(settings: Settings):
    with Library(settings) as first:
        story = first.create_story("The lion and the mouse", class_name="2A")
    with Library(settings) as second:
        assert second.get_story(story.id).title == "The lion and the mouse"
        assert second.count_stories() == 1


def _open_library(settings: Settings, barrier, results) -> None:
    barrier.wait()
    with Library(settings) as library:
        results.put(library.count_stories())


def test_three_processes_opening_a_new_library_at_once(settings: Settings):
    fork = multiprocessing.get_context("fork")
    barrier, results = fork.Barrier(3), fork.Queue()
    workers = [
        fork.Process(target=_open_library, args=(settings, barrier, results)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert [results.get(timeout=5) for _ in workers] == [0, 0, 0]


# --- stories and frames ------------------------------------------------------------------------
def test_story_and_frames_round_trip(library: Library):
    created = library.create_story(
        "राजा और बगीचा",
        class_name="4B",
        language="hi",
        duration=42.5,
        transcript="राजा ने एक सुंदर बगीचा देखा।",
        style="watercolour",
        characters="a kind old king",
        image_model="stabilityai/stable-diffusion-xl",
        image_params={"steps": 25, "cfg_scale": 5.0, "size": [1024, 1024]},
        seed=3_000_000_000,
        narration=b"\x1a\x45\xdf\xa3 webm bytes",
        narration_ext="webm",
    )
    frames = library.set_frames(created.id, drafts("राजा ने एक सुंदर बगीचा देखा।", "बगीचे में फूल थे।"))

    story = library.get_story(created.id)
    assert isinstance(story, StoryRecord)
    assert story.title == "राजा और बगीचा"
    assert (story.class_name, story.language, story.duration) == ("4B", "hi", 42.5)
    assert story.image_params == {"steps": 25, "cfg_scale": 5.0, "size": [1024, 1024]}
    assert story.seed == 3_000_000_000
    assert story.status == "draft"
    assert story.created_at.tzinfo == UTC
    assert story.narration_path == f"media/{story.id}/narration.webm"
    assert library.path(story.narration_path).read_bytes() == b"\x1a\x45\xdf\xa3 webm bytes"
    assert story.frames == frames
    assert [f.index for f in story.frames] == [0, 1]
    assert story.frames[1].text == "बगीचे में फूल थे।"
    assert story.frames[1].text_en == "en बगीचे में फूल थे।"
    assert (story.frames[1].start, story.frames[1].end) == (3.0, 6.0)
    assert all(f.status == "pending" and f.attempts == 0 for f in story.frames)
    # plain data: safe to cache, pickle and hand to other threads after the library is closed
    assert all(dataclasses.is_dataclass(f) for f in story.frames)
    library.close()
    assert pickle.loads(pickle.dumps(story)) == story


def test_missing_story_and_frame_give_clear_errors(library: Library):
    with pytest.raises(StoryNotFoundError, match="Story 999 is not in the library"):
        library.get_story(999)
    with pytest.raises(StoryNotFoundError):
        library.delete_story(999)
    with pytest.raises(FrameNotFoundError, match="Frame 999"):
        library.save_frame_result(999, "failed", error="x")
    with pytest.raises(FrameNotFoundError):
        library.update_frame_text(999, text="x")


def test_unusual_titles_are_stored_unchanged(library: Library):
    titles = [
        "<script>alert('hi')</script> & <b>bold</b>",
        "Party time 🎉🐘👩🏽‍🏫",
        "ذهب الولد إلى المدرسة — שלום",
        "ä" * 10_000,
        "  spaces  and\nnew line\t",
        "50% of the class_names\\",
    ]
    ids = [library.create_story(title).id for title in titles]
    assert [library.get_story(i).title for i in ids] == titles
    listed = {s.id: s.title for s in library.list_stories(limit=100)}
    assert [listed[i] for i in ids] == titles


def test_update_story_changes_only_known_fields(library: Library):
    story = library.create_story("Draft title")
    updated = library.update_story(
        story.id, title="Final title", class_name="3C", image_params={"steps": 30}
    )
    assert (updated.title, updated.class_name, updated.image_params) == (
        "Final title",
        "3C",
        {"steps": 30},
    )
    assert library.get_story(story.id).title == "Final title"
    with pytest.raises(ValueError, match="narration_path"):
        library.update_story(story.id, narration_path="/etc/passwd")
    with pytest.raises(ValueError, match="status"):
        library.update_story(story.id, status="finished")


def test_set_frames_replaces_frames_and_their_pictures(library: Library):
    story = library.create_story("Replace me")
    old = library.set_frames(story.id, drafts("one", "two", "three"))
    saved = library.save_frame_result(old[0].id, "done", image=picture(), thumbnail=picture())
    old_files = [library.path(saved.image_path), library.path(saved.thumb_path)]
    assert all(path.exists() for path in old_files)

    new = library.set_frames(story.id, drafts("uno", "dos"))
    assert [f.text for f in library.get_story(story.id).frames] == ["uno", "dos"]
    assert {f.id for f in new}.isdisjoint({f.id for f in old})
    assert not any(path.exists() for path in old_files)
    with pytest.raises(ValueError):
        library.set_frames(story.id, [FrameDraft(0, 0, 1, "a"), FrameDraft(0, 1, 2, "b")])


def test_add_frame_and_edit_its_text(library: Library):
    story = library.create_story("Growing")
    library.set_frames(story.id, drafts("first"))
    added = library.add_frame(story.id, FrameDraft(index=1, start=3, end=5, text="second"))
    assert [f.text for f in library.get_story(story.id).frames] == ["first", "second"]
    with pytest.raises(StorageError, match="already has a frame number 1"):
        library.add_frame(story.id, FrameDraft(index=1, start=5, end=6, text="again"))

    edited = library.update_frame_text(added.id, text_en="the second", prompt="a second picture")
    assert (edited.text, edited.text_en, edited.prompt) == (
        "second",
        "the second",
        "a second picture",
    )
    assert library.get_story(story.id).frames[1] == edited


# --- media files -------------------------------------------------------------------------------
def test_saving_a_picture_writes_both_files_atomically(library: Library):
    story = library.create_story("Pictures")
    (frame,) = library.set_frames(story.id, drafts("a red square"))
    image, thumb = picture("red", size=64), picture("red", "JPEG", size=16)

    saved = library.save_frame_result(frame.id, "done", image=image, thumbnail=thumb, seed=7)

    assert saved.image_path == f"media/{story.id}/frame-{frame.id}-1.png"
    assert saved.thumb_path == f"media/{story.id}/frame-{frame.id}-1-thumb.jpg"
    assert library.path(saved.image_path).read_bytes() == image
    assert library.path(saved.thumb_path).read_bytes() == thumb
    assert (saved.status, saved.seed, saved.attempts) == ("done", 7, 1)
    assert leftover_temp_files(library) == []
    assert library.get_story(story.id).frames[0] == saved


def test_a_redo_adds_a_picture_and_keeps_every_earlier_one(library: Library):
    story = library.create_story("Again")
    (frame,) = library.set_frames(story.id, drafts("try twice"))
    library.update_frame_text(frame.id, prompt="a red fox")
    first = library.save_frame_result(frame.id, "done", image=picture("red"), seed=11, model="m1")
    library.update_frame_text(frame.id, prompt="a blue fox")
    second = library.save_frame_result(
        frame.id, "done", image=picture("blue", "JPEG"), seed=22, model="m2"
    )
    assert (second.attempts, second.seed) == (2, 22)
    assert library.path(second.image_path).read_bytes() == picture("blue", "JPEG")
    assert library.path(first.image_path).read_bytes() == picture("red")  # still there
    history = library.frame_pictures(frame.id)
    assert [(p.attempt, p.seed, p.prompt, p.model) for p in history] == [
        (1, 11, "a red fox", "m1"),
        (2, 22, "a blue fox", "m2"),
    ]
    assert second.picture_id == history[1].id


@pytest.mark.parametrize("status", ["failed", "filtered", "no_backend"])
def test_a_redo_that_fails_leaves_the_earlier_picture_shown_with_a_note(library: Library, status):
    story = library.create_story("Flaky service")
    (frame,) = library.set_frames(story.id, drafts("a boat"))
    good = library.save_frame_result(frame.id, "done", image=picture(), seed=5)
    card = picture("grey") if status == "no_backend" else None
    redo = library.save_frame_result(frame.id, status, image=card, error="The service is down.")
    assert (redo.status, redo.image_path, redo.seed, redo.attempts) == (
        "done",
        good.image_path,
        5,
        2,
    )
    assert "picture from before is kept" in redo.error and "The service is down." in redo.error
    assert library.path(redo.image_path).read_bytes() == picture()
    assert len(library.frame_pictures(frame.id)) == 1
    assert library.refresh_story_status(story.id) == "complete"
    assert sorted(p.name for p in (library.media_dir / str(story.id)).iterdir()) == [
        f"frame-{frame.id}-1.png"
    ]  # the card of a redo without a backend is not kept


def test_a_failed_first_attempt_has_no_picture(library: Library):
    story = library.create_story("Down from the start")
    (frame,) = library.set_frames(story.id, drafts("a boat"))
    failed = library.save_frame_result(frame.id, "failed", error="The service is down.")
    assert (failed.status, failed.error, failed.image_path) == (
        "failed",
        "The service is down.",
        None,
    )
    card = library.save_frame_result(frame.id, "no_backend", image=picture("grey"))
    drawn = library.save_frame_result(frame.id, "done", image=picture("red"))
    assert library.frame_pictures(frame.id)[0].image_path == drawn.image_path
    assert not library.path(card.image_path).exists()  # the card gave way to the picture


def test_an_earlier_picture_can_be_shown_again_and_deleting_the_story_removes_all(
    library: Library,
):
    story = library.create_story("Choices")
    (frame,) = library.set_frames(story.id, drafts("a kite"))
    first = library.save_frame_result(frame.id, "done", image=picture("red"), seed=1)
    library.save_frame_result(frame.id, "done", image=picture("blue"), seed=2)
    earlier = library.frame_pictures(frame.id)[0]
    shown = library.show_picture(frame.id, earlier.id)
    assert (shown.image_path, shown.seed, shown.picture_id) == (first.image_path, 1, earlier.id)
    assert library.get_story(story.id).frames[0].image_path == first.image_path
    with pytest.raises(StorageError, match="no picture"):
        library.show_picture(frame.id, 10_000)


def test_an_earlier_picture_shown_again_brings_back_the_prompt_it_was_drawn_from(
    library: Library,
):
    story = library.create_story("Choices")
    (frame,) = library.set_frames(story.id, drafts("a kite"))
    library.save_frame_result(frame.id, "done", image=picture("red"), seed=1)
    library.update_frame_text(frame.id, prompt="A blue kite over the sea.")
    library.save_frame_result(frame.id, "done", image=picture("blue"), seed=2)
    first, second = library.frame_pictures(frame.id)
    assert (first.prompt, second.prompt) == ("a kite", "A blue kite over the sea.")
    assert library.show_picture(frame.id, first.id).prompt == "a kite"
    assert library.show_picture(frame.id, second.id).prompt == "A blue kite over the sea."

    files = list((library.media_dir / str(story.id)).iterdir())
    assert len(files) == 2
    library.delete_story(story.id)
    assert not any(path.exists() for path in files)
    with library.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM frame_pictures").scalar() == 0


def test_an_earlier_picture_shown_again_brings_back_the_scene_it_was_drawn_from(
    library: Library,
):
    """Each try keeps its scene and who wrote it: choosing it again, the scene and prompt boxes,
    the "Picture:" line and the exports all say what that picture shows."""
    story = library.create_story("Choices")
    (frame,) = library.set_frames(story.id, drafts("a kite"))
    library.update_frame_text(
        frame.id, scene="A red kite over a hill.", scene_source="llm", prompt="red kite, hill"
    )
    library.save_frame_result(frame.id, "done", image=picture("red"))
    library.update_frame_text(
        frame.id, scene="A blue kite over the sea.", scene_source="teacher", prompt="blue, sea"
    )
    library.save_frame_result(frame.id, "done", image=picture("blue"))
    first, second = library.frame_pictures(frame.id)
    assert (first.scene, first.scene_source) == ("A red kite over a hill.", "llm")
    assert (second.scene, second.scene_source) == ("A blue kite over the sea.", "teacher")

    shown = library.show_picture(frame.id, first.id)
    assert (shown.scene, shown.scene_source, shown.prompt) == (
        "A red kite over a hill.",
        "llm",
        "red kite, hill",
    )
    assert library.get_story(story.id).frames[0] == shown
    shown = library.show_picture(frame.id, second.id)
    assert (shown.scene, shown.scene_source, shown.prompt) == (
        "A blue kite over the sea.",
        "teacher",
        "blue, sea",
    )


def test_a_drawing_keeps_the_scene_it_sent_not_one_typed_while_it_ran(library: Library):
    story = library.create_story("Busy")
    (frame,) = library.set_frames(story.id, drafts("a kite"))
    library.update_frame_text(frame.id, scene="A kite.", scene_source="teacher")
    library.update_frame_text(frame.id, scene="A kite in the rain.")  # typed while it draws
    library.save_frame_result(
        frame.id, "done", image=picture(), prompt="a kite", scene=("A kite.", "teacher")
    )
    [drawn] = library.frame_pictures(frame.id)
    assert (drawn.scene, drawn.prompt) == ("A kite.", "a kite")
    assert library.get_story(story.id).frames[0].scene == "A kite in the rain."  # not undone


def test_resplitting_sentences_removes_every_picture_of_the_old_frames(library: Library):
    story = library.create_story("Resplit")
    (frame,) = library.set_frames(story.id, drafts("one"))
    library.save_frame_result(frame.id, "done", image=picture("red"))
    library.save_frame_result(frame.id, "done", image=picture("blue"))
    library.set_frames(story.id, drafts("one", "two"))
    assert list((library.media_dir / str(story.id)).iterdir()) == []


def test_bad_frame_results_are_refused(library: Library):
    story = library.create_story("Strict")
    (frame,) = library.set_frames(story.id, drafts("x"))
    with pytest.raises(ValueError, match="not a frame status"):
        library.save_frame_result(frame.id, "finished", image=picture())
    with pytest.raises(ValueError, match="picture"):
        library.save_frame_result(frame.id, "done")
    with pytest.raises(StorageError, match="not a PNG, JPEG or WebP"):
        library.save_frame_result(frame.id, "done", image=b"<html>not a picture</html>")
    with pytest.raises(ValueError, match="extension"):
        library.create_story("bad audio", narration=b"x", narration_ext="../../evil")
    assert library.get_story(story.id).frames[0].attempts == 0
    assert leftover_temp_files(library) == []


def test_delete_story_removes_rows_and_files(library: Library):
    keep = library.create_story("Keep me", narration=b"keep")
    gone = library.create_story("Delete me", narration=b"audio")
    for story in (keep, gone):
        frames = library.set_frames(story.id, drafts("a", "b"))
        library.save_frame_result(frames[0].id, "done", image=picture(), thumbnail=picture())
    gone_folder = library.media_dir / str(gone.id)
    assert gone_folder.is_dir()

    library.delete_story(gone.id)

    assert not gone_folder.exists()
    with pytest.raises(StoryNotFoundError):
        library.get_story(gone.id)
    with library.engine.connect() as connection:
        orphans = connection.execute(
            text("SELECT count(*) FROM frames WHERE story_id = :id"), {"id": gone.id}
        ).scalar()
    assert orphans == 0
    kept = library.get_story(keep.id)
    assert len(kept.frames) == 2
    assert library.path(kept.frames[0].image_path).exists()
    assert library.path(kept.narration_path).read_bytes() == b"keep"
    # ids are never handed out again, so old links and cached pages cannot show another story
    assert library.create_story("Newcomer").id > gone.id


@pytest.mark.parametrize(
    "rel", ["../outside.txt", "media/../../outside.txt", "/etc/passwd", "media/1/../../../x"]
)
def test_paths_outside_the_data_folder_are_refused(library: Library, rel: str):
    with pytest.raises(StorageError, match="outside the data folder"):
        library.path(rel)


def test_paths_inside_the_data_folder_resolve(library: Library):
    assert library.path("media/3/frame-9.png") == library.data_dir / "media" / "3" / "frame-9.png"


# --- listing and search ------------------------------------------------------------------------
@pytest.fixture
def shelf(library: Library) -> dict[str, int]:
    """Six stories in two classes and three languages, created oldest first."""
    specs = [
        ("The Hungry Caterpillar", "1A", "en", "A caterpillar eats apples.", ["It ate an apple."]),
        ("Мальчик и собака", "1A", "ru", "Мальчик гуляет с собакой.", ["Мальчик бежит."]),
        ("राजा और बगीचा", "2B", "hi", "राजा ने एक सुंदर बगीचा देखा।", ["राजा खुश था।"]),
        ("Le petit prince", "2B", "fr", "Il était une fois.", ["Une rose rouge."]),
        ("Robots at school", "2B", "en", "Robots learn to read.", ["A robot reads 50% faster."]),
        ("Untitled", "", "en", "Nothing here.", ["The owl hoots at night."]),
    ]
    ids = {}
    for title, class_name, language, transcript, texts in specs:
        story = library.create_story(
            title, class_name=class_name, language=language, transcript=transcript
        )
        library.set_frames(story.id, drafts(*texts))
        ids[title] = story.id
    return ids


def titles(summaries: list[StorySummary]) -> list[str]:
    return [s.title for s in summaries]


def test_list_is_newest_first_and_pages_without_overlap(library: Library, shelf):
    newest_first = list(reversed(shelf))
    assert titles(library.list_stories()) == newest_first
    pages = [titles(library.list_stories(limit=4, offset=offset)) for offset in (0, 4, 8)]
    assert pages == [newest_first[:4], newest_first[4:], []]
    assert library.count_stories() == 6


def test_filters_by_class_and_language(library: Library, shelf):
    assert titles(library.list_stories(class_name="1A")) == [
        "Мальчик и собака",
        "The Hungry Caterpillar",
    ]
    assert titles(library.list_stories(class_name="2B", language="en")) == ["Robots at school"]
    assert library.count_stories(class_name="2B") == 3
    assert library.class_names() == ["1A", "2B"]
    assert library.languages() == ["en", "fr", "hi", "ru"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("caterpillar", ["The Hungry Caterpillar"]),  # title, any case
        ("APPLES", ["The Hungry Caterpillar"]),  # transcript
        ("owl", ["Untitled"]),  # a frame's caption
        ("en owl", ["Untitled"]),  # every word must match, anywhere in the story
        ("МАЛЬЧИК", ["Мальчик и собака"]),  # case folding beyond ASCII
        ("बगीचा", ["राजा और बगीचा"]),
        ("rose rouge", ["Le petit prince"]),
        ("50%", ["Robots at school"]),  # % and _ are plain characters
        ("_", []),
        ("%", ["Robots at school"]),  # unescaped, it would match every story
        ("caterpillar owl", []),
        ("zebra", []),
    ],
)
def test_search_looks_in_titles_transcripts_and_captions(library, shelf, query, expected):
    assert titles(library.list_stories(query=query)) == expected
    assert library.count_stories(query=query) == len(expected)


# Hindi words with a nukta, typed as one character (क़ U+0958, ज़ U+095B) or as two (+ U+093C)
QISSA_ONE, QISSA_TWO = (
    "\u0958\u093f\u0938\u094d\u0938\u093e",
    "\u0915\u093c\u093f\u0938\u094d\u0938\u093e",
)
ZARUR_ONE, ZARUR_TWO = "\u095b\u0930\u0942\u0930", "\u091c\u093c\u0930\u0942\u0930"


@pytest.fixture
def accents(library: Library) -> None:
    """Stories whose text has accents, vowel points and marks that are letters of their own."""
    specs = [
        ("Canción del jardín", "Año 3", "es", ["El niño cantó una canción."]),
        ("Ηλιος", "", "el", ["Ο ήλιος λάμπει στον ουρανό."]),
        ("किस्सा", "", "hi", [f"{QISSA_TWO} {ZARUR_ONE} सुनो।"]),
        ("カード", "", "ja", ["ガラスのカップ。"]),
        ("한국어", "", "ko", ["한글 이야기"]),
        ("الكتاب", "", "ar", ["قَرَأَ أَحْمَدُ الكِتَابَ."]),
        ("שלום", "", "he", ["שָׁלוֹם לְכֻלָּם"]),
        ("ＦＵＬＬ", "", "en", ["ﬁsh and ｶﾞ"]),
    ]
    for title, class_name, language, texts in specs:
        story = library.create_story(title, class_name=class_name, language=language)
        library.set_frames(story.id, drafts(*texts))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cancion del jardin", ["Canción del jardín"]),  # the title, without its accents
        ("CANCIÓN JARDÍN", ["Canción del jardín"]),
        ("nino canto", ["Canción del jardín"]),  # a sentence
        ("ano 3", ["Canción del jardín"]),  # the class
        ("ηλιος λαμπει", ["Ηλιος"]),  # Greek tonos
        ("ΉΛΙΟΣ", ["Ηλιος"]),
        (QISSA_ONE, ["किस्सा"]),  # the precomposed nukta finds the decomposed one...
        (ZARUR_TWO, ["किस्सा"]),  # ...and the other way round
        ("किस्सा", ["किस्सा"]),  # without it, only the word without it (the title): a nukta
        ("जरूर", []),  # or a matra is part of the word, not an accent
        ("जरुर", []),
        ("ガラス", ["カード"]),
        ("カラス", []),  # a kana voicing mark is a letter of its own, not an accent
        ("한글", ["한국어"]),
        ("하", []),  # a Hangul syllable stays whole: 하 is not half of 한
        ("قرا احمد الكتاب", ["الكتاب"]),  # Arabic vowel points and hamza carriers ignored
        ("שלום", ["שלום"]),  # Hebrew points ignored
        ("full fish ガ", ["ＦＵＬＬ"]),  # full- and half-width forms, ligatures
    ],
)
def test_search_ignores_case_and_accents_in_every_script(library, accents, query, expected):
    assert titles(library.list_stories(query=query)) == expected
    assert library.count_stories(query=query) == len(expected)


def test_search_follows_every_edit(library: Library):
    story = library.create_story("Fête", class_name="Águilas")
    (frame,) = library.set_frames(story.id, drafts("Le gâteau."))
    assert titles(library.list_stories(query="gateau")) == ["Fête"]
    library.update_frame_text(frame.id, text="La forêt.", text_en="The forest.")
    assert library.list_stories(query="gateau") == []
    assert titles(library.list_stories(query="foret")) == ["Fête"]
    library.update_story(story.id, title="Été", class_name="Búhos")
    assert titles(library.list_stories(query="ete buhos")) == ["Été"]
    assert library.list_stories(query="fete") == library.list_stories(query="aguilas") == []


def test_search_combines_with_filters(library: Library, shelf):
    assert titles(library.list_stories(query="robot", class_name="2B")) == ["Robots at school"]
    assert library.list_stories(query="robot", class_name="1A") == []


def test_summary_counts_frames_and_picks_a_cover(library: Library):
    story = library.create_story("Covers")
    frames = library.set_frames(story.id, drafts("a", "b", "c"))
    (summary,) = library.list_stories()
    assert (summary.frame_count, summary.done_count, summary.cover_thumb_path) == (3, 0, None)

    library.save_frame_result(frames[2].id, "done", image=picture(), thumbnail=picture("blue"))
    library.save_frame_result(frames[1].id, "done", image=picture(), thumbnail=picture("green"))
    library.save_frame_result(frames[0].id, "failed", error="The service is down.")
    (summary,) = library.list_stories()
    assert (summary.frame_count, summary.done_count) == (3, 2)
    assert summary.cover_thumb_path == f"media/{story.id}/frame-{frames[1].id}-1-thumb.png"
    assert summary.created_at.tzinfo == UTC


# --- status ------------------------------------------------------------------------------------
def test_story_status_follows_its_frames(library: Library):
    story = library.create_story("Status")
    assert library.refresh_story_status(story.id) == "draft"  # no frames yet
    frames = library.set_frames(story.id, drafts("a", "b"))
    library.save_frame_result(frames[0].id, "done", image=picture())
    assert library.refresh_story_status(story.id) == "incomplete"
    assert [f.id for f in library.pending_frames(story.id)] == [frames[1].id]
    library.save_frame_result(frames[1].id, "filtered", error="Blocked word.")
    assert library.refresh_story_status(story.id) == "incomplete"
    library.save_frame_result(frames[1].id, "done", image=picture())
    assert library.refresh_story_status(story.id) == "complete"
    assert library.get_story(story.id).status == "complete"
    assert library.pending_frames(story.id) == []
    assert set(FRAME_STATUSES) == {"pending", "drawing", "done", "filtered", "failed", "no_backend"}


def test_recover_interrupted_after_a_crash(library: Library):
    halfway = library.create_story("Crashed halfway")
    frames = library.set_frames(halfway.id, drafts("a", "b", "c"))
    library.save_frame_result(frames[0].id, "done", image=picture())
    library.update_story(halfway.id, status="generating")
    finished = library.create_story("Crashed after the last picture")
    (last,) = library.set_frames(finished.id, drafts("only"))
    library.save_frame_result(last.id, "done", image=picture())
    library.update_story(finished.id, status="generating")
    untouched = library.create_story("Never started")
    half_written = library.media_dir / str(halfway.id) / ".frame-2.png.abc123.tmp"
    half_written.write_bytes(b"half a picture")

    assert library.recover_interrupted() == 2

    assert (
        library.get_story(halfway.id).status == "interrupted"
    )  # never "complete", and finished by regenerate
    assert [f.status for f in library.get_story(halfway.id).frames] == [
        "done",
        "pending",
        "pending",
    ]
    assert library.get_story(finished.id).status == "complete"
    assert library.get_story(untouched.id).status == "draft"
    assert leftover_temp_files(library) == []
    assert library.path(library.get_story(halfway.id).frames[0].image_path).exists()


# --- concurrency -------------------------------------------------------------------------------
def test_two_writers_and_eight_readers_never_collide(library: Library):
    """Two teachers generating pictures while a class browses the library."""
    story = library.create_story("Busy", class_name="5A")
    frames = library.set_frames(story.id, drafts(*[f"frame {i}" for i in range(8)]))
    image = picture(size=256)
    errors: list[BaseException] = []
    saves = [0, 0]  # per writer: no shared counter to race on
    reads = [0] * 8
    rounds = 3  # each writer saves every frame this often; readers read until both are done
    writers_done = threading.Event()

    def guarded(work):
        def run():
            try:
                work()
            except BaseException as error:  # collected and asserted below
                errors.append(error)

        return run

    def writer(slot: int):
        for _ in range(rounds):
            for frame in frames:
                library.save_frame_result(frame.id, "done", image=image, thumbnail=image)
                saves[slot] += 1
            library.create_story(f"Another story {slot}-{saves[slot]}", class_name="5A")

    def reader(slot: int):
        while not writers_done.is_set() or reads[slot] == 0:
            assert len(library.get_story(story.id).frames) == 8
            assert library.list_stories(query="busy", class_name="5A", limit=5)
            assert library.count_stories(class_name="5A") >= 1
            reads[slot] += 1

    writers = [threading.Thread(target=guarded(lambda s=s: writer(s))) for s in range(2)]
    readers = [threading.Thread(target=guarded(lambda s=s: reader(s))) for s in range(8)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in readers:
        thread.join()

    assert errors == []
    assert saves == [rounds * len(frames)] * 2 and all(reads)
    assert all(f.attempts >= 1 for f in library.get_story(story.id).frames)
    assert leftover_temp_files(library) == []


def test_recovery_leaves_alone_a_picture_another_app_process_is_writing(library: Library):
    story = library.create_story("Shared media folder")
    folder = library.media_dir / str(story.id)
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / ".frame-1.png.old.tmp", folder / ".frame-2.png.new.tmp"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"being written right now")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    library.recover_interrupted(temp_older_than=240)

    assert not stale.exists() and fresh.read_bytes() == b"being written right now"


def test_students_are_listed_only_stories_they_can_replay(library: Library):
    heard_nothing = library.create_story("Nothing heard yet")
    being_heard = library.create_story("Being heard", sentences_missing=True)
    library.set_frames(being_heard.id, drafts("a fox"))
    checking = library.create_story("Sentences being checked")
    library.set_frames(checking.id, drafts("a fox", "a kite"))
    drawn = library.create_story("Drawn")
    first, _ = library.set_frames(drawn.id, drafts("a fox", "a kite"))
    library.save_frame_result(first.id, "filtered", error="Stopped by the word list.")
    assert library.count_stories() == 4
    assert library.count_stories(watchable=True) == 1
    assert [s.title for s in library.list_stories(watchable=True)] == ["Drawn"]
    assert library.count_stories(query="fox", watchable=True) == 1
    assert heard_nothing.id not in {s.id for s in library.list_stories(watchable=True)}


def test_damaged_files_names_a_cut_picture_and_a_broken_narration_link(library: Library):
    from s2i_core.storage import damaged_files, picture_readable

    story = library.create_story("Broken", narration=b"RIFF not really a wav", narration_ext="wav")
    good, cut = library.set_frames(story.id, drafts("a fox", "a kite"))
    library.save_frame_result(good.id, "done", image=picture("red"))
    cut = library.save_frame_result(cut.id, "done", image=picture("blue"))
    path = library.path(cut.image_path)
    path.write_bytes(path.read_bytes()[:60])  # cut short, as by a full disk
    assert not picture_readable(path)
    story = library.get_story(story.id)
    found = {(d.path, d.frame.id if d.frame else None) for d in damaged_files(story, library)}
    assert found == {(cut.image_path, cut.id), (story.narration_path, None)}

    narration = library.path(story.narration_path)
    narration.unlink()
    narration.symlink_to("/nowhere/narration.wav")  # a link out of the data folder
    assert (story.narration_path, None) in {
        (d.path, d.frame) for d in damaged_files(library.get_story(story.id), library)
    }
