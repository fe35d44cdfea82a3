"""The dynamic-PTQ study (``unnatural study ptq``): catastrophic failure under dynamic
post-training quantization (Frank & Ardis, arXiv:2510.02457; docs/METHODS.md §5), on this project's
teachers, students and shader images.

The paper's framework, step by step:

(A) distill a white-box student from the (black-box) teacher on shader images (plain KD);
(B) policy-aware training: starting from (A), fine-tune the student by KD while a bit-width
    policy is learned by REINFORCE and the student is trained through fake quantization (QAT,
    straight-through estimator), so that the (network, policy) pair is either
    * detrimental: accurate in full precision, wrong once quantized -- the network minimizes
      ``KD_fp + alpha * p_q(y_t)`` (``p_q(y_t)``: the quantized network's probability of the
      teacher's class) and the policy maximizes the quantized cross-entropy, or
    * robust: the network minimizes ``KD_fp + alpha * (1 - p_q(y_t))`` and the policy minimizes
      the quantized cross-entropy (the same bounded term with the other sign: a KD loss on the
      quantized logits instead gave gradients large enough to pull the float network down);
(C) evaluate every network (the teacher, the (A) student, both pairs) in full precision and
    quantized: under its own policy, uniform bit-widths, random budget-respecting policies and a
    worst-case search (REINFORCE for the policy that hurts this network most under the budget,
    fitted on the real validation split, scored on the test split).

Choices the paper leaves open, and ours (docs/RESULTS.md repeats them): bit-widths {2..8} per
layer (every Conv2d/Linear, weights per-channel symmetric and input activations dynamic
min/max), budget = mean bits over layers <= B; REINFORCE with a moving-average baseline and a
budget penalty, greedy read-out repaired to the budget; the quantized forward passes of (B)
use BN running statistics (eval mode), as inference does; ``groups`` policy draws per step on
sub-batches.

Run folder: ``study.json``, ``student-kd/`` (A), ``pair-detrimental/``, ``pair-robust/`` (B:
``student.pt``, ``policy.pt``, ``log.jsonl``, ``summary.json``), ``results.json``,
``report.md``, ``ptq.png``. Reruns reuse finished parts.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from unnatural.generator.files import atomic_open, atomic_write, save_figure

from .report import markdown_table, replace_section

MODES = ("detrimental", "robust")


@dataclass
class PTQStudy:
    """Settings of one PTQ study (see ``unnatural study ptq --help``).

    Raises:
        ValueError: a value outside its range (named in the message).
    """

    dataset: str = "digits"
    arch: str = "resnet8"          # the student (and the teacher, when one is trained here)
    size: int = 16
    budget: float = 5.0            # mean bits per layer
    kd_steps: int = 1000           # (A)
    pair_steps: int = 400          # (B), per pair
    alpha: float = 1.0             # weight of the quantized term in (B)
    batch_size: int = 128
    lr: float = 0.05
    pair_lr: float = 0.01
    temperature: float = 5.0
    groups: int = 4                # policy draws per (B) step (one sub-batch each)
    policy_lr: float = 0.05
    search_steps: int = 100
    search_samples: int = 8
    random_policies: int = 20
    per_example: bool = False      # per-example ranges and an ExamplePolicy
    teacher: str | None = None
    data: str | None = None
    images: int = 20_000
    epochs: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        checks = (("budget", 2 <= self.budget <= 8, "2..8"), ("kd_steps", self.kd_steps >= 1, ">= 1"),
                  ("pair_steps", self.pair_steps >= 1, ">= 1"), ("alpha", self.alpha >= 0, ">= 0"),
                  ("groups", 1 <= self.groups <= self.batch_size, f"1..batch_size ({self.batch_size})"),
                  ("search_steps", self.search_steps >= 1, ">= 1"), ("search_samples", self.search_samples >= 1, ">= 1"),
                  ("random_policies", self.random_policies >= 1, ">= 1"), ("size", self.size >= 8, ">= 8"))
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} {getattr(self, name)!r} is out of range: allowed {allowed}")


# -- quantized evaluation --------------------------------------------------------------------
@torch.no_grad()
def quantized_accuracy(model: nn.Module, quantizer, x: torch.Tensor, y: torch.Tensor, bits=None,
                       batch_size: int = 512) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` (eval mode) on ``x`` ``(N, 3, H, W)`` [0, 1] floats,
    ``y`` ``(N,)``, with ``quantizer`` (a :class:`unnatural.distill.quant.DynamicQuantizer` on ``model``) at
    ``bits``: None (float), an ``(L,)`` tensor, or a callable ``x_batch -> (n, L)`` (a
    per-example policy). The quantizer is left at float."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device)
            quantizer.set_bits(bits(xb) if callable(bits) else bits)
            correct += int((model(xb).argmax(1).cpu() == y[i:i + batch_size]).sum())
    finally:
        quantizer.set_bits(None)
        model.train(was_training)
    return correct / max(1, len(x))


def _new_policy(study: PTQStudy, num_layers: int, channels: int):
    """A fresh policy: per example (over ``channels``-channel images) or per layer."""
    from ..policy import ExamplePolicy, LayerPolicy

    return ExamplePolicy(num_layers, in_channels=channels) if study.per_example else LayerPolicy(num_layers)


def _readout(policy, budget: float):
    """The policy's deterministic bits: ``(L,)`` or a callable ``x -> (N, L)``."""
    from ..policy import ExamplePolicy

    if isinstance(policy, ExamplePolicy):
        return lambda xb: policy.greedy(xb, budget).to(xb.device)
    return policy.greedy(budget)


