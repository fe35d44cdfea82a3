"""``unnatural teacher train``, ``unnatural distill`` and ``unnatural kd-score`` (registered by
:mod:`generator.cli`; torch is imported only when one of them runs)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

DATASETS = "digits | cifar10:PATH | cifar100:PATH | folder:PATH"


def _usage(message: str) -> Exception:
    from generator.cli import UsageError

    return UsageError(message)


def _check_dataset(text: str) -> str:
    kind, _, path = text.partition(":")
    if text == "digits" or (kind in ("cifar10", "cifar100", "folder") and path):
        return text
    raise argparse.ArgumentTypeError(f"dataset {text!r} is unknown: allowed {DATASETS}")


def add_commands(sub, positive_int, positive_float) -> None:
    """Add the distillation subcommands to the ``unnatural`` parser."""
    t = sub.add_parser("teacher", help="train teachers on real data",
                       description="Teachers: supervised training on a real dataset.")
    tsub = t.add_subparsers(dest="teacher_cmd", required=True, metavar="{train}", parser_class=type(t))
    tt = tsub.add_parser("train", help="train a teacher; keeps the best validation checkpoint",
                         description="Train a teacher (SGD, warm-up + cosine, best validation checkpoint kept) "
                                     "and report its test accuracy.")
    tt.add_argument("--dataset", type=_check_dataset, required=True, help=DATASETS)
    tt.add_argument("--arch", default="resnet8", help="model name (see distill.models.model_names; default resnet8)")
    tt.add_argument("--epochs", type=positive_int("--epochs", 1, 10_000), default=30)
    tt.add_argument("--batch-size", type=positive_int("--batch-size", 2, 65_536), default=128)
    tt.add_argument("--lr", type=positive_float("--lr"), default=0.05)
    tt.add_argument("--size", type=positive_int("--size", 8, 512), default=32, help="input side in pixels (default 32)")
    tt.add_argument("--augment", default="off,crop=pad,pad=4",
                    help="augmentation (AugmentConfig.parse): synthetic | real | off, then ,key=value overrides")
    tt.add_argument("--seed", type=positive_int("--seed", 0, 2**31 - 1), default=0)
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
    d.add_argument("--eval", type=_check_dataset, default=None, help=f"test split to evaluate on: {DATASETS}")
    d.add_argument("--steps", type=positive_int("--steps", 1, 10**8), default=2000)
    d.add_argument("--batch-size", type=positive_int("--batch-size", 2, 65_536), default=128)
    d.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    d.add_argument("--lr", type=positive_float("--lr"), default=0.05)
    d.add_argument("--weight-decay", type=float, default=5e-4)
    d.add_argument("--warmup-steps", type=positive_int("--warmup-steps", 0, 10**8), default=100)
    d.add_argument("--temperature", type=positive_float("--temperature"), default=5.0, help="KD temperature T")
    d.add_argument("--augment", default="synthetic", help="augmentation (default: the synthetic-data recipe)")
    d.add_argument("--balance", action="store_true", help="teacher class balancing of the stream")
    d.add_argument("--adversarial", type=float, default=0.0, help="share of each batch made of boundary samples (0..1)")
    d.add_argument("--eval-every", type=positive_int("--eval-every", 1, 10**8), default=200)
    d.add_argument("--checkpoint-every", type=positive_int("--checkpoint-every", 1, 10**8), default=200)
    d.add_argument("--seed", type=positive_int("--seed", 0, 2**31 - 1), default=0)
    d.add_argument("--token", default=None, help="server bearer token (default: $UNNATURAL_TOKEN)")
    d.add_argument("--workers", type=positive_int("--workers", 0, 64), default=2, help="DataLoader workers for shards")
    d.add_argument("--device", default="auto")
    d.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log.jsonl, student.pt, summary.json)")
    d.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_distill)

    k = sub.add_parser("kd-score", help="how good a set is for KD, through the teacher's eyes",
                       description="The teacher's normalized class-histogram entropy H(p)/log K on a set "
                                   "(1 = uniform; Frank & Davis 2025 criterion (a)) and its mean max-softmax.")
    k.add_argument("--teacher", type=Path, required=True)
    k.add_argument("--data", required=True, help="shards, server URLs, noise, or a real dataset")
    k.add_argument("--images", type=positive_int("--images", 1, 10**9), default=5000)
    k.add_argument("--device", default="auto")
    k.add_argument("--token", default=None)
    k.set_defaults(func=_cmd_kd_score)


def _cmd_teacher_train(args: argparse.Namespace) -> int:
    from .training import train_teacher

    try:
        summary = train_teacher(args.dataset, args.arch, args.out, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, size=args.size, augment=args.augment, seed=args.seed, device=args.device)
    except (ValueError, FileNotFoundError) as exc:
        raise _usage(str(exc)) from None
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1))
    return 0


def _cmd_distill(args: argparse.Namespace) -> int:
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
                              num_workers=args.workers)
        summary = distill(args.teacher, args.student, source, args.out, config, device=args.device,
                          eval_set=(test.x, test.y) if test else None, resume=args.resume,
                          progress=not args.no_progress, data_label=args.data)
    except (ValueError, FileNotFoundError) as exc:
        raise _usage(str(exc)) from None
    print(json.dumps(summary, indent=1))
    return 0


def _cmd_kd_score(args: argparse.Namespace) -> int:
    from .checkpoint import load_model
    from .kd import image_source, teacher_scores
    from .training import pick_device

    try:
        device = pick_device(args.device)
        teacher, info = load_model(args.teacher, device)
        batches = image_source(args.data, 256, size=info.input_size, token=args.token)()
        scores = teacher_scores(teacher, batches, info.input_size, info.num_classes, device, args.images)
    except (ValueError, FileNotFoundError) as exc:
        raise _usage(str(exc)) from None
    print(json.dumps({"data": args.data, **scores}, indent=1))
    return 0
