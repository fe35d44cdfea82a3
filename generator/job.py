"""The render job: a spec -> WebDataset shards + ``manifest.json`` on disk, resumable.

Shards are independent work items rendered by a pool of processes (spawn start method, one
EGL context created inside each child: DESIGN.md "One GL context per process"). Each shard is
written under a temporary name and renamed when complete; the manifest (also written
atomically) lists finished shards with their sha256. ``resume=True`` keeps every shard whose
file matches its recorded checksum and renders the rest, so a job killed at any moment ends,
once resumed, with exactly the bytes of an uninterrupted run.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .files import atomic_open, atomic_write, remove_stale_temporaries, sha256_file
from .sampling import ProgramTable
from .spec import DatasetSpec

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
MANIFEST_INTERVAL_S = 2.0   # rewrite the manifest at most this often while shards finish
IMAGES_PER_PROGRAM = 32     # aim for this many tiles per draw when grouping shards into tasks
TASK_BYTES = 256 << 20      # ... but hold at most this much raw pixel data per task


class JobError(RuntimeError):
    """A render job cannot start or continue; the message says why and what to do."""


def default_workers() -> int:
    """One render process per NVIDIA GPU, else one per CPU core (Mesa llvmpipe)."""
    from .context import cuda_egl_devices

    gpus = cuda_egl_devices()
    return len(gpus) if gpus else (os.cpu_count() or 1)


# -- worker side -----------------------------------------------------------------------------
_worker: dict = {}


def _watch_parent(parent: int) -> None:
    # A worker blocked on its task queue waits forever if the parent is killed (-9): exit instead.
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def start_render_process(parent: int, device: int | None, software_threads: bool):
    """Set up a freshly spawned render process and return its :class:`Renderer`.

    Starts a thread that exits the process when ``parent`` (the pid the parent passed in: if it
    died before this ran, ``getppid()`` is already the reaper's) is gone, then creates the
    process's one EGL context on EGL device ``device`` (``None``: the default device).
    ``software_threads``: several processes share the cores, so llvmpipe renders in the calling
    thread (RESEARCH.md §7: 2 processes x LP_NUM_THREADS=0 beat 1 process x 2 threads by 5x).

    Raises:
        GLUnavailableError: no EGL/GL libraries or no context on ``device``.
    """
    if software_threads:
        os.environ.setdefault("LP_NUM_THREADS", "0")
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    from .context import create_context
    from .renderer import Renderer

    return Renderer(create_context(device_index=device))


def _init_worker(table: ProgramTable, progress: mp.Queue, devices: mp.Queue, software_threads: bool, parent: int) -> None:
    try:
        device = devices.get_nowait()
    except queue.Empty:
        device = None
    _worker.update(table=table, progress=progress, renderer=start_render_process(parent, device, software_threads))


def _render_task(shards: list[int]) -> list[dict]:
    """Render, encode and pack consecutive shards into tar bytes in a worker; the parent only
    writes them to disk (tarfile's per-member Python cost is spread over the workers).

    Rendering several shards together groups more images per program (fewer draws, each with
    more tiles); every sample is still a pure function of (spec, index), so each shard's bytes
    do not depend on how shards were grouped.
    """
    import io

    from .context import gl_info
    from .shard import encode_samples, render_samples, write_tar

    table: ProgramTable = _worker["table"]
    spec = table.spec
    start, stop = spec.shard_range(shards[0]).start, spec.shard_range(shards[-1]).stop
    samples = render_samples(table, _worker["renderer"], np.arange(start, stop), on_images=_worker["progress"].put)
    info = gl_info(_worker["renderer"].ctx)
    results = []
    for k in shards:
        r = spec.shard_range(k)
        part = samples.select(slice(r.start - start, r.stop - start))
        tar = io.BytesIO()
        write_tar(tar, encode_samples(table, part))
        results.append({"index": k, "tar": tar.getvalue(), "samples": len(r),
                        "rejected": dict(sorted(part.rejected.items())), "renderer": info})
    return results


def plan_tasks(spec: DatasetSpec, table: ProgramTable, todo: list[int], workers: int) -> list[list[int]]:
    """Group consecutive shards into tasks of about ``IMAGES_PER_PROGRAM`` images per program,
    at most ``TASK_BYTES`` of pixels, and enough tasks to keep every worker busy."""
    per_task = IMAGES_PER_PROGRAM * len(table.program_ids)
    per_task = min(per_task, TASK_BYTES // (spec.width * spec.height * 3), -(-len(todo) * spec.images_per_shard // workers))
    n = max(1, per_task // spec.images_per_shard)
    tasks: list[list[int]] = []
    for k in todo:
        if tasks and len(tasks[-1]) < n and tasks[-1][-1] == k - 1:
            tasks[-1].append(k)
        else:
            tasks.append([k])
    return tasks


def _write_shard(out: Path, spec: DatasetSpec, result: dict) -> dict:
    """Write a rendered shard atomically; returns its manifest entry."""
    path = out / spec.shard_name(result["index"])
    with atomic_open(path) as f:
        f.write(result["tar"])
    return {
        "index": result["index"],
        "name": path.name,
        "samples": result["samples"],
        "bytes": f.bytes,
        "sha256": f.sha256.hexdigest(),
        "rejected": result["rejected"],
    }


# -- main side -------------------------------------------------------------------------------
def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / ".write-test", b"")
        (out / ".write-test").unlink()
    except OSError as exc:
        raise JobError(f"output directory {str(out)!r} is not writable ({exc.strerror or exc})") from exc


def _manifest(spec: DatasetSpec, table: ProgramTable, shards: dict[int, dict], renderer_info: dict | None) -> dict:
    entries = [shards[k] for k in sorted(shards)]
    rejected: Counter = Counter()
    for entry in entries:
        rejected.update(entry["rejected"])
    return {
        "manifest_version": MANIFEST_VERSION,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash,
        "programs_digest": table.programs_digest,
        "classes": table.classes,
        "num_shards": spec.num_shards,
        "complete": len(entries) == spec.num_shards,
        "samples": sum(e["samples"] for e in entries),
        "rejected": dict(sorted(rejected.items())),
        "renderer": renderer_info,
        "shards": entries,
    }


def _write_manifest(out: Path, manifest: dict) -> None:
    atomic_write(out / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def _verified_shards(out: Path, spec: DatasetSpec, table: ProgramTable) -> dict[int, dict]:
    path = out / MANIFEST
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise JobError(f"--resume: cannot read {path} ({exc}); delete the folder or choose another --out") from exc
    for key, now in (("spec_hash", spec.spec_hash), ("programs_digest", table.programs_digest)):
        if old.get(key) != now:
            raise JobError(
                f"--resume: {out} was rendered from a different spec or shader library "
                f"({key} {old.get(key)} != {now}); choose another --out"
            )
    kept = {}
    for entry in old.get("shards", []):
        shard = out / entry["name"]
        if shard.is_file() and shard.stat().st_size == entry["bytes"] and sha256_file(shard) == entry["sha256"]:
            kept[int(entry["index"])] = entry
    return kept


def render_dataset(
    spec: DatasetSpec,
    out_dir: str | Path,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
    table: ProgramTable | None = None,
) -> dict:
    """Render every shard of ``spec`` into ``out_dir`` and return the manifest.

    Args:
        spec: the dataset.
        out_dir: output folder (created). Holds ``{name}-{k:06d}.tar`` and ``manifest.json``.
        workers: render processes; ``None`` = :func:`default_workers`.
        resume: keep verified shards of an earlier run of the same spec, render the rest.
        progress: show a tqdm bar (images/s).
        table: a prepared :class:`ProgramTable` (built from ``spec`` when ``None``).

    Raises:
        JobError: folder not writable, an existing dataset without ``resume``, a resume
            against a different spec, or a render process that died.
    """
    out = Path(out_dir)
    _check_writable(out)
    table = table or ProgramTable(spec)
    if (out / MANIFEST).exists() and not resume:
        raise JobError(f"{out} already holds a dataset ({MANIFEST}); pass --resume to continue it or choose another --out")
    remove_stale_temporaries(out)
    done = _verified_shards(out, spec, table) if resume and (out / MANIFEST).exists() else {}
    todo = [k for k in range(spec.num_shards) if k not in done]
    workers = max(1, min(workers or default_workers(), len(todo) or 1))
    renderer_info = None
    bar = tqdm(total=spec.images, initial=sum(e["samples"] for e in done.values()), unit="img",
               desc=f"render {spec.name}", disable=not progress, dynamic_ncols=True, smoothing=0.1)
    if todo:
        ctx = mp.get_context("spawn")
        progress_q, devices_q = ctx.Queue(), ctx.Queue()
        from .context import cuda_egl_devices

        gpus = [egl for egl, _ in cuda_egl_devices()]
        for i in range(workers):
            if gpus:
                devices_q.put(gpus[i % len(gpus)])
        last_write = 0.0
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(table, progress_q, devices_q, not gpus, os.getpid())) as pool:
            futures = {pool.submit(_render_task, task) for task in plan_tasks(spec, table, todo, workers)}
            try:
                while futures:
                    finished, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                    while True:
                        try:
                            bar.update(progress_q.get_nowait())
                        except queue.Empty:
                            break
                    for fut in finished:
                        for result in fut.result():
                            renderer_info = result["renderer"]
                            done[result["index"]] = _write_shard(out, spec, result)
                    if finished and (time.monotonic() - last_write > MANIFEST_INTERVAL_S or not futures):
                        _write_manifest(out, _manifest(spec, table, done, renderer_info))
                        last_write = time.monotonic()
            except BrokenProcessPool as exc:
                _write_manifest(out, _manifest(spec, table, done, renderer_info))
                raise JobError(f"a render process died ({exc}); finished shards are kept: rerun with --resume") from exc
            except BaseException:
                for fut in futures:
                    fut.cancel()
                _write_manifest(out, _manifest(spec, table, done, renderer_info))
                raise
    bar.close()
    manifest = _manifest(spec, table, done, renderer_info)
    _write_manifest(out, manifest)
    return manifest
