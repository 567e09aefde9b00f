"""Two teachers at once, through the engine: no save reverts or erases the other's, the same words
changed by both are refused with the other's text and a choice, and a picture is drawn from the
words it was asked for. Each test runs on SQLite and on the test PostgreSQL server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from s2i_core.editing import edit_text, merge_with_next, reword_frame, split
from s2i_core.errors import EditConflictError
from s2i_core.jobs import JobBook, pictures_job
from s2i_core.jobs.registry import run_job
from s2i_core.jobs.runtime import runtime_for
from s2i_core.settings import Settings
from s2i_core.storage import Library
from s2i_core.story import revisions
from s2i_core.story.bible import TEACHER, Character, StoryBible
from s2i_core.story.drafts import frame_drafts, sentence_of
from s2i_core.story.revisions import KEEP_MINE, KEEP_THEIRS, MERGE, REMOVED
from s2i_core.story.sentences import Sentence
from tests.jobs.test_jobs import story_settings
from tests.nvidia_stub import NvidiaStub
from tests.storage.test_storage import drop_all_tables

FOX = [
    "The fox found a balloon.",
    "The balloon flew over the river.",
    "The fox came home.",
    "Everyone had soup.",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    url = request.getfixturevalue("postgres_url")
    drop_all_tables(url)
    return url


@pytest.fixture
def library(tmp_path: Path, database_url: str):
    with Library(Settings(data_dir=tmp_path / "data", database_url=database_url)) as library:
        yield library


def draft(library: Library, texts: list[str] = FOX) -> int:
    story = library.create_story("The fox", language="en", style="storybook")
    sentences = [Sentence(i, 3.0 * i, 3.0 * i + 3, t, t) for i, t in enumerate(texts)]
    library.set_frames(story.id, frame_drafts(sentences, library.get_story(story.id)))
    return story.id


class Page:
    """One teacher's Create page: the sentences as read, and what a save is based on."""

    def __init__(self, library: Library, story_id: int):
        self.library, self.story_id = library, story_id
        self.read()

    def read(self) -> None:
        story = self.library.get_story(self.story_id)
        self.base = {f.id: f for f in story.frames}
        self.sentences = [sentence_of(f) for f in story.frames]

    def save(self, sentences: list[Sentence]) -> None:
        story = revisions.save_sentences(self.library, self.story_id, self.base, sentences)
        self.base = {f.id: f for f in story.frames}
        self.sentences = [sentence_of(f) for f in story.frames]

    def edit(self, n: int, text: str) -> None:
        self.save(edit_text(self.sentences, n, text))


def texts(library: Library, story_id: int) -> list[str]:
    return [f.text for f in library.get_story(story_id).frames]


def test_a_save_keeps_what_another_teacher_saved_in_other_sentences(library):
    """The issue's case: B's save reverted A's saved edit, and A's later merge erased B's."""
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.edit(0, "The little fox found a red balloon.")
    b.edit(2, "The fox came home at night.")  # B's page still shows A's sentence as it was
    assert texts(library, story_id) == [
        "The little fox found a red balloon.",
        FOX[1],
        "The fox came home at night.",
        FOX[3],
    ]
    a.save(merge_with_next(a.sentences, 0))  # A's page did not show B's edit
    assert texts(library, story_id) == [
        f"The little fox found a red balloon. {FOX[1]}",
        "The fox came home at night.",
        FOX[3],
    ]
    story = library.get_story(story_id)
    assert story.transcript == " ".join(texts(library, story_id))
    assert [f.index for f in story.frames] == [0, 1, 2]
    assert a.sentences[1].text == "The fox came home at night."  # A now sees B's sentence


def test_the_same_sentence_changed_by_both_is_refused_with_the_other_teachers_text(library):
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.edit(1, "The balloon flew over the wide river.")
    before = library.get_story(story_id)
    with pytest.raises(EditConflictError) as caught:
        b.edit(1, "The balloon drifted over the river.")
    [conflict] = caught.value.conflicts
    assert (conflict.place, conflict.field) == (1, "text")
    assert conflict.their_text() == "The balloon flew over the wide river."
    assert conflict.my_text() == "The balloon drifted over the river."
    assert "The balloon flew over the wide river." in str(caught.value)
    assert library.get_story(story_id).frames == before.frames  # nothing of B's was written


