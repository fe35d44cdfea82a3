"""The distillation commands: ``teacher train``, ``distill``, ``kd-score``, ``fit``, ``impressions`` and ``study bn|ptq``,
added to the root command by :mod:`unnatural.cli`; torch is imported only when one of them runs."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from unnatural.generator.args import UsageError, arg_type, int_arg, parse_weight, positive_float_arg

from .datasets import DATASETS, parse_dataset

def _dataset(text: str) -> str:
    parse_dataset(text)
    return text


def _seeds(text: str) -> list[int]:
    from .studies.bn import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _variants(text: str) -> list[str]:
    from .bn import VARIANTS

    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in VARIANTS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"variants {text!r}: allowed a comma list of {', '.join(VARIANTS)}")
    return names


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 2 <= value <= 8:
        raise argparse.ArgumentTypeError(f"--budget {text!r} is out of range: allowed 2..8 (mean bits per layer)")
    return value


def add_commands(sub) -> None:
    """Add the distillation subcommands to the ``unnatural`` parser."""
    t = sub.add_parser("teacher", help="train teachers on real data",
                       description="Teachers: supervised training on a real dataset.")
    tsub = t.add_subparsers(dest="teacher_cmd", required=True, metavar="{train}", parser_class=type(t))
    tt = tsub.add_parser("train", help="train a teacher; keeps the best validation checkpoint",
                         description="Train a teacher (SGD, warm-up + cosine, best validation checkpoint kept) "
                                     "and report its test accuracy.")
    tt.add_argument("--dataset", type=arg_type(_dataset), required=True, help=DATASETS)
    tt.add_argument("--arch", default="resnet8", help="model name (see unnatural.distill.models.model_names; default resnet8)")
    tt.add_argument("--epochs", type=int_arg("--epochs", 1, 10_000), default=30)
    tt.add_argument("--batch-size", type=int_arg("--batch-size", 2, 65_536), default=128)
    tt.add_argument("--lr", type=positive_float_arg("--lr"), default=0.05)
    tt.add_argument("--size", type=int_arg("--size", 8, 512), default=32, help="input side in pixels (default 32)")
    tt.add_argument("--augment", default="off,crop=pad,pad=4",
                    help="augmentation (AugmentConfig.parse): synthetic | real | off, then ,key=value overrides")
    tt.add_argument("--seed", type=int_arg("--seed", 0, 2**31 - 1), default=0)
    tt.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    tt.add_argument("--out", type=Path, required=True, help="model file to write (e.g. teacher.pt)")
    tt.set_defaults(func=_cmd_teacher_train)

    d = sub.add_parser("distill", help="distill a student from a teacher on rendered images",
                       description="Knowledge distillation (Hinton KD loss, T^2 KL) of a student from a frozen "
                                   "teacher on shader shards, server URLs, real images or noise; evaluates on a "
                                   "real test split, logs JSONL, checkpoints and resumes. Multi-GPU: torchrun.")
    d.add_argument("--teacher", type=Path, required=True, help="teacher model file (this project's or TorchScript)")
    d.add_argument("--student", default="resnet8", help="student architecture (default resnet8)")
    d.add_argument("--data", required=True,
                   help="shards (brace pattern, files or folder), server URLs (http://...), noise, or a real dataset")
    d.add_argument("--eval", type=arg_type(_dataset), default=None, help=f"test split to evaluate on: {DATASETS}")
    d.add_argument("--steps", type=int_arg("--steps", 1, 10**8), default=2000)
    d.add_argument("--batch-size", type=int_arg("--batch-size", 2, 65_536), default=128)
    d.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    d.add_argument("--lr", type=positive_float_arg("--lr"), default=0.05)
    d.add_argument("--weight-decay", type=float, default=5e-4)
    d.add_argument("--warmup-steps", type=int_arg("--warmup-steps", 0, 10**8), default=100)
    d.add_argument("--temperature", type=positive_float_arg("--temperature"), default=5.0, help="KD temperature T")
    d.add_argument("--augment", default="synthetic", help="augmentation (default: the synthetic-data recipe)")
    d.add_argument("--balance", action="store_true", help="teacher class balancing of the stream")
    d.add_argument("--adversarial", type=float, default=0.0, help="share of each batch made of boundary samples (0..1)")
    d.add_argument("--eval-every", type=int_arg("--eval-every", 1, 10**8), default=200)
    d.add_argument("--checkpoint-every", type=int_arg("--checkpoint-every", 1, 10**8), default=200)
    d.add_argument("--seed", type=int_arg("--seed", 0, 2**31 - 1), default=0)
    d.add_argument("--token", default=None, help="server bearer token (default: $UNNATURAL_TOKEN)")
    d.add_argument("--workers", type=int_arg("--workers", 0, 64), default=2, help="DataLoader workers for shards")
    d.add_argument("--device", default="auto")
    d.add_argument("--torch-threads", type=int_arg("--torch-threads", 1, 1024), default=None,
                   help="the trainer's intra-op threads on a CPU (default: torch's, one per core; fewer help "
                        "only when other jobs hold the cores, docs/BENCHMARKS.md)")
    d.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log.jsonl, student.pt, summary.json)")
    d.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_distill)

    k = sub.add_parser("kd-score", help="how good a set is for KD, through the teacher's eyes",
                       description="The teacher's normalized class-histogram entropy H(p)/log K on a set "
                                   "(1 = uniform; Frank & Davis 2025 criterion (a)), its mean max-softmax and each "
                                   "class's share. For shards and server URLs also the distinct programs feeding "
                                   "each class (programs making >= 1% of its images) and, with --heatmap, a "
                                   "class-by-program heat map.")
    k.add_argument("--teacher", type=Path, required=True)
    k.add_argument("--data", required=True, help="shards, server URLs, an .npy image array, noise, or a real dataset")
    k.add_argument("--images", type=int_arg("--images", 1, 10**9), default=5000,
                   help="images to score (shards: the first ones, in shard order; default 5000)")
    k.add_argument("--heatmap", type=Path, default=None,
                   help="shards/URLs: write the class-by-program heat map to this PNG")
    k.add_argument("--device", default="auto")
    k.add_argument("--token", default=None)
    k.set_defaults(func=_cmd_kd_score)

    f = sub.add_parser("fit", help="fit a spec to a teacher: programs and parameters per class, class-balanced",
                       description="Teacher-fitted spec (docs/METHODS.md §10): screen the base spec's programs through "
                                   "the teacher, choose --programs-per-class programs per class, fit each one's "
                                   "(iTime, iParams) distribution by the cross-entropy method, weight programs and "
                                   "classes so the teacher's argmax histogram is near uniform, then check. Writes OUT "
                                   "(an ordinary spec with a 'fitted' section) and OUT's stem + .report.json.")
    f.add_argument("--teacher", type=Path, required=True, help="teacher model file (this project's or TorchScript)")
    f.add_argument("--spec", type=Path, default=None,
                   help="base spec (.yaml/.json; default: the default spec at the teacher's input size with "
                        "512 composed programs)")
    f.add_argument("--out", type=Path, required=True, help="fitted spec to write (.yaml or .json)")
    f.add_argument("--budget", type=int_arg("--budget", 1, 10**10), default=None,
                   help="images rendered in all: 25%% screen, 10%% (at most 4096) check, the rest over the rounds "
                        "(default 150000: about 2 minutes for a 10-class 32 px teacher on 2 CPU cores)")
    f.add_argument("--seed", type=int_arg("--seed", 0, 2**63 - 1), default=0, help="search seed (default 0)")
    f.add_argument("--programs-per-class", type=int_arg("--programs-per-class", 8, 256), default=None,
                   help="programs chosen per class, 8..256 (default 32)")
    f.add_argument("--rounds", type=int_arg("--rounds", 2, 100), default=8,
                   help="cross-entropy rounds, the last one measures (default 8)")
    f.add_argument("--workers", type=int_arg("--workers", 1, 1024), default=None,
                   help="render processes (default: one per NVIDIA GPU, else one per CPU core)")
    f.add_argument("--device", default="auto", help="where the teacher runs: auto | cpu | cuda[:N]")
    f.add_argument("--no-progress", action="store_true")
    f.set_defaults(func=_cmd_fit)

    i = sub.add_parser("impressions", help="data impressions of a teacher, started from an image set",
                       description="ZSKD data impressions (Nayak et al. 2019) with DeepInversion's image priors "
                                   "(docs/METHODS.md §10): each start image is optimised until the teacher's "
                                   "softmax at --temperature matches a Dirichlet soft label drawn from the "
                                   "teacher's class similarity. Start from a teacher-fitted set ('unnatural fit', "
                                   "then 'unnatural render'). Writes OUT, a uint8 (N, 3, H, W) .npy array at the "
                                   "teacher's input size that 'unnatural distill --data OUT' reads. Resumable: "
                                   "finished parts are kept in OUT.parts/ until OUT is complete, and a rerun with "
                                   "the same arguments optimises only the rest.")
    i.add_argument("--teacher", type=Path, required=True, help="teacher model file (this project's or TorchScript)")
    i.add_argument("--data", required=True, help="start images: shards (a local path or brace pattern) or an .npy "
                                                 "uint8 (N, 3, H, W) array")
    i.add_argument("--out", type=Path, required=True, help=".npy array to write")
    i.add_argument("--images", type=int_arg("--images", 1, 10**9), default=None,
                   help="optimise the first N start images (default: all)")
    i.add_argument("--with-start", action="store_true",
                   help="write the start images, then the impressions, in one array (the benchmark's row (i) "
                        "with --images half the set)")
    i.add_argument("--iterations", type=int_arg("--iterations", 1, 10**6), default=100,
                   help="Adam steps per image (default 100; ZSKD ran 1500 from noise)")
    i.add_argument("--lr", type=positive_float_arg("--lr"), default=0.01, help="Adam learning rate on [0, 1] pixels")
    i.add_argument("--temperature", type=positive_float_arg("--temperature"), default=20.0,
                   help="softmax temperature of the matched output (default 20, as ZSKD)")
    i.add_argument("--tv", type=arg_type(parse_weight, "--tv"), default=1.0,
                   help="total-variation prior weight per image (default 1; 0 turns it off)")
    i.add_argument("--jitter", type=int_arg("--jitter", 0, 64), default=2,
                   help="largest random shift in pixels at each step (default 2; 0 turns it off)")
    i.add_argument("--no-flip", action="store_true",
                   help="no random left-right mirror at each step: for teachers of digits or text")
    i.add_argument("--seed", type=int_arg("--seed", 0, 2**31 - 1), default=0, help="soft-label and jitter seed")
    i.add_argument("--batch-size", type=int_arg("--batch-size", 1, 65536), default=512,
                   help="images optimised together (the result does not depend on it)")
    i.add_argument("--device", default="auto", help="where the teacher runs: auto | cpu | cuda[:N]")
    i.add_argument("--no-progress", action="store_true")
    i.set_defaults(func=_cmd_impressions)

    s = sub.add_parser("study", help="the batch-norm and dynamic-PTQ studies",
                       description="Studies of the research line: revisited batch norm; dynamic PTQ.")
    ssub = s.add_subparsers(dest="study_cmd", required=True, metavar="{bn,ptq}", parser_class=type(s))
    b = ssub.add_parser("bn", help="standard vs revisited batch norm over many seeds",
                        description="Train the baseline, the revisited batch norm (Davis & Frank 2022: BN scale init "
                                    "0.1, BN scales at lr/100 without weight decay, online input normalization) and "
                                    "its ablations on the same seeds; report mean ± std, one-sided paired t-tests and "
                                    "a box/strip plot. Reruns resume (finished runs are kept in OUT/results.jsonl).")
    b.add_argument("--setting", choices=("teacher", "kd"), required=True,
                   help="teacher: supervised training on --dataset; kd: students distilled on shader images")
    b.add_argument("--dataset", type=arg_type(_dataset), default="digits", help=f"{DATASETS} (default digits)")
    b.add_argument("--arch", default="resnet8", help="model (default resnet8)")
    b.add_argument("--seeds", type=_seeds, default="1-15", help="seeds, e.g. 1-15 or 1,2,5 (default 1-15)")
    b.add_argument("--variants", type=_variants, default=None,
                   help="comma list of baseline, revisited, init, update, input, init+update (default: all)")
    b.add_argument("--size", type=int_arg("--size", 8, 512), default=16, help="input side in pixels (default 16)")
    b.add_argument("--batch-size", type=int_arg("--batch-size", 2, 65_536), default=128)
    b.add_argument("--lr", type=positive_float_arg("--lr"), default=0.05)
    b.add_argument("--epochs", type=int_arg("--epochs", 1, 10_000), default=30,
                   help="teacher setting (and the kd setting's own teacher): epochs (default 30)")
    b.add_argument("--steps", type=int_arg("--steps", 1, 10**8), default=500, help="kd setting: KD steps (default 500)")
    b.add_argument("--teacher", default=None, help="kd setting: teacher file (default: train one, standard BN, seed 0)")
    b.add_argument("--data", default=None, help="kd setting: shader shards or URLs (default: render 20,000 images)")
    b.add_argument("--out", type=Path, required=True, help="study folder (resumable)")
    b.add_argument("--doc", type=Path, default=None, help="also write the table and plot into this Markdown file")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=_cmd_study_bn)

    q = ssub.add_parser("ptq", help="catastrophic failure under dynamic PTQ: detrimental vs robust pairs",
                        description="Dynamic post-training quantization study (Frank & Ardis 2025): (A) distill a "
                                    "student on shader images, (B) train a detrimental and a robust (network, bit-width "
                                    "policy) pair by REINFORCE + QAT, (C) evaluate every network in float and quantized "
                                    "(own policy, W8A8, uniform, random, worst-case search) under a bit budget. "
                                    "Reruns reuse finished parts.")
    q.add_argument("--dataset", type=arg_type(_dataset), default="digits", help=f"{DATASETS} (default digits)")
    q.add_argument("--arch", default="resnet8", help="student (and trained teacher) model (default resnet8)")
    q.add_argument("--size", type=int_arg("--size", 8, 512), default=16, help="input side in pixels (default 16)")
    q.add_argument("--budget", type=_budget, default=5.0, help="bit budget: mean bits per layer, 2..8 (default 5)")
    q.add_argument("--kd-steps", type=int_arg("--kd-steps", 1, 10**8), default=1000, help="(A) KD steps")
    q.add_argument("--pair-steps", type=int_arg("--pair-steps", 1, 10**8), default=400, help="(B) steps per pair")
    q.add_argument("--alpha", type=positive_float_arg("--alpha"), default=1.0, help="weight of the quantized loss in (B)")
    q.add_argument("--search-steps", type=int_arg("--search-steps", 1, 10**6), default=100,
                   help="REINFORCE steps of each worst-case search")
    q.add_argument("--random-policies", type=int_arg("--random-policies", 1, 10**4), default=20)
    q.add_argument("--per-example", action="store_true",
                   help="per-example activation ranges and a per-example policy network (default: per layer)")
    q.add_argument("--epochs", type=int_arg("--epochs", 1, 10_000), default=30, help="epochs of a teacher trained here")
    q.add_argument("--teacher", default=None, help="teacher file (default: train one on --dataset)")
    q.add_argument("--data", default=None, help="shader shards or URLs (default: render 20,000 images)")
    q.add_argument("--seed", type=int_arg("--seed", 0, 2**31 - 1), default=0)
    q.add_argument("--device", default="auto")
    q.add_argument("--out", type=Path, required=True, help="study folder (resumable)")
    q.add_argument("--doc", type=Path, default=None, help="also write the table and plot into this Markdown file")
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=_cmd_study_ptq)


def _cmd_teacher_train(args: argparse.Namespace) -> int:
    from .training import train_teacher

    try:
        summary = train_teacher(args.dataset, args.arch, args.out, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, size=args.size, augment=args.augment, seed=args.seed, device=args.device)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1))
    return 0


def _cmd_distill(args: argparse.Namespace) -> int:
    import torch

    from .data import load_real
    from .kd import DistillConfig, distill, image_source

    try:
        config = DistillConfig(steps=args.steps, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                               weight_decay=args.weight_decay, warmup_steps=args.warmup_steps,
                               temperature=args.temperature, augment=args.augment, balance=args.balance,
                               adversarial=args.adversarial, eval_every=args.eval_every,
                               checkpoint_every=args.checkpoint_every, seed=args.seed)
        from .checkpoint import load_model

        _, tinfo = load_model(args.teacher)
        test = load_real(args.eval, "test", size=tinfo.input_size) if args.eval else None
        source = image_source(args.data, args.batch_size, seed=args.seed, size=tinfo.input_size, token=args.token,
                              num_workers=args.workers, channels=tinfo.channels)
        if args.torch_threads is not None:
            torch.set_num_threads(args.torch_threads)
        summary = distill(args.teacher, args.student, source, args.out, config, device=args.device,
                          eval_set=(test.x, test.y) if test else None, resume=args.resume,
                          progress=not args.no_progress, data_label=args.data)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(summary, indent=1))
    return 0


def _cmd_kd_score(args: argparse.Namespace) -> int:
    from .checkpoint import load_model
    from .diagnostics import class_shares, plot_heatmap, report, shard_diagnostics
    from .kd import image_source, streams_through_loader, teacher_scores
    from .training import pick_device

    shards = streams_through_loader(args.data)
    if args.heatmap is not None and not shards:
        raise UsageError(f"--heatmap needs shards or server URLs (samples that name their program), not {args.data!r}")
    try:
        device = pick_device(args.device)
        teacher, info = load_model(args.teacher, device)
        if shards:
            diag = shard_diagnostics(teacher, args.data, info.input_size, info.num_classes, device, args.images,
                                     info.channels, token=args.token)
            scores = report(diag, info.classes)
            if args.heatmap is not None:
                plot_heatmap(diag, info.classes, args.heatmap, title=f"{args.data}: teacher {args.teacher.name}")
        else:
            batches = image_source(args.data, 256, size=info.input_size, token=args.token, channels=info.channels)()
            scores = teacher_scores(teacher, batches, info.input_size, info.num_classes, device, args.images,
                                    info.channels)
            scores["class_share"] = class_shares(scores["histogram"], info.classes)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps({"data": args.data, **scores}, indent=1))
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from unnatural.generator.spec import DatasetSpec, SpecError

    from .fit import DEFAULT_BUDGET, DEFAULT_PROGRAMS, FitConfig, fit, write_fit

    if not args.out.parent.is_dir():
        raise UsageError(f"--out folder {str(args.out.parent)!r} does not exist")
    try:
        base = DatasetSpec.load(args.spec) if args.spec is not None else None
    except (SpecError, OSError, ValueError) as exc:
        raise UsageError(f"--spec {str(args.spec)!r}: {exc}") from None
    try:
        config = FitConfig(budget=args.budget or DEFAULT_BUDGET, seed=args.seed,
                           programs_per_class=args.programs_per_class or DEFAULT_PROGRAMS, rounds=args.rounds)
        result = fit(args.teacher, base, config, device=args.device, workers=args.workers,
                     progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    report = write_fit(result, args.out)
    check = result.report["check"]
    summary = {"out": str(args.out), "report": str(report), "spec_hash": result.report["spec_hash"],
               "screen_normalized_entropy": result.report["screen"]["normalized_entropy"],
               "normalized_entropy": check["normalized_entropy"], "min_programs": check["min_programs"],
               "unreached": check["unreached"], "wall_s": result.report["timing"]["wall_s"]}
    print(json.dumps(summary, indent=1))
    return 0


def _start_images(data: str, scratch: Path, progress: bool):
    """The start images of ``impressions``: an ``.npy`` array memory-mapped, or shards decoded into
    ``scratch`` (webdataset reader, shard order)."""
    import numpy as np

    from .data import decode_shards

    if data.endswith(".npy"):
        images = np.load(data, mmap_mode="r")
    else:
        images = np.load(decode_shards(data, scratch / "start.npy", progress=progress), mmap_mode="r")
    if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"--data {data!r} holds {images.dtype} {images.shape}: allowed uint8 (N, 3, H, W) images")
    return images


def _cmd_impressions(args: argparse.Namespace) -> int:
    import tempfile

    from unnatural.generator.files import sha256_file

    from .checkpoint import load_model
    from .impressions import impressions_file
    from .training import pick_device

    if not args.out.parent.is_dir():
        raise UsageError(f"--out folder {str(args.out.parent)!r} does not exist")
    if args.out.suffix != ".npy":
        raise UsageError(f"--out {str(args.out)!r}: allowed a path ending in .npy")
    try:
        device = pick_device(args.device)
        teacher, info = load_model(args.teacher, device)
        with tempfile.TemporaryDirectory(dir=args.out.parent, prefix=".impressions-") as scratch:
            images = _start_images(args.data, Path(scratch), not args.no_progress)
            start = images[:args.images] if args.images else images
            if args.with_start and images.shape[2:] != (info.input_size,) * 2:
                # checked before optimising: the joined array needs one image size
                raise ValueError(f"--with-start: the start images are {images.shape[2]} px and the teacher's "
                                 f"input {info.input_size} px; allowed start images at the teacher's input size")
            inputs = {"teacher": sha256_file(args.teacher), "data": args.data, "shape": list(images.shape)}
            impressions_file(args.out, teacher, start, info.input_size, info.channels, device, inputs=inputs,
                             head=images if args.with_start else None, iterations=args.iterations, lr=args.lr,
                             temperature=args.temperature, tv=args.tv, jitter=args.jitter, flip=not args.no_flip,
                             batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps({"out": str(args.out), "images": len(start) + (len(images) if args.with_start else 0),
                      "impressions": len(start), "shape": [3, info.input_size, info.input_size]}, indent=1))
    return 0


def _cmd_study_bn(args: argparse.Namespace) -> int:
    from .studies.bn import BNStudy, run_study

    try:
        study = BNStudy(setting=args.setting, dataset=args.dataset, arch=args.arch,
                        seeds=args.seeds if isinstance(args.seeds, list) else _seeds(args.seeds),
                        **({"variants": args.variants} if args.variants else {}), size=args.size,
                        batch_size=args.batch_size, lr=args.lr, epochs=args.epochs, steps=args.steps,
                        teacher=args.teacher, data=args.data)
        result = run_study(study, args.out, progress=not args.no_progress, doc=args.doc)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(result["report"])
    print(f"plot: {result['plot']}")
    return 0


def _cmd_study_ptq(args: argparse.Namespace) -> int:
    from .studies.ptq import PTQStudy, run_study

    try:
        study = PTQStudy(dataset=args.dataset, arch=args.arch, size=args.size, budget=args.budget,
                         kd_steps=args.kd_steps, pair_steps=args.pair_steps, alpha=args.alpha,
                         search_steps=args.search_steps, random_policies=args.random_policies,
                         per_example=args.per_example, teacher=args.teacher, data=args.data, epochs=args.epochs,
                         seed=args.seed)
        result = run_study(study, args.out, progress=not args.no_progress, doc=args.doc, device=args.device)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(result["report"])
    print(f"plot: {result['plot']}")
    return 0
