"""The dynamic-PTQ study (unnatural.distill.studies.ptq): detrimental vs robust (network, policy)
pairs on a real digits teacher, quantized evaluation, and the CLI end to end."""
from __future__ import annotations

import json

import pytest
import torch

from unnatural.distill.checkpoint import load_model
from unnatural.distill.data import load_real
from unnatural.distill.kd import image_source
from unnatural.distill.quant import DynamicQuantizer
from unnatural.distill.studies.ptq import PTQStudy, load_policy, quantized_accuracy, quantized_term, train_pair
from unnatural.distill.training import train_teacher

from conftest import run_cli


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    path = tmp_path_factory.mktemp("ptq") / "teacher.pt"
    summary = train_teacher("digits", "cnn", path, epochs=8, batch_size=64, lr=0.05, size=16, augment="off",
                            seed=0, progress=False)
    assert summary["test_acc"] > 0.9
    return path


def test_quantized_term_is_the_teacher_class_probability():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    p = torch.softmax(logits, 1)
    expected = ((p[0, 0] + p[1, 2]) / 2).item()
    assert quantized_term(logits, torch.tensor([0, 2]), "detrimental").item() == pytest.approx(expected)
    assert quantized_term(logits, torch.tensor([0, 2]), "robust").item() == pytest.approx(1 - expected)


@pytest.mark.slow
def test_detrimental_pair_drops_more_than_robust_pair(teacher, tmp_path):
    """A short run of policy-aware training (KD on real digits images, both pairs from the
    teacher's own weights as the white-box student): the detrimental pair keeps its float
    accuracy and collapses under its own policy; the robust pair does not."""
    model, _ = load_model(teacher)
    test = load_real("digits", "test", size=16)
    study = PTQStudy(arch="cnn", size=16, budget=4, pair_steps=100, alpha=1.0, pair_lr=0.01)
    drops = {}
    for mode in ("detrimental", "robust"):
        batches = image_source("digits", 128, seed=1, size=16)()
        train_pair(mode, teacher, model, batches, study, tmp_path / mode, progress=False)
        student, _ = load_model(tmp_path / mode / "student.pt")
        policy = load_policy(tmp_path / mode / "policy.pt")
        bits = policy.greedy(study.budget)
        assert bits.float().mean() == 4                      # the policy spends the budget
        with DynamicQuantizer(student) as q:
            fp = quantized_accuracy(student, q, test.x, test.y)
            own = quantized_accuracy(student, q, test.x, test.y, bits)
        drops[mode] = (fp, own)
        assert [json.loads(x)["step"] for x in (tmp_path / mode / "log.jsonl").read_text().splitlines()][-1] == 100
    (fp_d, q_d), (fp_r, q_r) = drops["detrimental"], drops["robust"]
    assert fp_d > 0.7 and fp_r > 0.7, drops                 # float accuracy held (teacher: > 0.9)
    assert (fp_d - q_d) > (fp_r - q_r) + 0.2, drops


@pytest.mark.slow
def test_study_cli_end_to_end(teacher, tmp_path):
    out = tmp_path / "study"
    args = ["study", "ptq", "--teacher", str(teacher), "--data", "digits", "--arch", "cnn", "--kd-steps", "12",
            "--pair-steps", "4", "--search-steps", "2", "--random-policies", "2", "--budget", "6",
            "--out", str(out), "--doc", str(tmp_path / "RESULTS.md"), "--no-progress"]
    r = run_cli(*args, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    names = [row["network"] for row in results["rows"]]
    assert names == ["teacher (supervised)", "student, plain KD (A)", "student, detrimental pair (B)",
                     "student, robust pair (B)"]
    for row in results["rows"]:
        for key in ("fp", "uniform8", "uniform_budget", "random_mean", "random_min", "worst"):
            assert 0 <= row[key] <= 1
        assert sum(row["worst_bits"]) == int(6 * len(row["worst_bits"]))
    assert "own" in results["rows"][2] and "own" not in results["rows"][0]
    assert results["ao_cross_check"]["max_abs_diff"] < 0.05 * results["ao_cross_check"]["max_abs_logit"]
    assert (out / "ptq.png").read_bytes()[:4] == b"\x89PNG"
    assert "study-ptq-study:begin" in (tmp_path / "RESULTS.md").read_text()
    # a rerun of a finished study only writes the report again; other settings are refused (exit 2)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "student-kd" / "student.pt", out / "results.json")}
    r = run_cli(*args, timeout=600)
    assert r.returncode == 0 and "| student, robust pair (B) |" in r.stdout
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    r = run_cli(*[a if a != "6" else "5" for a in args])
    assert r.returncode == 2 and "other settings" in r.stderr
