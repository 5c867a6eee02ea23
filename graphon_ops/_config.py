"""Numerical defaults and a scoped, thread-safe way to override them.

Every tolerance or flag that more than one module uses lives here, with the reason for its value.
Overrides go through :func:`options`, a context manager backed by :mod:`contextvars`, so that a
setting made in one thread or task never leaks into another and tests never edit globals.

Numba compilation flags are read once, when a kernel module is first imported (numba fixes them at
decoration time); they are module constants, not context options.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator

import numpy as np

__all__ = ["Options", "get_options", "options", "NUMBA_FLAGS"]

#: Flags for every ``@numba.njit`` kernel. ``fastmath`` stays off: it lets LLVM assume that no
#: NaN/inf occurs, which would silently break the non-finite checks the package relies on.
#: ``cache`` writes compiled kernels next to the sources so that a second process skips compilation.
NUMBA_FLAGS: dict = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


@dataclasses.dataclass(frozen=True)
class Options:
    """Defaults that a caller may override for a scope with :func:`options`.

    Attributes
    ----------
    dtype : numpy dtype
        Floating-point type of every result (float64; float32 is accepted where a function says so).
    backend : {"cpu", "gpu", "auto"}
        Array backend when a function is not told one (see :mod:`graphon_ops._backend`).
    memory_budget_bytes : int
        Largest working set a single call may allocate before it tiles its work or refuses.
        Default 4 GiB: a sixth of a 24 GiB machine, leaving room for the caller's own arrays.
    unit_interval_tolerance : float
        Graphon values in ``[-tol, 1 + tol]`` are accepted (and clipped) as rounding of values in
        [0, 1]; 64 ulp of 1.0 covers a few operations of rounding in a user formula.
    symmetry_tolerance : float
        Relative tolerance (to the largest entry) under which a kernel matrix counts as symmetric.
    numba_min_size : int
        Grids with fewer points than this are evaluated with plain numpy (the numba kernel's call
        overhead is not worth it below a few thousand points).
    """

    dtype: type = np.float64
    backend: str = "cpu"
    memory_budget_bytes: int = 4 * 2**30
    unit_interval_tolerance: float = 64 * np.finfo(np.float64).eps
    symmetry_tolerance: float = 1e-12
    numba_min_size: int = 4096


_OPTIONS: contextvars.ContextVar[Options] = contextvars.ContextVar("graphon_ops_options", default=Options())


def get_options() -> Options:
    """Return the options in force in the current context."""
    return _OPTIONS.get()


def _checked_option(name: str, value):
    """``value`` (a dtype as its numpy type); a value the option cannot take is a ``ValueError`` naming both."""
    # _validation imports this module: its checks are imported on use
    from ._validation import check_float_dtype, check_nonnegative_float, check_positive_int

    try:
        if name == "dtype":
            return check_float_dtype("dtype", value).type
        if name == "backend" and value not in ("cpu", "gpu", "auto"):
            raise ValueError(f"backend must be 'cpu', 'gpu' or 'auto', got {value!r}")
        elif name == "memory_budget_bytes":
            check_positive_int("memory_budget_bytes", value)
        elif name == "numba_min_size":
            check_positive_int("numba_min_size", value, minimum=0)
        elif name in ("unit_interval_tolerance", "symmetry_tolerance"):
            if check_nonnegative_float(name, value) >= 1.0:
                raise ValueError(f"{name} must be a tolerance in [0, 1), got {value!r}")
    except ValueError as exc:
        raise ValueError(f"options: {exc}") from None
    return value


@contextlib.contextmanager
def options(**overrides) -> Iterator[Options]:
    """Override defaults for the duration of a ``with`` block.

    Examples
    --------
    >>> import graphon_ops as go
    >>> with go.options(memory_budget_bytes=2**20) as opts:
    ...     opts.memory_budget_bytes
    1048576
    >>> go.get_options().memory_budget_bytes          # the default again: 4 GiB
    4294967296
    """
    current = _OPTIONS.get()
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Options)}
    if unknown:
        raise ValueError(f"options: unknown option(s) {sorted(unknown)}; known: "
                         f"{[f.name for f in dataclasses.fields(Options)]}")
    overrides = {name: _checked_option(name, value) for name, value in overrides.items()}
    token = _OPTIONS.set(dataclasses.replace(current, **overrides))
    try:
        yield _OPTIONS.get()
    finally:
        _OPTIONS.reset(token)
