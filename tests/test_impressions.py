"""unnatural.distill.impressions: ZSKD data impressions (Nayak et al. 2019) started from given images."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from torch import nn

from unnatural.distill.impressions import (BETAS, _jittered, _total_variation, class_similarity, data_impressions,
                                           impressions_array, soft_targets)


def _teacher(channels: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(channels, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 5)).eval()


def test_class_similarity_is_row_normalised_cosine():
    sim = class_similarity(_teacher())
    assert sim.shape == (5, 5) and torch.allclose(sim.diagonal(), torch.ones(5))
    assert torch.allclose(sim.min(1).values, torch.zeros(5)) and sim.max() <= 1
    scripted = torch.jit.script(_teacher())                 # TorchScript teachers have no nn.Linear instances
    assert torch.equal(class_similarity(scripted), sim)
    with pytest.raises(ValueError, match="no linear layer"):
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

    out = data_impressions(teacher, start, iterations=60, lr=0.05, tv=0, jitter=1, batch_size=8, progress=False)
    assert out.shape == start.shape and out.dtype == torch.float32 and 0 <= out.min() and out.max() <= 1
    assert loss(out) < loss(start) - 1e-3
    again = data_impressions(teacher, start, iterations=60, lr=0.05, tv=0, jitter=1, batch_size=32, progress=False)
    assert torch.allclose(out, again, atol=1e-4)              # per image: the batching does not matter
    assert all(p.requires_grad for p in teacher.parameters())  # the teacher is handed back as it came


def test_a_set_made_in_parts_is_the_set_made_whole(tmp_path):
    teacher = _teacher()
    start = torch.rand(12, 1, 12, 12, generator=torch.Generator().manual_seed(4))
    whole = data_impressions(teacher, start, iterations=20, lr=0.05, progress=False)
    parts = torch.cat([data_impressions(teacher, start[:5], iterations=20, lr=0.05, progress=False),
                       data_impressions(teacher, start[5:], iterations=20, lr=0.05, first=5, progress=False)])
    assert torch.allclose(whole, parts, atol=1e-5)

    from unnatural.distill.studies.workspace import ensure_impressions

    model = tmp_path / "t.pt"       # the runner's sets: a prefix file is kept, only the rest is optimised
    torch.jit.trace(teacher, torch.rand(1, 1, 32, 32)).save(model)
    images = tmp_path / "start.npy"
    np.save(images, np.random.default_rng(0).integers(0, 256, (10, 3, 32, 32), dtype=np.uint8))
    kwargs = {"device": "cpu", "progress": False}
    half = ensure_impressions(tmp_path / "half.npy", model, str(images), 4, **kwargs)
    np.save(half, np.zeros((4, 3, 32, 32), np.uint8))                    # marked: kept, not recomputed
    grown = np.load(ensure_impressions(tmp_path / "all.npy", model, str(images), 10, prefix=half, **kwargs))
    fresh = np.load(ensure_impressions(tmp_path / "fresh.npy", model, str(images), 10, **kwargs))
    assert grown.shape == (10, 3, 32, 32) and not grown[:4].any() and np.array_equal(grown[4:], fresh[4:])
    images = np.random.default_rng(0).integers(0, 256, (6, 3, 16, 16), dtype=np.uint8)
    out = impressions_array(_teacher(1), images, 12, 1, torch.device("cpu"), iterations=2, progress=False)
    assert out.shape == (6, 3, 12, 12) and out.dtype == np.uint8
    assert (out[:, 0] == out[:, 1]).all() and (out[:, 1] == out[:, 2]).all()   # grey repeated to RGB


def _moves(out: torch.Tensor, x: torch.Tensor, jitter: int) -> list[tuple]:
    """Per image, the first (dy, dx, mirrored) whose roll (and mirror) of ``x[k]`` is ``out[k]``, else None."""
    found = []
    for k in range(len(x)):
        moves = [(dy, dx, f) for dy in range(-jitter, jitter + 1) for dx in range(-jitter, jitter + 1) for f in (False, True)
                 if torch.equal(out[k], torch.roll(x[k], (dy, dx), (1, 2)).flip(2) if f else torch.roll(x[k], (dy, dx), (1, 2)))]
        found.append(moves[0] if moves else None)
    return found


def test_jitter_rolls_and_flips_each_image_on_its_own():
    x = torch.rand(64, 2, 6, 6, generator=torch.Generator().manual_seed(2))
    index = torch.arange(100, 164)
    out = _jittered(x, index, step=5, seed=0, jitter=2, flip=True)
    moves = _moves(out, x, 2)
    assert None not in moves and len(set(moves)) > 10 and {f for *_, f in moves} == {False, True}
    assert torch.equal(out[10:20], _jittered(x[10:20], index[10:20], 5, 0, 2, True))   # per image, not per batch
    assert not torch.equal(out, _jittered(x, index, 6, 0, 2, True))                      # and per step
    shifted = _moves(_jittered(x, index, 5, 0, 2, False), x, 2)
    assert None not in shifted and not any(f for *_, f in shifted)                        # no flip: shifts only
    assert torch.equal(_jittered(x, index, 5, 0, 0, False), x)


def test_priors_smooth_the_impressions():
    teacher = _teacher()
    start = torch.rand(16, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    plain = data_impressions(teacher, start, iterations=40, lr=0.05, tv=0, jitter=0, progress=False)
    smooth = data_impressions(teacher, start, iterations=40, lr=0.05, tv=5, jitter=1, progress=False)
    assert _total_variation(smooth).mean() < 0.8 * _total_variation(plain).mean()


@pytest.mark.parametrize("kwargs, named", [({"iterations": 0}, "iterations"), ({"lr": 0.0}, "lr"),
                                           ({"temperature": -1.0}, "temperature"), ({"tv": -0.5}, "tv"),
                                           ({"jitter": -1}, "jitter"), ({"batch_size": 0}, "batch_size")])
def test_bad_arguments_name_the_allowed_range(kwargs, named):
    with pytest.raises(ValueError, match=rf"{named} .* allowed"):
        data_impressions(_teacher(), torch.rand(2, 1, 8, 8), progress=False, **kwargs)
    with pytest.raises(ValueError, match="float"):
        data_impressions(_teacher(), torch.zeros(2, 1, 8, 8, dtype=torch.uint8), progress=False)


def test_impressions_command_writes_an_array_and_refuses_bad_input(tmp_path):
    """``unnatural impressions`` on a real model file: the impressions, ``--with-start``, exit 2."""
    from conftest import run_cli
    from unnatural.distill.checkpoint import ModelInfo, Normalized, save_model
    from unnatural.distill.models import create_model

    torch.manual_seed(0)
    teacher = tmp_path / "lenet.pt"
    model = Normalized(create_model("lenet5", in_channels=1), [0.29], [0.35]).eval()
    save_model(teacher, model, ModelInfo("lenet5", 10, 32, [0.29], [0.35], [str(c) for c in range(10)],
                                         options={"in_channels": 1}))
    start = tmp_path / "start.npy"
    np.save(start, np.random.default_rng(0).integers(0, 256, (6, 3, 32, 32), dtype=np.uint8))
    args = ("impressions", "--teacher", str(teacher), "--data", str(start), "--iterations", "3", "--no-progress")
    done = run_cli(*args, "--out", str(tmp_path / "imp.npy"), "--images", "4")
    assert done.returncode == 0, done.stderr
    imp = np.load(tmp_path / "imp.npy")
    assert imp.shape == (4, 3, 32, 32) and imp.dtype == np.uint8 and not np.array_equal(imp, np.load(start)[:4])
    done = run_cli(*args, "--out", str(tmp_path / "both.npy"), "--images", "4", "--with-start")
    assert done.returncode == 0, done.stderr
    both = np.load(tmp_path / "both.npy")
    assert np.array_equal(both[:6], np.load(start)) and np.array_equal(both[6:], imp)   # same seed, same bytes
    shards = tmp_path / "shards"                                   # shards as the start: decoded, then removed
    assert run_cli("render", "--out", str(shards), "--images", "5", "--size", "32", "--format", "npy",
                   "--families", "plasma", "--workers", "1").returncode == 0
    done = run_cli(*args, "--data", str(shards), "--out", str(tmp_path / "from-shards.npy"), "--with-start")
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "from-shards.npy").shape == (10, 3, 32, 32)
    (tmp_path / "from-shards.npy").unlink()
    shutil.rmtree(shards)

    np.save(tmp_path / "grey.npy", np.zeros((2, 32, 32), np.uint8))
    for extra, says in ((["--data", str(tmp_path / "grey.npy")], "allowed uint8 (N, 3, H, W)"),
                        (["--tv", "-1"], "--tv '-1' is invalid"), (["--jitter", "x"], "--jitter"),
                        (["--out", str(tmp_path / "imp.png")], "allowed a path ending in .npy"),
                        (["--teacher", str(tmp_path / "missing.pt")], "does not exist")):
        done = run_cli(*args, "--out", str(tmp_path / "bad.npy"), *extra)
        assert done.returncode == 2 and says in done.stderr, done.stderr
    assert not (tmp_path / "bad.npy").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "both.npy", "grey.npy", "imp.npy", "lenet.pt", "start.npy"]


def test_an_interrupted_set_resumes_from_its_parts(tmp_path, monkeypatch):
    """``impressions_file``: finished parts survive a crash, a rerun optimises only the rest and
    writes the set made in one go; other settings are refused, naming the folder."""
    from unnatural.distill import impressions

    monkeypatch.setattr(impressions, "PART", 3)
    teacher, dev = _teacher(1), torch.device("cpu")
    images = np.random.default_rng(1).integers(0, 256, (7, 3, 12, 12), dtype=np.uint8)
    head = np.zeros((2, 3, 12, 12), np.uint8)
    kwargs = {"inputs": {"teacher": "t"}, "head": head, "first": 4, "iterations": 5, "lr": 0.05, "progress": False}
    whole = np.load(impressions.impressions_file(tmp_path / "whole.npy", teacher, images, 12, 1, dev, **kwargs))
    assert whole.shape == (9, 3, 12, 12) and np.array_equal(whole[:2], head)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whole.npy"]          # parts removed once complete

    real, calls, crash_at = impressions.impressions_array, [], [7]

    def crashing(*args, **kw):
        calls.append(kw["first"])
        if kw["first"] in crash_at:
            raise RuntimeError("killed")
        return real(*args, **kw)

    monkeypatch.setattr(impressions, "impressions_array", crashing)
    with pytest.raises(RuntimeError, match="killed"):
        impressions.impressions_file(tmp_path / "set.npy", teacher, images, 12, 1, dev, **kwargs)
    assert not (tmp_path / "set.npy").exists()
    assert sorted(p.name for p in (tmp_path / "set.npy.parts").iterdir()) == ["0000000004.npy", "settings.json"]
    with pytest.raises(ValueError, match=r"set\.npy\.parts holds parts made with other settings"):
        impressions.impressions_file(tmp_path / "set.npy", teacher, images, 12, 1, dev, **{**kwargs, "lr": 0.1})
    calls.clear()
    crash_at.clear()
    resumed = np.load(impressions.impressions_file(tmp_path / "set.npy", teacher, images, 12, 1, dev, **kwargs))
    assert calls == [7, 10] and np.array_equal(resumed, whole)
    assert not (tmp_path / "set.npy.parts").exists()
