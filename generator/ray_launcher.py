"""Fan the shards of a render job out over Ray (``unnatural render --ray [ADDRESS]``).

One Ray actor per GPU (``num_gpus=1``) or, on a cluster without GPUs, one per CPU
(``num_cpus=1``, llvmpipe in the calling thread); ``workers`` caps their number. Each actor
creates its one EGL context inside its own process (docs/DESIGN.md "One GL context per process") and
renders tasks with :func:`unnatural.generator.job.render_shards`, the function the local process pool
runs. Tar bytes travel back to the driver, which writes shards and the manifest through
:func:`unnatural.generator.job.render_dataset`: same bytes, same manifest, same ``--resume`` as a local job.

``ray`` is an optional dependency (``pip install 'unnatural[ray]'``), imported only here and
only when a Ray job runs. Every machine of the cluster needs ``unnatural`` installed (the actors
import :mod:`unnatural.generator`) and EGL: see docs/DEPLOY.md.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from .job import JobError, plan_tasks, render_dataset, render_shards
from .render_process import start_render_process
from .sampling import ProgramTable
from .spec import DatasetSpec

TASKS_PER_ACTOR = 2   # queued per actor, so an actor starts its next task while the driver writes


def require_ray():
    """Import and return the ``ray`` module.

    Raises:
        JobError: ray is not installed (the message says how to install it).
    """
    try:
        import ray
    except ImportError:
        raise JobError("--ray needs the ray package, which is not installed: pip install 'unnatural[ray]'") from None
    return ray


def _egl_device_of_ray_gpu(ray) -> int:
    """EGL device index of the GPU Ray gave the calling actor.

    Ray sets ``CUDA_VISIBLE_DEVICES`` to the actor's GPU and reports its driver ordinal through
    ``ray.get_gpu_ids()``; EGL device order is not CUDA order, so match the ordinal through
    :func:`~generator.context.cuda_egl_devices`.

    Raises:
        GLUnavailableError: Ray assigned no GPU, or no EGL device has its CUDA ordinal.
    """
    from .context import GLUnavailableError, cuda_egl_devices

    ids = ray.get_gpu_ids()
    if not ids:
        raise GLUnavailableError("Ray assigned no GPU to this render actor")
    found = cuda_egl_devices()
    if len(found) == 1:
        # One GPU on the node, or a driver that applies CUDA_VISIBLE_DEVICES to EGL as well.
        return found[0][0]
    for egl_index, cuda_ordinal in found:
        if str(cuda_ordinal) == str(ids[0]).strip():
            return egl_index
    raise GLUnavailableError(f"no EGL device has CUDA ordinal {ids[0]!r} (the GPU Ray assigned; CUDA ordinals "
                             f"found: {[o for _, o in found] or 'none'})")


class RenderActor:
    """A Ray actor's body (wrapped by ``ray.remote`` at run time, as ray is optional): owns
    one EGL context, created in the actor's process, and renders tasks of ``table``.

    Args:
        table: the job's program table.
        gpu: the actor holds a GPU (``num_gpus=1``); else llvmpipe renders single-threaded,
            one actor per CPU, as the local pool's processes do.

    Raises:
        GLUnavailableError: no EGL context (Ray reports it as a ``RayActorError``).
    """

    def __init__(self, table: ProgramTable, gpu: bool):
        import ray

        device = _egl_device_of_ray_gpu(ray) if gpu else None
        self.table = table
        self.renderer = start_render_process(None, device, software_threads=not gpu)

    def render(self, shards: list[int]) -> list[dict]:
        """:func:`unnatural.generator.job.render_shards` of consecutive ``shards``."""
        return render_shards(self.table, self.renderer, shards)


def _failure(exc: BaseException) -> str:
    """One line about a Ray error: the actor's own exception when Ray carries it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def _connect(ray, address: str | None) -> bool:
    """``ray.init`` quietly; True when this call connected (so the caller shuts down).

    Raises:
        JobError: no Ray cluster at ``address``, or Ray could not start.
    """
    if ray.is_initialized():  # a caller of the Python API connected already: use that
        return False
    try:
        # Actor output is not wanted on the CLI (a failure comes back as the task's exception),
        # nor Ray's start-up notes; errors still print.
        ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level=logging.ERROR)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError, ...: one line for the CLI
        raise JobError(f"--ray {address or '(local)'}: cannot start or reach Ray ({_failure(exc)})") from exc
    return True


def _run_actors(ray, table: ProgramTable, todo: list[int], workers: int | None) -> Iterator[tuple[int, list[dict]]]:
    """A :data:`unnatural.generator.job.Runner` over Ray actors on the connected cluster.

    Yields ``(images, results)`` as tasks finish; closing the generator kills the actors.

    Raises:
        JobError: the cluster has neither GPU nor CPU, or an actor failed.
    """
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    slots = gpus or cpus
    if slots < 1:
        raise JobError(f"the Ray cluster offers no whole GPU or CPU to render on (resources: {resources})")
    # More actors than slots would wait for resources forever, more than shards would idle.
    count = max(1, min(workers or slots, slots, len(todo)))
    tasks = deque(plan_tasks(table.spec, table, todo, count))
    actor_class = ray.remote(RenderActor).options(num_cpus=1, num_gpus=1 if gpus else 0)
    table_ref = ray.put(table)   # one copy in the object store, not one per actor
    actors = [actor_class.remote(table_ref, bool(gpus)) for _ in range(count)]
    pending: dict = {}           # ObjectRef -> (actor, task)

    def submit(actor) -> None:
        if tasks:
            task = tasks.popleft()
            pending[actor.render.remote(task)] = (actor, task)

    try:
        for _ in range(TASKS_PER_ACTOR):
            for actor in actors:
                submit(actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                actor, task = pending.pop(ref)
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    raise JobError(f"a Ray render actor failed on shards {task[0]}..{task[-1]} ({_failure(exc)}); "
                                   "finished shards are kept: rerun with --resume") from exc
                submit(actor)
                yield sum(r["samples"] for r in results), results
    finally:
        for actor in actors:
            ray.kill(actor)


def render_dataset_ray(
    spec: DatasetSpec,
    out_dir: str | Path,
    address: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
    table: ProgramTable | None = None,
) -> dict:
    """:func:`unnatural.generator.job.render_dataset` with Ray actors as the renderers.

    Args:
        spec, out_dir, resume, progress, table: as for :func:`~generator.job.render_dataset`.
        address: ``ray.init`` address: ``None`` starts or joins a local Ray instance (or the
            cluster in ``$RAY_ADDRESS``), ``"auto"`` an existing local cluster,
            ``"ray://HOST:10001"`` a remote one. Ray starts only if a shard is left to render.
        workers: most actors (default: one per GPU of the cluster, else one per CPU).

    Returns:
        The manifest, as :func:`~generator.job.render_dataset`.

    Raises:
        JobError: ray missing, Ray unreachable, or any error of ``render_dataset``.
    """
    ray = require_ray()

    def runner(table: ProgramTable, todo: list[int], workers: int | None) -> Iterator[tuple[int, list[dict]]]:
        connected = _connect(ray, address)
        try:
            yield from _run_actors(ray, table, todo, workers)
        finally:
            if connected:
                ray.shutdown()

    return render_dataset(spec, out_dir, workers=workers, resume=resume, progress=progress, table=table, runner=runner)
