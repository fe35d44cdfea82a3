"""Batched data augmentation on the training device, for distilling from synthetic shader images.

Frank & Davis ("What Makes a Good Dataset for Knowledge Distillation?", arXiv:2411.12817) find
strong augmentation essential when the transfer set is synthetic. Their recipe, in torchvision
terms: random crop with 4..12 px padding, horizontal flip, RandAugment (2 ops for real data, 4 ops at
magnitude 14 for synthetic data), colour jitter 0.4, elastic transform (alpha 50, sigma 5, p 0.5),
random invert (p 0.1) and mixup with lambda ~ Beta(1, 1). :class:`Augmenter` applies it to a whole
``(N, C, H, W)`` float batch in ``[0, 1]``, C = 3 (RGB) or 1 (grey), on the batch's own device,
random choices drawn per sample unless noted, in this order:

* low-pass (ours, off in the presets): every image resampled to side ``round(lowpass * s)`` by
  area averaging and back to ``s`` bilinearly, which drops detail finer than ``1 / lowpass``
  pixels. Shader images carry pixel-level detail that small real images (Fashion-MNIST: 28 px
  product photos, upsampled to 32) do not; measured on the Fashion-MNIST benchmark in
  docs/METHODS.md §10.
* crop: ``"pad"`` zero-pads each image by p ~ U{pad[0]..pad[1]} px (drawn per sample; pixels at
  ``ref_size``, see below) and crops a uniformly placed ``(H, W)`` window back, torchvision's
  ``RandomCrop(size, padding=p)``; own code,
  since kornia's ``RandomCrop`` fixes one padding and the size when built. ``"rrc"`` is kornia's
  ``RandomResizedCrop`` back to ``(H, W)``, scale (0.35, 1), ratio (3/4, 4/3).
* flip: kornia ``RandomHorizontalFlip(p=0.5)``.
* RandAugment: torchvision's ``RandAugment(num_ops, magnitude)`` (14 operations, 31 magnitude bins,
  nearest interpolation, zero fill), operations and signs drawn per image, built from
  ``kornia.enhance`` / ``kornia.geometry`` operations. ``kornia.augmentation.auto.RandAugment`` does
  not fit: it draws one operation sequence for the whole batch, maps its colour magnitudes one-sided
  (``0.1 + 1.8 m / 30``, a fixed factor 0.94 at m = 14, where torchvision uses ``1 +- 0.9 m / 30``),
  translates by at most 10 % instead of 150/331 of the image, and rejects m = 0 and m = 30.
* colour jitter: kornia ``ColorJitter`` (torchvision's formulas) with brightness, contrast and
  saturation ``v`` and hue ``0.1 v``; one random order of the four steps per batch.
* elastic: kornia ``RandomElasticTransform`` with torchvision's pixel semantics at ``ref_size``
  (see :class:`_Elastic`).
* invert: kornia ``RandomInvert(p)``.
* mixup (Zhang et al., ICLR 2018) across the batch, one lambda per batch, see :func:`mixup`.

Image size: the pixel magnitudes (``pad``, ``elastic_alpha``, ``elastic_sigma``) are those of an
image of side ``ref_size`` (32, CIFAR's side, where Frank & Davis tuned them), and every batch gets
them scaled to its side ``s = min(H, W)``, k = s / ref_size, so an augmentation is the same
relative to the image at every size: pad ``round(k p)`` px (half up; at least 1 if p > 0), elastic
sigma ``k sigma`` and alpha ``k^2 alpha`` (the blurred noise's amplitude falls as 1 / sigma, so
alpha needs k^2 for displacements of k times the pixels). RandAugment's magnitudes are relative
already (translation 150/331 of the side; shear, rotation and enhancement factors are scale-free),
the rest have no size. At 32 px nothing changes; ``ref_size=s`` gives the old fixed-pixel
behaviour at side s.

Grey batches (C = 1): every operation works per channel, except colour jitter, which runs on the
grey image repeated to RGB and averages back: saturation and hue leave grey as it is (as
torchvision does on one channel), and contrast uses the grey image's mean as the luma. RandAugment's
``color`` (saturation) is the identity on grey (kornia, as PIL).

Randomness: kornia draws from torch's global RNG (on the CPU unless its modules were moved with
``.to()``). An :class:`Augmenter` without a seed uses the global RNG as it stands. With a seed, every
call runs inside ``torch.random.fork_rng`` on the Augmenter's own saved RNG states (CPU, plus the
CUDA device of the batch), so equal seeds give equal outputs on equal inputs, call after call, and
the caller's global RNG is left untouched.
"""
from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import kornia.augmentation as K
import kornia.enhance as KE
import kornia.geometry.transform as KT
import torch
import torch.nn.functional as F
from torch import nn

