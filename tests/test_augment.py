"""unnatural.distill.augment: batched, seeded augmentation (Frank & Davis, arXiv:2411.12817) and mixup."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from unnatural.distill.augment import RANDAUGMENT_OPS, AugmentConfig, Augmenter, mixup, scaled_pixels

OFF = AugmentConfig.off()


def smooth(n: int, size: int, seed: int = 0, channels: int = 3) -> torch.Tensor:
    """Smooth random images (RGB, or grey with channels=1) in [0.1, 0.9]: no zero pixels, no channel spanning [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, channels, 4, 4, generator=g)
    return 0.1 + 0.8 * F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


def only(**changes) -> AugmentConfig:
    return dataclasses.replace(OFF, **changes)


@pytest.mark.parametrize("size", [32, 16])
@pytest.mark.parametrize("config", [AugmentConfig.synthetic(), AugmentConfig.real(),
                                    AugmentConfig(crop="rrc", elastic_p=1.0, invert_p=0.5)], ids=str)
def test_shape_dtype_range(size, config):
    x = smooth(8, size)
    before = x.clone()
    y = Augmenter(config, seed=0)(x)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert y.min() >= 0 and y.max() <= 1
    assert torch.equal(x, before)  # the input is not modified


def test_off_is_identity():
    x = smooth(8, 32)
    assert torch.equal(Augmenter(OFF, seed=0)(x), x)
    assert torch.equal(Augmenter(only(crop="pad", pad=(0, 0)))(x), x)


@pytest.mark.parametrize("config", [
    only(lowpass=0.5), only(crop="pad"), only(crop="rrc"), only(flip=True), only(randaugment_ops=2), only(color_jitter=0.4),
    only(elastic_p=1.0), only(invert_p=1.0), only(mixup=True),
], ids=str)
def test_each_piece_changes_the_images(config):
    x = smooth(16, 32)
    y = Augmenter(config, seed=1)(x)
    changed = (y - x).abs().amax((1, 2, 3)) > 1e-4
    assert changed.float().mean() >= 0.5


@pytest.mark.parametrize("channels", [3, 1])
def test_lowpass_resamples_through_a_smaller_side(channels):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(4, channels, 32, 32, generator=g)                  # pixel noise: all high frequency
    y = Augmenter(only(lowpass=0.5))(x)
    small = F.avg_pool2d(x, 2)                                          # area resampling to 16 px
    assert torch.allclose(y, F.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False), atol=1e-6)
    assert y.std() < 0.6 * x.std() and abs(y.mean() - x.mean()) < 0.01
    blocky = F.interpolate(small, size=(32, 32), mode="nearest")         # the same 16 px content, other detail
    assert torch.allclose(Augmenter(only(lowpass=0.5))(blocky), y, atol=1e-6)
    assert Augmenter(only(lowpass=0.5))(torch.rand(2, 3, 24, 40)).shape == (2, 3, 24, 40)
    assert only(lowpass=1.0) == OFF


