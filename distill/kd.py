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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unnatural.generator.files import atomic_open, atomic_write

from .bn import BNVariant
from .checkpoint import ModelInfo, Normalized, load_model, save_model
from .training import evaluate, make_optimizer, pick_device, warmup_cosine

if TYPE_CHECKING:     # imported when a run starts (augment pulls in kornia)
    from .augment import Augmenter
    from .balance import ClassBalancer

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
    ``balance``: admit stream samples so the teacher's argmax histogram stays uniform; a finite
    set (real dataset, ``.npy`` array) is instead labelled by the teacher once and drawn with
    balancing weights (the same admitted distribution, no rejected reads).
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
                 num_workers: int = 2, channels: int = 3) -> BatchSource:
    """A factory of endless iterators of image batches ``(B, C, H, W)`` (uint8 or [0, 1] float):
    C = 3 for shards and URLs (shader images are RGB), the dataset's own channels for a real
    dataset, ``channels`` for noise. :func:`as_float_images` converts C to the model's.

    Args:
        data: shard files/brace pattern/folder or server URLs (``http(s)://``, read through
            webdataset, resampled), ``noise`` (pixel-wise Gaussian noise, mean 0.5, std 0.25,
            clipped; the "Gaussian noise" set of docs/METHODS.md §1), or a real dataset
            (``digits``, ``cifar10:PATH``, ``cifar100:PATH``, ``folder:PATH``, ``fashion-mnist[:PATH]``,
            ``mnist:PATH``: its training images, labels unused), or an ``.npy`` file of uint8
            images ``(N, C, H, W)`` (a shard set decoded once by
            :func:`unnatural.distill.data.decode_shards`). Finite sets are read in a fresh
            seeded permutation per pass.
        size: image side for ``noise`` and real datasets.
        channels: noise channels (1 for a grey teacher, so its noise keeps std 0.25).

    Each call of the factory starts the same sequence again (it is how a resumed run replays).
    """
    from .data import load_image_array, load_real, shader_loader
    from .datasets import is_real_dataset

    if data == "noise":
        def noise() -> Iterator[torch.Tensor]:
            g = _rank_generator(seed)
            while True:
                yield (0.5 + 0.25 * torch.randn(batch_size, channels, size, size, generator=g)).clamp(0, 1)
        return noise
    if is_real_dataset(data) or data.endswith(".npy"):
        images = load_image_array(data) if data.endswith(".npy") else load_real(data, "train", size=size).x
        if len(images) < batch_size:
            raise ValueError(f"{data!r} holds {len(images)} images: allowed at least one batch ({batch_size})")
        return ArraySource(images, batch_size, seed)

    def shards() -> Iterator[torch.Tensor]:
        return iter(shader_loader(data, batch_size, resampled=True, seed=seed, token=token, num_workers=num_workers))
    return shards


def streams_through_loader(data: str) -> bool:
    """Whether :func:`image_source` reads ``data`` through DataLoader worker processes (shards
    and server URLs), rather than from memory (noise, real datasets, ``.npy`` arrays)."""
    from .datasets import is_real_dataset

    return not (data == "noise" or data.endswith(".npy") or is_real_dataset(data))


