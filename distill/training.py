"""Shared training pieces: device choice, optimizers, the warm-up + cosine schedule,
evaluation, and supervised teacher training."""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unnatural.generator.files import atomic_write

from .bn import BNVariant
from .checkpoint import ModelInfo, Normalized, load_model, save_model


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU. Raises ValueError for an unavailable device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} is not available here: allowed auto or cpu")
    return device


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float,
                   param_groups: list[dict] | None = None) -> torch.optim.Optimizer:
    """SGD (momentum 0.9, Nesterov) or AdamW over ``param_groups`` (default: all parameters).

    Raises:
        ValueError: an unknown optimizer name.
    """
    groups = param_groups if param_groups is not None else [{"params": [p for p in model.parameters() if p.requires_grad]}]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer {name!r} is unknown: allowed sgd, adamw")


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from ~0 to each group's lr over ``warmup_steps``, then a cosine decay to 0
    at ``total_steps`` (Loshchilov & Hutter, SGDR, ICLR 2017; Goyal et al. 2017 warm-up)."""
    warmup_steps = max(0, min(warmup_steps, total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch_size: int = 512) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``x`` ``(N, C, H, W)`` [0, 1] floats and labels
    ``y`` ``(N,)`` int64 (eval mode during the call, previous mode restored)."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == y[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / max(1, len(x))


def per_class_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                       num_classes: int, batch_size: int = 512) -> list[float]:
    """Top-1 accuracy in [0, 1] per class (index = label) of ``model`` on ``x`` ``(N, C, H, W)``
    [0, 1] floats and labels ``y`` ``(N,)`` int64; a class absent from ``y`` gets ``nan``."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
    hits = torch.bincount(y[pred == y], minlength=num_classes).float()
    counts = torch.bincount(y, minlength=num_classes).float()
    return (hits / counts).tolist()


def train_teacher(dataset: str, arch: str, out: str | Path, *, epochs: int = 30, batch_size: int = 128,
                  lr: float = 0.05, weight_decay: float = 5e-4, optimizer: str = "sgd", size: int = 32,
                  augment: str = "off,crop=pad,pad=4", seed: int = 0, device: str = "auto", progress: bool = True,
                  bn: BNVariant | None = None) -> dict:
    """Supervised training of a teacher on a real dataset; keeps the best validation checkpoint.

    Args:
        dataset: a real dataset (:data:`unnatural.distill.datasets.DATASETS`); grey sets give a
            1-channel teacher.
        arch: registry name (:func:`unnatural.distill.models.model_names`).
        out: model file to write (this project's format; written atomically at each new best).
        epochs, batch_size, lr, weight_decay, optimizer: SGD/AdamW with warm-up (1 epoch) + cosine.
        size: input side in pixels.
        augment: :meth:`AugmentConfig.parse` text; mixup (if on) mixes the labels too.
        seed: initialization, batch order and augmentation.
        bn: which pieces of the revisited batch norm are on (:class:`unnatural.distill.bn.BNVariant`;
            ``None``: standard BN, fixed dataset mean/std, one parameter group).

    Returns:
        Summary: best validation accuracy and its epoch, test accuracy of the best checkpoint,
        seconds, and the per-epoch history.
    """
    from .augment import AugmentConfig, Augmenter, mixup
    from .data import load_real
    from .models import create_model

    dev = pick_device(device)
    torch.manual_seed(seed)
    train, val, test = (load_real(dataset, split, size=size) for split in ("train", "val", "test"))
    bn = bn or BNVariant()
    if bn.input_norm:                   # the online input normalization replaces the fixed mean/std
        mean, std = [0.0] * train.channels, [1.0] * train.channels
    else:
        mean = train.x.mean(dim=(0, 2, 3)).tolist()
        std = train.x.std(dim=(0, 2, 3)).clamp(min=1e-3).tolist()
    net = create_model(arch, num_classes=train.num_classes, in_channels=train.channels, norm_layer=bn.norm_layer(),
                       **bn.model_options)
    model = Normalized(net, mean, std).to(dev)
    config = AugmentConfig.parse(augment)
    augmenter = Augmenter(dataclasses.replace(config, mixup=False)).to(dev)   # labels are mixed below
    opt = make_optimizer(model, optimizer, lr, weight_decay, bn.param_groups(model, lr, weight_decay))
    steps_per_epoch = max(1, len(train.x) // batch_size)
    sched = warmup_cosine(opt, epochs * steps_per_epoch, steps_per_epoch)
    info = ModelInfo(arch, train.num_classes, size, mean, std, train.classes, {"dataset": dataset, "seed": seed},
                     options=bn.model_options)
    best, best_epoch, history = -1.0, -1, []
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=f"teacher {arch}", disable=not progress, dynamic_ncols=True)
    for epoch in bar:
        model.train()
        for xb, yb in train.loader(batch_size, shuffle=True, seed=seed * 1000 + epoch, drop_last=True):
            xb, yb = augmenter(xb.to(dev)), yb.to(dev)
            if config.mixup:
                xb, perm, lam = mixup(xb, config.mixup_alpha)
                logits = model(xb)
                loss = lam * F.cross_entropy(logits, yb) + (1 - lam) * F.cross_entropy(logits, yb[perm])
            else:
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, val.x, val.y, dev)
        history.append({"epoch": epoch, "loss": loss.item(), "val_acc": acc})
        if acc > best:
            best, best_epoch = acc, epoch
            save_model(out, model, info)
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{acc:.3f}", best=f"{best:.3f}")
    bar.close()
    best_model, _ = load_model(out, dev)
    summary = {"arch": arch, "dataset": dataset, "best_val_acc": best, "best_epoch": best_epoch,
               "test_acc": evaluate(best_model, test.x, test.y, dev), "seconds": time.perf_counter() - start,
               "history": history, "out": str(out)}
    atomic_write(Path(out).with_suffix(".json"), (json.dumps(summary, indent=1) + "\n").encode())
    return summary

