"""A story whose picture file was damaged on disk (a PNG cut short) still exports: that frame
gets its card, every other frame its picture (issue 20: damaged media never stops a story)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image
from pypdf import PdfReader

from s2i_core.exports import VideoOptions, export_pdf, export_video
from s2i_core.exports.video_cards import CARD
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library, StoryRecord

FIXTURES = Path(__file__).parents[1] / "fixtures"
NARRATION = FIXTURES / "en_story.wav"
SENTENCES = ["The fox found a red balloon.", "The balloon flew over the river."]


def picture(color: tuple[int, int, int], size: int = 256) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "PNG")
    return buffer.getvalue()


def story_with_a_cut_picture(tmp_path: Path) -> tuple[Library, StoryRecord]:
    library = Library(Settings(data_dir=tmp_path / "data"))
    story = library.create_story(
        "The fox",
        language="en",
        duration=14.1,
        narration=NARRATION.read_bytes(),
        narration_ext="wav",
    )
    drafts = [FrameDraft(i, 1.0 + 6 * i, 6.0 + 6 * i, t, t) for i, t in enumerate(SENTENCES)]
    first, second = library.set_frames(story.id, drafts)
    cut = library.save_frame_result(first.id, "done", image=picture((200, 30, 30)))
    library.save_frame_result(second.id, "done", image=picture((30, 60, 200)))
    path = library.path(cut.image_path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # cut short on disk
    with Image.open(path) as opened:  # it still opens; only decoding it fails
        assert opened.size == (256, 256)
    return library, library.get_story(story.id)


def test_a_pdf_with_a_cut_picture_gives_that_frame_its_card(tmp_path: Path):
    library, story = story_with_a_cut_picture(tmp_path)
    with library:
        reader = PdfReader(io.BytesIO(export_pdf(story, library)))
    [page] = reader.pages[1:]
    assert len(page.images) == 1  # the other frame's picture; the cut one is a card
    text = " ".join(page.extract_text().split())
    assert all(sentence in text for sentence in SENTENCES)
    assert "The picture file is missing or damaged." in text


def test_a_video_with_a_cut_picture_plays_that_frame_as_its_card(tmp_path: Path):
    library, story = story_with_a_cut_picture(tmp_path)
    out = tmp_path / "fox.mp4"
    with library:
        export_video(story, library, out)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    fps = VideoOptions().fps
    cut, other = (frames[seconds * fps][200:520, 200:520].mean(axis=(0, 1)) for seconds in (3, 9))
    assert np.allclose(cut, CARD, atol=12)  # the replay's card, where the cut picture would be
    assert np.allclose(other, (30, 60, 200), atol=45)  # the other frame's picture plays
