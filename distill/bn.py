"""Revisited batch-norm initialization (Davis & Frank, "Revisiting Batch Norm Initialization",
ECCV 2022, arXiv:2110.13989; docs/METHODS.md §4), as three independent switches:

* ``init``: every BN scale gamma starts at a constant < 1 (default 0.1) instead of 1, shift 0
  (§4 of the paper: the normalized output's scale is what the first updates cannot fix).
* ``update``: optimizer parameter groups -- BN scales at ``lr / c`` (c = 100) without weight
  decay, BN shifts and every other 1-D parameter at ``lr`` without weight decay, conv/linear
  weights at ``lr`` with weight decay. Schedules scale all groups alike (the scheduler multiplies
  each group's own initial lr).
* ``input_norm``: online input normalization, a BatchNorm2d over the input channels prepended to
  the network in place of the fixed dataset mean/std: gamma starts at ``0.1 * 0.58`` (0.58 ~
  the std of ReLU of a unit Gaussian, so the first layer sees inputs on the scale of a hidden
  layer's), beta frozen at 0; batch statistics in training, running statistics at evaluation.

:data:`VARIANTS` names the settings of the study: ``baseline`` (all off), ``revisited`` (all
on), the ablations ``init``, ``update``, ``input``, and ``init+update`` (revisited without the
input layer).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from torch import nn

RELU_GAUSSIAN_STD = 0.58   # std of max(0, z), z ~ N(0, 1): sqrt(1/2 - 1/(2 pi)) = 0.584


@dataclass(frozen=True)
class BNVariant:
    """Which pieces of the revisited batch norm are on.

    Attributes:
        init: BN scales start at ``scale_init`` (else torch's 1.0).
        update: BN scales at ``lr / lr_divisor``, no weight decay on 1-D parameters.
        input_norm: a :class:`OnlineInputNorm` replaces the fixed dataset mean/std.
        scale_init: the constant gamma of ``init`` (the paper's default 0.1); must be in (0, 1].
        lr_divisor: ``c`` of ``update`` (the paper's 100); must be >= 1.

    Raises:
        ValueError: ``scale_init`` outside (0, 1] or ``lr_divisor`` < 1.
    """

    init: bool = False
    update: bool = False
    input_norm: bool = False
    scale_init: float = 0.1
    lr_divisor: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.scale_init <= 1:
            raise ValueError(f"scale_init {self.scale_init} is out of range: allowed (0, 1]")
        if self.lr_divisor < 1:
            raise ValueError(f"lr_divisor {self.lr_divisor} is out of range: allowed >= 1")

    @property
    def model_options(self) -> dict:
        """Extra :func:`unnatural.distill.models.create_model` arguments of this variant, also stored in
        model files (``ModelInfo.options``) so the model loads back: ``{"input_norm": True}`` or
        ``{}``."""
        return {"input_norm": True} if self.input_norm else {}

    def norm_layer(self):
        """The ``norm_layer(num_channels)`` factory for :func:`unnatural.distill.models.create_model`."""
        return partial(batch_norm, scale_init=self.scale_init) if self.init else nn.BatchNorm2d

    def param_groups(self, model: nn.Module, lr: float, weight_decay: float) -> list[dict]:
        """Optimizer parameter groups for ``model`` (trainable parameters only).

        With ``update`` off: one group, weight decay on everything (the usual recipe). With it
        on: the three groups of the paper (see the module docstring); a group's ``lr`` and
        ``weight_decay`` are explicit, so any optimizer and scheduler treat them alike.
        """
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not self.update:
            return [{"params": [p for _, p in params], "lr": lr, "weight_decay": weight_decay}]
        scales = {id(m.weight) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine}
        groups = {"bn_scale": [], "no_decay": [], "decay": []}
        for _, p in params:
            key = "bn_scale" if id(p) in scales else "no_decay" if p.ndim <= 1 else "decay"
            groups[key].append(p)
        return [g for g in ({"params": groups["bn_scale"], "lr": lr / self.lr_divisor, "weight_decay": 0.0},
                            {"params": groups["no_decay"], "lr": lr, "weight_decay": 0.0},
                            {"params": groups["decay"], "lr": lr, "weight_decay": weight_decay}) if g["params"]]


VARIANTS: dict[str, BNVariant] = {
    "baseline": BNVariant(),
    "revisited": BNVariant(init=True, update=True, input_norm=True),
    "init": BNVariant(init=True),
    "update": BNVariant(update=True),
    "input": BNVariant(input_norm=True),
    "init+update": BNVariant(init=True, update=True),   # revisited without the input layer
}


def variant(name: str) -> BNVariant:
    """The :data:`VARIANTS` entry ``name``. Raises ValueError for an unknown name."""
    if name not in VARIANTS:
        raise ValueError(f"BN variant {name!r} is unknown: allowed {', '.join(VARIANTS)}")
    return VARIANTS[name]


def batch_norm(num_channels: int, scale_init: float = 0.1) -> nn.BatchNorm2d:
    """``nn.BatchNorm2d(num_channels)`` with gamma = ``scale_init`` and beta = 0 (§3 of the paper)."""
    bn = nn.BatchNorm2d(num_channels)
    nn.init.constant_(bn.weight, scale_init)
    nn.init.zeros_(bn.bias)
    return bn


class OnlineInputNorm(nn.BatchNorm2d):
    """The paper's input normalization: BatchNorm2d over the input channels, gamma starts at
    ``0.1 * 0.58``, beta frozen at 0 (``requires_grad=False``: a learned input offset would only
    duplicate the first conv's bias-free shift). ``(N, C, H, W)`` float -> same shape; batch
    statistics in training, running statistics in eval mode.
    """

    def __init__(self, num_channels: int = 3, scale_init: float = 0.1 * RELU_GAUSSIAN_STD):
        super().__init__(num_channels)
        nn.init.constant_(self.weight, scale_init)
        nn.init.zeros_(self.bias)
        self.bias.requires_grad_(False)


class WithInputNorm(nn.Module):
    """``body(input_norm(x))``: a registry model behind an :class:`OnlineInputNorm`."""

    def __init__(self, body: nn.Module, in_channels: int = 3):
        super().__init__()
        self.input_norm = OnlineInputNorm(in_channels)
        self.body = body

    def forward(self, x):
        return self.body(self.input_norm(x))
