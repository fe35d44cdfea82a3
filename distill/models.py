"""Student/teacher classifiers for knowledge distillation, on plain torch.

Every model maps a float32 batch ``(N, in_channels, H, W)`` with ``H, W >= 8`` (LeNet-5: ``>= 32``)
to float32 logits ``(N, num_classes)``: spatial size is removed by an adaptive average pool before
the linear head. Every normalization layer is built by one ``norm_layer(num_channels)`` factory
(default :class:`torch.nn.BatchNorm2d`), so a study can swap the BN variant without touching the
models; LeNet-5 has no normalization layers, so it ignores the factory.

Architectures (names as in :func:`model_names`):

* ``resnet8``, ``resnet8x4``: CIFAR ResNet of He et al. 2016, "Deep Residual Learning for Image
  Recognition", §4.2 (6n+2 layers, n=1; stage widths 16/32/64, strides 1/2/2). ``resnet8x4`` is the
  4x-wide variant of the CRD benchmark (Tian et al. 2020, "Contrastive Representation
  Distillation", ICLR): stem width 32, stage widths 64/128/256. Projection shortcuts (1x1 conv +
  norm, He et al. option B) where the shape changes, as in the CRD code.
* ``resnet18``, ``resnet34``: He et al. 2016 §3.3/Table 1 BasicBlock ResNets ([2,2,2,2] and
  [3,4,6,3] blocks, widths 64/128/256/512) in the CIFAR form used by CRD: 3x3 stride-1 stem
  conv, no max-pool.
* ``wrn{depth}_{k}``: Wide ResNet of Zagoruyko & Komodakis 2016, "Wide Residual Networks",
  BMVC, §2/Table 1: pre-activation blocks (He et al. 2016, "Identity Mappings in Deep Residual
  Networks"), n=(depth-4)/6 blocks per stage, widths 16, 16k, 32k, 64k, no dropout.
* ``cnn``: three conv-norm-ReLU layers (32/64/128 channels, 2x2 max-pool after the first two),
  about 96k parameters, for quick tests.
* ``lenet5``, ``lenet5_half``: the MNIST teacher/student pair of the data-free KD papers, ZSKD
  (Nayak et al. 2019, "Zero-Shot Knowledge Distillation in Deep Networks", ICML) and DAFL (Chen
  et al. 2019, "Data-Free Learning of Student Networks", ICCV), after LeCun et al. 1998: 32x32
  input, conv 5x5 (C1) + ReLU + 2x2 max-pool, conv 5x5 (C3) + ReLU + 2x2 max-pool, conv 5x5 (C5,
  5x5 -> 1x1) + ReLU, linear (F6) + ReLU, linear; convs and linears with bias, no normalization.
  ``lenet5`` has widths 6/16/120/84: 61,706 parameters with 1 input channel and 10 classes.
  ``lenet5_half`` halves the two feature convs, 3/8/120/84: 35,820 parameters, the LeNet-5-Half
  count this project's benchmark takes from ZSKD (of the halvings, only this one gives it; halving
  all four widths, 3/8/60/42 as in DAFL's code, gives 15,738).

Convolutions get Kaiming-normal init (fan_out, ReLU gain); norm layers keep whatever init their
factory gives them; the linear head keeps torch's default.
"""
from __future__ import annotations

