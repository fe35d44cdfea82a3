"""unnatural.distill.impressions: ZSKD data impressions (Nayak et al. 2019) started from given images."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unnatural.distill.impressions import (BETAS, class_similarity, data_impressions, impressions_array,
                                           soft_targets)


def _teacher(channels: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(channels, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 5)).eval()


def test_class_similarity_is_row_normalised_cosine():
    sim = class_similarity(_teacher())
    assert sim.shape == (5, 5) and torch.allclose(sim.diagonal(), torch.ones(5))
    assert torch.allclose(sim.min(1).values, torch.zeros(5)) and sim.max() <= 1
    with pytest.raises(ValueError, match="nn.Linear"):
        class_similarity(nn.Conv2d(1, 1, 1))


def test_soft_targets_cycle_classes_and_betas_deterministically():
    sim = class_similarity(_teacher())
    targets, classes = soft_targets(sim, 40, seed=3)
    assert targets.shape == (40, 5) and torch.allclose(targets.sum(1), torch.ones(40))
    assert classes.tolist() == [i % 5 for i in range(40)]
    assert torch.equal(targets, soft_targets(sim, 40, seed=3)[0]) and not torch.equal(targets, soft_targets(sim, 40, 4)[0])
    # beta 0.1 targets are peaked, beta 1 ones spread: mean max probability higher for the former
    peaked, spread = targets[1::len(BETAS)].max(1).values.mean(), targets[0::len(BETAS)].max(1).values.mean()
    assert peaked > spread


def test_impressions_move_the_teacher_towards_the_targets_and_stay_images():
    teacher = _teacher()
    start = torch.rand(32, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    targets, _ = soft_targets(class_similarity(teacher), 32, seed=0)

    def loss(x):
        with torch.no_grad():
            return -(targets * torch.log_softmax(teacher(x) / 20, 1)).sum(1).mean().item()

    out = data_impressions(teacher, start, iterations=60, lr=0.05, batch_size=8, progress=False)
    assert out.shape == start.shape and out.dtype == torch.float32 and 0 <= out.min() and out.max() <= 1
    assert loss(out) < loss(start) - 1e-3
    again = data_impressions(teacher, start, iterations=60, lr=0.05, batch_size=32, progress=False)
    assert torch.allclose(out, again, atol=1e-4)              # per image: the batching does not matter
    assert all(p.requires_grad for p in teacher.parameters())  # the teacher is handed back as it came


def test_impressions_array_keeps_the_shader_layout():
    images = np.random.default_rng(0).integers(0, 256, (6, 3, 16, 16), dtype=np.uint8)
    out = impressions_array(_teacher(1), images, 12, 1, torch.device("cpu"), iterations=2, progress=False)
    assert out.shape == (6, 3, 12, 12) and out.dtype == np.uint8
    assert (out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all()   # grey repeated to RGB


@pytest.mark.parametrize("kwargs, named", [({"iterations": 0}, "iterations"), ({"lr": 0.0}, "lr"),
                                           ({"temperature": -1.0}, "temperature"), ({"batch_size": 0}, "batch_size")])
def test_bad_arguments_name_the_allowed_range(kwargs, named):
    with pytest.raises(ValueError, match=rf"{named} .* allowed"):
        data_impressions(_teacher(), torch.rand(2, 1, 8, 8), progress=False, **kwargs)
    with pytest.raises(ValueError, match="float"):
        data_impressions(_teacher(), torch.zeros(2, 1, 8, 8, dtype=torch.uint8), progress=False)
