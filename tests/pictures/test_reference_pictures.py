"""A class's own drawing of its hero, uploaded from a phone, as a character's reference picture."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image, ImageDraw

from s2i_core.errors import ReferencePictureError
from s2i_core.pictures.reference import (
    Crop,
    ReferencePicture,
    compose_sheet,
    data_url,
    prepare_upload,
    reference_from_png,
)

PAPER = (214, 206, 188)  # white paper photographed in a classroom: greyish yellow
RED = (220, 30, 30)
BLUE = (30, 60, 220)


def drawing_photo(size=(600, 400)) -> Image.Image:
    """A photo of paper with a hero drawn on it: a red body, blue head, in the upper left."""
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 120, 180, 300), fill=RED)  # body: tall
    draw.ellipse((100, 40, 180, 120), fill=BLUE)  # head: above the body
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upright_checks(png: bytes) -> Image.Image:
    """The prepared picture: a PNG on white whose head (blue) is above its body (red)."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255)  # paper cleaned to white
    blue = [(x, y) for x, y in _pixels(image) if _near(image.getpixel((x, y)), BLUE)]
    red = [(x, y) for x, y in _pixels(image) if _near(image.getpixel((x, y)), RED)]
    assert blue and red
    assert max(y for _, y in blue) <= min(y for _, y in red) + 2  # the head is on top
    assert image.height > image.width  # the hero stands: cropped to the drawing, upright
    return image


def _pixels(image: Image.Image):
    step = max(1, image.width // 60)
    for y in range(0, image.height, step):
        for x in range(0, image.width, step):
            yield x, y


def _near(colour, target, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_photo_of_a_drawing_becomes_the_hero_on_white_cropped(fmt):
    png = prepare_upload(
        encoded(drawing_photo(), fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    )
    image = upright_checks(png)
    assert image.width < 200  # the empty paper around the hero is gone


def test_a_phone_photo_held_sideways_is_turned_upright_from_its_exif():
    sideways = drawing_photo().rotate(90, expand=True)  # the sensor's view: hero lying down
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    data = encoded(sideways, "JPEG", exif=exif.tobytes(), quality=92)
    upright_checks(prepare_upload(data, "IMG_0042.JPG"))


def test_a_heic_photo_from_an_iphone_is_read():
    pillow_heif.register_heif_opener()  # to write the test's photo; the app registers its own
    sideways = drawing_photo().rotate(-90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 8  # Orientation: turn 90 degrees anticlockwise to view
    data = encoded(sideways, "HEIF", exif=exif.tobytes(), quality=95)
    assert data[4:12] in (b"ftypheic", b"ftypmif1", b"ftypheix")
    upright_checks(prepare_upload(data, "IMG_0043.HEIC"))


def test_a_crop_keeps_only_the_chosen_part():
    photo = drawing_photo()
    ImageDraw.Draw(photo).rectangle((450, 50, 550, 350), fill=(20, 160, 20))  # a second drawing
    png = prepare_upload(encoded(photo, "PNG"), crop=Crop(0, 0, 0.5, 1))
    image = Image.open(io.BytesIO(png))
    greens = [p for p in _pixels(image) if _near(image.getpixel(p), (20, 160, 20))]
    assert not greens
    upright_checks(png)


def test_a_transparent_png_lands_on_white():
    image = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((100, 50, 200, 350), fill=(*RED, 255))
    png = prepare_upload(encoded(image, "PNG"))
    result = Image.open(io.BytesIO(png))
    assert result.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"", "x.png", "empty"),
        (b"%PDF-1.4 not a picture", "homework.pdf", "not a picture"),
    ],
)
def test_what_is_not_a_picture_is_refused_plainly(data, name, says):
    with pytest.raises(ReferencePictureError, match=says):
        prepare_upload(data, name)


def test_blank_paper_is_refused_plainly():
    with pytest.raises(ReferencePictureError, match="blank paper"):
        prepare_upload(encoded(Image.new("RGB", (400, 400), PAPER), "PNG"))


def test_several_characters_share_one_sheet_side_by_side():
    red = reference_from_png("Rosie", encoded(Image.new("RGB", (100, 200), RED), "PNG"))
    blue = reference_from_png("Max", encoded(Image.new("RGB", (200, 100), BLUE), "PNG"))
    sheet = compose_sheet([red, blue], height=200)
    assert isinstance(sheet, ReferencePicture) and sheet.character == "Rosie and Max"
    image = Image.open(io.BytesIO(sheet.png))
    assert _near(image.getpixel((10, 100)), RED)  # Rosie on the left
    assert _near(image.getpixel((image.width - 10, 100)), BLUE)  # Max on the right
    assert data_url(sheet).startswith("data:image/png;base64,iVBORw0KGgo")