CROPS = ("pad", "rrc", "none")
RRC_SCALE = (0.35, 1.0)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# field -> (valid?, allowed values in words), shared by __post_init__ and parse()
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lowpass": (lambda v: _is_num(v) and 0 < v <= 1, "a number in (0, 1]"),
    "crop": (lambda v: v in CROPS, "one of pad, rrc, none"),
    "pad": (lambda v: isinstance(v, tuple) and len(v) == 2 and all(map(_is_int, v)) and 0 <= v[0] <= v[1],
            "two integers 0 <= low <= high (in parse(): low:high, or one integer)"),
    "flip": (lambda v: isinstance(v, bool), "a bool (in parse(): 1/0, true/false, yes/no, on/off)"),
    "color_jitter": (lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "randaugment_ops": (lambda v: _is_int(v) and 0 <= v <= 14, "an integer in 0..14"),
    "randaugment_magnitude": (lambda v: _is_int(v) and 0 <= v <= 30, "an integer in 0..30"),
    "invert_p": (lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "elastic_p": (lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "elastic_alpha": (lambda v: _is_num(v) and v >= 0, "a number >= 0 (pixels at ref_size)"),
    "elastic_sigma": (lambda v: _is_num(v) and v > 0, "a number > 0 (pixels at ref_size)"),
    "mixup": (lambda v: isinstance(v, bool), "a bool (in parse(): 1/0, true/false, yes/no, on/off)"),
    "mixup_alpha": (lambda v: _is_num(v) and v > 0, "a number > 0"),
    "ref_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1 (pixels)"),
}
_PRESETS = ("synthetic", "real", "off")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class AugmentConfig:
    """What :class:`Augmenter` applies; the defaults are Frank & Davis's synthetic-data recipe.

    Attributes:
        lowpass: side of the low-pass resampling as a share of the image side, in (0, 1];
            1 disables (module docstring).
        crop: ``"pad"`` (pad and random-crop back to the input size), ``"rrc"`` (random resized
            crop, scale (0.35, 1)) or ``"none"``.
        pad: padding range in pixels at ``ref_size`` for ``"pad"``, drawn per sample, inclusive.
        flip: random horizontal flip, p = 0.5.
        color_jitter: brightness, contrast and saturation strength ``v`` (factors in
            ``[1 - v, 1 + v]``), hue ``0.1 v``; 0 disables.
        randaugment_ops: RandAugment operations per image; 0 disables.
        randaugment_magnitude: RandAugment magnitude on torchvision's 0..30 scale.
        invert_p: probability of inverting an image (``1 - x``).
        elastic_p: probability of an elastic transform per image.
        elastic_alpha: displacement strength in pixels at ``ref_size``, torchvision semantics.
        elastic_sigma: Gaussian smoothing of the displacement field in pixels at ``ref_size``.
        mixup: mix the batch with lambda ~ Beta(mixup_alpha, mixup_alpha).
        mixup_alpha: the Beta distribution's parameter.
        ref_size: the image side (pixels) at which ``pad``, ``elastic_alpha`` and ``elastic_sigma``
            hold; each batch gets them scaled to its own side (module docstring).

    ``str(config)`` gives text that :meth:`parse` turns back into an equal config.

    Raises:
        ValueError: a field outside its allowed values; the message names both.
    """

    lowpass: float = 1.0
    crop: str = "pad"
    pad: tuple[int, int] = (4, 12)
    flip: bool = True
    color_jitter: float = 0.4
    randaugment_ops: int = 4
    randaugment_magnitude: int = 14
    invert_p: float = 0.1
    elastic_p: float = 0.5
    elastic_alpha: float = 50.0
    elastic_sigma: float = 5.0
    mixup: bool = True
    mixup_alpha: float = 1.0
    ref_size: int = 32

    def __post_init__(self) -> None:
        if isinstance(self.pad, list):
            object.__setattr__(self, "pad", tuple(self.pad))
        for name, (valid, allowed) in _RULES.items():
            if not valid(getattr(self, name)):
                raise ValueError(f"AugmentConfig.{name}={getattr(self, name)!r}: allowed {allowed}")

    @classmethod
    def synthetic(cls) -> AugmentConfig:
        """The recipe for synthetic (shader) images: RandAugment with 4 operations at magnitude 14."""
        return cls()

    @classmethod
    def real(cls) -> AugmentConfig:
        """The recipe for real images: as :meth:`synthetic` with 2 RandAugment operations."""
        return cls(randaugment_ops=2)

    @classmethod
    def off(cls) -> AugmentConfig:
        """Everything disabled: :class:`Augmenter` returns its input."""
        return cls(crop="none", flip=False, color_jitter=0.0, randaugment_ops=0, invert_p=0.0,
                   elastic_p=0.0, mixup=False)

    @classmethod
    def parse(cls, text: str) -> AugmentConfig:
        """Read ``"[preset][,key=value]*"``, e.g. ``"synthetic,mixup=0,elastic_p=0,randaugment_ops=2"``.

        The preset is ``synthetic`` (also used when the text starts with ``key=value``), ``real`` or
        ``off``; keys are the field names. Booleans read 1/0, true/false, yes/no, on/off; ``pad``
        reads ``low:high`` or one integer.

        Raises:
            ValueError: an unknown preset or key, or a bad value; the message names it and the
                allowed values.
        """
        tokens = [token.strip() for token in text.split(",")]
        base = "synthetic" if "=" in tokens[0] else tokens.pop(0)
        if base not in _PRESETS:
            raise ValueError(f"augment preset {base!r}: allowed {', '.join(_PRESETS)}")
        config = getattr(cls, base)()
        changes = {}
        for token in tokens:
            key, _, value = (part.strip() for part in token.partition("="))
            if key not in _RULES or not value:
                raise ValueError(f"augment setting {token!r}: allowed key=value with key one of {', '.join(_RULES)}")
            changes[key] = _read(key, value, type(getattr(config, key)))
        return dataclasses.replace(config, **changes)

    def __str__(self) -> str:
        def changes(preset: str) -> list[str]:
            base = getattr(self, preset)()
            return [f"{f.name}={_write(getattr(self, f.name))}" for f in dataclasses.fields(self)
                    if getattr(self, f.name) != getattr(base, f.name)]

        preset = min(_PRESETS, key=lambda p: len(changes(p)))
        return ",".join([preset, *changes(preset)])


def _read(key: str, text: str, kind: type) -> Any:
    """Convert ``text`` to the type of field ``key``; ValueError naming the key and allowed values."""
    try:
        if kind is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            return text.lower() in _TRUE
        if kind is tuple:
            low, _, high = text.partition(":")
            return int(low), int(high or low)
        return kind(text)
    except ValueError:
        raise ValueError(f"augment {key}={text!r}: allowed {_RULES[key][1]}") from None


def _write(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return f"{value[0]}:{value[1]}"
    return str(value)


def mixup(x: torch.Tensor, alpha: float = 1.0,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix every sample with a random partner of the same batch (Zhang et al., mixup, ICLR 2018).

    For KD only the inputs are mixed: teacher and student see the same mixed batch. For supervised
    training, mix the labels with the returned ``perm`` and ``lam`` (``lam * y + (1 - lam) * y[perm]``).

    Args:
        x: ``(N, ...)`` float batch, any device.
        alpha: lambda ~ Beta(alpha, alpha), alpha > 0; 1 is uniform (Frank & Davis).
        generator: a CPU ``torch.Generator`` for ``perm`` and ``lam``; None uses the global RNG.

    Returns:
        ``(lam * x + (1 - lam) * x[perm], perm, lam)``: the mixed batch (shape, dtype and device of
        ``x``, in ``[0, 1]`` if ``x`` is), ``perm`` an ``(N,)`` int64 permutation on ``x.device``, and
        ``lam`` a float in ``[0, 1]``.
    """
    if not alpha > 0:
        raise ValueError(f"mixup alpha={alpha!r}: allowed a number > 0")
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    # torch's Beta sampler takes no generator; Python's takes a seed drawn from it
    lam = random.Random(int(torch.randint(2**62, (1,), generator=generator))).betavariate(alpha, alpha)
    return lam * x + (1 - lam) * x[perm], perm, lam


def scaled_pixels(px: float, side: int, ref_size: int) -> int:
    """``px`` pixels at side ``ref_size`` in whole pixels at ``side``: ``round(px * side / ref_size)``,
    halves up, and at least 1 when ``px > 0``."""
    return max(int(px > 0), math.floor(px * side / ref_size + 0.5))


class _LowPass(nn.Module):
    """Resample each image to side ``max(1, round(share * s))`` (area average) and back to its
    ``(H, W)`` (bilinear, ``align_corners=False``); deterministic, no parameters."""

    def __init__(self, share: float) -> None:
        super().__init__()
        self.share = share

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        side = max(1, round(self.share * min(h, w)))
        small = (max(1, round(h * side / min(h, w))), max(1, round(w * side / min(h, w))))
        return F.interpolate(F.interpolate(x, size=small, mode="area"), size=(h, w), mode="bilinear",
                             align_corners=False)


class _PadCrop(nn.Module):
    """Zero-pad each image by p ~ U{low..high} px, crop a uniformly placed ``(H, W)`` window back.

    ``(low, high)`` is ``pad`` scaled from ``ref_size`` to the batch's side (:func:`scaled_pixels`).
    Per sample, this is torchvision's ``RandomCrop((H, W), padding=p)``: the window's top-left corner
    lies at ``(U{0..2p}, U{0..2p})`` in the p-padded image. Exact (integer indexing, no resampling).
    """

    def __init__(self, pad: tuple[int, int], ref_size: int) -> None:
        super().__init__()
        self.pad, self.ref_size = pad, ref_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        low, high = (scaled_pixels(p, min(h, w), self.ref_size) for p in self.pad)
        p = torch.randint(low, high + 1, (n, 1))
        # window corner (y, x) in the high-padded image
        start = (high - p + (torch.rand(n, 2) * (2 * p + 1)).long()).to(x.device)
        rows = start[:, 0, None] + torch.arange(h, device=x.device)
        cols = start[:, 1, None] + torch.arange(w, device=x.device)
        padded = F.pad(x, (high,) * 4)
        return padded[torch.arange(n, device=x.device)[:, None, None, None],
                      torch.arange(c, device=x.device)[None, :, None, None],
                      rows[:, None, :, None], cols[:, None, None, :]]


class _ResizedCrop(nn.Module):
    """kornia's ``RandomResizedCrop`` back to the input size (bilinear), scale ``scale``, ratio (3/4, 4/3).

    kornia fixes the output size when the module is built, so there is one module per input size,
    built on the first batch of that size. ``cropping_mode="resample"``: one batched warp instead of
    kornia's default per-image slicing loop.
    """

    def __init__(self, scale: tuple[float, float]) -> None:
        super().__init__()
        self.scale = scale
        self.by_size = nn.ModuleDict()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        key = f"{h}x{w}"
        if key not in self.by_size:
            self.by_size[key] = K.RandomResizedCrop((h, w), scale=self.scale, cropping_mode="resample")
        return self.by_size[key](x)


def _factor(sign: torch.Tensor, f: float) -> torch.Tensor:
    return 1 + 0.9 * f * sign


def _xy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.stack([x, y], 1)


def _autocontrast(x: torch.Tensor) -> torch.Tensor:
    """Stretch each channel to [0, 1]; a constant channel stays as it is (torchvision, unlike kornia's min-max)."""
    lo, hi = x.amin((-2, -1), keepdim=True), x.amax((-2, -1), keepdim=True)
    flat = hi <= lo
    return torch.where(flat, x, (x - lo) / torch.where(flat, 1.0, hi - lo))


# torchvision.transforms.RandAugment's operations: (images (B, C, H, W) in [0, 1], signs (B,) of +-1
# in the images' dtype, magnitude fraction f = magnitude / 30) -> images. Maxima at f = 1: shear
# factor 0.3 about pixel (0, 0), translation 150/331 of the image (whole pixels), rotation 30 degrees,
# enhancement factors 1 +- 0.9, posterize 4 bits, solarize threshold 0.
RANDAUGMENT_OPS: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "identity": lambda x, s, f: x,
    "shear_x": lambda x, s, f: KT.shear(x, _xy(0.3 * f * s, 0 * s), mode="nearest"),
    "shear_y": lambda x, s, f: KT.shear(x, _xy(0 * s, 0.3 * f * s), mode="nearest"),
    "translate_x": lambda x, s, f: KT.translate(x, _xy(int(150 / 331 * x.shape[-1] * f) * s, 0 * s), mode="nearest"),
    "translate_y": lambda x, s, f: KT.translate(x, _xy(0 * s, int(150 / 331 * x.shape[-2] * f) * s), mode="nearest"),
    "rotate": lambda x, s, f: KT.rotate(x, 30 * f * s, mode="nearest"),
    "brightness": lambda x, s, f: KE.adjust_brightness_accumulative(x, _factor(s, f)),
    "color": lambda x, s, f: KE.adjust_saturation_with_gray_subtraction(x, _factor(s, f)),
    "contrast": lambda x, s, f: KE.adjust_contrast_with_mean_subtraction(x, _factor(s, f)),
    "sharpness": lambda x, s, f: KE.sharpness(x, _factor(s, f)),
    "posterize": lambda x, s, f: KE.posterize(x, 8 - round(4 * f)),
    "solarize": lambda x, s, f: KE.solarize(x, 1 - f),
    "autocontrast": lambda x, s, f: _autocontrast(x),
    "equalize": lambda x, s, f: KE.equalize(x),
}


class _RandAugment(nn.Module):
    """torchvision's ``RandAugment(num_ops=n, magnitude=m)`` (Cubuk et al., 2020), drawn per image, run per operation.

    In each of the ``n`` rounds every image draws one of the 14 :data:`RANDAUGMENT_OPS` uniformly (with
    replacement across rounds, as torchvision) and a sign; the images that drew the same operation
    are transformed together. The draws are made on the CPU, so no device sync is needed.
    """

    def __init__(self, n: int, m: int) -> None:
        super().__init__()
        self.n, self.f = n, m / 30
        self.ops = list(RANDAUGMENT_OPS.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.n):
            choice = torch.randint(len(self.ops), (len(x),))
            sign = (torch.randint(2, (len(x),)) * 2 - 1).to(x)
            out = x.clone()
            for k, op in enumerate(self.ops[1:], 1):  # 0 is the identity
                idx = (choice == k).nonzero().squeeze(1).to(x.device)
                if len(idx):
                    out[idx] = op(x[idx], sign[idx], self.f)
            x = out
        return x


class _Elastic(K.RandomElasticTransform):
    """kornia's ``RandomElasticTransform`` with torchvision's ``ElasticTransform(alpha, sigma)`` in pixels,
    given at side ``ref_size`` and scaled to each batch's side ``min(H, W)`` = k ``ref_size``:
    sigma ``k sigma``, alpha ``k^2 alpha`` (module docstring).

    Both blur uniform [-1, 1] noise with a Gaussian of ``sigma`` px. torchvision takes a kernel of
    ``int(8 sigma + 1)`` px made odd (41 for sigma 5), kept here, and adds ``alpha / size`` times the
    blurred noise to the normalised [-1, 1] sampling grid (``alpha / 2`` px per unit of noise);
    kornia's ``alpha`` scales it in normalised units directly, so kornia gets
    ``(alpha / W, alpha / H)`` for each batch's size (torchvision divides both by H: the same for
    square images). Bilinear, zero fill, align_corners False, as torchvision. Differences: kornia
    pads the noise with zeros before blurring (torchvision reflects), and the gate ``p`` is per image.
    """

    def __init__(self, alpha: float, sigma: float, p: float, ref_size: int) -> None:
        super().__init__(p=p)   # kernel, sigma and alpha: per batch size, in apply_transform
        self.alpha_px, self.sigma_px, self.ref_size = alpha, sigma, ref_size

    def apply_transform(self, input: torch.Tensor, params: dict[str, torch.Tensor], flags: dict[str, Any],
                        transform: torch.Tensor | None = None) -> torch.Tensor:
        h, w = input.shape[-2:]
        k = min(h, w) / self.ref_size
        sigma, alpha = self.sigma_px * k, self.alpha_px * k * k
        size = int(8 * sigma + 1)
        size += 1 - size % 2
        flags = {**flags, "kernel_size": (size, size), "sigma": (sigma, sigma), "alpha": (alpha / w, alpha / h)}
        return super().apply_transform(input, params, flags, transform)


class _ColorJitter(K.ColorJitter):
    """kornia's ``ColorJitter``, also on grey ``(N, 1, H, W)``: repeated to RGB, jittered, averaged back.

    On grey RGB, saturation and hue change nothing (up to float round-off) and the luma is the grey
    value, so a grey image gets brightness and contrast only, with the same random draws as RGB.
    """

    def forward(self, input: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if input.shape[-3] == 1:
            return super().forward(input.expand(-1, 3, -1, -1), *args, **kwargs).mean(-3, keepdim=True)
        return super().forward(input, *args, **kwargs)


class Augmenter(nn.Module):
    """Frank & Davis's augmentation for a whole batch on its device (the module docstring lists the stages).

    Args:
        config: what to apply; :meth:`AugmentConfig.synthetic` by default.
        seed: None draws from torch's global RNG. An integer gives the Augmenter its own RNG
            states (CPU, and per CUDA device), advanced by every call: two Augmenters with the
            same seed and config give the same outputs for the same inputs, and the caller's
            global RNG is not disturbed.
    """

    def __init__(self, config: AugmentConfig = AugmentConfig(), seed: int | None = None) -> None:
        super().__init__()
        self.config, self.seed = config, seed
        stages: list[nn.Module] = []
        if config.lowpass < 1:
            stages.append(_LowPass(config.lowpass))
        if config.crop == "pad" and config.pad[1] > 0:
            stages.append(_PadCrop(config.pad, config.ref_size))
        elif config.crop == "rrc":
            stages.append(_ResizedCrop(RRC_SCALE))
        if config.flip:
            stages.append(K.RandomHorizontalFlip(p=0.5))
        if config.randaugment_ops:
            stages.append(_RandAugment(config.randaugment_ops, config.randaugment_magnitude))
        if config.color_jitter:
            v = config.color_jitter
            stages.append(_ColorJitter(v, v, v, 0.1 * v, p=1.0))
        if config.elastic_p:
            stages.append(_Elastic(config.elastic_alpha, config.elastic_sigma, config.elastic_p, config.ref_size))
        if config.invert_p:
            stages.append(K.RandomInvert(p=config.invert_p))
        self.pipeline = nn.Sequential(*stages)
        self._rng_states: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Augment a batch.

        Args:
            x: ``(N, C, H, W)`` float in ``[0, 1]``, C = 3 (RGB) or 1 (grey), any device; not modified.

        Returns:
            The augmented batch, same shape, dtype and device, in ``[0, 1]``: low-pass, crop, flip,
            RandAugment, colour jitter, elastic and invert drawn per sample, then mixup across the
            batch if enabled. The input itself when everything is disabled.
        """
        if x.ndim != 4 or x.shape[1] not in (1, 3) or not x.is_floating_point():
            raise ValueError(f"Augmenter expects a float (N, C, H, W) batch with C = 3 (RGB) or 1 (grey), "
                             f"got {x.dtype} {tuple(x.shape)}")
        if self.seed is None:
            return self._augment(x)
        with self._own_rng(x.device):
            return self._augment(x)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.pipeline):
            x = self.pipeline(x).clamp(0, 1)  # clamp: interpolation round-off only
        if self.config.mixup:
            x = mixup(x, self.config.mixup_alpha)[0]
        return x

    @contextmanager
    def _own_rng(self, device: torch.device) -> Iterator[None]:
        """Swap in this Augmenter's RNG states for the CPU and ``device``, save them back afterwards."""
        devices = [torch.device("cpu")] + ([device] if device.type != "cpu" else [])
        with torch.random.fork_rng(devices=devices[1:], device_type=devices[-1].type if len(devices) > 1 else None):
            for dev in devices:
                if str(dev) not in self._rng_states:
                    self._rng_states[str(dev)] = torch.Generator(dev).manual_seed(self.seed).get_state()
                _set_rng_state(dev, self._rng_states[str(dev)])
            yield
            for dev in devices:
                self._rng_states[str(dev)] = _get_rng_state(dev)


def _get_rng_state(device: torch.device) -> torch.Tensor:
    if device.type == "cpu":
        return torch.get_rng_state()
    return torch.get_device_module(device.type).get_rng_state(device)


def _set_rng_state(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cpu":
        torch.set_rng_state(state)
    else:
        torch.get_device_module(device.type).set_rng_state(state, device)
