"""Benchmark: does a larger composed-program pool improve `unnatural fit`, and what does it cost?

For each pool size P (the base spec's ``composed_programs``; the default mix otherwise, at the
teacher's input size), with Mesa's shader disk cache cold (an empty ``MESA_SHADER_CACHE_DIR``)
and then warm (the same folder again):

- start-up probe: one fresh render process (one EGL context, llvmpipe in its own thread)
  renders one 32x32 image of every program of the base spec, then does it again; the first pass
  minus the second is the cost of composing the GLSL, compiling it and JIT-ing it on first draw.
  Each of the fit's render processes pays about this once for every program it meets. The probe
  has its own cache folders, so the fits below start cold;
- fit: ``unnatural fit --teacher T --spec BASE --workers W --seed S`` as a subprocess, its wall
  time (process start to exit) and its report: ``timing`` (wall, render, score), the screen's and
  the check's normalized argmax entropy, the least distinct programs per class, the mean
  per-class hit rate, and the distinct (composed) programs the fitted section names.

The fit is deterministic, so cold and warm runs must write the same spec (``spec_hash`` column).
``--quick`` (for more seeds): no probe and one fit per pool size, with a cold cache.
Prints Markdown tables (copy them into docs/BENCHMARKS.md with the machine and its load).

usage: python bench/fit_pool.py --teacher runs/fashion/teacher.pt [--sizes 64,512,2048]
       [--out /tmp/fitpool] [--workers 2] [--seed 0] [--budget N] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml


def probe(base: Path) -> dict:
    """In this process (run as a subprocess with its own cache folder): render one image of every
    program of ``base`` twice; the seconds of each pass and of composing the sources."""
    import numpy as np

    from unnatural.generator.render_process import start_render_process
    from unnatural.generator.sampling import ProgramTable
    from unnatural.generator.spec import DatasetSpec

    spec = DatasetSpec.from_dict(yaml.safe_load(base.read_text()))
    table = ProgramTable(spec)
    renderer = start_render_process(None, None, True)
    renderer.cache_size = max(renderer.cache_size, len(table.program_ids))   # the second pass hits
    times, params = np.zeros(1), np.full((1, 16), 0.5)
    t0 = time.perf_counter()
    sources = [table.source(j) for j in range(len(table.program_ids))]
    t1 = time.perf_counter()
    for src in sources:
        renderer.render(src, times, params, spec.size)
    t2 = time.perf_counter()
    for src in sources:
        renderer.render(src, times, params, spec.size)
    t3 = time.perf_counter()
    return {"programs": len(sources), "compose_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}


def run(cmd: list[str], cache: Path) -> tuple[float, str]:
    """Run ``cmd`` with Mesa's shader cache in ``cache``; (wall seconds, stdout)."""
    env = {**os.environ, "MESA_SHADER_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, done.stdout


def fitted_programs(path: Path) -> tuple[int, int]:
    """(distinct programs, distinct composed programs) named by the fitted section of ``path``."""
    section = yaml.safe_load(path.read_text())["fitted"]
    ids = {p["program"] for c in section["classes"] for p in c["programs"]}
    return len(ids), sum(pid.startswith("composed-") for pid in ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--sizes", default="64,512,2048", help="composed-program pool sizes, comma list")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fitpool"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=None, help="fit budget (default: the fit's default)")
    ap.add_argument("--size", type=int, default=32, help="image side of the base spec (the teacher's input)")
    ap.add_argument("--quick", action="store_true", help="no probe; one fit per pool size, cold cache")
    ap.add_argument("--probe", type=Path, default=None, help=argparse.SUPPRESS)   # internal: probe mode
    args = ap.parse_args()
    if args.probe is not None:
        print(json.dumps(probe(args.probe)))
        return

    rows, classes = [], []
    for p in [int(s) for s in args.sizes.split(",")]:
        folder = args.out / f"pool-{p}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        base = folder / "base.yaml"
        base.write_text(yaml.safe_dump({"width": args.size, "height": args.size, "composed_programs": p}))
        probe_cache, fit_cache = folder / "probe-cache", folder / "fit-cache"
        probe_cache.mkdir(), fit_cache.mkdir()
        states = ("cold",) if args.quick else ("cold", "warm")
        probes = {state: None for state in states}
        for state in () if args.quick else states:
            _, out = run([sys.executable, __file__, "--teacher", str(args.teacher), "--probe", str(base)], probe_cache)
            probes[state] = json.loads(out.strip().splitlines()[-1])
        for state in states:
            out = folder / f"fitted-{state}.yaml"
            cmd = [sys.executable, "-m", "unnatural", "fit", "--teacher", str(args.teacher), "--spec", str(base),
                   "--out", str(out), "--seed", str(args.seed), "--workers", str(args.workers), "--no-progress"]
            if args.budget is not None:
                cmd += ["--budget", str(args.budget)]
            load = os.getloadavg()[0]
            wall, _ = run(cmd, fit_cache)
            report = json.loads(out.with_name(f"{out.stem}.report.json").read_text())
            check = report["check"]
            distinct, composed = fitted_programs(out)
            pr = probes[state]
            rows.append({
                "pool": p, "cache": state, "load": load, "process_s": wall, **report["timing"],
                "probe_s": pr and pr["compose_s"] + pr["first_s"] - pr["second_s"],
                "probe_ms": pr and 1000 * (pr["compose_s"] + pr["first_s"] - pr["second_s"]) / pr["programs"],
                "screen": report["screen"]["normalized_entropy"], "check": check["normalized_entropy"],
                "min_programs": check["min_programs"],
                "hit": sum(c["hit_rate"] for c in check["classes"]) / len(check["classes"]),
                "distinct": distinct, "composed": composed, "hash": report["spec_hash"][:12]})
            if state == states[-1]:
                classes.append((p, {c["name"]: (c["hit_rate"], c["programs"]) for c in check["classes"]}))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"--workers {args.workers}, seed {args.seed}, budget {args.budget or 'default'}\n")
    print("| pool | cache | load avg | fit wall s (process) | render s | score s | start-up probe s (ms/program) "
          "| screen entropy | check entropy | min programs/class | mean hit rate | programs fitted (composed) "
          "| spec hash |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        probe_cell = "-" if r["probe_s"] is None else f"{r['probe_s']:.1f} ({r['probe_ms']:.0f})"
        print(f"| {r['pool']} | {r['cache']} | {r['load']:.1f} | {r['wall_s']:.0f} ({r['process_s']:.0f}) "
              f"| {r['render_s']:.0f} | {r['score_s']:.0f} | {probe_cell} "
              f"| {r['screen']:.3f} | {r['check']:.3f} | {r['min_programs']} | {r['hit']:.3f} "
              f"| {r['distinct']} ({r['composed']}) | {r['hash']} |")
    if classes:
        names = list(classes[0][1])
        print(f"\nper class, {states[-1]} runs: check hit rate / distinct programs feeding the class\n")
        print("| pool | " + " | ".join(names) + " |")
        print("|---:|" + "---:|" * len(names))
        for p, per in classes:
            print(f"| {p} | " + " | ".join(f"{per[n][0]:.2f} / {per[n][1]}" for n in names) + " |")


if __name__ == "__main__":
    main()
