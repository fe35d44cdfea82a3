"""unnatural.distill.augment: batched, seeded augmentation (Frank & Davis, arXiv:2411.12817) and mixup."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from unnatural.distill.augment import RANDAUGMENT_OPS, AugmentConfig, Augmenter, mixup

OFF = AugmentConfig.off()


def smooth(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth random RGB images in [0.1, 0.9]: no zero pixels, no channel spanning [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
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
    only(crop="pad"), only(crop="rrc"), only(flip=True), only(randaugment_ops=2), only(color_jitter=0.4),
    only(elastic_p=1.0), only(invert_p=1.0), only(mixup=True),
], ids=str)
def test_each_piece_changes_the_images(config):
    x = smooth(16, 32)
    y = Augmenter(config, seed=1)(x)
    changed = (y - x).abs().amax((1, 2, 3)) > 1e-4
    assert changed.float().mean() >= 0.5


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


def test_pad_crop_is_an_integer_shift_with_zero_fill():
    x, high = smooth(16, 16), 12
    y = Augmenter(only(crop="pad", pad=(4, high)), seed=4)(x)
    padded = F.pad(x, (high,) * 4)
    for i in range(len(x)):
        shifts = [(sy - high, sx - high) for sy in range(2 * high + 1) for sx in range(2 * high + 1)
                  if torch.equal(padded[i, :, sy:sy + 16, sx:sx + 16], y[i])]
        assert len(shifts) == 1
    assert not torch.equal(x, y)


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
def test_cuda_batch_seeded():
    x = smooth(64, 32).cuda()
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
])
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=rf"{field}=.*allowed"):
        AugmentConfig(**{field: value})


@pytest.mark.parametrize("x", [torch.rand(3, 32, 32), torch.rand(2, 1, 32, 32),
                               torch.zeros(2, 3, 8, 8, dtype=torch.uint8)], ids=["3d", "gray", "uint8"])
def test_rejects_bad_batches(x):
    with pytest.raises(ValueError, match="N, 3, H, W"):
        Augmenter()(x)