def _rank_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded per DDP rank: ranks must not see the same batches."""
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    return torch.Generator().manual_seed(seed * 1_000_003 + rank)


@dataclass(frozen=True)
class ArraySource:
    """A finite image set in memory as a :data:`BatchSource` (what :func:`image_source` returns
    for real datasets and ``.npy`` arrays).

    Each call yields endless batches ``images[idx]`` of ``batch_size`` (``(B, C, H, W)``, dtype
    as stored) and starts the same sequence again: a fresh seeded permutation per pass (no
    partial batch) or, with ``weights`` (``(N,)`` float, >= 0), independent draws with
    replacement, image ``i`` with probability ``weights[i] / weights.sum()``.
    """

    images: torch.Tensor
    batch_size: int
    seed: int = 0
    weights: torch.Tensor | None = None

    def __call__(self) -> Iterator[torch.Tensor]:
        g = _rank_generator(self.seed)
        while self.weights is not None:
            yield self.images[torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g)]
        while True:
            order = torch.randperm(len(self.images), generator=g)
            for i in range(0, len(order) - self.batch_size + 1, self.batch_size):
                yield self.images[order[i:i + self.batch_size]]


# -- the trainer -------------------------------------------------------------------------------
def distill(teacher_path: str | Path, student_arch: str, source: BatchSource, out_dir: str | Path,
            config: DistillConfig, *, eval_set: tuple[torch.Tensor, torch.Tensor] | None = None,
            device: str = "auto", resume: bool = False, progress: bool = True, data_label: str = "",
            bn: BNVariant | None = None, stop_after: int | None = None) -> dict:
    """Train a student against a frozen teacher on ``source``; return the summary.

    Under torchrun every rank runs this: DDP keeps the replicas identical, each rank draws its
    own batches, and rank 0 alone evaluates and writes files.

    Args:
        teacher_path: teacher model file (:func:`unnatural.distill.checkpoint.load_model`).
        student_arch: registry name of the student.
        source: image batches (:func:`image_source`).
        out_dir: gets ``checkpoint.pt`` (every ``checkpoint_every`` steps), ``log.jsonl`` (one
            line per evaluation), ``student.pt`` (final student, model-file format) and
            ``summary.json``.
        config: :class:`DistillConfig`.
        eval_set: ``(x (N, 3, H, W) [0, 1] float, y (N,) int64)`` real test images.
        device: ``auto`` | ``cpu`` | ``cuda[:N]`` (under torchrun, CUDA ranks use ``cuda:LOCAL_RANK``).
        resume: continue from ``out_dir/checkpoint.pt``.
        progress: show a tqdm bar (rank 0).
        data_label: what ``source`` reads, recorded in the student's model file and the summary.
        bn: the student's batch-norm variant (:class:`unnatural.distill.bn.BNVariant`; ``None``: standard).
        stop_after: stop (with a checkpoint) after this many steps of this call: for tests of resume.

    Returns:
        ``student``, ``teacher``, ``data``, ``steps`` (done so far), ``complete``, ``config``,
        ``final_loss`` (the last step's KD loss), ``seconds`` (wall clock of this call),
        ``torch_threads`` (the intra-op threads it ran with); with
        ``balance``: ``admitted_histogram`` and ``admitted_entropy``; with ``eval_set`` (rank 0):
        ``test_acc`` and ``best_test_acc`` in [0, 1].

    Raises:
        FileNotFoundError / ValueError: a bad teacher file, architecture, or a resume without
            a checkpoint.
    """
    run = _setup(teacher_path, student_arch, out_dir, config, device, bn or BNVariant(), data_label)
    if run.balancer is not None and isinstance(source, ArraySource):
        source = _balanced_source(run, source)
    if resume:
        _load_checkpoint(run)
    model = _data_parallel(run)
    batches = source()
    for _ in range(run.consumed):        # replay the stream to where the checkpoint left it
        next(batches)
    stop_at = config.steps if stop_after is None else min(config.steps, run.step + stop_after)
    bar = tqdm(total=config.steps, initial=run.step, desc=f"distill {student_arch}",
               disable=not progress or run.rank != 0, dynamic_ncols=True, unit="step")
    loss, window = float("nan"), _Window()
    while run.step < stop_at:
        x, teacher_logits = _next_batch(run, batches)
        loss = _train_step(run, model, x, teacher_logits)
        window.images += len(x)
        bar.update(1)
        if run.step % config.eval_every == 0 or run.step == config.steps:
            _evaluate_and_log(run, loss, window, eval_set, bar)
            window = _Window()
        if run.step % config.checkpoint_every == 0 or run.step == stop_at:
            _save_checkpoint(run)
    bar.close()
    summary = _summary(run, loss, eval_set)
    if run.rank == 0 and summary["complete"]:
        _save_student(run, summary)
    return summary


@dataclass
class _Run:
    """One distillation run: what :func:`_setup` builds and where training stands."""

    config: DistillConfig
    out: Path
    rank: int
    world: int
    device: torch.device
    teacher: nn.Module             # frozen, eval mode
    student: Normalized            # what is evaluated, checkpointed and saved
    info: ModelInfo                # the student's model-file header
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    augmenter: Augmenter
    balancer: ClassBalancer | None  # a stream's rejection balancer
    started: float                 # time.perf_counter() at setup
    step: int = 0                  # optimizer steps done
    consumed: int = 0              # source batches drawn (the stream is replayed this far on resume)
    best: float = -1.0             # best test accuracy logged
    admitted: torch.Tensor | None = None   # expected admitted histogram of a weight-balanced finite set

    @property
    def cuda(self) -> bool:
        """Training on a GPU: channels-last memory, fp16 autocast and loss scaling."""
        return self.device.type == "cuda"


@dataclass
class _Window:
    """Throughput between two evaluations."""

    images: int = 0
    start: float = field(default_factory=time.perf_counter)


def _setup(teacher_path: str | Path, student_arch: str, out_dir: str | Path, config: DistillConfig, device: str,
           bn: BNVariant, data_label: str) -> _Run:
    """The process group, device, teacher, a fresh student (seeded with ``config.seed``), its
    optimizer, schedule, loss scaler, augmenter and class balancer; creates ``out_dir``."""
    from .augment import AugmentConfig, Augmenter
    from .balance import ClassBalancer
    from .models import create_model

    rank, world = _distributed()
    dev = pick_device(device)
    if world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    teacher, tinfo = load_model(teacher_path, dev)
    torch.manual_seed(config.seed)
    # the online input normalization (bn.input_norm) replaces the teacher's fixed mean/std
    mean, std = ([0.0] * tinfo.channels, [1.0] * tinfo.channels) if bn.input_norm else (tinfo.mean, tinfo.std)
    info = ModelInfo(student_arch, tinfo.num_classes, tinfo.input_size, mean, std, tinfo.classes,
                     {"teacher": str(teacher_path), "data": data_label, "config": asdict(config)},
                     options=bn.model_options)
    net = create_model(student_arch, num_classes=tinfo.num_classes, in_channels=tinfo.channels,
                       norm_layer=bn.norm_layer(), **bn.model_options)
    student = Normalized(net, mean, std).to(dev)
    if dev.type == "cuda":
        student = student.to(memory_format=torch.channels_last)
    opt = make_optimizer(student, config.optimizer, config.lr, config.weight_decay,
                         bn.param_groups(student, config.lr, config.weight_decay))
    sched = warmup_cosine(opt, config.steps, config.warmup_steps)
    scaler = torch.amp.GradScaler("cuda", enabled=dev.type == "cuda")
    augmenter = Augmenter(AugmentConfig.parse(config.augment)).to(dev)
    balancer = ClassBalancer(tinfo.num_classes) if config.balance else None
    return _Run(config=config, out=out, rank=rank, world=world, device=dev, teacher=teacher, student=student,
                info=info, opt=opt, sched=sched, scaler=scaler, augmenter=augmenter, balancer=balancer,
                started=time.perf_counter())


def _data_parallel(run: _Run) -> nn.Module:
    """What the step trains: the student, wrapped in DDP under torchrun (which starts every
    replica from rank 0's weights)."""
    return torch.nn.parallel.DistributedDataParallel(run.student) if run.world > 1 else run.student


def _next_batch(run: _Run, batches: Iterator[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``run.step``'s training batch ``(B, C, S, S)`` [0, 1] float (C: the teacher's channels) and the teacher's logits
    ``(B, K)`` on it: stream samples (class-balanced), augmented, a share replaced by boundary
    samples. Every random choice draws from the step's own seed (``seed``, rank, step)."""
    config = run.config
    with torch.random.fork_rng(devices=[run.device] if run.cuda else []):
        torch.manual_seed(config.seed * 1_000_003 + run.rank * 7_919 + run.step)
        x = run.augmenter(_admitted_images(run, batches))
        n_adv = int(round(config.batch_size * config.adversarial / 4))   # attacked originals per batch
        if n_adv:
            x = _with_boundary_samples(run.teacher, x, n_adv)
        with torch.no_grad():
            teacher_logits = run.teacher(x)
    return x, teacher_logits


def _balanced_source(run: _Run, source: ArraySource) -> ArraySource:
    """A finite set balanced without rejection: the teacher labels every image once and draws
    are weighted by :func:`unnatural.distill.balance.balanced_weights`. Replaces the stream
    balancer (``run.balancer`` becomes ``None``); ``run.admitted`` holds the expected admitted
    class histogram over the run."""
    from .balance import balanced_weights

    labels = []
    with torch.no_grad():
        for i in range(0, len(source.images), 1024):
            x = as_float_images(source.images[i:i + 1024], run.device, run.info.input_size, run.info.channels)
            labels.append(run.teacher(x).argmax(1).cpu())
    labels = torch.cat(labels)
    weights = balanced_weights(labels, run.info.num_classes, run.balancer.floor)
    share = torch.zeros(run.info.num_classes, dtype=torch.float64).index_add_(0, labels, weights) / weights.sum()
    run.balancer, run.admitted = None, share * run.config.steps * run.config.batch_size
    return ArraySource(source.images, source.batch_size, source.seed, weights)


def _admitted_images(run: _Run, batches: Iterator[torch.Tensor]) -> torch.Tensor:
    """``batch_size`` stream images as floats at the teacher's input size, drawing source batches
    (counted in ``run.consumed``) until the class balancer has admitted enough. The set is
    balanced as the teacher sees it, before augmentation (as the offline filter)."""
    xs, have = [], 0
    while have < run.config.batch_size:
        x = as_float_images(next(batches), run.device, run.info.input_size, run.info.channels)
        run.consumed += 1
        if run.balancer is not None:
            with torch.no_grad():
                keep = run.balancer.admit(run.teacher(x).argmax(1)).to(run.device)
            x = x[keep]
        xs.append(x)
        have += len(x)
    return torch.cat(xs)[:run.config.batch_size]


def _with_boundary_samples(teacher: nn.Module, x: torch.Tensor, n_adv: int) -> torch.Tensor:
    """``x`` ``(B, ...)`` with its head replaced by the 4 boundary samples of each of its first
    ``n_adv`` images (:func:`unnatural.distill.adversarial.boundary_samples`); same length."""
    from .adversarial import boundary_samples

    adv = boundary_samples(teacher, x[:n_adv]).images
    return torch.cat([adv, x[4 * n_adv:]])[:len(x)]


def _train_step(run: _Run, model: nn.Module, x: torch.Tensor, teacher_logits: torch.Tensor) -> float:
    """One optimizer step on the KD loss (fp16 autocast and loss scaling on CUDA); returns the loss."""
    if run.cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(run.device.type, dtype=torch.float16, enabled=run.cuda):
        loss = kd_loss(model(x), teacher_logits, run.config.temperature)
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.opt)
    run.scaler.update()
    run.sched.step()
    run.step += 1
    return loss.item()


def _evaluate_and_log(run: _Run, loss: float, window: _Window, eval_set: tuple[torch.Tensor, torch.Tensor] | None,
                      bar: tqdm) -> None:
    """Append one line to ``log.jsonl`` (rank 0): step, loss, lr, throughput since the last
    line, seconds so far and, with ``eval_set``, the student's test accuracy."""
    if run.rank != 0:
        return
    now = time.perf_counter()
    entry = {"step": run.step, "loss": loss, "lr": run.sched.get_last_lr()[0],
             "images_per_s": window.images / (now - window.start), "seconds": now - run.started}
    if eval_set is not None:
        entry["test_acc"] = evaluate(run.student, eval_set[0], eval_set[1], run.device)
        run.best = max(run.best, entry["test_acc"])
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{entry['test_acc']:.3f}")
    with (run.out / LOG).open("a") as f:
        f.write(json.dumps(entry) + "\n")


def _save_checkpoint(run: _Run) -> None:
    """Write ``checkpoint.pt`` atomically (rank 0): every state a resume needs."""
    if run.rank != 0:
        return
    with atomic_open(run.out / CHECKPOINT) as f:
        torch.save({"student": run.student.state_dict(), "optimizer": run.opt.state_dict(),
                    "scheduler": run.sched.state_dict(), "scaler": run.scaler.state_dict(),
                    "balancer": run.balancer.state_dict() if run.balancer else None,
                    "step": run.step, "consumed": run.consumed, "best": run.best,
                    "config": asdict(run.config)}, f)


def _load_checkpoint(run: _Run) -> None:
    """Restore what :func:`_save_checkpoint` wrote.

    Raises:
        FileNotFoundError: ``checkpoint.pt`` does not exist.
    """
    path = run.out / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"--resume: {path} does not exist")
    ckpt = torch.load(path, map_location=run.device, weights_only=False)
    run.student.load_state_dict(ckpt["student"])
    run.opt.load_state_dict(ckpt["optimizer"])
    run.sched.load_state_dict(ckpt["scheduler"])
    run.scaler.load_state_dict(ckpt["scaler"])
    if run.balancer:
        run.balancer.load_state_dict(ckpt["balancer"])
    run.step, run.consumed, run.best = ckpt["step"], ckpt["consumed"], ckpt["best"]


def _summary(run: _Run, loss: float, eval_set: tuple[torch.Tensor, torch.Tensor] | None) -> dict:
    """What :func:`distill` returns (its docstring lists the keys); rank 0 evaluates the student
    once more on ``eval_set``."""
    from .balance import normalized_entropy

    summary = {"student": run.info.arch, "teacher": run.info.meta["teacher"], "data": run.info.meta["data"],
               "steps": run.step, "complete": run.step >= run.config.steps, "config": asdict(run.config),
               "final_loss": loss, "seconds": time.perf_counter() - run.started,
               "torch_threads": torch.get_num_threads()}
    admitted = run.balancer.admitted if run.balancer is not None else run.admitted
    if admitted is not None:
        summary["admitted_histogram"] = admitted.tolist()
        summary["admitted_entropy"] = normalized_entropy(admitted)
    if eval_set is not None and run.rank == 0:
        summary["test_acc"] = evaluate(run.student, eval_set[0], eval_set[1], run.device)
        summary["best_test_acc"] = max(run.best, summary["test_acc"])
    return summary


def _save_student(run: _Run, summary: dict) -> None:
    """Write the finished student (``student.pt``, model-file format) and ``summary.json``, each atomically."""
    save_model(run.out / STUDENT, run.student, run.info)
    atomic_write(run.out / SUMMARY, (json.dumps(summary, indent=1) + "\n").encode())


# -- shared pieces -----------------------------------------------------------------------------
def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, initializing the process group once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


# ITU-R BT.601 luma weights (as PIL's "L" mode): how RGB shader images reach a grey teacher.
LUMA = (0.299, 0.587, 0.114)


def as_float_images(batch: torch.Tensor, device: torch.device, size: int, channels: int = 3) -> torch.Tensor:
    """A source batch ``(N, C, H, W)`` (uint8 or float) -> float32 ``(N, channels, size, size)``
    in [0, 1] on ``device``: resized (bilinear, antialiased), RGB turned to grey by BT.601 luma
    (:data:`LUMA`) for a 1-channel model, grey repeated for a 3-channel one. This is the one
    place where images change channel count (docs/DESIGN.md "Data flow").

    Raises:
        ValueError: a channel count other than 1 or 3 on either side.
    """
    x = batch.to(device, non_blocking=True)
    x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    have = x.shape[1]
    if have == channels:
        return x
    if (have, channels) == (3, 1):
        return torch.einsum("nchw,c->nhw", x, x.new_tensor(LUMA)).unsqueeze(1)
    if (have, channels) == (1, 3):
        return x.expand(-1, 3, -1, -1).contiguous()
    raise ValueError(f"cannot turn {have}-channel images into {channels}-channel ones: allowed 1 or 3 channels")


def teacher_scores(teacher: nn.Module, batches: Iterator[torch.Tensor], size: int, num_classes: int,
                   device: torch.device, max_images: int, channels: int = 3) -> dict:
    """kd-score of an image set (docs/METHODS.md §1, criterion (a)): the teacher's argmax histogram,
    its normalized entropy H(p)/log K (1 = uniform) and the mean max-softmax.

    Args:
        batches: image batches ``(B, C, H, W)`` uint8 or [0, 1] float (resized to ``size`` and
            converted to the teacher's ``channels`` by :func:`as_float_images`).
        max_images: stop after this many images.
    """
    from .balance import normalized_entropy

    histogram = torch.zeros(num_classes, dtype=torch.int64)
    conf_sum, n = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            x = as_float_images(batch, device, size, channels)[: max_images - n]
            prob = teacher(x).softmax(1)
            conf, pred = prob.max(1)
            histogram += torch.bincount(pred.cpu(), minlength=num_classes)
            conf_sum += float(conf.sum())
            n += len(x)
            if n >= max_images:
                break
    return {"images": n, "normalized_entropy": normalized_entropy(histogram),
            "mean_max_softmax": conf_sum / max(1, n), "histogram": histogram.tolist()}
