"""unnatural: procedural GLSL images for data-free knowledge distillation.

The packages, bottom layer first (docs/DESIGN.md; enforced by the import-linter contract in
pyproject.toml):

* :mod:`unnatural.shaders`: the GLSL library (families, composer blocks, catalogue).
* :mod:`unnatural.generator`: specs, sampling, the EGL renderer, shards, render jobs.
* :mod:`unnatural.server`: the FastAPI server of virtual shards and streams.
* :mod:`unnatural.distill`: the distillation client and, in ``distill.studies``, the research runs.
* :mod:`unnatural.cli`: the root ``unnatural`` command, assembled from each package's commands.
"""