import operator
from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Post-activation residual block of He et al. 2016 §3: ``relu(F(x) + shortcut(x))``.

    ``F`` is conv3x3(stride)-norm-ReLU-conv3x3-norm; the shortcut is the identity, or a strided
    1x1 conv + norm when the stride or the width changes. ``(N, cin, H, W)`` ->
    ``(N, cout, ceil(H/stride), ceil(W/stride))``.
    """

    def __init__(self, cin: int, cout: int, stride: int, norm_layer: NormLayer):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.norm1 = norm_layer(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.norm2 = norm_layer(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), norm_layer(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style BasicBlock ResNet: 3x3 stride-1 stem, stages, global average pool, linear.

    Stage ``i`` has ``blocks[i]`` blocks of width ``widths[i]``; its first block has stride 1 for
    ``i == 0`` and 2 otherwise. ``(N, in_channels, H, W)`` float32 -> ``(N, num_classes)``.
    """

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...], stem_width: int,
                 num_classes: int, in_channels: int, norm_layer: NormLayer):
        super().__init__()
        self.stem = nn.Sequential(_conv3x3(in_channels, stem_width), norm_layer(stem_width), nn.ReLU())
        layers, cin = [], stem_width
        for i, (width, count) in enumerate(zip(widths, blocks)):
            for j in range(count):
                layers.append(BasicBlock(cin, width, 2 if i > 0 and j == 0 else 1, norm_layer))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class WideBlock(nn.Module):
    """Pre-activation block of Zagoruyko & Komodakis 2016 (Fig. 1c without dropout).

    ``out = conv3x3(relu(norm(conv3x3_stride(a)))) + shortcut``, ``a = relu(norm(x))``; the
    shortcut is ``x``, or a strided 1x1 conv of ``a`` when the stride or the width changes.
    """

    def __init__(self, cin: int, cout: int, stride: int, norm_layer: NormLayer):
        super().__init__()
        self.norm1 = norm_layer(cin)
        self.conv1 = _conv3x3(cin, cout, stride)
        self.norm2 = norm_layer(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.norm1(x))
        out = self.conv2(F.relu(self.norm2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(nn.Module):
    """WRN-depth-k: stem conv to 16, three stages of ``(depth-4)/6`` :class:`WideBlock` s of widths
    16k/32k/64k (strides 1/2/2), final norm-ReLU, global average pool, linear.
    ``(N, in_channels, H, W)`` float32 -> ``(N, num_classes)``.
    """

    def __init__(self, depth: int, k: int, num_classes: int, in_channels: int, norm_layer: NormLayer):
        super().__init__()
        n = (depth - 4) // 6
        self.stem = _conv3x3(in_channels, 16)
        layers, cin = [], 16
        for i, width in enumerate((16 * k, 32 * k, 64 * k)):
            for j in range(n):
                layers.append(WideBlock(cin, width, 2 if i > 0 and j == 0 else 1, norm_layer))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.norm = norm_layer(cin)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(self.layers(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def _small_cnn(num_classes: int, in_channels: int, norm_layer: NormLayer) -> nn.Module:
    def unit(cin: int, cout: int) -> list[nn.Module]:
        return [_conv3x3(cin, cout), norm_layer(cout), nn.ReLU()]

    return nn.Sequential(*unit(in_channels, 32), nn.MaxPool2d(2), *unit(32, 64), nn.MaxPool2d(2),
                         *unit(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))


class LeNet5(nn.Module):
    """LeNet-5 as in ZSKD/DAFL (module docstring) with ``widths = (C1, C3, C5, F6)``.

    ``(N, in_channels, H, W)`` float32, ``H, W >= 32`` -> ``(N, num_classes)``; at 32x32 C5's output
    is 1x1, larger inputs are average-pooled there (no parameters either way). ``norm_layer`` is
    accepted for the registry's signature and unused.
    """

    def __init__(self, widths: tuple[int, int, int, int], num_classes: int, in_channels: int,
                 norm_layer: NormLayer | None = None):
        super().__init__()
        c1, c3, c5, f6 = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c3, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c3, c5, 5), nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(c5, f6), nn.ReLU(), nn.Linear(f6, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "resnet8": partial(ResNet, (16, 32, 64), (1, 1, 1), 16),
    "resnet18": partial(ResNet, (64, 128, 256, 512), (2, 2, 2, 2), 64),
    "resnet34": partial(ResNet, (64, 128, 256, 512), (3, 4, 6, 3), 64),
    "resnet8x4": partial(ResNet, (64, 128, 256), (1, 1, 1), 32),
    "wrn16_1": partial(WideResNet, 16, 1),
    "wrn16_2": partial(WideResNet, 16, 2),
    "wrn40_1": partial(WideResNet, 40, 1),
    "wrn40_2": partial(WideResNet, 40, 2),
    "cnn": _small_cnn,
    "lenet5": partial(LeNet5, (6, 16, 120, 84)),
    "lenet5_half": partial(LeNet5, (3, 8, 120, 84)),
}


def model_names() -> list[str]:
    """Names accepted by :func:`create_model`, in registry order."""
    return list(_REGISTRY)


def check_int(label: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; ValueError naming ``label`` otherwise (bools rejected)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{label} must be an integer >= {minimum}, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{label} must be an integer >= {minimum}, got {value!r}")
    return value


def create_model(name: str, num_classes: int = 10, in_channels: int = 3,
                 norm_layer: NormLayer | None = None, input_norm: bool = False) -> nn.Module:
    """Build a freshly initialised classifier by name (see the module docstring for sources).

    Args:
        name: one of :func:`model_names`.
        num_classes: number of logits, >= 2.
        in_channels: channels of the input images, >= 1.
        norm_layer: ``f(num_channels) -> nn.Module`` used for every normalization layer
            (``None``: :class:`torch.nn.BatchNorm2d`). Its modules keep their own init.
        input_norm: prepend the online input normalization of the revisited batch norm
            (:class:`unnatural.distill.bn.WithInputNorm`; Davis & Frank 2022).

    Returns:
        A module in training mode mapping float32 ``(N, in_channels, H, W)``, ``H, W >= 8``
        (LeNet-5: ``>= 32``), to float32 logits ``(N, num_classes)``.

    Raises:
        ValueError: unknown ``name``, ``num_classes < 2``, ``in_channels < 1``, non-integer
            counts, or a non-callable ``norm_layer``.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown model name {name!r}; allowed: {', '.join(_REGISTRY)}")
    num_classes = check_int("num_classes", num_classes, 2)
    in_channels = check_int("in_channels", in_channels, 1)
    if norm_layer is None:
        norm_layer = nn.BatchNorm2d
    elif not callable(norm_layer):
        raise ValueError(f"norm_layer must be a callable f(num_channels) -> nn.Module, got {norm_layer!r}")
    model = _REGISTRY[name](num_classes=num_classes, in_channels=in_channels, norm_layer=norm_layer)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    if input_norm:
        from .bn import WithInputNorm

        model = WithInputNorm(model, in_channels)
    return model
