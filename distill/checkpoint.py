"""Model files: this project's checkpoint format, TorchScript teachers, frozen loading.

A model file is a ``torch.save`` dict: ``format`` ("unnatural-model"), ``version``, ``arch``
(a :func:`unnatural.distill.models.create_model` name), ``num_classes``, ``input_size`` (pixels),
``mean``/``std`` (input normalization, per channel, on [0, 1] inputs), ``classes`` and
``state_dict``, ``options`` (extra :func:`unnatural.distill.models.create_model` arguments, e.g.
``{"input_norm": true}``), plus free-form ``meta``. The normalization lives in the file, so every model
here takes ``(N, 3, H, W)`` float images in [0, 1]. TorchScript files (``torch.jit.save``) load
too; they are assumed to take [0, 1] inputs at ``input_size`` (give it) and their class count
is read from one forward pass.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from unnatural.generator.files import atomic_open

FORMAT, VERSION = "unnatural-model", 1


class Normalized(nn.Module):
    """``net((x - mean) / std)``: a classifier on [0, 1] images.

    ``x``: ``(N, 3, H, W)`` float in [0, 1] -> logits ``(N, K)``.
    """

    def __init__(self, net: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


@dataclass
class ModelInfo:
    """What a model file says about its model."""

    arch: str
    num_classes: int
    input_size: int
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    classes: list[str] | None = None
    meta: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)   # create_model(**options), e.g. input_norm

    @property
    def channels(self) -> int:
        """Input channels the model takes: 1 (grey) or 3 (RGB); one mean per channel."""
        return len(self.mean)


def save_model(path: str | os.PathLike, model: Normalized, info: ModelInfo) -> None:
    """Write ``model`` (a :class:`Normalized` registry model) atomically: a temporary file in the
    same folder, renamed when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.net.state_dict().items()}
    with atomic_open(path) as f:
        torch.save({"format": FORMAT, "version": VERSION, **vars(info), "state_dict": state}, f)


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(name.endswith("constants.pkl") or "/code/" in name for name in z.namelist())
    except zipfile.BadZipFile:
        return False


def _probe_torchscript(model: nn.Module, input_size: int, device) -> tuple[int, int]:
    """``(classes, input channels)`` of a TorchScript model: the first of 3 and 1 channels it accepts.

    Raises:
        ValueError: it accepts neither ``(1, 3, S, S)`` nor ``(1, 1, S, S)``.
    """
    for channels in (3, 1):
        try:
            with torch.no_grad():
                return int(model(torch.zeros(1, channels, input_size, input_size, device=device)).shape[1]), channels
        except RuntimeError:
            continue
    raise ValueError(f"the TorchScript model takes neither 3 nor 1 channels at {input_size}x{input_size} px")


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", input_size: int = 32,
               frozen: bool = True) -> tuple[nn.Module, ModelInfo]:
    """Load a model file (this project's format or TorchScript).

    Args:
        path: the file.
        device: where to put it.
        input_size: TorchScript files only: the input side in pixels.
        frozen: eval mode and ``requires_grad=False`` (teachers).

    Returns:
        ``(model, info)``; the model maps ``(N, C, H, W)`` [0, 1] floats to ``(N, K)`` logits,
        C = ``info.channels`` (TorchScript: 3, else 1, whichever the module accepts).

    Raises:
        FileNotFoundError: no such file. ValueError: not a model file of either kind, or an
        unknown architecture.
    """
    from .models import create_model

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    if _is_torchscript(path):
        model = torch.jit.load(str(path), map_location=device).eval()
        k, channels = _probe_torchscript(model, input_size, device)
        info = ModelInfo(arch="torchscript", num_classes=k, input_size=input_size, mean=[0.0] * channels,
                         std=[1.0] * channels)
    else:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"{str(path)!r} is not a model file ({type(exc).__name__}): expected this project's "
                             f"format (unnatural teacher train) or TorchScript") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{str(path)!r} is not an {FORMAT} file: expected this project's format or TorchScript")
        info = ModelInfo(**{k: data[k] for k in ("arch", "num_classes", "input_size", "mean", "std", "classes", "meta")},
                         options=data.get("options", {}))
        net = create_model(info.arch, num_classes=info.num_classes, **{"in_channels": info.channels, **info.options})
        net.load_state_dict(data["state_dict"])
        model = Normalized(net, info.mean, info.std).to(device)
    if frozen:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model, info
