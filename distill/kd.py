"""Knowledge distillation from a frozen teacher on any image stream (shader shards, server URLs,
real images, noise).

Loss: Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015, §2):
``T^2 * KL(softmax(t / T) || softmax(s / T))``, batch mean. Recipe for synthetic data (Frank &
Davis, arXiv:2411.12817 and arXiv:2310.13782; docs/METHODS.md §1): heavy augmentation with mixup on
the trainer's device, optional teacher class balancing (:mod:`unnatural.distill.balance`) and boundary
samples from a targeted attack on the teacher (:mod:`unnatural.distill.adversarial`).

Every random choice of step ``s`` (augmentation, mixup, balancing, attack targets) draws from
the global torch RNG seeded with ``(seed, rank, s)``, and the data stream is replayed up to the
batches already consumed, so a run resumed from a checkpoint continues exactly as the
uninterrupted run would have.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unnatural.generator.files import atomic_open, atomic_write

from .bn import BNVariant
from .checkpoint import ModelInfo, Normalized, load_model, save_model
from .training import evaluate, make_optimizer, pick_device, warmup_cosine

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
SUMMARY = "summary.json"
STUDENT = "student.pt"


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton KD loss: ``T^2 * KL(softmax(t/T) || softmax(s/T))``, averaged over the batch.

    Args:
        student_logits, teacher_logits: ``(N, K)`` float.
        temperature: T > 0 (the T^2 factor keeps gradient magnitudes comparable across T).

    Returns:
        Scalar tensor (differentiable in ``student_logits``).
    """
    if temperature <= 0:
        raise ValueError(f"temperature {temperature} is invalid: allowed > 0")
    log_s = F.log_softmax(student_logits.float() / temperature, dim=1)
    log_t = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    return temperature ** 2 * F.kl_div(log_s, log_t, log_target=True, reduction="batchmean")


@dataclass
class DistillConfig:
    """Hyper-parameters of one distillation run (saved in its checkpoint and summary).

    ``adversarial``: share of each batch replaced by boundary samples (4 per attacked original);
    ``balance``: admit stream samples so the teacher's argmax histogram stays uniform.
    """

    steps: int = 2000
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    weight_decay: float = 5e-4
    warmup_steps: int = 100
    temperature: float = 5.0
    augment: str = "synthetic"
    balance: bool = False
    adversarial: float = 0.0
    eval_every: int = 200
    checkpoint_every: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        checks = (("steps", self.steps >= 1, ">= 1"), ("batch_size", self.batch_size >= 2, ">= 2"),
                  ("lr", self.lr > 0, "> 0"), ("weight_decay", self.weight_decay >= 0, ">= 0"),
                  ("warmup_steps", self.warmup_steps >= 0, ">= 0"), ("temperature", self.temperature > 0, "> 0"),
                  ("adversarial", 0 <= self.adversarial <= 1, "0..1"), ("eval_every", self.eval_every >= 1, ">= 1"),
                  ("checkpoint_every", self.checkpoint_every >= 1, ">= 1"),
                  ("optimizer", self.optimizer in ("sgd", "adamw"), "sgd | adamw"))
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} {getattr(self, name)!r} is invalid: allowed {allowed}")


# -- image sources ---------------------------------------------------------------------------
BatchSource = Callable[[], Iterator[torch.Tensor]]


def image_source(data: str, batch_size: int, seed: int = 0, size: int = 32, token: str | None = None,
                 num_workers: int = 2) -> BatchSource:
    """A factory of endless iterators of image batches ``(B, 3, H, W)`` (uint8 or [0, 1] float).

    Args:
        data: shard files/brace pattern/folder or server URLs (``http(s)://``, read through
            webdataset, resampled), ``noise`` (pixel-wise Gaussian noise, mean 0.5, std 0.25,
            clipped; the "Gaussian noise" set of docs/METHODS.md §1), or a real dataset
            (``digits``, ``cifar10:PATH``, ``cifar100:PATH``, ``folder:PATH``: its training
            images, labels unused).
        size: image side for ``noise`` and real datasets.

    Each call of the factory starts the same sequence again (it is how a resumed run replays).
    """
    from .data import load_real, shader_loader
    from .datasets import is_real_dataset

    def generator() -> torch.Generator:   # per DDP rank: ranks must not see the same batches
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        return torch.Generator().manual_seed(seed * 1_000_003 + rank)

    if data == "noise":
        def noise() -> Iterator[torch.Tensor]:
            g = generator()
            while True:
                yield (0.5 + 0.25 * torch.randn(batch_size, 3, size, size, generator=g)).clamp(0, 1)
        return noise
    if is_real_dataset(data):
        images = load_real(data, "train", size=size).x

        def real() -> Iterator[torch.Tensor]:
            g = generator()
            while True:
                order = torch.randperm(len(images), generator=g)
                for i in range(0, len(order) - batch_size + 1, batch_size):
                    yield images[order[i:i + batch_size]]
        return real

    def shards() -> Iterator[torch.Tensor]:
        return iter(shader_loader(data, batch_size, resampled=True, seed=seed, token=token, num_workers=num_workers))
    return shards


