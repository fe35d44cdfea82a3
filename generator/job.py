"""The render job: a spec -> WebDataset shards + ``manifest.json`` on disk, resumable.

Shards are independent work items rendered by a pool of processes (spawn start method, one
EGL context created inside each child: docs/DESIGN.md "One GL context per process"). Each shard is
written under a temporary name and renamed when complete; the manifest (also written
atomically) lists finished shards with their sha256. ``resume=True`` keeps every shard whose
file matches its recorded checksum and renders the rest, so a job killed at any moment ends,
once resumed, with exactly the bytes of an uninterrupted run.

A job can render a subset of the shards: ``part=(I, N)`` renders the I-th of N contiguous
ranges (several machines sharing one folder, e.g. a Kubernetes Indexed Job) and records them in
``manifest-part-{I:06d}-of-{N:06d}.json`` instead of ``manifest.json``, which the parts would
race on; a later full ``resume=True`` run reads every part manifest and writes ``manifest.json``.
Who renders is pluggable (``runner``): the local process pool here, Ray actors in
:mod:`unnatural.generator.ray_launcher`. Local workers write their own shards; Ray actors return
the bytes and the shards are written here; manifests are written here either way.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, suppress
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .files import TMP_MARK, atomic_open, atomic_write, remove_stale_temporaries, sha256_file
from .render_process import TASK_TIMEOUT_S, default_workers, spawn_render_pool, start_pooled_render_process
from .sampling import ProgramTable
from .spec import DatasetSpec

MANIFEST = "manifest.json"
PART_MANIFEST_GLOB = "manifest-part-*-of-*.json"
MANIFEST_VERSION = 1
MANIFEST_INTERVAL_S = 2.0   # rewrite the manifest at most this often while shards finish
IMAGES_PER_PROGRAM = 32     # aim for this many tiles per draw when grouping shards into tasks
TASK_BYTES = 256 << 20      # ... but hold at most this much raw pixel data per task


class JobError(RuntimeError):
    """A render job cannot start or continue; the message says why and what to do."""


# Who renders a job's shards: ``runner(table, todo, workers)`` renders shard indices ``todo``
# (ascending) with at most ``workers`` renderers (``None``: the runner's default) and yields
# ``(images rendered since the last yield, results of finished tasks)``, each result a dict as
# :func:`render_shards` returns. It raises :class:`JobError` when a renderer dies.
Runner = Callable[[ProgramTable, list[int], int | None], Iterator[tuple[int, list[dict]]]]


def part_shards(num_shards: int, part: tuple[int, int]) -> range:
    """Shard indices of part ``I`` of ``N`` (``part = (I, N)``, I 0-based).

    The N parts are contiguous and near-equal, as ``numpy.array_split(range(num_shards), N)``:
    the first ``num_shards % N`` parts hold one shard more.

    Raises:
        ValueError: N outside ``1..num_shards`` or I outside ``0..N-1`` (the message names
            the value and the allowed range).
    """
    index, count = part
    if not 1 <= count <= num_shards:
        raise ValueError(f"part count {count} out of range: allowed 1..{num_shards} (the spec's shards)")
    if not 0 <= index < count:
        raise ValueError(f"part index {index} out of range: allowed 0..{count - 1}")
    size, extra = divmod(num_shards, count)
    start = index * size + min(index, extra)
    return range(start, start + size + (index < extra))


def part_manifest_name(part: tuple[int, int]) -> str:
    """``manifest-part-{I:06d}-of-{N:06d}.json``: the manifest of part ``(I, N)``."""
    return f"manifest-part-{part[0]:06d}-of-{part[1]:06d}.json"


# -- worker side -----------------------------------------------------------------------------
_worker: dict = {}


def _init_worker(table: ProgramTable, out: Path | None, progress: mp.Queue, devices: mp.Queue, software_threads: bool,
                 parent: int) -> None:
    _worker.update(table=table, out=out, progress=progress,
                   renderer=start_pooled_render_process(devices, software_threads, parent))


def render_shards(table: ProgramTable, renderer, shards: list[int],
                  on_images: Callable[[int], None] | None = None, out: Path | None = None) -> list[dict]:
    """Render, encode and pack consecutive shards into tar archives, in the process that owns
    ``renderer`` (a pool worker or a Ray actor), and write them to ``out`` when given.

    The local pool's workers write their own shards (``out``): the parent then only gathers
    manifest entries, instead of receiving every shard's bytes through a pipe and hashing and
    writing them all in one process (docs/BENCHMARKS.md, issue 15: the pipe and the parent's
    writes took ~12% of the CPU on 2 cores, and one parent cannot keep up with many GPU workers).
    Ray actors may run on machines without the output folder, so they return the bytes.

    Rendering several shards together groups more images per program (fewer draws, each with
    more tiles); every sample is still a pure function of (spec, index), so each shard's bytes
    do not depend on how shards were grouped.

    Args:
        table: the job's program table (``table.spec`` is the dataset).
        renderer: a :class:`~generator.renderer.Renderer` created in this process.
        shards: consecutive shard indices, ascending.
        on_images: called with the number of images rendered, as they are.
        out: the job's folder: each shard is written there atomically (:func:`write_shard`).

    Returns:
        One dict per shard: ``index``, ``samples``, ``rejected`` (program_id -> count),
        ``renderer`` (:func:`~generator.context.gl_info`), and either ``tar`` (bytes; no
        ``out``) or the written file's ``name``, ``bytes`` and ``sha256``.

    Raises:
        OSError: a shard cannot be written to ``out`` (nothing is left under its name).
    """
    from .context import gl_info
    from .shard import encode_samples, render_samples
    from .tar import tar_archive

    spec = table.spec
    start, stop = spec.shard_range(shards[0]).start, spec.shard_range(shards[-1]).stop
    samples = render_samples(table, renderer, np.arange(start, stop), on_images=on_images)
    records = encode_samples(table, samples)
    info = gl_info(renderer.ctx)
    results = []
    for k in shards:
        r = spec.shard_range(k)
        part = slice(r.start - start, r.stop - start)
        tar = tar_archive(records[part])
        results.append({"index": k, "samples": len(r), "rejected": dict(sorted(samples.select(part).rejected.items())),
                        "renderer": info, **({"tar": tar} if out is None else write_shard(out, spec, k, tar))})
    return results


def _render_task(shards: list[int]) -> list[dict]:
    # Progress messages are (task's first shard, pid, images): the first, with 0 images, starts
    # the parent's watchdog clock for this task and names the process to kill.
    progress, pid = _worker["progress"], os.getpid()
    progress.put((shards[0], pid, 0))
    return render_shards(_worker["table"], _worker["renderer"], shards,
                         on_images=lambda n: progress.put((shards[0], pid, n)), out=_worker["out"])


def plan_tasks(spec: DatasetSpec, table: ProgramTable, todo: list[int], workers: int) -> list[list[int]]:
    """Group consecutive shards into tasks of about ``IMAGES_PER_PROGRAM`` images per program,
    at most ``TASK_BYTES`` of pixels, and enough tasks to keep every worker busy. The first
    ``workers`` tasks (each worker's first) hold one shard, so the first shards land sooner."""
    per_task = IMAGES_PER_PROGRAM * len(table.program_ids)
    per_task = min(per_task, TASK_BYTES // (spec.width * spec.height * 3), -(-len(todo) * spec.images_per_shard // workers))
    n = max(1, per_task // spec.images_per_shard)
    tasks: list[list[int]] = []
    for k in todo:
        if len(tasks) > workers and len(tasks[-1]) < n and tasks[-1][-1] == k - 1:
            tasks[-1].append(k)
        else:
            tasks.append([k])
    return tasks


def write_shard(out: Path, spec: DatasetSpec, index: int, tar: bytes) -> dict:
    """Write shard ``index``'s tar bytes to ``out`` atomically; returns its ``name``, ``bytes``
    and ``sha256`` (hex) for the manifest."""
    path = out / spec.shard_name(index)
    with atomic_open(path) as f:
        f.write(tar)
    return {"name": path.name, "bytes": f.bytes, "sha256": f.sha256.hexdigest()}


def _manifest_entry(out: Path, spec: DatasetSpec, result: dict) -> dict:
    """A finished shard's manifest entry, writing its bytes first when a runner returned them."""
    written = write_shard(out, spec, result["index"], result["tar"]) if "tar" in result else result
    return {"index": result["index"], "name": written["name"], "samples": result["samples"],
            "bytes": written["bytes"], "sha256": written["sha256"], "rejected": result["rejected"]}


# -- main side -------------------------------------------------------------------------------
def run_pool(table: ProgramTable, todo: list[int], workers: int | None,
             task_timeout: float | None = None, out: Path | None = None) -> Iterator[tuple[int, list[dict]]]:
    """The local :data:`Runner`: a pool of ``workers`` spawned render processes (``None``:
    :func:`default_workers`; never more than ``len(todo)``), one EGL context each, GPUs shared
    round-robin. With ``out``, the workers write the shards there (:func:`render_shards`).

    Watchdog: a task (consecutive shards, :func:`plan_tasks`) running longer than
    ``task_timeout`` seconds (``None``: no limit) gets its process killed; the pool is restarted
    and the unfinished tasks rerun (same bytes: every sample is a pure function of (spec, index)).
    A task past the limit a second time ends the job. Its shader is not rejected there: shards
    already written were drawn from the full program table, so dropping a program mid-job would
    break determinism; slow shaders are meant to be caught by the probe
    (:func:`~.user_shaders.load_user_folder`).

    Yields ``(images, results)`` about every 0.2 s; closing the generator cancels the tasks not
    yet started and waits for the running ones.

    Raises:
        JobError: a render process died, or a task ran past ``task_timeout`` twice.
    """
    workers = max(1, min(workers or default_workers(), len(todo)))
    pending = {task[0]: task for task in plan_tasks(table.spec, table, todo, workers)}
    late_once: set[int] = set()
    while pending:
        late = yield from _run_tasks(table, list(pending.values()), workers, task_timeout, pending, out)
        if late is None:
            return
        if out is not None:   # the killed pool's workers may have left partly written shards
            _remove_temporaries(out, table.spec, {k for task in pending.values() for k in task})
        task = pending[late]
        what = f"shards {task[0]}..{task[-1]}" if len(task) > 1 else f"shard {task[0]}"
        if late in late_once:
            raise JobError(f"{what} ran longer than the task limit ({task_timeout:g} s) twice, its render process "
                           "killed each time; finished shards are kept: find the slow shader with `unnatural "
                           "shaders check`, or raise --task-timeout, and rerun with --resume")
        late_once.add(late)
        print(f"unnatural: {what} ran longer than the task limit ({task_timeout:g} s): its render process was "
              "killed, restarting the render processes", file=sys.stderr)


def _run_tasks(table: ProgramTable, tasks: list[list[int]], workers: int, task_timeout: float | None,
               pending: dict[int, list[int]], out: Path | None) -> Iterator[tuple[int, list[dict]]]:
    """One pool's life for :func:`run_pool`: runs ``tasks``, deletes each finished one from
    ``pending`` (keyed by first shard) and returns ``None``, or the first shard of a task that
    ran past ``task_timeout``, once its process is killed (the pool is then broken: shut down)."""
    pool, progress_q = spawn_render_pool(workers, _init_worker, table, out)
    with pool:
        futures = {pool.submit(_render_task, task): task[0] for task in tasks}
        started: dict[int, tuple[int, float]] = {}   # first shard -> (worker pid, monotonic start)
        try:
            while futures:
                finished, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                images = 0
                while True:
                    try:
                        first, pid, n = progress_q.get_nowait()
                    except queue.Empty:
                        break
                    if first in pending:   # a finished task's last counts may come after its result
                        started.setdefault(first, (pid, time.monotonic()))
                    images += n
                results = []
                for fut in finished:
                    first = futures.pop(fut)
                    results += fut.result()
                    started.pop(first, None)
                    del pending[first]
                yield images, results
                late = next((first for first, (_, t0) in started.items()
                             if task_timeout is not None and time.monotonic() - t0 > task_timeout), None)
                if late is not None:
                    # The draw call cannot be interrupted; killing the process breaks the pool,
                    # whose shutdown then terminates the other workers too.
                    with suppress(ProcessLookupError):
                        os.kill(started[late][0], signal.SIGKILL)
                    return late
        except BrokenProcessPool as exc:
            raise JobError(f"a render process died ({exc}); finished shards are kept: rerun with --resume") from exc
        finally:
            for fut in futures:
                fut.cancel()
    return None


def _check_writable(out: Path) -> None:
    # A probe name of this host and process: parts of one job share the folder from several
    # machines (same pids in containers), and one's unlink must not hit another's probe.
    probe = out / f".write-test-{socket.gethostname()}-{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(probe, b"")
        probe.unlink()
    except OSError as exc:
        raise JobError(f"output directory {str(out)!r} is not writable ({exc.strerror or exc})") from exc


def _manifest(spec: DatasetSpec, table: ProgramTable, shards: dict[int, dict], renderer_info: dict | None,
              part: tuple[int, int] | None = None) -> dict:
    """The manifest of finished ``shards`` (index -> entry); a part's adds ``part`` and is
    ``complete`` once its own shards are. ``manifest.json`` has no ``part`` key."""
    entries = [shards[k] for k in sorted(shards)]
    rejected: Counter = Counter()
    for entry in entries:
        rejected.update(entry["rejected"])
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "spec": spec.to_dict(),
        "spec_hash": spec.spec_hash,
        "programs_digest": table.programs_digest,
        # User shaders left out by the probe, id -> reason: part of the program table (a probe
        # past its time limit depends on the machine), so resume compares it.
        "user_rejected": dict(sorted(table.user_rejected.items())),
        "classes": table.classes,
        "num_shards": spec.num_shards,
    }
    wanted = spec.num_shards
    if part is not None:
        r = part_shards(spec.num_shards, part)
        manifest["part"] = {"index": part[0], "count": part[1], "shards": [r.start, r.stop]}
        wanted = len(r)
    manifest.update({
        "complete": len(entries) == wanted,
        "samples": sum(e["samples"] for e in entries),
        "rejected": dict(sorted(rejected.items())),
        "renderer": renderer_info,
        "shards": entries,
    })
    return manifest


def _write_manifest(out: Path, manifest: dict, name: str = MANIFEST) -> None:
    atomic_write(out / name, (json.dumps(manifest, indent=1) + "\n").encode())


def _manifest_paths(out: Path) -> list[Path]:
    """``manifest.json`` and every part manifest in ``out`` that exist, in name order."""
    return [p for p in [out / MANIFEST, *sorted(out.glob(PART_MANIFEST_GLOB))] if p.is_file()]


def _verified_shards(out: Path, spec: DatasetSpec, table: ProgramTable,
                     wanted: range) -> tuple[dict[int, dict], dict | None]:
    """Shards in ``wanted`` that a manifest of ``out`` (``manifest.json`` or a part's) lists and
    whose file still has the recorded size and sha256, and the first recorded renderer info.

    Raises:
        JobError: a manifest is unreadable, or records another spec or shader library.
    """
    kept: dict[int, dict] = {}
    renderer_info = None
    for path in _manifest_paths(out):
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise JobError(f"--resume: cannot read {path} ({exc}); delete it or choose another --out") from exc
        before, rejected = old.get("user_rejected", {}), table.user_rejected
        if set(before) != set(rejected):
            changed = ", ".join(f"{pid} ({'rejected now: ' + rejected[pid] if pid in rejected else 'accepted now'})"
                                for pid in sorted(set(before) ^ set(rejected)))
            raise JobError(f"--resume: {path} was rendered with other user shaders rejected: {changed}; "
                           "the program table differs, so choose another --out (or a longer --probe-timeout)")
        for key, now in (("spec_hash", spec.spec_hash), ("programs_digest", table.programs_digest)):
            if old.get(key) != now:
                raise JobError(
                    f"--resume: {path} was rendered from a different spec or shader library "
                    f"({key} {old.get(key)} != {now}); choose another --out"
                )
        renderer_info = renderer_info or old.get("renderer")
        for entry in old.get("shards", []):
            k = int(entry["index"])
            if k in kept or k not in wanted:
                continue
            shard = out / entry["name"]
            if shard.is_file() and shard.stat().st_size == entry["bytes"] and sha256_file(shard) == entry["sha256"]:
                kept[k] = entry
    return kept, renderer_info


def _remove_temporaries(out: Path, spec: DatasetSpec, shards, names: tuple[str, ...] = ()) -> None:
    """Delete the temporaries of the shards ``shards`` (a container of indices) and of the files
    ``names`` in ``out``; others' are left alone (other parts sharing the folder may be writing)."""
    prefix = f"{spec.name}-"
    for tmp in out.glob(f".*{TMP_MARK}*"):
        target = tmp.name[1:].rsplit(TMP_MARK, 1)[0]
        digits = target[len(prefix):-len(".tar")] if target.startswith(prefix) and target.endswith(".tar") else ""
        mine = digits.isdigit() and int(digits) in shards and target == spec.shard_name(int(digits))
        if mine or target in names:
            with suppress(FileNotFoundError):
                tmp.unlink()


def render_dataset(
    spec: DatasetSpec,
    out_dir: str | Path,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
    table: ProgramTable | None = None,
    part: tuple[int, int] | None = None,
    runner: Runner | None = None,
    task_timeout: float | None = TASK_TIMEOUT_S,
) -> dict:
    """Render the shards of ``spec`` (all, or one part) into ``out_dir`` and return the manifest.

    Args:
        spec: the dataset.
        out_dir: output folder (created). Holds ``{name}-{k:06d}.tar`` and ``manifest.json``
            (``manifest-part-{I:06d}-of-{N:06d}.json`` for a part).
        workers: renderers (render processes, or Ray actors); ``None`` = the runner's default
            (:func:`default_workers` for the local pool).
        resume: keep the shards that ``manifest.json`` or any part manifest in ``out_dir``
            lists and whose files still match their sha256; render the rest. Without it, a
            full job refuses a folder holding any manifest, a part one holding ``manifest.json``
            or its own part manifest (parts share a folder).
        progress: show a tqdm bar (images/s).
        table: a prepared :class:`ProgramTable` (built from ``spec`` when ``None``).
        part: ``(I, N)``: render only part I (0-based) of N contiguous near-equal shard ranges
            (:func:`part_shards`) and write its part manifest instead of ``manifest.json``.
        runner: who renders (:data:`Runner`); ``None`` = :func:`run_pool`, the local processes.
            Called only when some shard is left to render.
        task_timeout: the local pool's watchdog limit per task, in seconds (``None``: none;
            see :func:`run_pool`); ignored with a ``runner``.

    Raises:
        ValueError: ``part`` out of range (N in 1..num_shards, I in 0..N-1).
        JobError: folder not writable, an existing dataset without ``resume``, a resume
            against a different spec or set of rejected user shaders, a renderer that died, or
            a task past ``task_timeout`` twice.
    """
    out = Path(out_dir)
    wanted = range(spec.num_shards) if part is None else part_shards(spec.num_shards, part)
    name = MANIFEST if part is None else part_manifest_name(part)
    _check_writable(out)
    table = table or ProgramTable(spec)
    if not resume:
        clashes = [out / MANIFEST, out / name] if part is not None else _manifest_paths(out)
        existing = next((p for p in clashes if p.exists()), None)
        if existing is not None:
            raise JobError(f"{out} already holds a dataset ({existing.name}); pass --resume to continue it "
                           "or choose another --out")
    if part is None:
        remove_stale_temporaries(out)
    else:
        _remove_temporaries(out, spec, wanted, (name,))
    done, renderer_info = _verified_shards(out, spec, table, wanted) if resume else ({}, None)
    todo = [k for k in wanted if k not in done]
    first, last = spec.shard_range(wanted[0]), spec.shard_range(wanted[-1])
    desc = f"render {spec.name}" + (f" part {part[0]}/{part[1]}" if part is not None else "")
    bar = tqdm(total=last.stop - first.start, initial=sum(e["samples"] for e in done.values()), unit="img",
               desc=desc, disable=not progress, dynamic_ncols=True, smoothing=0.1)
    if todo:
        last_write = 0.0
        with closing((runner or partial(run_pool, task_timeout=task_timeout, out=out))(table, todo, workers)) as results:
            try:
                for images, finished in results:
                    bar.update(images)
                    for result in finished:
                        renderer_info = result["renderer"]
                        done[result["index"]] = _manifest_entry(out, spec, result)
                    if finished and time.monotonic() - last_write > MANIFEST_INTERVAL_S:
                        _write_manifest(out, _manifest(spec, table, done, renderer_info, part), name)
                        last_write = time.monotonic()
            except BaseException:
                # Whatever stopped the job (a dead renderer, a full disk, Ctrl-C), record the
                # shards already written so that --resume keeps them; with none, leave the folder
                # free for a plain rerun (e.g. after a wrong --ray address).
                if done or (out / name).exists():
                    _write_manifest(out, _manifest(spec, table, done, renderer_info, part), name)
                raise
    bar.close()
    manifest = _manifest(spec, table, done, renderer_info, part)
    _write_manifest(out, manifest, name)
    return manifest
