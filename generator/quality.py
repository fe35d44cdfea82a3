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

import numpy as np

SAMPLE_GRID = 16   # pixels per side the statistics look at (256 pixels per image)


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
        rows = np.unique(np.linspace(0, height - 1, min(height, SAMPLE_GRID)).astype(np.intp))
        cols = np.unique(np.linspace(0, width - 1, min(width, SAMPLE_GRID)).astype(np.intp))
        flat = images[:, rows][:, :, cols].reshape(n, -1, 3)
        std = flat.reshape(n, -1).std(axis=1, dtype=np.float32)
        median = np.median(flat, axis=1).astype(np.int16)[:, None, :]
        same = (np.abs(flat.astype(np.int16) - median).max(axis=2) <= self.colour_tolerance).mean(axis=1)
        out = np.full(n, "", dtype=object)
        out[same > self.max_one_colour] = "one_colour"
        out[std < self.min_std] = "constant"
        out[np.asarray(nonfinite) > 0] = "nonfinite"
        return out

    def accept(self, images: np.ndarray, nonfinite: np.ndarray) -> np.ndarray:
        """``(N,) bool``: True where the image passes every check."""
        return self.reasons(images, nonfinite) == ""
