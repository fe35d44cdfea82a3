"""The distillation client: KD loss, teachers, a real (short) distillation that learns,
boundary samples, class balancing, resume, a live server as the data source, CLI errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from conftest import run_cli
from unnatural.distill.adversarial import boundary_samples
from unnatural.distill.balance import ClassBalancer, balanced_weights, normalized_entropy
from unnatural.distill.checkpoint import load_model
from unnatural.distill.data import load_real
from unnatural.distill.kd import DistillConfig, as_float_images, distill, image_source, kd_loss, teacher_scores
from unnatural.distill.training import evaluate, train_teacher

SIZE = 16


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    summary = train_teacher("digits", "cnn", path, epochs=15, batch_size=64, lr=0.05, size=SIZE, seed=0,
                            augment="off,crop=pad,pad=2", progress=False)
    assert summary["test_acc"] > 0.9, summary
    return path


@pytest.fixture(scope="module")
def digits_test():
    test = load_real("digits", "test", size=SIZE)
    return test.x, test.y


def test_kd_loss_matches_hand_computation():
    s = torch.tensor([[1.0, 2.0, 0.5]])
    t = torch.tensor([[0.2, 1.5, 2.5]])
    T = 2.0
    ps = [math.exp(v / T) for v in s[0].tolist()]
    pt = [math.exp(v / T) for v in t[0].tolist()]
    ps, pt = [v / sum(ps) for v in ps], [v / sum(pt) for v in pt]
    expected = T * T * sum(b * math.log(b / a) for a, b in zip(ps, pt))
    assert kd_loss(s, t, T).item() == pytest.approx(expected, rel=1e-6)
    assert kd_loss(t, t, 3.0).item() == pytest.approx(0.0, abs=1e-6)
    batch = torch.randn(8, 10), torch.randn(8, 10)
    singles = sum(kd_loss(batch[0][i:i + 1], batch[1][i:i + 1], 4.0) for i in range(8)) / 8
    assert kd_loss(*batch, 4.0).item() == pytest.approx(singles.item(), rel=1e-5)


def test_teacher_checkpoint_loads_frozen(teacher, digits_test):
    model, info = load_model(teacher)
    assert info.arch == "cnn" and info.num_classes == 10 and info.input_size == SIZE and info.classes[3] == "3"
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert evaluate(model, *digits_test, torch.device("cpu")) > 0.9
    scripted = teacher.parent / "teacher.ts"
    torch.jit.script(model).save(str(scripted))
    ts_model, ts_info = load_model(scripted, input_size=SIZE)
    assert ts_info.num_classes == 10
    x = digits_test[0][:16]
    assert torch.allclose(ts_model(x), model(x), atol=1e-5)


def test_short_distillation_on_digits_learns(teacher, digits_test, tmp_path):
    config = DistillConfig(steps=150, batch_size=64, lr=0.05, warmup_steps=10, eval_every=50, checkpoint_every=150,
                           augment="off")
    summary = distill(teacher, "cnn", image_source("digits", 64, size=SIZE), tmp_path, config,
                      eval_set=digits_test, progress=False, data_label="digits")
    assert summary["test_acc"] > 0.6, summary       # chance is 0.1
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [50, 100, 150] and all("test_acc" in e for e in log)
    student, info = load_model(tmp_path / "student.pt")
    assert info.arch == "cnn" and evaluate(student, *digits_test, torch.device("cpu")) == summary["test_acc"]


def test_resume_continues_identically(teacher, tmp_path):
    config = DistillConfig(steps=12, batch_size=32, warmup_steps=2, checkpoint_every=100, eval_every=100,
                           augment="synthetic", balance=True, adversarial=0.25)
    source = image_source("noise", 32, size=SIZE, seed=3)
    distill(teacher, "cnn", source, tmp_path / "whole", config, progress=False)
    distill(teacher, "cnn", source, tmp_path / "split", config, progress=False, stop_after=5)
    distill(teacher, "cnn", source, tmp_path / "split", config, progress=False, resume=True)
    whole = torch.load(tmp_path / "whole" / "student.pt", weights_only=True)["state_dict"]
    split = torch.load(tmp_path / "split" / "student.pt", weights_only=True)["state_dict"]
    assert whole.keys() == split.keys()
    assert all(torch.equal(whole[k], split[k]) for k in whole)
    with pytest.raises(FileNotFoundError):
        distill(teacher, "cnn", source, tmp_path / "none", config, progress=False, resume=True)


def test_boundary_samples_cross_the_teacher_boundary(teacher, digits_test):
    model, _ = load_model(teacher)
    torch.manual_seed(0)
    result = boundary_samples(model, digits_test[0][:64])
    assert result.images.shape == (256, 3, SIZE, SIZE) and 0 <= result.images.min() and result.images.max() <= 1
    assert result.crossed.float().mean() > 0.8
    with torch.no_grad():
        pred = model(result.images).argmax(1)
    n = 64
    before, after = pred[:n], pred[n:2 * n]
    crossed = result.crossed
    assert (after[crossed] == result.target[crossed]).all()
    assert (before[crossed] != result.target[crossed]).float().mean() > 0.9
    assert (pred[3 * n:][crossed] == result.target[crossed]).float().mean() > 0.9   # pushed deeper


def test_class_balancing_flattens_a_skewed_stream():
    g = torch.Generator().manual_seed(0)
    probs = torch.tensor([0.55, 0.2, 0.1, 0.05, 0.04, 0.03, 0.01, 0.01, 0.005, 0.005])
    balancer = ClassBalancer(10, floor=0.04)
    stream = kept = torch.zeros(10, dtype=torch.int64)
    for _ in range(400):
        pred = torch.multinomial(probs, 256, replacement=True, generator=g)
        keep = balancer.admit(pred, generator=g)
        stream = stream + torch.bincount(pred, minlength=10)
        kept = kept + torch.bincount(pred[keep], minlength=10)
    assert normalized_entropy(stream) < 0.7
    assert normalized_entropy(kept) > 0.95 and torch.equal(kept, balancer.admitted)
    assert normalized_entropy(torch.tensor([5, 5, 5])) == pytest.approx(1.0)
    assert normalized_entropy(torch.tensor([9, 0, 0])) == 0.0


def test_balanced_weights_match_the_balancers_steady_state():
    g = torch.Generator().manual_seed(0)
    probs = torch.tensor([0.55, 0.2, 0.1, 0.05, 0.04, 0.03, 0.01, 0.01, 0.005, 0.005])
    labels = torch.multinomial(probs, 20_000, replacement=True, generator=g)
    weights = balanced_weights(labels, 10, floor=0.08)
    drawn = labels[torch.multinomial(weights, 20_000, replacement=True, generator=g)]
    assert normalized_entropy(torch.bincount(labels, minlength=10)) < 0.7
    assert normalized_entropy(torch.bincount(drawn, minlength=10)) > 0.95
    # classes below the floor (0.008 of the set) get 1 / 0.008, not 1 / their share (~0.005)
    assert float(weights[labels == 9].max()) == pytest.approx(1 / 0.008)
    with pytest.raises(ValueError, match="0..9"):
        balanced_weights(torch.tensor([0, 10]), 10)


def test_finite_set_balances_without_rejection(teacher, digits_test, tmp_path):
    import numpy as np

    # a skewed finite set: real digits, three quarters of them zeros
    real = load_real("digits", "train", size=SIZE)
    skewed = torch.cat([real.x[real.y == 0].repeat(8, 1, 1, 1), real.x[real.y != 0]])
    np.save(tmp_path / "skewed.npy", (skewed * 255).round().to(torch.uint8).numpy())
    config = DistillConfig(steps=6, batch_size=32, warmup_steps=1, eval_every=6, checkpoint_every=6, balance=True,
                           augment="off")
    source = image_source(str(tmp_path / "skewed.npy"), 32, seed=1)
    summary = distill(teacher, "cnn", source, tmp_path / "run", config, eval_set=digits_test, progress=False)
    assert summary["complete"] and summary["admitted_entropy"] > 0.97
    assert sum(summary["admitted_histogram"]) == pytest.approx(6 * 32)


def test_kd_score_of_sets(teacher):
    model, info = load_model(teacher)
    real = teacher_scores(model, image_source("digits", 128, size=SIZE)(), SIZE, 10, torch.device("cpu"), 512)
    noise = teacher_scores(model, image_source("noise", 128, size=SIZE)(), SIZE, 10, torch.device("cpu"), 512)
    assert real["images"] == noise["images"] == 512 and sum(real["histogram"]) == 512
    assert real["normalized_entropy"] > 0.95 and real["normalized_entropy"] > noise["normalized_entropy"]
    assert 0.1 <= noise["mean_max_softmax"] <= 1 and real["mean_max_softmax"] > 0.8


@pytest.mark.slow
def test_kd_score_reports_classes_and_programs_of_shards(teacher, tmp_path):
    from unnatural.generator.job import render_dataset
    from unnatural.generator.spec import DatasetSpec

    spec = DatasetSpec(name="d", seed=4, width=SIZE, height=SIZE, images=300, images_per_shard=100, format="npy",
                       mix={"plasma": 1.0, "voronoi_cells": 1.0, "composed": 1.0}, composed_programs=3)
    render_dataset(spec, tmp_path / "shards", workers=1, progress=False)
    result = run_cli("kd-score", "--teacher", str(teacher), "--data", str(tmp_path / "shards"), "--images", "250",
                     "--heatmap", str(tmp_path / "map.png"))
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["images"] == 250 and sum(scores["histogram"]) == 250 and scores["programs"] == 5
    assert list(scores["class_share"]) == [str(d) for d in range(10)]
    assert sum(scores["class_share"].values()) == pytest.approx(1, abs=1e-3)
    fed = {name: n for name, n in scores["programs_per_class"].items() if scores["class_share"][name] > 0}
    assert fed and all(1 <= n <= 5 for n in fed.values())
    assert 0 <= scores["normalized_entropy"] <= 1 and 0.1 <= scores["mean_max_softmax"] <= 1
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    noise = run_cli("kd-score", "--teacher", str(teacher), "--data", "noise", "--heatmap", str(tmp_path / "n.png"))
    assert noise.returncode == 2 and "--heatmap needs shards" in noise.stderr and not (tmp_path / "n.png").exists()


def test_live_server_as_data_source(teacher, digits_test, tmp_path):
    from unnatural.server.process import ServerProcess

    spec = {"name": "kd", "seed": 2, "width": SIZE, "height": SIZE, "images": 256, "images_per_shard": 64,
            "format": "npy", "mix": {"plasma": 1.0, "voronoi_cells": 1.0}}
    (tmp_path / "d.json").write_text(json.dumps({"datasets": [spec]}))
    with ServerProcess(["--workers", "1", "--config", str(tmp_path / "d.json")], tmp_path / "server.log") as server:
        url = server.client.get("/datasets/kd").json()["url_template"]
        config = DistillConfig(steps=6, batch_size=32, warmup_steps=1, eval_every=3, checkpoint_every=6)
        summary = distill(teacher, "cnn", image_source(url, 32, size=SIZE, num_workers=1), tmp_path / "run", config,
                          eval_set=digits_test, progress=False, data_label=url)
    assert summary["complete"] and 0 <= summary["test_acc"] <= 1 and math.isfinite(summary["final_loss"])


@pytest.mark.slow
def test_cli_errors_are_clear(teacher, tmp_path):
    result = run_cli("distill", "--teacher", str(tmp_path / "missing.pt"), "--data", "noise", "--out", str(tmp_path))
    assert result.returncode == 2 and "missing.pt" in result.stderr and "does not exist" in result.stderr
    result = run_cli("distill", "--teacher", str(teacher), "--student", "resnet99", "--data", "noise",
                     "--out", str(tmp_path), "--steps", "1")
    assert result.returncode == 2 and "resnet99" in result.stderr and "resnet18" in result.stderr
    result = run_cli("distill", "--teacher", str(teacher), "--data", "noise", "--out", str(tmp_path),
                     "--torch-threads", "0")
    assert result.returncode == 2 and "--torch-threads" in result.stderr
    result = run_cli("teacher", "train", "--dataset", "mnist", "--out", str(tmp_path / "t.pt"))
    assert result.returncode == 2 and "mnist" in result.stderr and "digits" in result.stderr
    result = run_cli("teacher", "train", "--dataset", "cifar10:/nonexistent", "--out", str(tmp_path / "t.pt"))
    assert result.returncode == 2 and "/nonexistent" in result.stderr
    result = run_cli("kd-score", "--teacher", str(teacher), "--data", str(tmp_path / "none-{000000..000001}.tar"))
    assert result.returncode == 2 and "none-" in result.stderr


@pytest.mark.slow
def test_torchrun_ddp_on_cpu(teacher, tmp_path):
    """Two processes under torchrun (gloo on CPU): DDP keeps the replicas identical."""
    import subprocess
    import sys

    from conftest import ROOT

    # --standalone: torchrun's rendezvous takes a free port itself (a port picked here first
    # could be taken by another test before torchrun binds it).
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "unnatural", "distill", "--teacher", str(teacher), "--student", "cnn", "--data", "noise",
         "--steps", "4", "--batch-size", "16", "--warmup-steps", "1", "--eval", "digits", "--eval-every", "2",
         "--out", str(tmp_path), "--no-progress", "--device", "cpu"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] and summary["steps"] == 4 and 0 <= summary["test_acc"] <= 1
    assert summary["torch_threads"] >= 1
    assert [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [2, 4]


# ---------------------------------------------------------------- grey (1-channel) teachers

@pytest.fixture(scope="module")
def grey_teacher(tmp_path_factory):
    """A LeNet-5 on the installed Fashion-MNIST (1 channel, 32 px), one short epoch."""
    if not FASHION.is_dir():
        pytest.skip(f"{FASHION} is not installed (apt-get install dataset-fashion-mnist)")
    path = tmp_path_factory.mktemp("grey") / "lenet5.pt"
    summary = train_teacher("fashion-mnist", "lenet5", path, epochs=1, batch_size=128, optimizer="adamw", lr=2e-3,
                            weight_decay=1e-4, size=32, augment="off", progress=False)
    assert summary["test_acc"] > 0.7, summary
    return path


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
def test_grey_teacher_distills_a_grey_student_and_sees_rgb_as_luma(grey_teacher, tmp_path):
    teacher, info = load_model(grey_teacher)
    assert info.channels == 1 and info.input_size == 32
    test = load_real("fashion-mnist", "test", size=32)
    sub = (test.x[:2000], test.y[:2000])
    config = DistillConfig(steps=150, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=1e-4, warmup_steps=10,
                           eval_every=150, checkpoint_every=150, temperature=4.0, augment="off")
    summary = distill(grey_teacher, "lenet5_half", image_source("fashion-mnist", 128, size=32), tmp_path / "real",
                      config, eval_set=sub, progress=False, data_label="fashion-mnist")
    assert summary["test_acc"] > 0.6, summary       # chance is 0.1
    student, sinfo = load_model(tmp_path / "real" / "student.pt")
    assert sinfo.channels == 1 and sum(p.numel() for p in student.parameters()) == 35_820
    # RGB images (shader shards, noise rendered as RGB) reach the grey teacher as BT.601 luma
    rgb = torch.rand(4, 3, 32, 32)
    luma = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]).unsqueeze(1)
    assert torch.allclose(as_float_images(rgb, torch.device("cpu"), 32, 1), luma, atol=1e-6)
    scores = teacher_scores(teacher, image_source("noise", 64, size=32)(), 32, 10, torch.device("cpu"), 256, 1)
    assert scores["images"] == 256 and sum(scores["histogram"]) == 256
    with pytest.raises(ValueError, match="2-channel"):
        as_float_images(torch.rand(1, 2, 32, 32), torch.device("cpu"), 32, 1)
