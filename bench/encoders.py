"""Benchmark: image encoders of the shards, µs per image, on rendered images of the default mix.

For each size, renders ``--images`` images once, then times each encoder over the batch (best
of ``--repeats``) and checks whether its bytes equal the shards' encoder (Pillow for png/jpg):
- png: Pillow (``compress_level=1``, one image at a time) vs :func:`~unnatural.generator.png.encode_png`
  (row filters chosen for the whole batch in numpy, zlib per image);
- jpg (q90): Pillow vs simplejpeg (libjpeg-turbo's TurboJPEG API), if installed;
- npy: the batch encoder of :mod:`~unnatural.generator.encoders`, for scale.

usage: python bench/encoders.py [--sizes 32,64,128,256] [--images 1000]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from unnatural.generator.encoders import encode_pillow, make_encoder
from unnatural.generator.png import encode_png
from unnatural.generator.renderer import Renderer
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.shard import render_samples
from unnatural.generator.spec import DatasetSpec


def candidates() -> list[tuple[str, str, callable, callable]]:
    """(format, encoder name, reference encoder, candidate encoder)."""
    out = [("png", "ours (numpy filters + zlib)", lambda x: encode_pillow(x, format="PNG", compress_level=1), encode_png)]
    try:
        import simplejpeg
    except ImportError:
        print("simplejpeg is not installed: no jpg comparison")
    else:
        out.append(("jpg", f"simplejpeg {simplejpeg.__version__}", lambda x: encode_pillow(x, format="JPEG", quality=90),
                    lambda x: [simplejpeg.encode_jpeg(i, quality=90, colorspace="RGB", colorsubsampling="420",
                                                      fastdct=False) for i in x]))
    return out


def best_us(fn, images: np.ndarray, repeats: int) -> tuple[float, list]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(images)
        times.append(time.perf_counter() - start)
    return 1e6 * min(times) / len(images), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="32,64,128,256")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    renderer = Renderer()
    pairs = candidates()
    print("| size | format | Pillow µs/img | candidate | candidate µs/img | Pillow / candidate | same bytes | load |")
    print("|---:|---|---:|---|---:|---:|---|---:|")
    for size in map(int, args.sizes.split(",")):
        spec = DatasetSpec(images=args.images, images_per_shard=args.images, width=size, height=size)
        images = render_samples(ProgramTable(spec), renderer, np.arange(args.images)).images
        npy, _ = best_us(make_encoder("npy"), images, args.repeats)
        print(f"| {size} | npy | | batch npy | {npy:.1f} | | | {os.getloadavg()[0]:.1f} |")
        for fmt, name, reference, candidate in pairs:
            ref_us, ref = best_us(reference, images, args.repeats)
            cand_us, cand = best_us(candidate, images, args.repeats)
            same = sum(a == b for a, b in zip(ref, cand))
            print(f"| {size} | {fmt} | {ref_us:.1f} | {name} | {cand_us:.1f} | {ref_us / cand_us:.1f}x "
                  f"| {same}/{len(ref)} | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
