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
"""
from __future__ import annotations

import math

import torch


class ClassBalancer:
    """Admit samples so the teacher's argmax histogram of the admitted set stays near uniform.

    Args:
        num_classes: K >= 2.
        floor: classes rarer than ``floor / K`` of the stream are admitted at rate 1 (not
            balanced up), and at least this share of the stream is admitted; in (0, 1].
        momentum: running-estimate decay per batch, in [0, 1).

    The estimate starts uniform, so the first batches are admitted nearly whole.
    """

    def __init__(self, num_classes: int, floor: float = 0.3, momentum: float = 0.9):
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


def normalized_entropy(histogram: torch.Tensor) -> float:
    """H(p) / log K of a class histogram (``(K,)`` counts): 1 for uniform, 0 for one class
    (criterion (a) of arXiv:2411.12817, docs/METHODS.md §1)."""
    counts = histogram.to(torch.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * p.log()).sum() / math.log(len(histogram)))
