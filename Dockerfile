# syntax=docker/dockerfile:1
#
# The `unnatural` image: the renderer, the HTTP server and the distillation tools.
#
#   docker build -t unnatural:gpu .                              # NVIDIA GPUs (the default)
#   docker build -t unnatural:cpu --build-arg VARIANT=cpu .      # CPU only: Mesa llvmpipe
#   docker run --rm --gpus all -p 8000:8000 unnatural:gpu         # serves on :8000
#
# See docs/DEPLOY.md. BuildKit is required (the default builder since Docker 23) for the
# pip cache mounts below; podman/buildah (4.3/1.28 and later) builds it too, with
# `--format docker` to keep the HEALTHCHECK (`make docker-test`, DEPLOY.md "Offline or podman").

# Both variants start from plain Ubuntu: the CUDA build of torch brings its own CUDA runtime
# libraries as pip wheels and the NVIDIA container toolkit mounts the driver (libcuda, the
# EGL/GL vendor libraries) at run time, so a nvidia/cuda base image would only add a second
# copy of CUDA. Any Debian/Ubuntu image with Python >= 3.10 works here
# (e.g. nvidia/cuda:12.8.1-runtime-ubuntu24.04 if you need the CUDA toolkit libraries).
ARG BASE_IMAGE=ubuntu:24.04
FROM ${BASE_IMAGE}

# gpu: the CUDA build of torch from PyPI; cpu: the CPU wheel from PyTorch's CPU index (no
# CUDA libraries, a much smaller image). Everything else is identical: both images carry Mesa, so the
# gpu image also renders (slowly) on a machine without a GPU.
ARG VARIANT=gpu
ARG TORCH_VERSION=2.13.0
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
# Empty: PyPI, whose Linux x86_64 torch wheel is the CUDA build. Set it to pick another CUDA
# build, e.g. https://download.pytorch.org/whl/cu128.
ARG TORCH_GPU_INDEX=

# NVIDIA_DRIVER_CAPABILITIES must include `graphics`: the toolkit's default (compute,utility)
# mounts libcuda but not libEGL_nvidia/libGLX_nvidia, and EGL then finds no NVIDIA device.
# NVIDIA_VISIBLE_DEVICES=all lets `docker run --gpus ...` / the k8s device plugin narrow it.
ENV DEBIAN_FRONTEND=noninteractive \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=graphics,compute,utility \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# System packages, one layer:
# * glvnd (libglvnd0 libegl1 libgl1 libopengl0): the vendor-neutral libEGL/libGL that moderngl
#   loads; glvnd dispatches to NVIDIA's libEGL_nvidia.so.0 (mounted by the toolkit) or to Mesa.
# * Mesa (libegl-mesa0 libgl1-mesa-dri): llvmpipe, the CPU renderer; named explicitly because
#   --no-install-recommends drops them. It is the whole renderer of the cpu variant and the
#   fallback of the gpu variant (no --gpus, or a GPU-less merge pod).
# * Never the driver's own libraries (libnvidia-gl-*, nvidia-driver-*): they must match the
#   host's kernel module, which is why the toolkit mounts them from the host.
# * curl: webdataset reads http:// shard URLs through curl, and the HEALTHCHECK uses it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl python3 python3-venv \
        libglvnd0 libegl1 libgl1 libopengl0 \
        libegl-mesa0 libgl1-mesa-dri \
    && rm -rf /var/lib/apt/lists/*

# glvnd finds EGL vendors through JSON files. Depending on its version and configuration the
# toolkit may or may not mount this file with the libraries; without it glvnd never tries
# libEGL_nvidia.so.0 (a mounted copy simply covers this one). The library named here is
# absent until the toolkit mounts it, and glvnd then skips the vendor (Mesa answers instead),
# so the file is harmless on CPU machines.
RUN mkdir -p /usr/share/glvnd/egl_vendor.d \
    && printf '%s\n' '{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_nvidia.so.0"}}' \
        > /usr/share/glvnd/egl_vendor.d/10_nvidia.json

# torch first, in its own layer: the largest download, and it depends only on VARIANT and
# TORCH_VERSION, so source and dependency changes never re-download it.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv "$VIRTUAL_ENV" \
    && case "$VARIANT" in \
        gpu) if [ -n "$TORCH_GPU_INDEX" ]; then \
                 pip install "torch==$TORCH_VERSION" --index-url "$TORCH_GPU_INDEX"; \
             else \
                 pip install "torch==$TORCH_VERSION"; \
             fi ;; \
        cpu) pip install "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX" ;; \
        *) echo "VARIANT must be gpu or cpu, got '$VARIANT'" >&2; exit 1 ;; \
    esac

# The project's dependencies (core + the server, distill and ray extras) from pyproject.toml
# alone, so editing the source reuses this layer. torch is pinned to the build just installed
# (e.g. 2.13.0+cpu): a dependency that wanted another torch fails the build here instead of
# silently swapping the variant's build for PyPI's. An extra that pyproject.toml does not
# define is skipped.
COPY pyproject.toml /opt/unnatural/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c 'import subprocess, sys, tomllib; from importlib.metadata import version; \
project = tomllib.load(open("/opt/unnatural/pyproject.toml", "rb"))["project"]; \
extras = project.get("optional-dependencies", {}); \
reqs = list(project["dependencies"]) + [r for e in ("server", "distill", "ray") for r in extras.get(e, []) if not r.startswith("unnatural")]; \
subprocess.check_call([sys.executable, "-m", "pip", "install", *reqs, "torch==" + version("torch")])'

# Then the source (.dockerignore keeps tests, docs, runs and shards out), installed without
# dependencies: they are all in place.
COPY . /opt/unnatural/src
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps /opt/unnatural/src \
    && rm -rf /opt/unnatural/src/build \
    && unnatural --help > /dev/null \
    && python -c 'from unnatural.generator.context import create_context; create_context().release()'
# ^ the last line proves at build time that EGL + Mesa give a GL 3.3 context in this image.

# A fixed non-root uid/gid (10001) so that volumes can be chowned to it on the host
# (`chown 10001:10001 out/`) and Kubernetes can check runAsNonRoot against a number.
RUN groupadd --system --gid 10001 unnatural \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/unnatural \
        --shell /usr/sbin/nologin unnatural \
    && mkdir -p /data \
    && chown 10001:10001 /data

# /data: the working folder; mount output folders below it (e.g. -v "$PWD/out:/data/out").
# No VOLUME instruction: it would create an anonymous volume on every `docker run`.
WORKDIR /data
USER 10001:10001

EXPOSE 8000

# /healthz answers while the process and its event loop are up (no token needed). The probe
# reads the port (and host) from the running `unnatural serve` command line, so `serve --port
# 8811` stays healthy. A container started with `render` instead of `serve` has no server: run
# it with --no-healthcheck. (podman keeps HEALTHCHECK only in `--format docker` images.)
COPY deploy/healthcheck.sh /usr/local/bin/unnatural-healthcheck
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["unnatural-healthcheck"]

# Any `unnatural` command: `docker run IMAGE render --out /data/out ...`. Run with --init
# (compose: init: true) so that a signal-forwarding init reaps stray render processes.
ENTRYPOINT ["unnatural"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
