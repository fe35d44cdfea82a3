"""The revisited batch norm (unnatural.distill.bn), the study's statistics
(unnatural.distill.studies.report) and the study runner (unnatural.distill.studies.bn) on real
digits training."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from unnatural.distill.bn import VARIANTS, BNVariant, OnlineInputNorm, WithInputNorm, variant
from unnatural.distill.checkpoint import ModelInfo, Normalized, load_model, save_model
from unnatural.distill.models import create_model, model_names
from unnatural.distill.studies.bn import BNStudy, parse_seeds, run_study
from unnatural.distill.studies.report import compare_to_baseline, paired_ttest, replace_section

from conftest import run_cli


@pytest.mark.parametrize("name", [n for n in model_names() if not n.startswith("lenet")])  # LeNets have no BN
def test_init_sets_every_bn_scale_and_shift(name):
    model = create_model(name, norm_layer=BNVariant(init=True, scale_init=0.1).norm_layer())
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns
    for bn in bns:
        assert torch.all(bn.weight == 0.1) and torch.all(bn.bias == 0)
    standard = create_model(name, norm_layer=BNVariant().norm_layer())
    assert all(torch.all(m.weight == 1) for m in standard.modules() if isinstance(m, nn.BatchNorm2d))


def test_parameter_groups_follow_the_paper():
    model = Normalized(create_model("resnet8", input_norm=True), [0.0] * 3, [1.0] * 3)
    lr, wd = 0.1, 5e-4
    groups = BNVariant(update=True).param_groups(model, lr, wd)
    by_id = {id(p): g for g in groups for p in g["params"]}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(by_id) == len(trainable)                       # every trainable parameter exactly once
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            scale = by_id[id(module.weight)]
            assert scale["lr"] == pytest.approx(lr / 100) and scale["weight_decay"] == 0
            if module.bias.requires_grad:
                assert by_id[id(module.bias)]["lr"] == lr and by_id[id(module.bias)]["weight_decay"] == 0
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            assert by_id[id(module.weight)]["lr"] == lr and by_id[id(module.weight)]["weight_decay"] == wd
            if module.bias is not None:
                assert by_id[id(module.bias)]["weight_decay"] == 0
    (single,) = BNVariant().param_groups(model, lr, wd)       # update off: one group, decay on all
    assert single["weight_decay"] == wd and len(single["params"]) == len(trainable)
    # the scheduler scales every group alike
    from unnatural.distill.training import make_optimizer, warmup_cosine

    opt = make_optimizer(model, "sgd", lr, wd, groups)
    sched = warmup_cosine(opt, 100, 0)
    for _ in range(50):
        opt.step()
        sched.step()
    ratios = [g["lr"] / g["initial_lr"] for g in opt.param_groups]
    assert max(ratios) == pytest.approx(min(ratios)) and ratios[0] < 0.6


def test_online_input_norm_train_and_eval_behaviour():
    layer = OnlineInputNorm(3)
    assert torch.allclose(layer.weight, torch.full((3,), 0.1 * 0.58)) and torch.all(layer.bias == 0)
    assert not layer.bias.requires_grad and layer.weight.requires_grad
    x = torch.rand(64, 3, 8, 8) * torch.tensor([1.0, 5.0, 0.2]).view(1, 3, 1, 1) + 3
    y = layer.train()(x)                     # batch statistics: zero mean, std gamma per channel
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std(dim=(0, 2, 3)), torch.full((3,), 0.058), rtol=0.02)
    layer.eval()                              # running statistics: a fixed affine map of the input
    a, b = layer(x[:1]), layer(x[:2])[:1]
    assert torch.equal(a, b)                  # no dependence on the rest of the batch in eval
    expected = (x[:1] - layer.running_mean.view(1, 3, 1, 1)) / torch.sqrt(layer.running_var.view(1, 3, 1, 1) + layer.eps)
    assert torch.allclose(a, expected * 0.058, atol=1e-5)
    opt = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=1.0)
    layer.train()(x).pow(2).sum().backward()
    opt.step()
    assert torch.all(layer.bias == 0)        # beta stays frozen at 0


def test_input_norm_model_round_trips_through_a_model_file(tmp_path):
    net = create_model("cnn", input_norm=True)
    assert isinstance(net, WithInputNorm)
    model = Normalized(net, [0.0] * 3, [1.0] * 3)
    model.train()(torch.rand(16, 3, 16, 16))          # move the running statistics
    save_model(tmp_path / "m.pt", model, ModelInfo("cnn", 10, 16, options={"input_norm": True}))
    loaded, info = load_model(tmp_path / "m.pt")
    x = torch.rand(4, 3, 16, 16)
    assert info.options == {"input_norm": True}
    assert torch.allclose(loaded(x), model.eval()(x))


def test_variant_names_and_bad_values():
    assert set(VARIANTS) == {"baseline", "revisited", "init", "update", "input", "init+update"}
    assert variant("revisited") == BNVariant(init=True, update=True, input_norm=True)
    with pytest.raises(ValueError, match="'fancy'.*allowed baseline"):
        variant("fancy")
    with pytest.raises(ValueError, match="scale_init 1.5"):
        BNVariant(scale_init=1.5)
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    with pytest.raises(ValueError, match="'5-2'"):
        parse_seeds("5-2")


def test_paired_ttest_matches_a_hand_computation():
    a = [0.91, 0.93, 0.90, 0.95, 0.92]
    b = [0.90, 0.90, 0.91, 0.92, 0.90]
    d = np.array(a) - np.array(b)                        # 0.01, 0.03, -0.01, 0.03, 0.02
    n = len(d)
    mean = d.sum() / n                                    # 0.016
    sd = math.sqrt(((d - mean) ** 2).sum() / (n - 1))     # sample std of the differences
    t_hand = mean / (sd / math.sqrt(n))
    from scipy import stats

    p_hand = 1 - stats.t.cdf(t_hand, df=n - 1)            # one-sided: treatment > baseline
    t, p = paired_ttest(a, b)
    assert t == pytest.approx(t_hand) and p == pytest.approx(p_hand)
    assert t == pytest.approx(2.138, abs=1e-3) and p == pytest.approx(0.0496, abs=1e-3)
    _, p_rev = paired_ttest(b, a)
    assert p_rev == pytest.approx(1 - p_hand)
    assert all(math.isnan(v) for v in paired_ttest([1, 2], [0, 1]))     # constant difference: undefined
    with pytest.raises(ValueError, match="differ in length"):
        paired_ttest([1, 2, 3], [1, 2])
    rows = compare_to_baseline({"baseline": dict(enumerate(b)), "new": dict(enumerate(a))})
    assert rows[1]["p"] == pytest.approx(p_hand) and rows[1]["wins"] == 4 and rows[1]["delta"] == pytest.approx(mean)


def test_replace_section_replaces_in_place(tmp_path):
    doc = tmp_path / "R.md"
    replace_section(doc, "k", "first")
    replace_section(doc, "other", "x")
    replace_section(doc, "k", "second")
    text = doc.read_text()
    assert "second" in text and "first" not in text and text.index("second") < text.index("other:begin")


def _write_sections(doc: str, key: str, times: int) -> None:
    for i in range(times):
        replace_section(doc, key, f"{key} {i}")


def test_sections_written_at_once_keep_each_other(tmp_path):
    import multiprocessing as mp

    doc = tmp_path / "R.md"
    procs = [mp.get_context("fork").Process(target=_write_sections, args=(str(doc), key, 200)) for key in "ab"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    text = doc.read_text()
    assert "a 199" in text and "b 199" in text and text.count(":begin -->") == 2


@pytest.mark.slow
def test_study_runs_resumes_and_reports(tmp_path):
    study = BNStudy(setting="teacher", arch="cnn", seeds=[1, 2], variants=["baseline", "revisited"], size=8,
                    batch_size=64, epochs=2)
    result = run_study(study, tmp_path, progress=False, doc=tmp_path / "RESULTS.md")
    lines = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted((r["variant"], r["seed"]) for r in lines) == [("baseline", 1), ("baseline", 2),
                                                                ("revisited", 1), ("revisited", 2)]
    assert all(0 <= r["test_acc"] <= 1 for r in lines)
    assert [r["variant"] for r in result["rows"]] == ["baseline", "revisited"]
    assert (tmp_path / "bn-teacher.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| revisited | 2 |" in (tmp_path / "report.md").read_text()
    assert "study-bn-teacher-digits:begin" in (tmp_path / "RESULTS.md").read_text()
    # a rerun trains nothing more; other settings in the same folder are refused
    run_study(study, tmp_path, progress=False)
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 4
    with pytest.raises(ValueError, match="other settings"):
        run_study(BNStudy(setting="teacher", arch="cnn", seeds=[1], variants=["baseline"], size=8, epochs=3), tmp_path)


def test_study_cli_rejects_bad_values(tmp_path):
    r = run_cli("study", "bn", "--setting", "teacher", "--seeds", "3-1", "--out", str(tmp_path))
    assert r.returncode == 2 and "'3-1'" in r.stderr
    r = run_cli("study", "bn", "--setting", "teacher", "--variants", "baseline,magic", "--out", str(tmp_path))
    assert r.returncode == 2 and "magic" in r.stderr
    r = run_cli("study", "bn", "--setting", "teacher", "--variants", "revisited", "--out", str(tmp_path))
    assert r.returncode == 2 and "baseline" in r.stderr
