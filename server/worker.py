"""The render process of the server's pool: one EGL context, jobs in, bytes out over a pipe.

Runs in a spawned child (docs/DESIGN.md "One GL context per process"): the HTTP process never
touches GL. Protocol on the duplex pipe, all messages pickled tuples:

* child -> parent, once: ``("ready", gl_info)`` after a test render passed, or
  ``("failed", message)``;
* parent -> child: ``(kind, payload)``; child -> parent: ``("ok", result)`` or
  ``("error", message)``. One job at a time, answered in order.

Job kinds (payload -> result):

* ``chunk``: ``{"spec", "start", "stop"}`` -> ``{"tar", "images", "rejected"}``: the tar
  members (no end-of-archive) of samples ``start..stop-1`` of the spec (:func:`tar_members`).
* ``prepare``: ``{"spec"}`` -> ``{"classes", "programs_digest"}``: builds the spec's program
  table here (user shader folders are validated by rendering, so this needs GL).
* ``preview``: ``{"family", "size", "seed", "columns"}`` -> ``{"png"}``: a contact sheet of a
  family, of ``composed`` programs, or (``family=None``) of all of them.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from multiprocessing.connection import Connection

import numpy as np

from unnatural.generator.render_process import serve_pipe, start_render_process
from unnatural.generator.renderer import Renderer
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.spec import COMPOSED, DatasetSpec

TABLE_CACHE = 16          # program tables kept per process (one per spec in use)
PREVIEW_COMPOSED = 4      # composed programs on a composed-family contact sheet


class _Tables:
    """Program tables by spec, least recently used dropped first."""

    def __init__(self) -> None:
        self._tables: OrderedDict[str, ProgramTable] = OrderedDict()

    def get(self, spec_dict: dict) -> ProgramTable:
        spec = DatasetSpec.from_dict(spec_dict)
        key = spec.canonical_json()
        if key in self._tables:
            self._tables.move_to_end(key)
        else:
            self._tables[key] = ProgramTable(spec)
            while len(self._tables) > TABLE_CACHE:
                self._tables.popitem(last=False)
        return self._tables[key]


def _chunk(renderer: Renderer, tables: _Tables, job: dict) -> dict:
    from unnatural.generator.shard import encode_samples, render_samples
    from unnatural.generator.tar import tar_members

    table = tables.get(job["spec"])
    samples = render_samples(table, renderer, np.arange(job["start"], job["stop"]))
    return {"tar": tar_members(encode_samples(table, samples)), "images": len(samples.indices),
            "rejected": sum(samples.rejected.values())}


def _prepare(renderer: Renderer, tables: _Tables, job: dict) -> dict:
    table = tables.get(job["spec"])
    return {"classes": table.classes, "programs_digest": table.programs_digest}


def _preview(renderer: Renderer, tables: _Tables, job: dict) -> dict:
    from unnatural.generator.composer import compose
    from unnatural.generator.preview import contact_sheet, library_programs, png_bytes

    composed = [compose(job["seed"] * PREVIEW_COMPOSED + j) for j in range(PREVIEW_COMPOSED)]
    if job["family"] is None:       # every family, then a few composed programs
        programs = library_programs() + composed
    elif job["family"] == COMPOSED:
        programs = composed
    else:
        programs = library_programs([job["family"]])
    sheet = contact_sheet(programs, renderer, size=job["size"], columns=job["columns"], seed=job["seed"])
    return {"png": png_bytes(sheet)}


_HANDLERS = {"chunk": _chunk, "prepare": _prepare, "preview": _preview}


def self_test(renderer: Renderer) -> dict:
    """Render a few images of the first family and check they pass the quality filter.

    Returns:
        ``gl_info`` of the context plus ``self_test_ms``.

    Raises:
        RuntimeError: every test image was rejected (a broken driver or context).
    """
    from unnatural.generator.context import gl_info
    from unnatural.generator.preview import library_programs
    from unnatural.generator.quality import QualityFilter
    from unnatural.shaders import family_names

    t0 = time.perf_counter()
    program = library_programs([family_names()[0]])[0]
    params = np.linspace(0.1, 0.9, 4 * 16, dtype=np.float32).reshape(4, 16)
    images, nonfinite = renderer.render(program, np.linspace(1.0, 4.0, 4, dtype=np.float32), params, (32, 32))
    if not QualityFilter().accept(images, nonfinite).any():
        raise RuntimeError(f"test render of {program.program_id!r} gave only degenerate images")
    return {**gl_info(renderer.ctx), "self_test_ms": round(1000 * (time.perf_counter() - t0), 1)}


def worker_main(conn: Connection, device: int | None, software_threads: bool, parent: int) -> None:
    """Entry point of a render process (``multiprocessing`` spawn target); returns when the
    parent closes the pipe. Job exceptions go back as ``("error", message)``."""
    def start():
        renderer = start_render_process(parent, device, software_threads)
        return renderer, self_test(renderer)

    tables = _Tables()
    serve_pipe(conn, start, lambda renderer, job: _HANDLERS[job[0]](renderer, tables, job[1]))