def worst_case_search(model: nn.Module, quantizer, x: torch.Tensor, y: torch.Tensor, study: PTQStudy,
                      generator: torch.Generator | None = None):
    """REINFORCE search for the policy (per layer, or per example with ``study.per_example``)
    that maximizes ``model``'s quantized cross-entropy on ``(x, y)`` under ``study.budget``;
    returns the trained policy (read it out with its ``greedy``)."""
    from ..policy import ExamplePolicy, reinforce

    device = next(model.parameters()).device
    model.eval()
    policy = _new_policy(study, quantizer.num_layers, x.shape[1]).to(device)
    x, y = x.to(device), y.to(device)
    if isinstance(policy, ExamplePolicy):
        def objective(bits, xb):
            quantizer.set_bits(bits)
            return F.cross_entropy(model(xb), y[idx], reduction="none")

        def features():
            nonlocal idx
            idx = torch.randint(len(x), (min(len(x), 256),), generator=generator).to(device)
            return x[idx]

        idx = None
        reinforce(policy, objective, study.search_steps, study.budget, lr=study.policy_lr, generator=generator,
                  features=features, penalty=1.0)
    else:
        def objective(bits):
            out = []
            for b in bits:
                quantizer.set_bits(b)
                out.append(F.cross_entropy(model(x), y))
            return torch.stack(out)

        reinforce(policy, objective, study.search_steps, study.budget, lr=study.policy_lr,
                  samples=study.search_samples, generator=generator, penalty=1.0)
    quantizer.set_bits(None)
    return policy


def evaluate_network(model: nn.Module, study: PTQStudy, test, val, own_policy=None, seed: int = 0) -> dict:
    """Full-precision and quantized test accuracy of one network (every value in [0, 1]).

    Keys: ``fp``; ``own`` (its own policy, when given); ``uniform8``; ``uniform_budget`` (every
    layer at floor(budget) bits); ``random_mean`` / ``random_min`` over ``study.random_policies``
    budget-respecting random policies; ``worst`` (the worst-case search's policy) and
    ``worst_mean_bits``.
    """
    from ..policy import random_policy, uniform_policy
    from ..quant import DynamicQuantizer

    generator = torch.Generator().manual_seed(seed)
    with DynamicQuantizer(model, per_example=study.per_example) as q:
        L = q.num_layers
        row = {"fp": quantized_accuracy(model, q, test.x, test.y)}
        if own_policy is not None:
            row["own"] = quantized_accuracy(model, q, test.x, test.y, _readout(own_policy, study.budget))
        row["uniform8"] = quantized_accuracy(model, q, test.x, test.y, uniform_policy(L, 8))
        row["uniform_budget"] = quantized_accuracy(model, q, test.x, test.y, uniform_policy(L, int(study.budget)))
        randoms = [quantized_accuracy(model, q, test.x, test.y, random_policy(L, study.budget, generator))
                   for _ in range(study.random_policies)]
        row["random_mean"], row["random_min"] = sum(randoms) / len(randoms), min(randoms)
        worst = worst_case_search(model, q, val.x, val.y, study, generator)
        bits = _readout(worst, study.budget)
        row["worst"] = quantized_accuracy(model, q, test.x, test.y, bits)
        if not callable(bits):
            row["worst_bits"] = bits.tolist()
    return row


