"""Checking pictures from the service, thumbnails, and the card shown when there is no picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from s2i_core.errors import BadImageError
from s2i_core.pictures.images import (
    MAX_IMAGE_BYTES,
    BlankImageError,
    placeholder_card,
    thumbnail,
    to_png,
    verify_image,
)


def encode(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def a_picture(size=(300, 200), mode="RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert(mode)
    return image


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_a_good_picture_reports_format_and_size(image_format):
    assert verify_image(encode(a_picture(), image_format)) == (image_format, 300, 200)


@pytest.mark.parametrize(
    "data",
    [b"", b"<html>502 Bad Gateway</html>", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
    ids=["empty", "html", "png-signature-only"],
)
def test_things_that_are_not_pictures_are_refused(data):
    with pytest.raises(BadImageError, match="Try drawing it again"):
        verify_image(data)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_a_picture_cut_short_is_refused(image_format):
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")  # noise: no tiny compressed file
    data = encode(noisy, image_format)
    with pytest.raises(BadImageError):
        verify_image(data[: len(data) * 2 // 3])


def test_a_picture_wider_than_4096_pixels_is_refused():
    with pytest.raises(BadImageError, match="4097x16"):
        verify_image(encode(Image.new("L", (4097, 16))))
    assert verify_image(encode(Image.new("L", (4096, 16)))) == ("PNG", 4096, 16)


def test_more_than_20_mb_is_refused_before_decoding():
    data = encode(a_picture()) + b"\x00" * MAX_IMAGE_BYTES
    with pytest.raises(BadImageError, match="20 MB"):
        verify_image(data)


def test_blank_pictures_are_refused_only_when_asked():
    black = encode(Image.new("RGB", (64, 64)), "JPEG")
    clear = encode(Image.new("RGBA", (64, 64), (255, 255, 255, 0)))
    for data in (black, clear):
        assert verify_image(data)[1:] == (64, 64)
        with pytest.raises(BlankImageError):
            verify_image(data, reject_blank=True)
    dark_but_drawn = Image.new("RGB", (64, 64))
    dark_but_drawn.putpixel((5, 5), (200, 200, 200))
    assert verify_image(encode(dark_but_drawn), reject_blank=True) == ("PNG", 64, 64)


def test_thumbnail_is_a_small_jpeg_of_the_same_shape():
    big = encode(a_picture((1344, 768), "RGBA"))
    small = opened(thumbnail(big))
    assert small.format == "JPEG"
    assert small.size == (320, 183)
    assert opened(thumbnail(big, max_side=100)).size == (100, 57)


def test_to_png_keeps_the_pixels_size():
    jpeg = encode(a_picture(), "JPEG")
    png = to_png(jpeg)
    assert opened(png).format == "PNG" and opened(png).size == (300, 200)
    assert to_png(png) == png


def test_placeholder_card_is_a_deterministic_png_of_the_requested_size():
    sentence = "The little fox found a shiny key under the old oak tree."
    card = placeholder_card(sentence, width=800, height=600)
    assert opened(card).format == "PNG" and opened(card).size == (800, 600)
    assert placeholder_card(sentence, width=800, height=600) == card
    assert placeholder_card("A different sentence.", width=800, height=600) != card


def test_placeholder_card_shows_its_label_at_the_top():
    marked = opened(placeholder_card("Once upon a time.", label="No picture yet")).convert("RGB")
    other = opened(placeholder_card("Once upon a time.", label="Filtered")).convert("RGB")
    changed = ImageChops.difference(marked, other).getbbox()
    assert changed is not None and changed[3] < 1024 // 4  # only the label band differs


def test_placeholder_card_fits_very_long_text_and_words():
    text = "Supercalifragilisticexpialidocious" * 6 + " and then " * 200
    card = opened(placeholder_card(text, width=512, height=512)).convert("RGB")
    assert card.size == (512, 512)
    for edge in ((0, 0, 12, 512), (500, 0, 512, 512)):  # outside the card's frame
        assert len(card.crop(edge).getcolors()) == 1  # no text spilled over the sides
