"""Two teachers on one draft, in two Chromium contexts (two browsers) against one app server, on
SQLite and on the test PostgreSQL server: one's save never undoes the other's, and a save over the
same sentence shows the other teacher's words and the three choices. Screenshots go to
test-artifacts/e2e/two-teachers-*."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library
from tests.e2e.app_server import app_server
from tests.e2e.test_browser import eventually, idle
from tests.storage.test_storage import drop_all_tables

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STEP_MS = 60_000
SENTENCES = [
    "The fox found a balloon.",
    "The balloon flew over the river.",
    "The fox came home.",
    "Everyone had soup.",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory, artifacts) -> Iterator[tuple[str, Library, str]]:
    data_dir = tmp_path_factory.mktemp("two-teachers")
    database_url = ""
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        drop_all_tables(database_url)
    library = Library(Settings(data_dir=data_dir, database_url=database_url))
    env = {"S2I_DATA_DIR": str(data_dir), "S2I_DATABASE_URL": database_url}
    log = artifacts / f"two-teachers-{request.param}-streamlit.log"
    with app_server(env, log) as url:
        yield url, library, request.param
    library.close()


def seed_draft(library: Library) -> int:
    story = library.create_story("The fox", language="en", duration=12.0, style="storybook")
    drafts = [FrameDraft(i, 3.0 * i, 3.0 * i + 3, t, t, prompt=t) for i, t in enumerate(SENTENCES)]
    library.set_frames(story.id, drafts)
    return story.id


def teacher(browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    idle(page)
    return page


def type_sentence(page: Page, n: int, text: str) -> None:
    field = page.get_by_label(f"Sentence {n}", exact=True)
    field.fill(text)
    field.press("Control+Enter")  # sent to the app, as leaving the field does
    idle(page)


def texts(library: Library, story_id: int) -> list[str]:
    return [f.text for f in library.get_story(story_id).frames]


def test_two_teachers_on_one_draft_lose_nothing_and_choose_over_the_same_sentence(
    browser, app, artifacts
):
    url, library, database = app
    story_id = seed_draft(library)
    a = teacher(browser, f"{url}/create?draft={story_id}")
    b = teacher(browser, f"{url}/create?draft={story_id}")
    expect(b.get_by_label("Sentence 2", exact=True)).to_have_value(SENTENCES[1])

    type_sentence(a, 1, "The little fox found a red balloon.")
    type_sentence(b, 3, "The fox came home at night.")  # B's page still shows A's as it was
    eventually(
        lambda: texts(library, story_id)
        == ["The little fox found a red balloon.", SENTENCES[1], "The fox came home at night.",
            SENTENCES[3]],
        30, "both teachers' sentences",
    )  # fmt: skip
    expect(b.get_by_label("Sentence 1", exact=True)).to_have_value(
        "The little fox found a red balloon."
    )  # B's page shows A's sentence since its save

    type_sentence(a, 2, "The balloon flew over the wide river.")
    type_sentence(b, 2, "The red balloon flew over the river.")
    conflict = (
        b.get_by_test_id("stVerticalBlock")
        .filter(has_text="Another teacher changed sentence 2 meanwhile")
        .last
    )
    expect(
        conflict.get_by_text("“The balloon flew over the wide river.”", exact=True)
    ).to_be_visible()
    expect(
        conflict.get_by_text("“The red balloon flew over the river.”", exact=True)
    ).to_be_visible()
    b.screenshot(path=artifacts / f"two-teachers-conflict-{database}.png")
    assert texts(library, story_id)[1] == "The balloon flew over the wide river."  # not B's

    b.get_by_role("button", name="Merge the two…").click()
    idle(b)
    merged = b.get_by_label("Both in one (change it as you like, then save)")
    expect(merged).to_have_value("The red balloon flew over the wide river.")
    b.get_by_role("button", name="Save the merged text").click()
    idle(b)
    eventually(
        lambda: texts(library, story_id)[1] == "The red balloon flew over the wide river.",
        30, "the merged sentence",
    )  # fmt: skip
    expect(b.get_by_label("Sentence 2", exact=True)).to_have_value(
        "The red balloon flew over the wide river."
    )
    assert texts(library, story_id)[0] == "The little fox found a red balloon."
    assert texts(library, story_id)[2] == "The fox came home at night."
    a.context.close()
    b.context.close()
