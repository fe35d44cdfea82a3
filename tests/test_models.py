"""Model registry of unnatural.distill.models: shapes, sizes, norm_layer plumbing, init, errors, trainability,
grey (1-channel) inputs and model files."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from unnatural.distill.models import create_model, model_names  # noqa: E402

NAMES = ["resnet8", "resnet18", "resnet34", "resnet8x4", "wrn16_1", "wrn16_2", "wrn40_1", "wrn40_2", "cnn",
         "lenet5", "lenet5_half"]
LENETS = ["lenet5", "lenet5_half"]
NORMED = [name for name in NAMES if name not in LENETS]   # LeNet-5 has no normalization layers

# Sizes with a 10-class head: CRD (Tian et al. 2020) Table 1 figures, which use 100 classes, minus
# the 90 extra head rows (e.g. wrn40_2: 2.25M - 90*129 = 2.24M); ResNet18/34 as in He et al.
EXPECTED_PARAMS = {
    "resnet8": 78e3, "resnet18": 11.17e6, "resnet34": 21.28e6, "resnet8x4": 1.21e6, "wrn16_1": 175e3,
    "wrn16_2": 0.69e6, "wrn40_1": 0.56e6, "wrn40_2": 2.24e6, "cnn": 95e3,
    "lenet5": 62e3, "lenet5_half": 36e3,   # 3 input channels: 61,706 + 300 and 35,820 + 150, see below
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The CPU is shared: keep this file to one intra-op thread, then restore the setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_registry_names():
    assert model_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_and_size(name):
    torch.manual_seed(0)
    model = create_model(name)
    assert abs(n_params(model) - EXPECTED_PARAMS[name]) <= 0.1 * EXPECTED_PARAMS[name]
    with torch.no_grad():
        for hw in [(32, 32), (40, 36)] if name in LENETS else [(32, 32), (16, 16), (8, 12)]:
            y = model(torch.randn(2, 3, *hw))
            assert y.shape == (2, 10) and y.dtype == torch.float32
            assert torch.isfinite(y).all()


def test_resnet8_exact_size():
    """He et al. §4.2, n=1, with 1x1 projection shortcuts, counted by hand."""
    convs = 3 * 16 * 9 + 2 * 16 * 16 * 9 + (16 * 32 * 9 + 32 * 32 * 9 + 16 * 32) + (32 * 64 * 9 + 64 * 64 * 9 + 32 * 64)
    norms = 2 * (16 + 2 * 16 + 3 * 32 + 3 * 64)
    head = 64 * 10 + 10
    assert n_params(create_model("resnet8")) == convs + norms + head == 78042


def test_lenet5_exact_sizes():
    """ZSKD/DAFL's MNIST pair, 1 input channel, 10 classes: conv(k, 5x5) and linear layers with bias."""
    def count(c1: int, c3: int, c5: int, f6: int) -> int:
        return (1 * 25 + 1) * c1 + (c1 * 25 + 1) * c3 + (c3 * 25 + 1) * c5 + (c5 + 1) * f6 + (f6 + 1) * 10

    assert n_params(create_model("lenet5", in_channels=1)) == count(6, 16, 120, 84) == 61_706
    assert n_params(create_model("lenet5_half", in_channels=1)) == count(3, 8, 120, 84) == 35_820
    assert count(3, 8, 60, 42) == 15_738            # DAFL's code's all-halved variant, not in the registry


@pytest.mark.parametrize("name", NAMES)
def test_grey_forward(name):
    torch.manual_seed(0)
    model = create_model(name, in_channels=1).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 1, 32, 32))
    assert y.shape == (2, 10) and y.dtype == torch.float32 and torch.isfinite(y).all()
    with pytest.raises(RuntimeError):
        model(torch.rand(2, 3, 32, 32))            # a 1-channel model rejects RGB


def test_grey_model_file_round_trip(tmp_path):
    """A 1-channel model saves and loads back as it is: ``in_channels`` travels in the file's options,
    mean/std hold one value each."""
    from unnatural.distill.checkpoint import ModelInfo, Normalized, load_model, save_model

    torch.manual_seed(0)
    model = Normalized(create_model("lenet5_half", in_channels=1), [0.29], [0.35]).eval()
    info = ModelInfo("lenet5_half", 10, 32, [0.29], [0.35], [str(c) for c in range(10)], options={"in_channels": 1})
    save_model(tmp_path / "m.pt", model, info)
    loaded, back = load_model(tmp_path / "m.pt")
    x = torch.rand(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert back.mean == [0.29] and back.options == {"in_channels": 1}


@pytest.mark.parametrize("name", ["resnet8", "wrn16_1", "cnn"])
def test_other_classes_and_channels(name):
    model = create_model(name, num_classes=100, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 16, 16)).shape == (2, 100)


@pytest.mark.parametrize("name", LENETS)
def test_lenet_ignores_the_norm_layer_factory(name):
    made = []
    model = create_model(name, norm_layer=lambda c: made.append(c) or nn.GroupNorm(1, c))
    assert not made and not any(isinstance(m, (nn.GroupNorm, nn.BatchNorm2d)) for m in model.modules())


@pytest.mark.parametrize("name", NORMED)
def test_norm_layer_factory_builds_every_norm(name):
    made = []

    def factory(c: int) -> nn.Module:
        made.append(nn.GroupNorm(1, c))
        return made[-1]

    model = create_model(name, norm_layer=factory)
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert made and {id(m) for m in norms} == {id(m) for m in made}
    assert not any(isinstance(m, nn.modules.batchnorm._NormBase) for m in model.modules())
    # The default factory is BatchNorm2d, in the same places.
    bns = [m for m in create_model(name).modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.num_features for m in bns] == [m.num_channels for m in norms]


def test_init_keeps_norm_init_and_uses_kaiming_fan_out():
    def factory(c: int) -> nn.Module:
        bn = nn.BatchNorm2d(c)
        nn.init.constant_(bn.weight, 0.25)
        return bn

    torch.manual_seed(0)
    model = create_model("resnet18", norm_layer=factory)
    assert all((m.weight == 0.25).all() for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    conv = model.layers[-1].conv2  # 512 -> 512, 3x3: fan_out = 512 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.02)


@pytest.mark.parametrize("kwargs, needle", [
    ({"name": "resnet50"}, "'resnet50'"),
    ({"name": "cnn", "num_classes": 1}, "num_classes"),
    ({"name": "cnn", "num_classes": 2.5}, "num_classes"),
    ({"name": "cnn", "in_channels": 0}, "in_channels"),
    ({"name": "cnn", "norm_layer": 3}, "norm_layer"),
])
def test_bad_arguments_raise_value_error(kwargs, needle):
    with pytest.raises(ValueError) as err:
        create_model(**kwargs)
    assert needle in str(err.value)
    if "num_classes" in kwargs or "in_channels" in kwargs:
        assert ">= " in str(err.value)


def test_unknown_name_lists_allowed_names():
    with pytest.raises(ValueError) as err:
        create_model("vgg")
    assert all(name in str(err.value) for name in NAMES)


def test_small_model_overfits_random_batch():
    torch.manual_seed(0)
    x, y = torch.randn(32, 3, 16, 16), torch.randint(0, 10, (32,))
    model = create_model("cnn")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