# -- the trainer -------------------------------------------------------------------------------
def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, initializing the process group once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def as_float_images(batch: torch.Tensor, device: torch.device, size: int) -> torch.Tensor:
    """A source batch (``(N, 3, H, W)`` uint8 or float) -> float32 in [0, 1] on ``device``,
    resized (bilinear, antialiased) to ``size`` x ``size`` pixels."""
    x = batch.to(device, non_blocking=True)
    x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def distill(teacher_path: str | Path, student_arch: str, source: BatchSource, out_dir: str | Path,
            config: DistillConfig, *, eval_set: tuple[torch.Tensor, torch.Tensor] | None = None,
            device: str = "auto", resume: bool = False, progress: bool = True, data_label: str = "",
            bn: BNVariant | None = None, stop_after: int | None = None) -> dict:
    """Train a student against a frozen teacher on ``source``; return the summary.

    Args:
        teacher_path: teacher model file (:func:`unnatural.distill.checkpoint.load_model`).
        student_arch: registry name of the student.
        source: image batches (:func:`image_source`).
        out_dir: gets ``checkpoint.pt`` (every ``checkpoint_every`` steps), ``log.jsonl`` (one
            line per evaluation), ``student.pt`` (final student, model-file format) and
            ``summary.json``.
        config: :class:`DistillConfig`.
        eval_set: ``(x (N, 3, H, W) [0, 1] float, y (N,) int64)`` real test images.
        resume: continue from ``out_dir/checkpoint.pt``.
        bn: the student's batch-norm variant (:class:`unnatural.distill.bn.BNVariant`; ``None``: standard).
        stop_after: stop (with a checkpoint) after this many steps of this call: for tests of resume.

    Raises:
        FileNotFoundError / ValueError: a bad teacher file, architecture, or a resume without
            a checkpoint.
    """
    from .adversarial import boundary_samples
    from .augment import AugmentConfig, Augmenter
    from .balance import ClassBalancer, normalized_entropy
    from .models import create_model

    rank, world = _distributed()
    dev = pick_device(device)
    if world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    cuda = dev.type == "cuda"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    teacher, tinfo = load_model(teacher_path, dev)
    size = tinfo.input_size
    torch.manual_seed(config.seed)
    bn = bn or BNVariant()
    net = create_model(student_arch, num_classes=tinfo.num_classes, norm_layer=bn.norm_layer(), **bn.model_options)
    mean, std = ([0.0] * 3, [1.0] * 3) if bn.input_norm else (tinfo.mean, tinfo.std)
    student = Normalized(net, mean, std).to(dev)
    if cuda:
        student = student.to(memory_format=torch.channels_last)
    opt = make_optimizer(student, config.optimizer, config.lr, config.weight_decay,
                         bn.param_groups(student, config.lr, config.weight_decay))
    sched = warmup_cosine(opt, config.steps, config.warmup_steps)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    augmenter = Augmenter(AugmentConfig.parse(config.augment)).to(dev)
    balancer = ClassBalancer(tinfo.num_classes) if config.balance else None
    step, consumed, best, start_time = 0, 0, -1.0, time.perf_counter()
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise FileNotFoundError(f"--resume: {out / CHECKPOINT} does not exist")
        ckpt = torch.load(out / CHECKPOINT, map_location=dev, weights_only=False)
        student.load_state_dict(ckpt["student"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        if balancer:
            balancer.load_state_dict(ckpt["balancer"])
        step, consumed, best = ckpt["step"], ckpt["consumed"], ckpt["best"]
    model = torch.nn.parallel.DistributedDataParallel(student) if world > 1 else student
    batches = source()
    for _ in range(consumed):        # replay the stream to where the checkpoint left it
        next(batches)
    info = ModelInfo(student_arch, tinfo.num_classes, size, mean, std, tinfo.classes,
                     {"teacher": str(teacher_path), "data": data_label, "config": asdict(config)},
                     options=bn.model_options)

    def save_checkpoint() -> None:
        if rank != 0:
            return
        with atomic_open(out / CHECKPOINT) as f:
            torch.save({"student": student.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                        "balancer": balancer.state_dict() if balancer else None,
                        "step": step, "consumed": consumed, "best": best, "config": asdict(config)}, f)

    def log(entry: dict) -> None:
        if rank == 0:
            with (out / LOG).open("a") as f:
                f.write(json.dumps(entry) + "\n")

    n_adv = int(round(config.batch_size * config.adversarial / 4))  # attacked originals per batch
    bar = tqdm(total=config.steps, initial=step, desc=f"distill {student_arch}", disable=not progress or rank != 0,
               dynamic_ncols=True, unit="step")
    loss_value, window_start, window_images = float("nan"), time.perf_counter(), 0
    stop_at = config.steps if stop_after is None else min(config.steps, step + stop_after)
    while step < stop_at:
        with torch.random.fork_rng(devices=[dev] if cuda else []):
            torch.manual_seed(config.seed * 1_000_003 + rank * 7_919 + step)
            xs, have = [], 0
            while have < config.batch_size:            # assemble one batch (balancing may drop samples)
                x = as_float_images(next(batches), dev, size)
                consumed += 1
                if balancer is not None:               # the set is balanced as the teacher sees it,
                    with torch.no_grad():              # before augmentation (as the offline filter)
                        keep = balancer.admit(teacher(x).argmax(1)).to(dev)
                    x = x[keep]
                xs.append(x)
                have += len(x)
            x = augmenter(torch.cat(xs)[:config.batch_size])
            if n_adv:
                adv = boundary_samples(teacher, x[:n_adv]).images
                x = torch.cat([adv, x[4 * n_adv:]])[:config.batch_size]
            with torch.no_grad():
                t = teacher(x)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.float16, enabled=cuda):
            loss = kd_loss(model(x), t, config.temperature)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        step += 1
        loss_value, window_images = loss.item(), window_images + len(x)
        bar.update(1)
        if step % config.eval_every == 0 or step == config.steps:
            entry = {"step": step, "loss": loss_value, "lr": sched.get_last_lr()[0],
                     "images_per_s": window_images / (time.perf_counter() - window_start),
                     "seconds": time.perf_counter() - start_time}
            if eval_set is not None and rank == 0:
                entry["test_acc"] = evaluate(student, eval_set[0], eval_set[1], dev)
                best = max(best, entry["test_acc"])
                bar.set_postfix(loss=f"{loss_value:.3f}", acc=f"{entry['test_acc']:.3f}")
            log(entry)
            window_start, window_images = time.perf_counter(), 0
        if step % config.checkpoint_every == 0 or step == stop_at:
            save_checkpoint()
    bar.close()
    summary = {"student": student_arch, "teacher": str(teacher_path), "data": data_label, "steps": step,
               "complete": step >= config.steps, "config": asdict(config), "final_loss": loss_value,
               "seconds": time.perf_counter() - start_time}
    if balancer is not None:
        summary["admitted_histogram"] = balancer.admitted.tolist()
        summary["admitted_entropy"] = normalized_entropy(balancer.admitted)
    if eval_set is not None and rank == 0:
        summary["test_acc"] = evaluate(student, eval_set[0], eval_set[1], dev)
        summary["best_test_acc"] = max(best, summary["test_acc"])
    if rank == 0 and step >= config.steps:
        save_model(out / STUDENT, student, info)
        atomic_write(out / SUMMARY, (json.dumps(summary, indent=1) + "\n").encode())
    return summary


def teacher_scores(teacher: nn.Module, batches: Iterator[torch.Tensor], size: int, num_classes: int,
                   device: torch.device, max_images: int) -> dict:
    """kd-score of an image set (docs/METHODS.md §1, criterion (a)): the teacher's argmax histogram,
    its normalized entropy H(p)/log K (1 = uniform) and the mean max-softmax.

    Args:
        batches: image batches ``(B, 3, H, W)`` uint8 or [0, 1] float (resized to ``size``).
        max_images: stop after this many images.
    """
    from .balance import normalized_entropy

    histogram = torch.zeros(num_classes, dtype=torch.int64)
    conf_sum, n = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            x = as_float_images(batch, device, size)[: max_images - n]
            prob = teacher(x).softmax(1)
            conf, pred = prob.max(1)
            histogram += torch.bincount(pred.cpu(), minlength=num_classes)
            conf_sum += float(conf.sum())
            n += len(x)
            if n >= max_images:
                break
    return {"images": n, "normalized_entropy": normalized_entropy(histogram),
            "mean_max_softmax": conf_sum / max(1, n), "histogram": histogram.tolist()}
