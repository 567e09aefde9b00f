"""A library written by an older version of the app is upgraded in place when opened, and keeps
every story. Each test runs on SQLite in a temporary folder and on the test PostgreSQL server
(``postgres_url``, tests/postgres.py), whose tables are dropped first."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import JSON, DateTime, Engine, bindparam, create_engine, event, inspect, text

from s2i_core.settings import Settings
from s2i_core.storage import MIGRATIONS_DIR, FrameDraft, Library

MADE_AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
SDXL = "stabilityai/stable-diffusion-xl"
OLD_FRAMES = [
    (0, 0.0, 2.5, "Der Fuchs fand einen Ballon.", "The fox found a balloon.", "done"),
    (1, 2.5, 5.0, "Der Ballon flog über den Fluss.", "The balloon flew over the river.", "failed"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    database_url = ""  # SQLite in the data folder
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    (tmp_path / "data").mkdir()
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.db_url)
    return config


def head() -> str:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def revision(library: Library) -> str | None:
    with library.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def save_story_at_0001(settings: Settings) -> int:
    """What the first release wrote: a German story with two frames, as plain SQL."""
    command.upgrade(alembic_config(settings), "0001")
    engine = create_engine(settings.db_url)
    made_at = bindparam("made_at", MADE_AT, type_=DateTime(timezone=True))
    with engine.begin() as connection:
        story_id = connection.execute(
            text(
                "INSERT INTO stories (title, class_name, language, duration, transcript, style, "
                "characters, image_model, image_params, seed, status, narration_path, "
                "created_at, updated_at) VALUES ('Der Fuchs', '3B', 'de', 5.0, 'Der Fuchs…', "
                "'storybook', '', 'stabilityai/stable-diffusion-xl', '{\"steps\": 5}', 7, "
                "'incomplete', 'media/1/narration.webm', :made_at, :made_at) RETURNING id"
            ).bindparams(made_at)
        ).scalar_one()
        for index, start, end, text_, text_en, status in OLD_FRAMES:
            connection.execute(
                text(
                    'INSERT INTO frames (story_id, "index", start, "end", text, text_en, prompt, '
                    "status, error, image_path, thumb_path, seed, attempts, created_at, "
                    "updated_at) VALUES (:story_id, :index, :start, :end, :text, :text_en, "
                    ":text_en, :status, '', NULL, NULL, 7, 1, :made_at, :made_at)"
                ).bindparams(made_at),
                dict(
                    story_id=story_id,
                    index=index,
                    start=start,
                    end=end,
                    text=text_,
                    text_en=text_en,
                    status=status,
                ),
            )
    engine.dispose()
    return story_id


def test_opening_an_old_library_upgrades_it_and_keeps_its_stories(settings: Settings):
    story_id = save_story_at_0001(settings)
    with Library(settings) as library:
        assert revision(library) == head() != "0001"
        story = library.get_story(story_id)
        assert (story.title, story.class_name, story.language, story.status) == (
            "Der Fuchs",
            "3B",
            "de",
            "incomplete",
        )
        assert story.created_at == MADE_AT
        # the picture settings, a versioned record since 0015 (the model was a column of its own)
        assert story.image_params == {"version": 1, "model": SDXL, "steps": 5}
        assert story.word_list is None  # the classroom's default list
        assert story.language_probability is None  # not known: no "not sure" notice for it
        assert [(f.index, f.start, f.end, f.text, f.text_en, f.status) for f in story.frames] == [
            (index, start, end, text_, text_en, status)
            for index, start, end, text_, text_en, status in OLD_FRAMES
        ]
        assert [f.words for f in story.frames] == [(), ()]  # highlighted sentence by sentence

        words = ((5.0, 5.4, " Dann"), (5.4, 5.9, " flog"), (5.9, 6.6, " er."))
        added = library.add_frame(story_id, FrameDraft(2, 5.0, 6.6, "Dann flog er.", words=words))
        assert added.words == words
        dropped = library.update_frame_text(story.frames[1].id, text="Er flog.", words=())
        assert dropped.words == () and dropped.text == "Er flog."

    with Library(settings) as reopened:
        assert [f.words for f in reopened.get_story(story_id).frames] == [(), (), words]


def test_opening_a_library_at_head_again_changes_nothing(settings: Settings):
    with Library(settings) as library:
        story = library.create_story("The fox", class_name="2A")
        library.set_frames(story.id, [FrameDraft(0, 0.0, 1.0, "Hi.", words=((0.0, 1.0, " Hi."),))])

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with Library(settings) as again:
            assert revision(again) == head()
            assert again.get_story(story.id).frames[0].words == ((0.0, 1.0, " Hi."),)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    writes = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    assert statements and not [s for s in statements if s.lstrip().upper().startswith(writes)]


def test_going_back_to_0001_and_forward_again_keeps_the_frames(settings: Settings):
    story_id = save_story_at_0001(settings)
    with Library(settings):
        pass
    command.downgrade(alembic_config(settings), "0001")
    engine = create_engine(settings.db_url)
    assert "words" not in {c["name"] for c in inspect(engine).get_columns("frames")}
    engine.dispose()
    with Library(settings) as library:
        frames = library.get_story(story_id).frames
        assert [(f.text, f.words) for f in frames] == [(f[3], ()) for f in OLD_FRAMES]


def test_a_story_killed_in_transcription_by_an_older_version_reads_as_interrupted(
    settings: Settings,
):
    """Older versions wrote the transcript last, and `regenerate` then called such a story
    complete with a third of its frames: after the upgrade it is interrupted, to be finished."""
    story_id = save_story_at_0001(settings)
    engine = create_engine(settings.db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE stories SET transcript = '', status = 'complete'"))
    engine.dispose()
    with Library(settings) as library:
        story = library.get_story(story_id)
        assert story.status == "interrupted" and story.sentences_missing
        assert [s.status for s in library.list_stories()] == ["interrupted"]


def test_pictures_drawn_before_0008_become_each_frames_first_picture(settings: Settings):
    story_id = save_story_at_0001(settings)
    command.upgrade(alembic_config(settings), "0007")
    engine = create_engine(settings.db_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE frames SET image_path = 'media/1/frame-1.png', "
                "thumb_path = 'media/1/frame-1-thumb.jpg', seed = 99, attempts = 3 "
                "WHERE status = 'done'"
            )
        )
    engine.dispose()
    with Library(settings) as library:
        done, failed = library.get_story(story_id).frames
        [first] = library.frame_pictures(done.id)
        assert (first.attempt, first.seed, first.image_path) == (3, 99, "media/1/frame-1.png")
        assert (first.model, first.prompt) == ("stabilityai/stable-diffusion-xl", done.prompt)
        assert done.picture_id == first.id and done.image_path == first.image_path
        assert library.frame_pictures(failed.id) == [] and failed.picture_id is None


def test_picture_settings_saved_before_0015_become_one_record_and_a_word_list(settings: Settings):
    """Settings as older versions saved them (a word list mixed in, a size instead of a shape, a
    seed the service refuses, the model only in its column) are brought up to date once, on
    opening; reading them fixes nothing up any more."""
    story_id = save_story_at_0001(settings)
    command.upgrade(alembic_config(settings), "0014")  # the revision before 0015
    old = {"steps": 30, "width": 1024, "height": 1024, "seed": -5, "blocklist": ["wolf"]}
    engine = create_engine(settings.db_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE stories SET image_params = :params").bindparams(
                bindparam("params", old, type_=JSON)
            )
        )
    engine.dispose()
    with Library(settings) as library:
        story = library.get_story(story_id)
    record = dict(story.image_params)
    seed = record.pop("seed")
    assert record == {"version": 1, "model": SDXL, "steps": 30, "aspect_ratio": "1024:1024"}
    assert 0 < seed <= 4_294_967_295 and story.word_list == ("wolf",)

    command.downgrade(alembic_config(settings), "0014")  # and back, for an older app
    engine = create_engine(settings.db_url)
    with engine.connect() as connection:
        params = connection.execute(text("SELECT image_params FROM stories")).scalar_one()
    engine.dispose()
    params = json.loads(params) if isinstance(params, str) else params
    assert params["blocklist"] == ["wolf"] and "version" not in params


def test_stories_saved_before_owners_go_to_the_first_admin_with_their_class(settings: Settings):
    story_id = save_story_at_0001(settings)
    school = settings.with_changes(admins="*@school.example, head@school.example")
    with Library(school) as library:
        story = library.get_story(story_id)
        assert (story.owner, story.shared, story.class_name) == ("head@school.example", False, "3B")
        assert len(story.frames) == len(OLD_FRAMES)


def test_stories_saved_before_0012_are_found_without_accents(settings: Settings):
    story_id = save_story_at_0001(settings)
    before = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision("0012").down_revision
    command.upgrade(alembic_config(settings), before)
    engine = create_engine(settings.db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE stories SET title = 'Überraschung', class_name = 'Año 3'"))
    engine.dispose()
    with Library(settings) as library:
        for query in ("uberraschung", "ano 3", "UBER FLUSS", "balloon river"):
            assert [s.id for s in library.list_stories(query=query)] == [story_id], query
        assert library.list_stories(query="fuchs zebra") == []


def test_pictures_drawn_before_0020_keep_the_frames_scene_when_chosen_again(settings: Settings):
    """A picture saved before pictures kept their scene has none (NULL); choosing it again
    brings back its prompt and leaves the frame's scene as it is. Pictures drawn after keep
    theirs, and the library goes back to 0019 for an older app."""
    story_id = save_story_at_0001(settings)
    command.upgrade(alembic_config(settings), "0019")
    engine = create_engine(settings.db_url)
    made_at = bindparam("made_at", MADE_AT, type_=DateTime(timezone=True))
    with engine.begin() as connection:
        frame_id = connection.execute(text("SELECT min(id) FROM frames")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO frame_pictures (frame_id, attempt, seed, prompt, model, image_path, "
                "thumb_path, created_at) VALUES (:frame_id, 1, 5, 'an old prompt', 'm', "
                "'media/1/frame-1-1.png', NULL, :made_at)"
            ).bindparams(made_at),
            {"frame_id": frame_id},
        )
        connection.execute(
            text("UPDATE frames SET scene = 'A fox and a balloon.', scene_source = 'llm'")
        )
    engine.dispose()
    with Library(settings) as library:
        assert revision(library) == head()
        [old] = library.frame_pictures(frame_id)
        assert (old.prompt, old.scene, old.scene_source) == ("an old prompt", None, None)
        shown = library.show_picture(frame_id, old.id)
        assert (shown.prompt, shown.scene, shown.scene_source) == (
            "an old prompt",
            "A fox and a balloon.",
            "llm",
        )
        library.update_frame_text(frame_id, scene="A fox in the sky.", scene_source="teacher")
        library.save_frame_result(frame_id, "done", image=png())
        new = library.frame_pictures(frame_id)[-1]
        assert (new.scene, new.scene_source) == ("A fox in the sky.", "teacher")
        assert library.get_story(story_id).frames[0].picture_id == new.id

    command.downgrade(alembic_config(settings), "0019")  # and back, for an older app
    engine = create_engine(settings.db_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM frame_pictures")).scalar_one()
        columns = {c["name"] for c in inspect(connection).get_columns("frame_pictures")}
    engine.dispose()
    assert count == 2 and "scene" not in columns
