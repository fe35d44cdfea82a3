"""Teacher class balancing of a stream of synthetic images.

Frank & Davis (arXiv:2411.12817, docs/METHODS.md §1) filter the OpenGL set through the teacher so
that the teacher's argmax predictions are class-balanced, and name a near-uniform argmax
histogram (normalized entropy H(p)/log K) as the first criterion of a good KD set. Here the set
is a stream, so balancing is rejection sampling with running estimates: a sample the teacher
assigns to class c is admitted with probability ``min(1, q / p_c)``, where ``p_c`` is a running
estimate of the share of class c in the stream and ``q`` the share of the rarest class (floored
at ``floor / K`` so that a class the teacher almost never predicts cannot stall the stream).
Admitted samples are then uniform over every class whose share is above the floor. The
admitted share of the stream is ``K q >= floor``: the floor also bounds how many images the
trainer must read per admitted one (1 / floor at worst).

A finite set held in memory needs no rejection: the teacher labels it once and
:func:`balanced_weights` gives each image the weight that the balancer's steady state admits it
with, so weighted draws give the same admitted distribution without reading rejected images.
"""
from __future__ import annotations

import math

import torch


FLOOR = 0.3     # default floor: at most ~3.3 images read per admitted one


class ClassBalancer:
    """Admit samples so the teacher's argmax histogram of the admitted set stays near uniform.

    Args:
        num_classes: K >= 2.
        floor: classes rarer than ``floor / K`` of the stream are admitted at rate 1 (not
            balanced up), and at least this share of the stream is admitted; in (0, 1].
        momentum: running-estimate decay per batch, in [0, 1).

    The estimate starts uniform, so the first batches are admitted nearly whole.
    """

    def __init__(self, num_classes: int, floor: float = FLOOR, momentum: float = 0.9):
        if num_classes < 2:
            raise ValueError(f"num_classes {num_classes} is invalid: allowed >= 2")
        if not 0 < floor <= 1:
            raise ValueError(f"floor {floor} is invalid: allowed (0, 1]")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum {momentum} is invalid: allowed [0, 1)")
        self.num_classes, self.floor, self.momentum = num_classes, floor, momentum
        self.share = torch.full((num_classes,), 1.0 / num_classes, dtype=torch.float64)
        self.admitted = torch.zeros(num_classes, dtype=torch.int64)

    def admit(self, predictions: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Update the estimate with a batch of teacher argmax ``predictions`` (``(N,)`` int64)
        and return the ``(N,)`` bool mask of samples to keep."""
        predictions = predictions.detach().to("cpu", torch.int64)
        counts = torch.bincount(predictions, minlength=self.num_classes).to(torch.float64)
        if counts.sum() > 0:
            self.share = self.momentum * self.share + (1 - self.momentum) * counts / counts.sum()
        share = self.share.clamp(min=self.floor / self.num_classes)
        rate = (share.min() / share).to(torch.float32)
        keep = torch.rand(len(predictions), generator=generator) < rate[predictions]
        self.admitted += torch.bincount(predictions[keep], minlength=self.num_classes)
        return keep

    def state_dict(self) -> dict:
        return {"share": self.share.clone(), "admitted": self.admitted.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.share, self.admitted = state["share"].clone(), state["admitted"].clone()


def balanced_weights(predictions: torch.Tensor, num_classes: int, floor: float = FLOOR) -> torch.Tensor:
    """Per-image sampling weights that class-balance a known set in the teacher's eyes.

    Image ``i`` of teacher class ``c`` gets ``1 / max(p_c, floor / K)`` (``p_c``: the share of
    class c in the set), the rate at which :class:`ClassBalancer` admits it in steady state, so
    weighted draws are uniform over every class above the floor.

    Args:
        predictions: ``(N,)`` int64 teacher argmax labels in ``0..K-1``.
        num_classes: K >= 2.
        floor: as :class:`ClassBalancer`, in (0, 1].

    Returns:
        ``(N,)`` float64 weights > 0 (unnormalized).

    Raises:
        ValueError: an empty set, K < 2, a floor outside (0, 1] or a label outside 0..K-1.
    """
    if num_classes < 2 or not 0 < floor <= 1:
        raise ValueError(f"num_classes {num_classes} / floor {floor} invalid: allowed K >= 2 and floor in (0, 1]")
    predictions = predictions.to("cpu", torch.int64)
    if len(predictions) == 0 or int(predictions.min()) < 0 or int(predictions.max()) >= num_classes:
        raise ValueError(f"predictions must be a non-empty set of labels in 0..{num_classes - 1}")
    share = torch.bincount(predictions, minlength=num_classes).to(torch.float64) / len(predictions)
    return 1.0 / share.clamp(min=floor / num_classes)[predictions]


def normalized_entropy(histogram: torch.Tensor) -> float:
    """H(p) / log K of a class histogram (``(K,)`` counts): 1 for uniform, 0 for one class
    (criterion (a) of arXiv:2411.12817, docs/METHODS.md §1)."""
    counts = histogram.to(torch.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * p.log()).sum() / math.log(len(histogram)))
