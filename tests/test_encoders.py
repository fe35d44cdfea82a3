"""Batch encoders: the bytes Pillow and numpy.save write, one value per image."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from unnatural.generator.encoders import PNG_BATCH_MAX_PIXELS, make_encoder
from unnatural.generator.png import encode_png


def pillow_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def batches(rng: np.random.Generator, height: int, width: int) -> list[np.ndarray]:
    """Noise, few levels (ties between filters), smooth ramps, a constant image, a black one."""
    shape = (3, height, width, 3)
    return [rng.integers(0, 256, shape, dtype=np.uint8),
            (rng.integers(0, 4, shape) * 60).astype(np.uint8),
            np.cumsum(rng.integers(0, 3, shape), axis=2).astype(np.uint8),
            np.full(shape, 7, np.uint8), np.zeros(shape, np.uint8)]


@pytest.mark.parametrize("height, width", [(1, 1), (2, 5), (16, 16), (33, 20), (300, 257)])
def test_batch_png_equals_pillow(rng, height, width):
    """Byte for byte, including several IDAT chunks (300x257 compresses to over 64 KiB)."""
    for images in batches(rng, height, width):
        assert encode_png(images) == [pillow_png(image) for image in images]


@pytest.mark.parametrize("side", [32, 80])
def test_png_encoder_equals_pillow_on_both_sides_of_the_switch(rng, side):
    assert (side * side <= PNG_BATCH_MAX_PIXELS) == (side == 32)
    images = batches(rng, side, side)[2]
    assert make_encoder("png")(images) == [pillow_png(image) for image in images]


def test_npy_values_are_numpy_save(rng):
    images = rng.integers(0, 256, (4, 16, 24, 3), dtype=np.uint8)
    encoded = make_encoder("npy")(images)
    for image, value in zip(images, encoded):
        buf = io.BytesIO()
        np.save(buf, image)
        assert bytes(value) == buf.getvalue()
    np.testing.assert_array_equal(np.load(io.BytesIO(bytes(encoded[2]))), images[2])


def test_unknown_format_and_quality_name_the_allowed_values():
    with pytest.raises(ValueError, match=r"allowed png \| jpg"):
        make_encoder("gif")
    with pytest.raises(ValueError, match="1..100"):
        make_encoder("jpg", 0)