def test_flip_only_gives_the_input_or_its_mirror():
    x = smooth(32, 32)
    y = Augmenter(only(flip=True), seed=2)(x)
    same = (y == x).flatten(1).all(1)
    mirrored = (y == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_invert_only():
    x = smooth(32, 32)
    assert torch.allclose(Augmenter(only(invert_p=1.0))(x), 1 - x)
    y = Augmenter(only(invert_p=0.5), seed=3)(x)
    same = torch.isclose(y, x).flatten(1).all(1)
    inverted = torch.isclose(y, 1 - x).flatten(1).all(1)
    assert (same | inverted).all() and same.any() and inverted.any()


def _shifts(x: torch.Tensor, y: torch.Tensor, high: int) -> list[tuple[int, int]]:
    """The one integer shift (dy, dx), |d| <= high, with zero fill, taking each x[i] to y[i]."""
    n, _, h, w = x.shape
    padded = F.pad(x, (high,) * 4)
    found = []
    for i in range(n):
        shifts = [(sy - high, sx - high) for sy in range(2 * high + 1) for sx in range(2 * high + 1)
                  if torch.equal(padded[i, :, sy:sy + h, sx:sx + w], y[i])]
        assert len(shifts) == 1
        found += shifts
    return found


@pytest.mark.parametrize("channels", [3, 1])
def test_pad_crop_is_an_integer_shift_with_zero_fill_scaled_to_the_side(channels):
    # pad 4..12 px at ref_size 32 is 2..6 px at 16 px: no shift beyond 6 (some beyond 2, as p >= 2)
    x = smooth(24, 16, channels=channels)
    y = Augmenter(only(crop="pad", pad=(4, 12)), seed=4)(x)
    shifts = _shifts(x, y, 12)
    assert max(max(abs(dy), abs(dx)) for dy, dx in shifts) <= 6 and not torch.equal(x, y)
    # ref_size=16: the pixels hold at 16 px, as before the scaling (shifts up to 12)
    wide = _shifts(x, Augmenter(only(crop="pad", pad=(4, 12), ref_size=16), seed=4)(x), 12)
    assert max(max(abs(dy), abs(dx)) for dy, dx in wide) > 6


def test_scaled_pixels():
    assert [scaled_pixels(p, 32, 32) for p in (0, 1, 4, 12)] == [0, 1, 4, 12]      # unchanged at ref_size
    assert [scaled_pixels(p, 16, 32) for p in (4, 12)] == [2, 6]                   # workspace's old 16 px values
    assert [scaled_pixels(p, 28, 32) for p in (4, 12)] == [4, 11]                  # 3.5 -> 4, 10.5 -> 11 (halves up)
    assert scaled_pixels(1, 8, 32) == 1 and scaled_pixels(4, 64, 32) == 8


def test_elastic_displacement_is_relative_to_the_side():
    """A horizontal ramp (value = column / side) moves by the displacement: its RMS over the
    interior, in units of the side, is the same at 16 and 64 px (sigma x k, alpha x k^2)."""
    def rms(side: int, **changes) -> float:
        ramp = (torch.arange(side).float() + 0.5) / side
        x = 0.25 + 0.5 * ramp.expand(32, 1, side, side)
        y = Augmenter(only(elastic_p=1.0, **changes), seed=10)(x)
        m = side // 4
        return ((y - x) / 0.5)[..., m:-m, m:-m].pow(2).mean().sqrt().item()

    small, large = rms(16), rms(64)
    assert 0.01 < small < 0.05 and abs(large / small - 1) < 0.2
    assert rms(64, ref_size=64) < 0.65 * large          # the 32 px pixels at 64 px: half the relative size


@pytest.mark.parametrize("size", [32, 28])
@pytest.mark.parametrize("config", [AugmentConfig.synthetic(), AugmentConfig(crop="rrc", elastic_p=1.0, invert_p=0.5),
                                    only(color_jitter=0.4), only(randaugment_ops=4)], ids=str)
def test_grey_batches(config, size):
    x = smooth(16, size, channels=1)
    y = Augmenter(config, seed=11)(x)
    assert y.shape == x.shape == (16, 1, size, size) and y.dtype == x.dtype
    assert y.min() >= 0 and y.max() <= 1 and not torch.equal(x, y)


def test_grey_colour_jitter_is_the_jitter_of_grey_rgb():
    """Saturation and hue leave grey alone; brightness and contrast (on the luma = grey) act."""
    x = smooth(16, 16, channels=1)
    grey = Augmenter(only(color_jitter=0.4), seed=12)(x)
    rgb = Augmenter(only(color_jitter=0.4), seed=12)(x.expand(-1, 3, -1, -1).contiguous())
    assert torch.allclose(rgb, grey.expand(-1, 3, -1, -1), atol=1e-5)
    assert ((grey - x).abs().amax((1, 2, 3)) > 1e-3).all()


@pytest.mark.parametrize("name", list(RANDAUGMENT_OPS))
def test_randaugment_operations_on_grey(name):
    x = smooth(8, 16, channels=1)
    y = RANDAUGMENT_OPS[name](x, torch.tensor([1.0, -1.0] * 4), 14 / 30)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1 + 1e-6
    assert torch.equal(y, x) == (name in ("identity", "color"))   # saturation: identity on grey


def test_elastic_gate_is_per_sample():
    x = smooth(32, 32)
    y = Augmenter(only(elastic_p=0.5), seed=5)(x)
    changed = (y - x).abs().amax((1, 2, 3)) > 1e-4
    assert changed.any() and not changed.all()


@pytest.mark.parametrize("name", list(RANDAUGMENT_OPS))
@pytest.mark.parametrize("size", [32, 16])
def test_randaugment_operations(name, size):
    x = smooth(8, size)
    sign = torch.tensor([1.0, -1.0] * 4)
    y = RANDAUGMENT_OPS[name](x, sign, 14 / 30)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0 and y.max() <= 1 + 1e-6
    if name == "identity":
        assert torch.equal(y, x)
    else:  # not all: equalize leaves an image whose top value fills >= 2 of 256 pixels as it is (PIL's rule)
        assert ((y - x).abs().amax((1, 2, 3)) > 1e-3).any()


def test_randaugment_magnitudes_follow_torchvision():
    x, f = smooth(2, 32), 14 / 30
    sign = torch.tensor([1.0, -1.0])
    # TranslateX: int(150 / 331 * 32 * 14 / 30) = 6 px, either direction, zero fill
    y = RANDAUGMENT_OPS["translate_x"](x, sign, f)
    right, left = F.pad(x, (6, 0))[..., :32], F.pad(x, (0, 6))[..., 6:]
    assert all(torch.equal(y[i], right[i]) or torch.equal(y[i], left[i]) for i in range(2))
    # Posterize: 8 - round(4 * 14 / 30) = 6 bits, multiples of 4 / 255
    q = RANDAUGMENT_OPS["posterize"](x, sign, f) * 255
    assert torch.allclose(q, (q / 4).round() * 4, atol=1e-3)
    # Solarize: threshold 1 - 14 / 30
    t = 1 - f
    assert torch.allclose(RANDAUGMENT_OPS["solarize"](x, sign, f), torch.where(x >= t, 1 - x, x))
    # Brightness: factor 1 +- 0.9 * 14 / 30
    b = RANDAUGMENT_OPS["brightness"](x, sign, f)
    assert torch.allclose(b[0], (x[0] * (1 + 0.42)).clamp(0, 1)) and torch.allclose(b[1], x[1] * 0.58)


def test_mixup_function():
    x = smooth(8, 16)
    g = torch.Generator().manual_seed(0)
    y, perm, lam = mixup(x, 1.0, g)
    assert sorted(perm.tolist()) == list(range(8)) and 0 <= lam <= 1
    assert torch.allclose(y, lam * x + (1 - lam) * x[perm])
    again = mixup(x, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], y) and torch.equal(again[1], perm) and again[2] == lam
    lams = torch.tensor([mixup(x[:2], 1.0, g)[2] for _ in range(2000)])
    assert (lams >= 0).all() and (lams <= 1).all()
    assert abs(lams.mean().item() - 0.5) < 0.03 and abs(lams.var().item() - 1 / 12) < 0.01  # Beta(1, 1)
    with pytest.raises(ValueError, match="alpha"):
        mixup(x, 0.0)


