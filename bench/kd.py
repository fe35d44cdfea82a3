"""Benchmark: KD steps/s with batches from local shards, from the server over loopback, and from
in-memory tensors (the ceiling: no data loading at all).

A step is the trainer's whole step (`unnatural.distill.kd.distill`): uint8 -> float on the device,
the synthetic augmentation recipe, teacher forward, student forward/backward, SGD. Teacher and
student are untrained `resnet8` models at 32x32 (speed does not depend on the weights). The
shards hold the default mix at 32x32 npy; the server renders the same spec on demand with
`--workers` render processes, sharing the cores with the trainer.

Prints a Markdown table (copy it into docs/BENCHMARKS.md with the machine it ran on).

``--torch-threads N`` gives the trainer N intra-op threads (default: torch's, one per core);
fewer threads than cores leave a core to the loader and the render process.

usage: python bench/kd.py [--steps 60] [--batch-size 128] [--arch resnet8] [--workers 1] [--torch-threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import torch

from unnatural.distill.checkpoint import ModelInfo, Normalized, save_model
from unnatural.distill.kd import DistillConfig, distill, image_source
from unnatural.distill.models import create_model
from unnatural.generator.job import render_dataset
from unnatural.generator.spec import DatasetSpec
from unnatural.server.process import ServerProcess

SIZE = 32


def steps_per_s(teacher: Path, arch: str, source, steps: int, batch_size: int, out: Path) -> float:
    """Steady-state rate: the second half of the run (the first half absorbs loader start-up)."""
    config = DistillConfig(steps=steps, batch_size=batch_size, warmup_steps=1, eval_every=steps // 2,
                           checkpoint_every=steps)
    distill(teacher, arch, source, out, config, progress=False)
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    return last["images_per_s"] / batch_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--arch", default="resnet8")
    ap.add_argument("--workers", type=int, default=1, help="render processes of the server and DataLoader workers")
    ap.add_argument("--torch-threads", type=int, default=None, help="the trainer's intra-op threads")
    args = ap.parse_args()
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    images = args.batch_size * (args.steps + 10) * 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        teacher = tmp / "teacher.pt"
        save_model(teacher, Normalized(create_model(args.arch), [0.5] * 3, [0.25] * 3),
                   ModelInfo(args.arch, 10, SIZE))
        spec = DatasetSpec(name="kd", width=SIZE, height=SIZE, images=images, images_per_shard=1000, format="npy")
        render_dataset(spec, tmp / "shards", progress=False)
        shards = str(tmp / "shards" / f"kd-{{000000..{spec.num_shards - 1:06d}}}.tar")
        memory = torch.randint(0, 256, (args.batch_size, 3, SIZE, SIZE), dtype=torch.uint8)

        def in_memory():
            while True:
                yield memory

        rows = [("in-memory tensors (ceiling)", steps_per_s(teacher, args.arch, in_memory, args.steps,
                                                            args.batch_size, tmp / "mem"))]
        rows.append(("local shards (webdataset)", steps_per_s(
            teacher, args.arch, image_source(shards, args.batch_size, num_workers=args.workers),
            args.steps, args.batch_size, tmp / "local")))
        (tmp / "server.json").write_text(json.dumps({"datasets": [spec.to_dict()]}))
        with ServerProcess(["--workers", str(args.workers), "--config", str(tmp / "server.json"),
                            "--log-level", "warning"], tmp / "server.log") as server:
            url = server.client.get("/datasets/kd").json()["url_template"]
            rows.append(("server virtual shards (loopback)", steps_per_s(
                teacher, args.arch, image_source(url, args.batch_size, num_workers=args.workers),
                args.steps, args.batch_size, tmp / "server")))
    ceiling = rows[0][1]
    load = os.getloadavg()[0]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.arch} teacher and student, batch {args.batch_size}, "
          f"{SIZE}x{SIZE}, {args.steps} steps, {args.workers} render/loader workers\n")
    print("| batches from | KD steps/s | images/s | vs in-memory | load |\n|---|---:|---:|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:.2f} | {rate * args.batch_size:,.0f} | {rate / ceiling:.2f}x | {load:.1f} |")


if __name__ == "__main__":
    main()