@pytest.mark.parametrize(
    ("choice", "merged", "expected"),
    [
        (KEEP_MINE, None, "The balloon drifted over the river."),
        (KEEP_THEIRS, None, "The balloon flew over the wide river."),
        (
            MERGE,
            "The balloon drifted over the wide river.",
            "The balloon drifted over the wide river.",
        ),
    ],
)
def test_a_conflict_is_settled_by_the_teachers_choice(library, choice, merged, expected):
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.edit(1, "The balloon flew over the wide river.")
    mine = edit_text(b.sentences, 3, "Everyone had hot soup.")  # B's other change waits
    mine = edit_text(mine, 1, "The balloon drifted over the river.")
    with pytest.raises(EditConflictError) as caught:
        b.save(mine)
    assert texts(library, story_id)[3] == FOX[3]  # nothing of that save yet
    [conflict] = caught.value.conflicts
    base, sentences = revisions.resolve(b.base, mine, conflict, choice, merged)
    story = revisions.save_sentences(library, story_id, base, sentences)
    assert [f.text for f in story.frames] == [FOX[0], expected, FOX[2], "Everyone had hot soup."]


def test_merging_words_where_the_two_changed_different_ones():
    base = "The balloon flew over the river."
    mine = "The red balloon flew over the river."
    theirs = "The balloon flew over the wide river."
    assert revisions.merge_text(base, mine, theirs) == "The red balloon flew over the wide river."
    assert (
        revisions.merge_text(
            base, "The kite flew over the river.", "A balloon flew over the river."
        )
        == "A kite flew over the river."
    )
    both = revisions.merge_text(base, "The kite flew over the river.", "The bird flew home.")
    assert "kite" in both and "bird" in both  # the same words: both, for the teacher to finish


def test_a_sentence_merged_away_by_one_and_changed_by_the_other_is_a_conflict(library):
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.save(merge_with_next(a.sentences, 1))  # sentence 3 is now part of sentence 2
    mine = edit_text(b.sentences, 2, "The fox came home for tea.")
    with pytest.raises(EditConflictError) as caught:
        b.save(mine)
    [conflict] = caught.value.conflicts
    assert (conflict.fields, conflict.theirs) == ((REMOVED,), None)
    assert "removed sentence 3" in conflict.describe()

    base, sentences = revisions.resolve(b.base, mine, conflict, KEEP_MINE)  # it comes back
    story = revisions.save_sentences(library, story_id, base, sentences)
    assert [f.text for f in story.frames] == [
        FOX[0], f"{FOX[1]} {FOX[2]}", "The fox came home for tea.", FOX[3],
    ]  # fmt: skip


def test_a_sentence_deleted_by_one_and_changed_by_the_other_is_a_conflict(library):
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.edit(3, "Everyone had soup and bread.")
    mine = b.sentences[:3]  # B deletes the last sentence, as A's page changed it
    with pytest.raises(EditConflictError) as caught:
        b.save(mine)
    [conflict] = caught.value.conflicts
    assert conflict.their_text() == "Everyone had soup and bread." and not conflict.mine
    base, sentences = revisions.resolve(b.base, mine, conflict, KEEP_THEIRS)
    story = revisions.save_sentences(library, story_id, base, sentences)
    assert [f.text for f in story.frames] == [*FOX[:3], "Everyone had soup and bread."]


def test_a_split_and_an_edit_elsewhere_both_hold(library):
    story_id = draft(library)
    a, b = Page(library, story_id), Page(library, story_id)
    a.save(split(edit_text(a.sentences, 1, "The balloon flew up. / It crossed the river."), 1))
    b.edit(3, "Everyone had soup at last.")
    story = library.get_story(story_id)
    assert [f.text for f in story.frames] == [
        FOX[0], "The balloon flew up.", "It crossed the river.", FOX[2],
        "Everyone had soup at last.",
    ]  # fmt: skip
    assert [f.index for f in story.frames] == list(range(5))
    assert story.frames[1].end == story.frames[2].start


