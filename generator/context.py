"""Headless OpenGL contexts on EGL (moderngl + glcontext).

One context per process, created after the process starts (never inherited through fork):
see docs/DESIGN.md "One GL context per process". On a CPU machine the context is Mesa llvmpipe; on
an NVIDIA machine it is the vendor driver, chosen by EGL device index or by CUDA ordinal.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

import moderngl

INSTALL_HINT = (
    "install the EGL and OpenGL client libraries: on Debian/Ubuntu "
    "`apt-get install -y --no-install-recommends libegl1 libgl1` (Mesa llvmpipe on CPU), "
    "or the NVIDIA driver with its EGL vendor file on GPU machines"
)


_current = threading.local()   # .ctx: the context this thread made current through this module


class GLUnavailableError(RuntimeError):
    """No usable headless OpenGL: EGL/libGL missing, no EGL device, or GL < 3.3."""


def _missing_libraries() -> list[str]:
    return [name for name in ("EGL", "GL") if ctypes.util.find_library(name) is None]


def create_context(device_index: int | None = None, cuda_device: int | None = None) -> moderngl.Context:
    """Create a standalone headless GL 3.3+ context on EGL.

    Args:
        device_index: EGL device index (the order of ``eglQueryDevicesEXT``). ``None`` means
            the ``UNNATURAL_EGL_DEVICE`` environment variable, else device 0.
        cuda_device: CUDA ordinal of the GPU to render on; mapped to its EGL device through
            ``EGL_NV_device_cuda`` because EGL device order is not CUDA order. Overrides
            ``device_index``.

    Returns:
        A ``moderngl.Context`` bound to the calling thread.

    Raises:
        GLUnavailableError: libEGL/libGL are missing (the message names the packages), the
            device does not exist, or the driver offers less than OpenGL 3.3.
    """
    if cuda_device is not None:
        device_index = egl_device_for_cuda(cuda_device)
    if device_index is None:
        device_index = int(os.environ.get("UNNATURAL_EGL_DEVICE", "0"))
    missing = _missing_libraries()
    if missing:
        raise GLUnavailableError(f"lib{'/lib'.join(missing)} not found: {INSTALL_HINT}")
    try:
        ctx = moderngl.create_context(standalone=True, backend="egl", device_index=device_index)
    except Exception as exc:  # glcontext raises plain Exception subclasses with driver text
        raise GLUnavailableError(
            f"could not create an EGL context on device {device_index} ({exc}); {INSTALL_HINT}"
        ) from exc
    _current.ctx = ctx          # creating it made it current
    if ctx.version_code < 330:
        raise GLUnavailableError(f"OpenGL {ctx.version_code} < 3.3 on EGL device {device_index}")
    return ctx


def make_current(ctx: moderngl.Context) -> None:
    """Make ``ctx`` the calling thread's current GL context, unless it already is.

    EGL has one current context per thread and moderngl sends every call to whichever is
    current, whatever object it is made on. A second context in a process (a user-shader probe
    with a renderer of its own, a test's own renderer) becomes current when created, and the
    first context's programs, buffers and framebuffer are then addressed by name in the
    second: pictures come out wrong, not as errors. Every GL entry point of this package calls
    this first. glcontext's ``with ctx:`` releases the context on exit instead of restoring
    the previous one, so it cannot nest: entering without exiting is the switch, and the
    last context made current here is remembered (2.9 µs per switch on llvmpipe, none when
    already current).
    """
    if getattr(_current, "ctx", None) is not ctx:
        ctx.__enter__()
        _current.ctx = ctx


def gl_info(ctx: moderngl.Context) -> dict[str, str]:
    """GL_RENDERER, GL_VERSION and GL_VENDOR strings of a context (for logs and manifests)."""
    make_current(ctx)
    return {key: str(ctx.info[key]) for key in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}


_EGL_CUDA_DEVICE_NV = 0x323A


def cuda_egl_devices() -> list[tuple[int, int]]:
    """``(egl_index, cuda_ordinal)`` of every EGL device that is a CUDA GPU.

    Reads each EGL device's ``EGL_CUDA_DEVICE_NV`` attribute (extension ``EGL_NV_device_cuda``;
    NVIDIA only). Returns ``[]`` without libEGL, without the device-query extension (Mesa), or
    without NVIDIA devices. Creates no context. The ordinal is the driver's, before
    ``CUDA_VISIBLE_DEVICES`` remapping.
    """
    path = ctypes.util.find_library("EGL")
    if path is None:
        return []
    egl = ctypes.CDLL(path)
    egl.eglGetProcAddress.restype = ctypes.c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    query_devices_ptr = egl.eglGetProcAddress(b"eglQueryDevicesEXT")
    query_attrib_ptr = egl.eglGetProcAddress(b"eglQueryDeviceAttribEXT")
    if not query_devices_ptr or not query_attrib_ptr:
        return []
    query_devices = ctypes.CFUNCTYPE(
        ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)
    )(query_devices_ptr)
    query_attrib = ctypes.CFUNCTYPE(
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t)
    )(query_attrib_ptr)
    devices = (ctypes.c_void_p * 64)()
    count = ctypes.c_int(0)
    if not query_devices(64, devices, ctypes.byref(count)):
        return []
    found = []
    for index in range(count.value):
        value = ctypes.c_ssize_t(-1)
        if query_attrib(devices[index], _EGL_CUDA_DEVICE_NV, ctypes.byref(value)):
            found.append((index, int(value.value)))
    return found


def egl_device_for_cuda(cuda_device: int) -> int:
    """EGL device index of the GPU with CUDA ordinal ``cuda_device`` (EGL order is not CUDA order).

    Raises:
        GLUnavailableError: no EGL device has that CUDA ordinal (always so on Mesa).
    """
    found = cuda_egl_devices()
    for egl_index, ordinal in found:
        if ordinal == cuda_device:
            return egl_index
    raise GLUnavailableError(
        f"no EGL device has CUDA ordinal {cuda_device} (CUDA ordinals found: "
        f"{[o for _, o in found] or 'none'}; EGL_NV_device_cuda is NVIDIA-only)"
    )
