"""The ``json`` member of each sample, formatted for a whole batch from one template per program.

Byte for byte ``json.dumps(meta, sort_keys=True)`` of the metadata dict (the shards' format since
the first release), at a fraction of its cost: the per-program parts (class, family, program id)
and the spec hash are escaped once; per sample only numbers are formatted in.
"""
from __future__ import annotations

import json

import numpy as np

from .sampling import ProgramTable

# json.dumps spells the non-finite floats differently from repr.
_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _floats(values: np.ndarray) -> list[str]:
    """``values`` (any shape, float32 or float64) as json.dumps writes each one, flattened:
    the shortest repr of the value as a Python float."""
    text = list(map(repr, np.asarray(values, dtype=np.float64).ravel().tolist()))
    if not np.isfinite(values).all():
        text = [_NONFINITE.get(t, t) for t in text]
    return text


def _template(table: ProgramTable, prog: int, spec_hash: str) -> str:
    """The %-format of program ``prog``'s metadata: attempt, [fitted class, its name,] index,
    params, time are filled in per sample; keys in sorted order as json.dumps(sort_keys=True)."""
    def const(value) -> str:  # a JSON literal, '%' escaped for the %-format
        return json.dumps(value).replace("%", "%%")

    fitted = '"fitted_class": %d, "fitted_class_name": %s, ' if table.fitted_classes is not None else ""
    return (f'{{"attempt": %d, "cls": {int(table.cls[prog])}, "family": {const(table.family(prog))}, {fitted}'
            f'"index": %d, "params": [%s], "program_id": {const(table.program_ids[prog])}, '
            f'"spec_hash": {const(spec_hash)}, "time": %s}}')


def metadata_json(table: ProgramTable, indices: np.ndarray, program: np.ndarray, time: np.ndarray,
                  params: np.ndarray, attempt: np.ndarray, target: np.ndarray) -> list[bytes]:
    """The metadata of ``N`` samples as JSON bytes.

    Each is an object with ``index``, ``spec_hash``, ``program_id``, ``family``, ``cls`` (the
    family's class index), ``time`` (seconds), ``params`` (16 floats), ``attempt``, and for a
    fitted spec ``fitted_class`` and ``fitted_class_name``; keys sorted, ``json.dumps`` spacing.

    Args:
        table: the spec's program table.
        indices, program, attempt, target: ``(N,) int64``; ``target`` is read only for a fitted spec.
        time: ``(N,) float32``; params: ``(N, 16) float32``.
    """
    n = len(indices)
    spec_hash = table.spec.spec_hash  # a property that hashes the spec: read it once
    templates = {prog: _template(table, prog, spec_hash) for prog in np.unique(program).tolist()}
    times = _floats(time)
    flat = _floats(params)
    width = params.shape[1] if n else 0
    rows = [", ".join(flat[j * width:(j + 1) * width]) for j in range(n)]
    columns = [program.tolist(), attempt.tolist(), indices.tolist(), rows, times]
    if table.fitted_classes is None:
        return [(templates[p] % (a, i, r, t)).encode() for p, a, i, r, t in zip(*columns)]
    names = [json.dumps(name) for name in table.fitted_classes]
    targets = target.tolist()
    return [(templates[p] % (a, c, names[c], i, r, t)).encode()
            for (p, a, i, r, t), c in zip(zip(*columns), targets)]