def test_mixup_in_the_augmenter_keeps_the_batch_sum():
    x = smooth(16, 16)
    y = Augmenter(only(mixup=True), seed=6)(x)
    assert torch.allclose(y.sum(0), x.sum(0), atol=1e-4) and not torch.allclose(y, x)


def test_seeded_determinism_leaves_the_global_rng_alone():
    x = smooth(16, 32)
    a, b = Augmenter(seed=7), Augmenter(seed=7)
    state = torch.get_rng_state()
    first = a(x)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, b(x))
    second = a(x)
    assert torch.equal(second, b(x)) and not torch.equal(first, second)
    assert not torch.equal(Augmenter(seed=8)(x), Augmenter(seed=7)(x))
    torch.manual_seed(3)
    unseeded = Augmenter()(x)
    torch.manual_seed(3)
    assert torch.equal(Augmenter()(x), unseeded)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("channels", [3, 1])
def test_cuda_batch_seeded(channels):
    x = smooth(64, 32, channels=channels).cuda()
    state = torch.cuda.get_rng_state()
    y = Augmenter(AugmentConfig(elastic_p=1.0), seed=9)(x)
    assert y.device == x.device and y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert torch.equal(y, Augmenter(AugmentConfig(elastic_p=1.0), seed=9)(x))
    assert torch.equal(torch.cuda.get_rng_state(), state)


