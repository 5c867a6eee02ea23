"""Array backends: ``"cpu"`` is numpy, ``"gpu"`` is cupy (optional extra), ``"auto"`` follows the inputs.

cupy is imported only when the GPU backend is asked for, never at ``import graphon_ops``. Data is
never moved between devices silently: a GPU computation returns cupy arrays only when given cupy
arrays; public functions that take numpy arrays and ``backend="gpu"`` copy in, compute, and return
numpy arrays (one transfer each way, stated in their docstrings).
"""

from __future__ import annotations

import types

import numpy as np

from ._config import get_options

__all__ = ["get_array_module", "resolve_backend", "to_numpy", "gpu_available"]


def _import_cupy():
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ValueError("backend='gpu' needs cupy: install the GPU extra with `pip install .[gpu]`") from exc
    return cupy


def gpu_available() -> bool:
    """True when cupy imports and sees at least one CUDA device."""
    try:
        cupy = _import_cupy()
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def _is_cupy_array(x) -> bool:
    return type(x).__module__.split(".")[0] == "cupy"


def resolve_backend(backend: str | None, *arrays) -> str:
    """Turn ``"cpu" | "gpu" | "auto" | None`` into ``"cpu"`` or ``"gpu"``.

    ``None`` means the context default (:func:`graphon_ops.options`). ``"auto"`` picks ``"gpu"``
    when any input is a cupy array, else ``"cpu"``.
    """
    if backend is None:
        backend = get_options().backend
    if backend not in ("cpu", "gpu", "auto"):
        raise ValueError(f"backend must be 'cpu', 'gpu' or 'auto', got {backend!r}")
    if backend == "auto":
        return "gpu" if any(_is_cupy_array(a) for a in arrays) else "cpu"
    return backend


def get_array_module(backend: str) -> types.ModuleType:
    """numpy for ``"cpu"``, cupy for ``"gpu"`` (imported here, lazily)."""
    if backend == "cpu":
        return np
    if backend == "gpu":
        return _import_cupy()
    raise ValueError(f"backend must be 'cpu' or 'gpu' after resolution, got {backend!r}")


def to_numpy(x):
    """A cupy array copied to the host; anything else as it is (a numpy array, or a list that the caller's
    argument check converts, naming the argument when it cannot)."""
    if _is_cupy_array(x):
        return x.get()
    return x