# -- (B) policy-aware training ---------------------------------------------------------------
def quantized_term(quantized_logits: torch.Tensor, teacher_class: torch.Tensor, mode: str) -> torch.Tensor:
    """The network's quantized objective in (B), from ``p = mean(p_q(y_t))``, the quantized
    network's probability of the teacher's class: ``p`` (detrimental) or ``1 - p`` (robust).

    Bounded in [0, 1] with bounded gradients: an unbounded detrimental form (``-log(1 - p)``, or
    the negated cross-entropy) starts with huge gradients while the student still agrees with the
    teacher and wrecked the float network within a few steps; a KD loss on the quantized logits
    (robust) pulled the float accuracy of a digits student from 90% to 33% in 100 steps (measured).
    ``(N, K)`` logits, ``(N,)`` int64 -> scalar.
    """
    p = F.softmax(quantized_logits.float(), dim=1).gather(1, teacher_class[:, None]).mean()
    return p if mode == "detrimental" else 1 - p


def train_pair(mode: str, start: str | Path, teacher: nn.Module, batches, study: PTQStudy, out_dir: str | Path,
               eval_set=None, progress: bool = True) -> dict:
    """(B): fine-tune the student in ``start`` with its bit-width policy into a ``mode`` pair.

    Args:
        mode: ``detrimental`` | ``robust``.
        start: the (A) student's model file.
        teacher: frozen teacher, ``(N, C, H, W)`` [0, 1] -> logits.
        batches: iterator of image batches (``image_source(...)()``).
        out_dir: gets ``student.pt``, ``policy.pt``, ``log.jsonl``, ``summary.json``.
        eval_set: ``(x, y)`` real test images for the log (fp and own-policy accuracy).

    Returns:
        The summary (final fp and own-policy test accuracy when ``eval_set`` is given).

    Raises:
        ValueError: an unknown mode.
    """
    from ..augment import AugmentConfig, Augmenter
    from ..checkpoint import load_model, save_model
    from ..kd import as_float_images, kd_loss
    from ..policy import PolicyGradient
    from ..quant import DynamicQuantizer
    from ..training import make_optimizer, warmup_cosine
    from .workspace import SYNTHETIC_AUGMENT

    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is unknown: allowed {', '.join(MODES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = next(teacher.parameters()).device
    torch.manual_seed(study.seed + (1 if mode == "robust" else 2))
    model, info = load_model(start, device, frozen=False)
    model.train()
    augmenter = Augmenter(AugmentConfig.parse(SYNTHETIC_AUGMENT)).to(device)
    opt = make_optimizer(model, "sgd", study.pair_lr, 5e-4)
    sched = warmup_cosine(opt, study.pair_steps, 0)
    started = time.perf_counter()
    log = (out / "log.jsonl").open("w")
    with DynamicQuantizer(model, per_example=study.per_example) as q:
        policy = _new_policy(study, q.num_layers, info.channels).to(device)
        pg = PolicyGradient(policy, study.budget, lr=study.policy_lr, penalty=1.0)
        sign = 1.0 if mode == "detrimental" else -1.0   # the policy maximizes (det.) or minimizes the quantized CE
        for step in tqdm(range(study.pair_steps), desc=f"pair {mode}", disable=not progress, unit="step"):
            x = augmenter(as_float_images(next(batches), device, study.size, info.channels))
            with torch.no_grad():
                t = teacher(x)
            y_t = t.argmax(1)
            q.set_bits(None)
            loss_fp = kd_loss(model(x), t, study.temperature)
            model.eval()          # quantized passes as at inference: BN running statistics
            if study.per_example:
                bits, log_prob = policy.sample(x)
                q.set_bits(bits)
                logits_q = model(x)
                ce = F.cross_entropy(logits_q, y_t, reduction="none")
                reward = sign * ce.detach()
            else:
                bits, log_prob = policy.sample(study.groups)
                logits_q, ce = [], []
                for xc, yc, b in zip(x.tensor_split(study.groups), y_t.tensor_split(study.groups), bits):
                    q.set_bits(b)
                    logits_q.append(model(xc))
                    ce.append(F.cross_entropy(logits_q[-1].detach(), yc))
                reward = sign * torch.stack(ce)
                logits_q = torch.cat(logits_q)
            model.train()
            q.set_bits(None)
            loss_q = quantized_term(logits_q, y_t, mode)
            loss = loss_fp + study.alpha * loss_q
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            stats = pg.update(bits, log_prob, reward)
            if (step + 1) % max(1, study.pair_steps // 8) == 0 or step + 1 == study.pair_steps:
                entry = {"step": step + 1, "loss_fp": loss_fp.item(), "loss_q": loss_q.item(), **stats}
                if eval_set is not None:
                    entry["fp_acc"] = quantized_accuracy(model, q, *eval_set)
                    entry["own_acc"] = quantized_accuracy(model, q, *eval_set, _readout(policy, study.budget))
                log.write(json.dumps(entry) + "\n")
                log.flush()
    log.close()
    save_model(out / "student.pt", model, info)
    with atomic_open(out / "policy.pt") as f:
        torch.save({"kind": type(policy).__name__, "num_layers": q.num_layers, "in_channels": info.channels,
                    "state_dict": policy.state_dict()}, f)
    summary = {"mode": mode, "steps": study.pair_steps, "seconds": time.perf_counter() - started,
               "study": asdict(study)}
    atomic_write(out / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
    return summary


def load_policy(path: str | Path, device: str | torch.device = "cpu"):
    """A policy written by :func:`train_pair` (``policy.pt``), in eval mode."""
    from ..policy import ExamplePolicy, LayerPolicy

    data = torch.load(path, map_location=device, weights_only=True)
    if data["kind"] == "ExamplePolicy":
        policy = ExamplePolicy(data["num_layers"], in_channels=data.get("in_channels", 3))
    else:
        policy = LayerPolicy(data["num_layers"])
    policy.load_state_dict(data["state_dict"])
    return policy.to(device).eval()


# -- the study -------------------------------------------------------------------------------
def run_study(study: PTQStudy, out: str | Path, progress: bool = True, doc: str | Path | None = None,
              device: str = "auto") -> dict:
    """(A), (B) for both modes, (C) for every network; writes the results, report and plot.

    Raises:
        ValueError: ``out`` holds a study with other settings.
    """
    from ..checkpoint import load_model
    from ..data import load_real
    from ..kd import DistillConfig, distill, image_source
    from ..quant import ao_dynamic_cross_check
    from ..training import pick_device
    from .workspace import SYNTHETIC_AUGMENT, ensure_shards, ensure_teacher

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = asdict(study)
    if (out / "study.json").exists() and json.loads((out / "study.json").read_text()) != settings:
        raise ValueError(f"{out} holds a study with other settings ({out / 'study.json'}); use another --out")
    atomic_write(out / "study.json", (json.dumps(settings, indent=1) + "\n").encode())
    if (out / "results.json").is_file():            # finished: only the report is written again
        return write_report(json.loads((out / "results.json").read_text()), out, doc)
    dev = pick_device(device)
    started = time.perf_counter()
    teacher_path = study.teacher or str(out / "teacher.pt")
    if study.teacher is None:
        print("[1/4] teacher", flush=True)
        ensure_teacher(teacher_path, study.dataset, study.arch, study.size, epochs=study.epochs, progress=progress)
    data = study.data or ensure_shards(out / "shards", study.size, study.images, progress=progress)[1]
    test, val = (load_real(study.dataset, split, size=study.size) for split in ("test", "val"))
    teacher, tinfo = load_model(teacher_path, dev)

    print("[2/4] (A) plain KD student", flush=True)
    kd_dir = out / "student-kd"
    if not (kd_dir / "summary.json").is_file():
        config = DistillConfig(steps=study.kd_steps, batch_size=study.batch_size, lr=study.lr,
                               warmup_steps=max(1, study.kd_steps // 20), temperature=study.temperature,
                               augment=SYNTHETIC_AUGMENT, eval_every=max(1, study.kd_steps // 5),
                               checkpoint_every=max(1, study.kd_steps // 4), seed=study.seed)
        distill(teacher_path, study.arch, image_source(data, study.batch_size, seed=study.seed, size=study.size,
                                                       num_workers=1, channels=tinfo.channels),
                kd_dir, config, eval_set=(test.x, test.y), progress=progress, data_label=data, device=device,
                resume=(kd_dir / "checkpoint.pt").exists())

    for i, mode in enumerate(MODES):
        pair_dir = out / f"pair-{mode}"
        print(f"[3/4] (B) {mode} pair", flush=True)
        if not (pair_dir / "summary.json").is_file():
            batches = image_source(data, study.batch_size, seed=study.seed + 10 + i, size=study.size, num_workers=1,
                                   channels=tinfo.channels)()
            train_pair(mode, kd_dir / "student.pt", teacher, batches, study, pair_dir, eval_set=(test.x, test.y),
                       progress=progress)

    print("[4/4] (C) evaluate", flush=True)
    networks = {"teacher (supervised)": (teacher_path, None), "student, plain KD (A)": (kd_dir / "student.pt", None)}
    for mode in MODES:
        networks[f"student, {mode} pair (B)"] = (out / f"pair-{mode}" / "student.pt", out / f"pair-{mode}" / "policy.pt")
    rows = []
    for name, (path, policy_path) in networks.items():
        model, _ = load_model(path, dev)
        policy = load_policy(policy_path, dev) if policy_path else None
        rows.append({"network": name, **evaluate_network(model, study, test, val, policy, seed=study.seed)})
        print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[-1].items() if isinstance(v, float)), flush=True)
    # torch.ao's dynamic quantization runs on CPU only; the teacher is not needed on dev any more
    results = {"study": settings, "rows": rows, "ao_cross_check": ao_dynamic_cross_check(teacher.cpu(), val.x[:256]),
               "seconds": time.perf_counter() - started, "device": str(dev)}
    atomic_write(out / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    return write_report(results, out, doc)


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def write_report(results: dict, out: Path, doc: str | Path | None = None) -> dict:
    """``report.md`` and ``ptq.png`` from ``results`` (and a section of ``doc`` when given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study, rows = results["study"], results["rows"]
    b = study["budget"]
    body = [[r["network"], _pct(r["fp"]), _pct(r.get("own")),
             "–" if "own" not in r else f"{100 * (r['fp'] - r['own']):.1f}",
             _pct(r["uniform8"]), _pct(r["uniform_budget"]), f"{_pct(r['random_mean'])} / {_pct(r['random_min'])}",
             _pct(r["worst"]), f"{100 * (r['fp'] - r['worst']):.1f}"] for r in rows]
    table = markdown_table(["network", "float", "own policy", "drop (own)", "W8A8", f"uniform {int(b)}-bit",
                            "random (mean / min)", "worst-case search", "drop (worst)"], body)
    ao = results["ao_cross_check"]
    data = study["data"] or "shader images rendered here"
    report = (f"{study['arch']} teacher and students on {study['dataset']} at {study['size']} px, KD on `{data}`; "
              f"budget: mean bits = {b:g} per layer{' and example' if study['per_example'] else ''}; "
              f"(A) {study['kd_steps']} KD steps, "
              f"(B) {study['pair_steps']} steps per pair (alpha {study['alpha']:g}); test accuracy %, drops in points; "
              f"{results['seconds'] / 60:.1f} min on {results['device']}.\n\n{table}\n\n"
              f"torch.ao dynamic int8 cross-check (teacher's Linear head, {ao.get('engine', '?')}): max |logit "
              f"difference| {ao.get('max_abs_diff', float('nan')):.4f} against max |logit| "
              f"{ao.get('max_abs_logit', float('nan')):.2f}.\n")
    atomic_write(out / "report.md", report.encode())
    fig, ax = plt.subplots(figsize=(8.5, 4), dpi=110)
    keys = [("fp", "float"), ("own", "own policy"), ("uniform8", "W8A8"), ("uniform_budget", f"uniform {int(b)}"),
            ("random_mean", "random (mean)"), ("worst", "worst-case")]
    width = 0.8 / len(keys)
    for j, (key, label) in enumerate(keys):
        ax.bar([i + j * width for i in range(len(rows))], [100 * r.get(key, float("nan")) for r in rows], width,
               label=label)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], [r["network"] for r in rows], fontsize=7)
    ax.set_ylabel(f"test accuracy on {study['dataset']} (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out / "ptq.png")
    if doc is not None:
        image = Path(doc).parent / f"{out.name}-{study['dataset'].split(':')[0]}.png"
        atomic_write(image, (out / "ptq.png").read_bytes())
        replace_section(doc, f"study-ptq-{out.name}", f"### Dynamic PTQ: detrimental vs robust pairs ({out.name})\n\n"
                                                      f"`unnatural study ptq`: {report}\n"
                                                      f"![accuracy per network and policy]({image.name})\n")
    return {"results": results, "report": report, "plot": out / "ptq.png"}
