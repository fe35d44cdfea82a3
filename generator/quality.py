"""Quality filter: reject degenerate renders before they reach a dataset.

An image is rejected when it is near-constant (low pixel standard deviation), contains
NaN/Inf pixels (flagged by the renderer), or is nearly one colour (most pixels within a small
distance of the median colour: a flat background with a few specks passes a std test but
carries almost no signal for distillation). Shaders21k (Baradad et al., NeurIPS 2022) filtered
bad shaders offline; here the check runs on every image, vectorised over the batch, on a
fixed grid of pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_GRID = 16   # pixels per side the statistics look at (256 pixels per image)


@lru_cache(maxsize=64)
def _grid(height: int, width: int) -> np.ndarray:
    """Byte offsets, in one ``(height, width, 3)`` image, of the channels of the sampled pixels
    (at most SAMPLE_GRID rows x SAMPLE_GRID columns, evenly spaced, corners included)."""
    rows = np.unique(np.linspace(0, height - 1, min(height, SAMPLE_GRID)).astype(np.intp))
    cols = np.unique(np.linspace(0, width - 1, min(width, SAMPLE_GRID)).astype(np.intp))
    return ((rows[:, None] * width + cols[None, :])[:, :, None] * 3 + np.arange(3)).ravel()


@dataclass(frozen=True)
class QualityFilter:
    """Thresholds of the filter.

    Attributes:
        min_std: minimum pixel standard deviation over all channels, on the 0..255 scale.
        colour_tolerance: max per-channel distance (0..255) from the median colour that
            counts as "the same colour".
        max_one_colour: reject when more than this fraction of pixels is the same colour.
    """

    min_std: float = 6.0
    colour_tolerance: int = 10
    max_one_colour: float = 0.92

    def reasons(self, images: np.ndarray, nonfinite: np.ndarray) -> np.ndarray:
        """Per-image rejection reason.

        Args:
            images: ``(N, H, W, 3) uint8``.
            nonfinite: ``(N,) float``, fraction of NaN/Inf pixels per image (from the renderer).

        Returns:
            ``(N,)`` object array of ``""`` (accepted), ``"nonfinite"``, ``"constant"`` or
            ``"one_colour"``.
        """
        n, height, width = images.shape[:3]
        # Statistics on a grid of at most SAMPLE_GRID^2 pixels: exact enough to spot degenerate
        # images, and the filter then costs the same at 1024 px as at 32 px.
        flat = np.take(images.reshape(n, -1), _grid(height, width), axis=1)     # (n, P*3)
        std = flat.std(axis=1, dtype=np.float32)
        # Per-channel median (np.median's, truncated to an integer) from sorted channels: a
        # stable sort of uint8 is a radix sort, ~5x faster than np.median's partition here.
        channels = np.ascontiguousarray(flat.reshape(n, -1, 3).transpose(0, 2, 1))   # (n, 3, P)
        pixels = channels.shape[2]
        ordered = np.sort(channels, axis=2, kind="stable")
        median = (ordered[:, :, (pixels - 1) // 2].astype(np.int16) + ordered[:, :, pixels // 2]) // 2
        # "Same colour": every channel within colour_tolerance of the median, as uint8 bounds.
        low = np.clip(median - self.colour_tolerance, 0, 255).astype(np.uint8)[:, :, None]
        high = np.clip(median + self.colour_tolerance, 0, 255).astype(np.uint8)[:, :, None]
        same = np.count_nonzero(((channels >= low) & (channels <= high)).all(axis=1), axis=1) / pixels
        out = np.full(n, "", dtype=object)
        out[same > self.max_one_colour] = "one_colour"
        out[std < self.min_std] = "constant"
        out[np.asarray(nonfinite) > 0] = "nonfinite"
        return out

    def accept(self, images: np.ndarray, nonfinite: np.ndarray) -> np.ndarray:
        """``(N,) bool``: True where the image passes every check."""
        return self.reasons(images, nonfinite) == ""
