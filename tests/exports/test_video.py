"""Narrated video export: what a parent sees and hears when the MP4 plays.

Frames are read back by decoding the file with PyAV, and compared by region: the picture square
on the left, the caption panel on the right.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
import uharfbuzz as hb
from PIL import Image

from s2i_core.errors import ExportPathError, NarrationMissingError, NothingToExportError
from s2i_core.exports import VideoOptions, captions, export_video
from s2i_core.exports.captions import Typesetter
from s2i_core.exports.fonts import font_set
from s2i_core.exports.timeline import story_shots
from s2i_core.exports.video_cards import CARD, PAPER
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library

FIXTURES = Path(__file__).parents[1] / "fixtures"
NARRATION = FIXTURES / "en_story.wav"  # 14.1 s
RED, BLUE = (200, 30, 30), (30, 60, 200)
FPS = VideoOptions().fps


@pytest.fixture
def library(tmp_path: Path):
    with Library(Settings(data_dir=tmp_path / "data")) as lib:
        yield lib


def striped(color: tuple[int, int, int], size: int = 512) -> bytes:
    """A picture of one colour with darker stripes, so a pan or zoom changes what is seen."""
    image = Image.new("RGB", (size, size), color)
    pixels = np.asarray(image).copy()
    pixels[:, (np.arange(size) // 24) % 2 == 0] //= 2
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def make_story(library: Library, narration: Path | None = NARRATION, frames: bool = True):
    story = library.create_story(
        "राजा और बगीचा",
        class_name="4B",
        language="hi",
        duration=14.1,
        narration=narration.read_bytes() if narration else None,
        narration_ext=narration.suffix.lstrip(".") if narration else "webm",
    )
    if frames:
        drafts = [
            FrameDraft(0, 1.0, 3.8, "राजा ने एक सुंदर बगीचा देखा।", "The king saw a garden."),
            FrameDraft(1, 4.0, 7.5, "ذهب الولد إلى المدرسة مع Tom.", "The boy went to school."),
            FrameDraft(2, 8.0, 12.0, "The little fox looked up at the birds.", ""),
        ]
        made = library.set_frames(story.id, drafts)
        library.save_frame_result(made[0].id, "done", image=striped(RED))
        library.save_frame_result(made[1].id, "failed", error="The service was busy.")
        library.save_frame_result(made[2].id, "done", image=striped(BLUE))
    return library.get_story(story.id)


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def box(frame: np.ndarray) -> np.ndarray:
    """The middle of the picture square."""
    return frame[200:520, 200:520].reshape(-1, 3).astype(float)


def panel(frame: np.ndarray) -> np.ndarray:
    return frame[:, 720:].astype(float)


def near(color: np.ndarray, expected: tuple[int, int, int], tolerance: float = 40) -> bool:
    return bool(np.abs(color - np.array(expected)).max() <= tolerance)


def loudness(samples: np.ndarray, rate: int) -> np.ndarray:
    window = rate // 20
    usable = samples[: len(samples) // window * window].reshape(-1, window)
    return np.sqrt((usable.astype(np.float64) ** 2).mean(axis=1))


def mono_16k(path: Path) -> np.ndarray:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().ravel() for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().ravel() for f in resampler.resample(None)]
    return np.concatenate(chunks)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """One export, read back by every test that only looks at it."""
    folder = tmp_path_factory.mktemp("video")
    with Library(Settings(data_dir=folder / "data")) as library:
        story = make_story(library)
        out = folder / "story.mp4"
        summary = export_video(story, library, out)
        yield story, out, summary, decoded_frames(out)


def test_the_video_is_h264_and_aac_as_long_as_the_narration(exported):
    _story, out, summary, frames = exported
    with av.open(str(NARRATION)) as narration:
        expected = narration.duration / 1e6
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
        assert video.codec_context.pix_fmt == "yuv420p"  # what every browser decodes
        assert audio.codec_context.name == "aac"
        assert abs(container.duration / 1e6 - expected) <= 0.1
        assert abs(float(audio.duration * audio.time_base) - expected) <= 0.1
    assert abs(len(frames) / FPS - expected) <= 0.1
    assert abs(summary.duration - expected) <= 0.1 and summary.bytes == out.stat().st_size


def test_the_soundtrack_is_the_narration(exported):
    _story, out, _summary, _frames = exported
    heard, spoken = loudness(mono_16k(out), 16000), loudness(mono_16k(NARRATION), 16000)
    length = min(len(heard), len(spoken))
    assert abs(len(heard) - len(spoken)) <= 2  # 50 ms windows
    assert np.corrcoef(heard[:length], spoken[:length])[0, 1] > 0.95


def test_each_picture_is_on_screen_for_exactly_its_sentence(exported):
    """Title card before the first sentence; then each frame from its start until the next one
    starts, to the video frame: 1.0 s is frame 25, 4.0 s frame 100, 8.0 s frame 200."""
    _story, _out, _summary, frames = exported
    title, first, card, last = (box(frames[i]).mean(axis=0) for i in (24, 25, 100, 200))
    assert near(title, PAPER, 12)
    assert near(box(frames[99]).mean(axis=0), np.array(RED) * 0.75, 45)
    assert near(first, np.array(RED) * 0.75, 45)
    assert near(card, CARD, 12)  # the failed picture shows the replay's card
    assert near(box(frames[199]).mean(axis=0), CARD, 12)
    assert near(last, np.array(BLUE) * 0.75, 45)
    assert near(box(frames[-1]).mean(axis=0), np.array(BLUE) * 0.75, 45)  # until the end


def test_pictures_pan_and_zoom_gently_while_the_caption_holds_still(exported):
    _story, _out, _summary, frames = exported
    start, end = frames[25], frames[94]  # first and last frames of the first picture
    moved = np.abs(box(start) - box(end)).mean()
    step = np.abs(box(frames[60]) - box(frames[61])).mean()
    assert moved > 10  # the stripes moved across the square
    assert step < moved / 8  # ...a little at a time, not in a jump
    assert np.abs(panel(start) - panel(end)).mean() < 1.0  # the caption does not move


def test_captions_differ_per_sentence(exported):
    _story, _out, _summary, frames = exported
    first, second, third = (panel(frames[i]) for i in (50, 150, 250))
    assert np.abs(first - second).mean() > 1 and np.abs(second - third).mean() > 1


@pytest.mark.parametrize(
    "text",
    ["ذهب الولد إلى المدرسة.", "राजा ने एक सुंदर बगीचा देखा।", "क्षत्रिय श्री"],
)
def test_captions_are_shaped_like_harfbuzz_shapes_them(text):
    """Joined Arabic letters and Devanagari conjuncts are narrower than the same characters set
    one by one; our captions measure exactly what HarfBuzz lays out."""
    typesetter = Typesetter(font_set())
    family = typesetter.fonts.main_face(text)
    face = hb.Face(hb.Blob.from_file_path(str(family.path())))
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(hb.Font(face), buffer, {})
    shaped = sum(p.x_advance for p in buffer.glyph_positions) / face.upem * 40
    one_by_one = sum(captions.font(family, "", 40).getlength(char) for char in text)

    assert typesetter.width(text, "", 40) == pytest.approx(shaped, abs=1.0)
    assert one_by_one > shaped * 1.1


def test_a_latin_name_in_an_arabic_sentence_gets_the_latin_font():
    typesetter = Typesetter(font_set("ar"))
    runs = [run for run in typesetter.runs("ذهب الولد مع Tom إلى المدرسة", "", 40) if run.strong]
    fonts = [Path(run.font.path).name for run in runs]
    assert fonts == ["NotoSansArabic-Regular.ttf", "DejaVuSans.ttf", "NotoSansArabic-Regular.ttf"]
    assert [run.text for run in runs][1] == "Tom"


def test_a_date_in_an_arabic_line_reads_left_to_right_where_it_stands():
    line = "الصف الرابع · 26 November 2026"
    runs = Typesetter(font_set("ar")).runs(line, "", 30)
    shown = "".join(run.text for run in captions.visual_order(runs, True))
    assert shown.startswith("26 November 2026") and shown.endswith("الصف الرابع")


def test_full_hd_on_request(library: Library, tmp_path: Path):
    story = make_story(library, FIXTURES / "hi_story.wav")
    out = tmp_path / "hd.mp4"
    export_video(story, library, out, VideoOptions(resolution="1080p"))
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (1920, 1080)


def test_a_story_without_narration_says_so(library: Library, tmp_path: Path):
    story = make_story(library, narration=None)
    with pytest.raises(NarrationMissingError, match="no narration"):
        export_video(story, library, tmp_path / "x.mp4")
    assert not list(tmp_path.glob("*.mp4"))


def test_a_narration_file_that_went_missing_says_so(library: Library, tmp_path: Path):
    story = make_story(library)
    library.path(story.narration_path).unlink()
    with pytest.raises(NarrationMissingError, match="no narration"):
        export_video(story, library, tmp_path / "x.mp4")


def test_a_story_without_frames_says_so(library: Library, tmp_path: Path):
    story = make_story(library, frames=False)
    with pytest.raises(NothingToExportError, match="no sentences"):
        export_video(story, library, tmp_path / "x.mp4")


def test_an_unwritable_place_is_refused_before_any_work(library: Library, tmp_path: Path):
    story = make_story(library)
    (tmp_path / "a-file").write_text("not a folder")
    for out in (tmp_path / "a-file" / "story.mp4", tmp_path, tmp_path / "missing" / "x.mp4"):
        with pytest.raises(ExportPathError, match="Cannot write"):
            export_video(story, library, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "data"]


def test_sentence_times_are_kept_in_order_and_inside_the_narration(library: Library):
    story = make_story(library, frames=False)
    library.set_frames(
        story.id,
        [FrameDraft(0, 0.0, 2.0, "a"), FrameDraft(1, 5.0, 6.0, "b"), FrameDraft(2, 4.0, 30.0, "c")],
    )
    shots = story_shots(library.get_story(story.id), library, 10.0)
    # no lead-in: no title card; "c" starts before "b" ended, so it waits for it
    assert [(s.start, s.end, s.frame.text) for s in shots] == [
        (0.0, 5.0, "a"),
        (5.0, 10.0, "c"),
    ]


def test_without_a_pause_first_the_title_lies_over_the_first_picture(
    library: Library, tmp_path: Path
):
    """Whisper often starts the first sentence at 0.0 s: no room for a title card of its own, so
    the title covers the bottom of the first picture for three seconds, and the first picture is
    on screen from the start (as in the replay)."""
    story = library.create_story(
        "The fox", class_name="4B", narration=NARRATION.read_bytes(), narration_ext="wav"
    )
    drafts = [FrameDraft(0, 0.2, 5.0, "Once upon a time."), FrameDraft(1, 5.0, 9.0, "The end.")]
    first, _second = library.set_frames(story.id, drafts)
    library.save_frame_result(first.id, "done", image=striped(RED))
    out = tmp_path / "story.mp4"
    export_video(library.get_story(story.id), library, out)
    frames = decoded_frames(out)

    def banner(i: int) -> np.ndarray:
        return frames[i][530:630, 110:610].reshape(-1, 3).astype(float).mean(axis=0)

    assert near(box(frames[0])[:5000].mean(axis=0), np.array(RED) * 0.75, 45)  # above the title
    assert banner(0)[1] > 150 and banner(60)[1] > 150  # paper and ink, where the picture is red
    assert near(banner(90), np.array(RED) * 0.75, 45)  # gone after three seconds
