"""Two teachers at once, through the pages: two AppTest sessions (two browsers) on one story, on
SQLite and on the test PostgreSQL server. No save reverts or erases the other teacher's, a save
over the same words is refused with the other teacher's text and three choices, and a fix saved
while the other's redraw runs is done, not dropped, its words drawn."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_ui.widgets import plain
from tests.app import test_app
from tests.app.test_app import CREATE, STORY, open_page, seed_story, settle
from tests.storage.test_storage import drop_all_tables
from tests.waiting import wait_for

env, pictures = test_app.env, test_app.pictures  # the same fixtures
FOX = [
    "The fox found a balloon.",
    "The balloon flew over the river.",
    "The fox came home.",
    "Everyone had soup.",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def library(request: pytest.FixtureRequest, env):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        drop_all_tables(url)
        env.setenv("S2I_DATABASE_URL", url)
    with Library(Settings.load()) as library:
        yield library


def texts(library: Library, story_id: int) -> list[str]:
    return [f.text for f in library.get_story(story_id).frames]


def warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def test_two_teachers_editing_one_draft_keep_each_others_sentences(library):
    story_id = seed_story(library, "The fox", FOX, pictures=False)
    a = open_page(CREATE, draft=str(story_id))
    b = open_page(CREATE, draft=str(story_id))

    a.text_area(key="sent_0_0").input("The little fox found a red balloon.").run()
    b = b.text_area(key="sent_0_2").input("The fox came home at night.").run()
    assert texts(library, story_id) == [
        "The little fox found a red balloon.", FOX[1], "The fox came home at night.", FOX[3],
    ]  # fmt: skip
    assert b.text_area(key="sent_0_0").value == "The little fox found a red balloon."  # shown

    a = a.button(key="merge_0_0").click().run()  # A's page never showed B's sentence
    assert texts(library, story_id) == [
        f"The little fox found a red balloon. {FOX[1]}", "The fox came home at night.", FOX[3],
    ]  # fmt: skip
    assert [t.value for t in a.text_area] == texts(library, story_id)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("keep_mine", "The balloon drifted over the river."),
        ("keep_theirs", "The balloon flew over the wide river."),
    ],
)
def test_the_same_sentence_saved_by_both_asks_the_second_teacher(library, choice, expected):
    story_id = seed_story(library, "The fox", FOX, pictures=False)
    a = open_page(CREATE, draft=str(story_id))
    b = open_page(CREATE, draft=str(story_id))

    a.text_area(key="sent_0_1").input("The balloon flew over the wide river.").run()
    b = b.text_area(key="sent_0_1").input("The balloon drifted over the river.").run()
    assert texts(library, story_id)[1] == "The balloon flew over the wide river."  # not B's
    shown = test_app.texts(b)
    assert "Another teacher changed sentence 2 meanwhile" in shown
    assert plain("The balloon flew over the wide river.") in shown  # the other teacher's words
    assert plain("The balloon drifted over the river.") in shown  # beside this one's
    assert {"Keep mine", "Keep theirs", "Merge the two…"} <= {x.label for x in b.button}

    b = b.button(key=f"{choice}_0_0").click().run()
    assert texts(library, story_id) == [FOX[0], expected, *FOX[2:]]
    assert "Another teacher" not in warnings(b)
    assert [t.value for t in b.text_area] == texts(library, story_id)


def test_a_conflict_is_merged_by_the_second_teacher(library):
    story_id = seed_story(library, "The fox", FOX, pictures=False)
    a = open_page(CREATE, draft=str(story_id))
    b = open_page(CREATE, draft=str(story_id))
    a.text_area(key="sent_0_1").input("The balloon flew over the wide river.").run()
    b = b.text_area(key="sent_0_1").input("The red balloon flew over the river.").run()

    b = b.button(key="merge_0_0").click().run()
    merged = b.text_area(key="merged_0_0")
    assert merged.value == "The red balloon flew over the wide river."  # both, word by word
    merged.input("The red balloon flew over the wide, wide river.")
    b = b.button(key="save_merged_0_0").click().run()
    assert texts(library, story_id)[1] == "The red balloon flew over the wide, wide river."


def test_a_fix_saved_during_the_other_teachers_redraw_is_done_and_drawn(library, pictures):
    """A asks for a new picture of frame 2; while it is drawn (held at the picture service), B,
    whose page was open before, fixes that frame's sentence. B's fix is saved (and said), and
    when A's picture comes back the frame is drawn again from B's words."""
    story_id = seed_story(library, "The fox", FOX[:2], pictures=False)
    a = open_page(STORY, story=str(story_id))
    a = settle(a.button(key="regen_missing").click().run(), library)
    frame = library.get_story(story_id).frames[1]
    a.session_state[f"fix_open_{frame.id}"] = True
    b = open_page(STORY, story=str(story_id))
    b.session_state[f"fix_open_{frame.id}"] = True
    a, b = a.run(), b.run()

    pictures.behaviour.hold_after = len(pictures.generation_requests())
    a.button(key=f"reseed_{frame.id}").click().run()
    pictures.wait_until_held(1)
    key = f"{frame.id}_{frame.attempts}"
    b.text_area(key=f"text_{key}").input("The balloon flew over the sea.")
    b = b.button(key=f"fix_{frame.id}").click().run()
    assert "The sentence of picture 2 is saved. Its picture is being drawn again." in [
        t.value for t in b.toast
    ]
    assert library.get_story(story_id).frames[1].text == "The balloon flew over the sea."

    pictures.release_held()
    settle(b, library)
    sent = [r.body["text_prompts"][0]["text"] for r in pictures.generation_requests()]
    final = library.get_story(story_id).frames[1]
    assert "sea" in final.prompt and sent[-1] == final.prompt  # B's words drawn last
    history = library.frame_pictures(frame.id)
    assert [p.prompt for p in history] == [frame.prompt, frame.prompt, final.prompt]
    assert final.picture_id == history[-1].id


def test_a_fix_over_the_other_teachers_fix_shows_both_and_keeps_theirs(library):
    story_id = seed_story(library, "The fox", FOX[:2])
    frame = library.get_story(story_id).frames[1]
    pages = []
    for _ in range(2):
        at = open_page(STORY, story=str(story_id))
        at.session_state[f"fix_open_{frame.id}"] = True
        pages.append(at.run())
    a, b = pages
    key = f"{frame.id}_{frame.attempts}"
    a.text_area(key=f"text_{key}").input("The balloon flew over the sea.")
    a.button(key=f"fix_{frame.id}").click().run()
    wait_for(lambda: texts(library, story_id)[1] == "The balloon flew over the sea.", "A's fix")

    b.text_area(key=f"text_{key}").input("The balloon flew over the lake.")
    b = b.button(key=f"fix_{frame.id}").click().run()
    assert plain("The balloon flew over the sea.") in test_app.texts(b)  # the other's words
    assert texts(library, story_id)[1] == "The balloon flew over the sea."
    b = b.button(key=f"keep_theirs_frame_{frame.id}").click().run()
    assert texts(library, story_id)[1] == "The balloon flew over the sea."
    assert "Another teacher" not in warnings(b)
