"""Every script in the PDF and the narrated video: what a class that tells its story in Chinese,
Japanese, Korean, Thai, Arabic, Hebrew, Hindi, Russian, Greek or Spanish gets on paper and on
screen. Chinese, Japanese and Korean need Noto Sans CJK (Debian fonts-noto-cjk, installed by
.ci/run and the README's setup); the other scripts' fonts are bundled.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from icu4py.breakers import CharacterBreaker
from PIL import Image
from pypdf import PdfReader

from s2i_core.exports import export_file_name, export_pdf, export_video, missing_note
from s2i_core.exports import fonts as fonts_module
from s2i_core.exports.captions import Typesetter
from s2i_core.exports.fonts import TOFU, font_set
from s2i_core.exports.pdf import CAPTION_BOTTOM, CAPTION_TOP, GAP, MARGIN, PICTURE
from s2i_core.exports.timeline import Shot
from s2i_core.exports.video_cards import PAPER, page, title_card
from s2i_core.exports.video_frames import Layout
from s2i_core.settings import Settings
from s2i_core.storage import FrameDraft, Library, StoryRecord

ROOT = Path(__file__).resolve().parents[2]
NARRATION = ROOT / "tests" / "fixtures" / "en_story.wav"  # 14.1 s
NOT_A_GLYPH = "\U0010fffd"  # a private-use character no font has: its .notdef box
IROHA = (
    "いろはにほへとちりぬるをわかよたれそつねならむうゐのおくやまけふこえてあさきゆめみしゑひもせす"
)

# language: (title, sentences)
STORIES = {
    "zh": ("天地玄黄的故事", ["天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。", "小猫在花园里追蝴蝶。"]),
    "ja": ("いろはうた", ["いろはにほへと、ちりぬるを。", "猫がガラスのコップを落とした。"]),
    "ko": ("숲속의 토끼", ["옛날 옛적에 작은 토끼가 살았어요.", "토끼는 매일 당근을 먹었어요."]),
    "th": ("กระต่ายกับเต่า", ["กาลครั้งหนึ่งนานมาแล้วมีกระต่ายอยู่ในป่า", "เต่าเดินช้าแต่ไม่เคยหยุด"]),
    "ar": ("الأرنب والسلحفاة", ["ذهب الولد إلى المدرسة.", "قَرَأَ أَحْمَدُ الكِتَابَ مع Tom."]),
    "hi": ("राजा और बगीचा", ["राजा ने एक सुंदर बगीचा देखा।", "क़िस्सा ज़रूर सुनो, क्षत्रिय श्री।"]),
    "he": ("הארנב והצב", ["הילד הלך לבית הספר.", "שָׁלוֹם לְכֻלָּם"]),
    "ru": ("Мальчик и собака", ["Мальчик побежал к реке.", "Ёжик нашёл гриб."]),
    "el": ("Ο μικρός σκύλος", ["Ο μικρός σκύλος κοιμάται.", "Ο ήλιος λάμπει."]),
    "es": ("Canción del jardín", ["El niño cantó en el jardín.", "¿Dónde está la señora Muñoz?"]),
    "vi": ("Chú mèo con", ["Ngày xưa có một chú mèo nhỏ.", "Nó thích uống sữa ấm."]),
}  # fmt: skip


@pytest.fixture
def library(tmp_path: Path):
    with Library(Settings(data_dir=tmp_path / "data")) as lib:
        yield lib


def picture(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), color).save(buffer, "PNG")
    return buffer.getvalue()


def make_story(
    library: Library, language: str, title: str, sentences: list[str], narration: bool = False
) -> StoryRecord:
    story = library.create_story(
        title,
        class_name="3B",
        language=language,
        duration=14.1,
        narration=NARRATION.read_bytes() if narration else None,
        narration_ext="wav",
    )
    drafts = [
        FrameDraft(i, 1.0 + i * 5.0, 6.0 + i * 5.0, text, "The English line.")
        for i, text in enumerate(sentences)
    ]
    for frame, color in zip(library.set_frames(story.id, drafts), ["red", "green"], strict=False):
        library.save_frame_result(frame.id, "done", image=picture(color))
    return library.get_story(story.id)


def pdftotext(pdf: Path, *options: str) -> str:
    done = subprocess.run(["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- the PDF -----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", list(STORIES))
def test_the_pdf_text_holds_every_character_of_the_title_and_sentences(
    library: Library, tmp_path: Path, language: str
):
    title, sentences = STORIES[language]
    story = make_story(library, language, title, sentences)
    assert missing_note(story) is None  # nothing to warn the teacher about
    pdf = tmp_path / "story.pdf"
    export_pdf(story, library, pdf)
    text = pdftotext(pdf)
    typed = set("".join([title, *sentences])) - {" "}
    assert sorted(typed - set(text)) == []
    assert TOFU not in text
    assert PdfReader(pdf).metadata.title == title


def test_one_line_may_mix_scripts_each_in_its_own_font(library: Library, tmp_path: Path):
    sentence = "小明和Tom去了กรุงเทพ，見た 한국 Москва."
    story = make_story(library, "zh", "Mixed 混合", [sentence])
    pdf = tmp_path / "mixed.pdf"
    export_pdf(story, library, pdf)
    assert sorted(set(sentence) - {" "} - set(pdftotext(pdf))) == []
    embedded = set()
    for font in PdfReader(pdf).pages[1]["/Resources"]["/Font"].values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor  # embedded, as a subset
        embedded.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    assert {"NotoSansCJKSC", "DejaVuSansBook", "NotoLoopedThai"} <= {
        name.replace("-", "").replace("Regular", "") for name in embedded
    }, embedded
    assert pdf.stat().st_size < 400_000  # subsets: a few glyphs of a 19 MB font, not all of it


def test_a_long_sentence_without_spaces_wraps_inside_its_caption(library: Library, tmp_path):
    """Japanese has no spaces: the caption still breaks into lines inside the picture's column
    (the text layer's word boxes, in points), at places the Unicode rules allow."""
    sentence = IROHA + "。" + IROHA + "。"
    story = make_story(library, "ja", "いろは", [sentence, "กาลครั้งหนึ่ง" * 8])
    pdf = tmp_path / "long.pdf"
    export_pdf(story, library, pdf)
    layer = pdftotext(pdf, "-f", "2", "-l", "2", "-bbox")
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"', layer)
    points = 72 / 25.4
    columns = [
        (MARGIN + c * (PICTURE + GAP), MARGIN + c * (PICTURE + GAP) + PICTURE) for c in (0, 1)
    ]
    captions = [
        (x_min, y_min, x_max)
        for x_min, y_min, x_max in boxes
        if CAPTION_TOP * points - 1 <= float(y_min) <= CAPTION_BOTTOM * points
    ]
    assert len({round(float(y)) for _x, y, _x2 in captions}) >= 6  # several lines each
    for x_min, y_min, x_max in captions:
        assert any(
            left * points - 1 <= float(x_min) and float(x_max) <= right * points + 1
            for left, right in columns
        ), (x_min, x_max, y_min)
    assert sorted(set(sentence) - set(pdftotext(pdf))) == []  # ...and nothing was cut


def test_a_character_no_font_has_is_told_and_printed_as_a_box(library: Library, tmp_path: Path):
    sentence = "The owl 🦉 read 𓀀 hieroglyphs."
    story = make_story(library, "en", "Owls", [sentence])
    note = missing_note(story)
    assert note is not None and "🦉 𓀀" in note and "empty boxes" in note
    pdf = tmp_path / "owl.pdf"
    export_pdf(story, library, pdf)
    assert f"The owl {TOFU} read {TOFU} hieroglyphs." in pdftotext(pdf)


def test_without_the_cjk_font_the_teacher_is_told_which_package_to_install(
    library: Library, monkeypatch: pytest.MonkeyPatch
):
    story = make_story(library, "zh", *STORIES["zh"])
    monkeypatch.setattr(fonts_module, "SYSTEM_FONT_DIRS", ())
    fonts_module._system_file.cache_clear()
    try:
        note = missing_note(story)
    finally:
        fonts_module._system_file.cache_clear()
    assert note is not None and "天" in note and "fonts-noto-cjk" in note


# --- the video ---------------------------------------------------------------------------------
def ink_columns(image: np.ndarray, background=PAPER, tolerance: int = 40) -> np.ndarray:
    """The x of every column with something drawn on it (not the paper colour)."""
    drawn = np.abs(image.astype(int) - np.array(background)).max(axis=2) > tolerance
    return np.flatnonzero(drawn.any(axis=0))


def notdef_twin(story: StoryRecord) -> StoryRecord:
    """The same story with every character of its title and sentences a missing glyph."""

    def boxes(text: str) -> str:
        return re.sub(r"\S", NOT_A_GLYPH, text)

    frames = tuple(dataclasses.replace(f, text=boxes(f.text)) for f in story.frames)
    return dataclasses.replace(story, title=boxes(story.title), frames=frames)


@pytest.mark.parametrize("language", list(STORIES))
def test_video_captions_and_title_cards_are_glyphs_inside_their_place(library, language):
    """Every character the video draws is a real glyph of the font it is set in (not the font's
    .notdef box), and the caption and the title card stay inside their part of the frame."""
    title, sentences = STORIES[language]
    story = make_story(library, language, title, sentences)
    typesetter = Typesetter(font_set(language))
    notdef = {}
    for text in (title, *sentences):
        for run in typesetter.runs(typesetter.fonts.printable(text), "", 40):
            if run.strong:
                missing = notdef.setdefault(run.font, bytes(run.font.getmask(NOT_A_GLYPH)))
                assert bytes(run.font.getmask(run.text)) != missing, run.text
                assert TOFU not in run.text

    layout = Layout(1280, 720, font_set(language))
    still = np.asarray(page(story, Shot(1.0, 6.0, story.frames[0]), layout))
    drawn = ink_columns(still[:, layout.panel[0] - layout.margin :])
    assert drawn.size and drawn.max() + layout.panel[0] - layout.margin <= layout.panel[1]
    card = np.asarray(title_card(story, layout))
    drawn = ink_columns(card)
    assert drawn.size and drawn.min() >= 0.1 * 1280 and drawn.max() <= 0.9 * 1280


def test_a_long_japanese_caption_wraps_inside_the_video_frame(library: Library, tmp_path: Path):
    """The MP4 itself: the title card, then a caption of 96 characters without a space; both
    are made of glyphs (closer to their own render than to one with every character a missing
    glyph's box) and stay
    inside the frame."""
    story = make_story(library, "ja", "いろはうた", [IROHA + "。" + IROHA + "。"], narration=True)
    out = tmp_path / "iroha.mp4"
    summary = export_video(story, library, out)
    assert summary.missing == ""
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    layout = Layout(1280, 720, font_set("ja"))
    twin = notdef_twin(story)
    shown = {"title": frames[12], "caption": frames[25 * 3]}  # 0.5 s, 3 s into the narration
    renders = {
        "title": (title_card(story, layout), title_card(twin, layout)),
        "caption": (
            page(story, Shot(1.0, 6.0, story.frames[0]), layout),
            page(twin, Shot(1.0, 6.0, twin.frames[0]), layout),
        ),
    }
    for name, frame in shown.items():
        region = slice(layout.panel[0], 1280) if name == "caption" else slice(0, 1280)
        real, boxes = (np.asarray(r, dtype=float)[:, region] for r in renders[name])
        seen = frame[:, region].astype(float)
        differs = np.abs(real - boxes).max(axis=2) > 60  # where glyphs and boxes disagree
        assert differs.sum() > 1000, name
        assert np.abs(seen - real)[differs].mean() * 3 < np.abs(seen - boxes)[differs].mean(), name
        right_margin = frame[:, 1280 - layout.margin + 2 :]
        assert ink_columns(right_margin).size == 0, name  # nothing runs off the right edge
    assert ink_columns(frames[25 * 3][:, layout.panel[0] :]).size > 200  # several lines of ink


# --- download names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Canción del jardín", "Canción del jardín.pdf"),
        ("天地玄黄的故事", "天地玄黄的故事.pdf"),
        ("الأرنب والسلحفاة", "الأرنب والسلحفاة.pdf"),
        ("Tom & Jerry: 1/2?", "Tom & Jerry- 1-2.pdf"),  # Windows' forbidden characters
        ("../../etc/passwd", "etc-passwd.pdf"),
        ("evil\u202egpj.exe", "evilgpj.exe.pdf"),  # no right-to-left override to hide the suffix
        ("  The fox\nand the hen.  ", "The fox and the hen.pdf"),
        ("CON", "CON-story.pdf"),
        ("", "story.pdf"),
        ("...", "story.pdf"),
    ],
)
def test_downloads_are_named_from_the_title(title: str, name: str):
    assert export_file_name(title, ".pdf") == name


def test_a_long_title_is_cut_between_characters_not_inside_one():
    title = "क़िस्सा " * 40
    name = export_file_name(title, ".mp4")
    assert len(name.encode()) <= 160 and name.endswith(".mp4")
    kept = list(CharacterBreaker(name.removesuffix(".mp4"), "hi"))
    assert kept == list(CharacterBreaker(title, "hi"))[: len(kept)]  # whole letters with marks


def test_the_cli_names_an_export_in_a_folder_from_the_title(library: Library, tmp_path: Path):
    story = make_story(library, "es", *STORIES["es"])
    env = {"S2I_DATA_DIR": str(library.data_dir), "PATH": "/usr/bin:/bin"}
    env |= {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}  # where packages may live
    done = subprocess.run(
        [sys.executable, "-m", "s2i_core", "export", str(story.id), "--pdf", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "Canción del jardín.pdf").read_bytes().startswith(b"%PDF-")