def test_batch_of_256():
    x = torch.rand(256, 3, 32, 32)
    y = Augmenter(AugmentConfig.synthetic(), seed=0)(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1


@pytest.mark.parametrize("config", [
    AugmentConfig.synthetic(), AugmentConfig.real(), OFF, AugmentConfig(crop="rrc", pad=(2, 3), mixup_alpha=0.2),
    only(elastic_p=0.25, elastic_alpha=30.0, randaugment_magnitude=9, randaugment_ops=1, flip=True),
    AugmentConfig(ref_size=16, pad=(2, 6)), only(lowpass=0.5),
], ids=str)
def test_parse_round_trips(config):
    assert AugmentConfig.parse(str(config)) == config


def test_parse():
    assert AugmentConfig.parse("synthetic") == AugmentConfig() == AugmentConfig.synthetic()
    assert AugmentConfig.parse("real") == AugmentConfig(randaugment_ops=2)
    assert AugmentConfig.parse(" off ") == OFF
    parsed = AugmentConfig.parse("synthetic,mixup=0,elastic_p=0,randaugment_ops=2")
    assert parsed == AugmentConfig(mixup=False, elastic_p=0.0, randaugment_ops=2)
    assert AugmentConfig.parse("mixup=false,pad=8") == AugmentConfig(mixup=False, pad=(8, 8))
    assert AugmentConfig.parse("off,crop=rrc,flip=yes").crop == "rrc"
    assert AugmentConfig.parse("synthetic,pad=2:6,ref_size=16") == AugmentConfig(pad=(2, 6), ref_size=16)


@pytest.mark.parametrize("text, named", [
    ("synthetic,mixups=0", "mixups"), ("synthetic,mixup", "mixup"), ("natural", "natural"),
    ("synthetic,randaugment_ops=two", "randaugment_ops"), ("synthetic,randaugment_ops=20", "randaugment_ops"),
    ("real,flip=maybe", "flip"), ("synthetic,pad=4:x", "pad"), ("synthetic,crop=center", "crop"), ("", "preset"),
])
def test_parse_rejects_bad_keys_and_values(text, named):
    with pytest.raises(ValueError, match=named) as error:
        AugmentConfig.parse(text)
    assert "allowed" in str(error.value)


@pytest.mark.parametrize("field, value", [
    ("crop", "center"), ("pad", (12, 4)), ("pad", (-1, 4)), ("flip", 1), ("color_jitter", 1.5),
    ("randaugment_ops", 15), ("randaugment_ops", 2.0), ("randaugment_magnitude", 31), ("invert_p", 1.1),
    ("elastic_p", -0.1), ("elastic_alpha", -1.0), ("elastic_sigma", 0.0), ("mixup", "yes"), ("mixup_alpha", 0.0),
    ("ref_size", 0), ("ref_size", 32.0), ("lowpass", 0.0), ("lowpass", 1.5),
])
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=rf"{field}=.*allowed"):
        AugmentConfig(**{field: value})


@pytest.mark.parametrize("x", [torch.rand(3, 32, 32), torch.rand(2, 2, 32, 32), torch.rand(2, 4, 32, 32),
                               torch.zeros(2, 3, 8, 8, dtype=torch.uint8)], ids=["3d", "2-channel", "rgba", "uint8"])
def test_rejects_bad_batches(x):
    with pytest.raises(ValueError, match=r"N, C, H, W.*C = 3 \(RGB\) or 1"):
        Augmenter()(x)