def test_saves_at_the_same_moment_never_interleave(library):
    """Two teachers save their own sentence twenty times each, at once, every save based on
    a page that never saw the other's: both end with their last words saved."""
    story_id = draft(library)
    pages = [Page(library, story_id), Page(library, story_id)]
    failures: list[BaseException] = []

    def typing(page: Page, n: int) -> None:
        try:
            for turn in range(20):
                page.edit(n, f"Sentence {n} typed for the {turn}th time.")
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    threads = [
        threading.Thread(target=typing, args=(p, n)) for n, p in zip((0, 2), pages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert texts(library, story_id) == [
        "Sentence 0 typed for the 19th time.", FOX[1],
        "Sentence 2 typed for the 19th time.", FOX[3],
    ]  # fmt: skip


# --- the story page ---------------------------------------------------------------------------
def test_fixing_a_frame_another_teacher_fixed_meanwhile_is_refused(library):
    story_id = draft(library)
    story = library.get_story(story_id)
    shown = story.frames[1]  # both teachers' story pages show this frame
    reword_frame(library, story, shown.id, "The balloon flew over the sea.")
    with pytest.raises(EditConflictError) as caught:
        reword_frame(library, story, shown.id, "The balloon flew over the lake.", based_on=shown)
    [conflict] = caught.value.conflicts
    assert conflict.their_text() == "The balloon flew over the sea."
    assert library.get_story(story_id).frames[1].text == "The balloon flew over the sea."

    theirs = conflict.theirs  # "keep mine": saved again, based on what is there now
    reword_frame(library, story, shown.id, "The balloon flew over the lake.", based_on=theirs)
    fixed = library.get_story(story_id)
    assert fixed.frames[1].text == "The balloon flew over the lake."
    assert "lake" in fixed.frames[1].prompt and "lake" in fixed.transcript


def test_a_prompt_changed_by_another_teacher_keeps_a_sentence_fix(library):
    """Different fields: one teacher's prompt and the other's English line both stay."""
    story_id = draft(library, ["El zorro encontró un globo."])
    story = library.get_story(story_id)
    [shown] = story.frames
    revisions.save_frame(library, story_id, shown, {"prompt": "A fox with a red balloon."})
    saved = revisions.save_frame(library, story_id, shown, {"text_en": "The fox found a balloon!"})
    assert (saved.prompt, saved.text_en) == (
        "A fox with a red balloon.",
        "The fox found a balloon!",
    )


def test_a_title_and_a_bible_changed_by_another_teacher_are_conflicts(library):
    story_id = draft(library)
    shown = library.get_story(story_id)
    revisions.save_story(library, shown, {}, title="The fox and the balloon")
    with pytest.raises(EditConflictError) as caught:
        revisions.save_story(library, shown, {}, title="A fox's balloon")
    assert caught.value.conflicts[0].their_text() == "The fox and the balloon"
    renamed = revisions.save_story(library, shown, {}, title="The fox and the balloon")
    assert renamed.title == "The fox and the balloon"  # the same words: no conflict

    fox = StoryBible((Character("Fox", "a small red fox"),), "a meadow", TEACHER)
    owl = StoryBible((Character("Owl", "a grey owl"),), "a forest", TEACHER)
    revisions.save_bible(library, shown, fox)
    with pytest.raises(EditConflictError) as caught:
        revisions.save_bible(library, shown, owl)
    assert caught.value.conflicts[0].their_text() == "Fox: a small red fox; Setting: a meadow"
    assert "a small red fox" in library.get_story(story_id).frames[0].prompt


# --- a redraw is bound to the words it was asked for -------------------------------------------
def test_a_sentence_changed_while_its_picture_is_drawn_is_drawn_again(tmp_path, database_url):
    """Teacher A redraws a frame; teacher B fixes its sentence while the picture is being drawn.
    A's picture is kept in the history with the prompt it was drawn from, and the frame is drawn
    again from B's sentence: the picture shown is B's, and the history says what each was."""
    with NvidiaStub(hold_after=2) as stub:  # the redraw is held until B has saved
        settings = story_settings(tmp_path, stub, database_url=database_url)
        library = Library(settings)
        story_id = draft(library, FOX[:2])
        runtime, book = runtime_for(settings), JobBook(library)
        assert run_job(runtime, book.create(pictures_job(library.get_story(story_id))).id) == "done"
        shown = library.get_story(story_id).frames[1]

        redraw = book.create(pictures_job(library.get_story(story_id), [shown.id], reseed=True))
        worker = threading.Thread(target=run_job, args=(runtime, redraw.id))
        worker.start()
        stub.wait_until_held(1)  # A's picture is being drawn from the old words
        story = library.get_story(story_id)
        fixed = reword_frame(library, story, shown.id, "The balloon flew over the sea.")
        stub.release_held()
        worker.join(timeout=120)
        assert book.get(redraw.id).state == "done"

        sent = [r.body["text_prompts"][0]["text"] for r in stub.generation_requests()]
        assert sent[2:] == [shown.prompt, fixed.prompt]  # A's words, then B's
        history = library.frame_pictures(shown.id)
        assert [p.prompt for p in history] == [shown.prompt, shown.prompt, fixed.prompt]
        final = library.get_story(story_id).frames[1]
        assert (final.status, final.text, final.picture_id) == (
            "done", "The balloon flew over the sea.", history[-1].id,
        )  # fmt: skip
        assert "sea" in final.prompt


def test_a_frame_drawn_by_another_since_a_drawing_looked_is_not_claimed(library):
    """Two drawings asked for one frame (B's fix during A's redraw): the one that looked before
    the other saved its picture, and claims after, leaves the frame alone (it was drawn twice,
    and the history showed the same words twice)."""
    story_id = draft(library, FOX[:1])
    looked = library.get_story(story_id).frames[0]
    library.save_frame_result(looked.id, "failed", error="busy")  # the other drawing's result
    seen = {looked.id: looked.attempts}
    assert library.claim_frames(story_id, [looked.id], seen=seen) == []
    now = library.get_story(story_id).frames[0]
    claimed = library.claim_frames(story_id, [now.id], seen={now.id: now.attempts})
    assert [f.id for f in claimed] == [looked.id]
