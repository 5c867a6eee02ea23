"""Argument checks shared by every public function.

Each check raises ``ValueError`` with the argument's name and the offending value, so that a bad
input is reported where it enters the package instead of surfacing later as a NaN.
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from ._config import get_options

__all__ = [
    "as_float_array", "as_mask", "check_positive_int", "check_nonnegative_float", "check_positive_float", "check_density",
    "check_choice", "check_rule", "check_unit_interval", "check_sorted_breakpoints", "as_generator", "check_memory",
    "format_bytes", "check_float_dtype", "check_flag", "check_arguments",
]


def as_float_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None, allow_empty: bool = False,
                   dtype=None) -> np.ndarray:
    """Convert to a finite floating array, checking dimension, emptiness and finiteness."""
    dtype = get_options().dtype if dtype is None else dtype
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a real numeric array, got a string {value!r}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be a real numeric array, got {type(value).__name__}: {exc}") from None
    # complex values would be cut to their real part (numpy only warns); strings parsed as numbers; dates as days
    if np.iscomplexobj(raw):
        raise ValueError(f"{name} must be real, got complex values (dtype {raw.dtype})")
    if raw.dtype.kind in "USMmV" or (raw.dtype.kind == "O" and any(isinstance(item, (str, bytes, complex))
                                                                for item in raw.ravel()[:1000])):
        raise ValueError(f"{name} must be a real numeric array, got entries of type "
                         f"{type(raw.ravel()[0]).__name__ if raw.size else raw.dtype}")
    try:
        arr = np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be a real numeric array, got {type(value).__name__}: {exc}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.ndim and not arr.flags.c_contiguous:
        # compiled kernels index rows contiguously; a column-indexed copy arrives Fortran-ordered
        arr = np.ascontiguousarray(arr)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; entry {tuple(int(i) for i in bad)} is "
                         f"{arr[tuple(bad)]!r}")
    return arr


def is_sparse(value) -> bool:
    """A scipy.sparse matrix or array (recognised without importing scipy.sparse)."""
    return type(value).__module__.startswith("scipy.sparse")


def as_mask(name: str, value) -> np.ndarray:
    """Check a 2-D 0/1 mask and return it as a ``uint8`` array.

    A scipy.sparse mask (CSR, CSC, COO, any 0/1 dtype) is densified here, after a memory check: the
    computations that take masks (empirical graphons, cut norms, NTKs of finite networks) need every
    entry. Keep wide masks sparse until then (``sample_mask(..., sparse=True)``).
    """
    if is_sparse(value):
        if len(value.shape) != 2:
            raise ValueError(f"{name} must be a 2-D 0/1 array, got shape {value.shape}")
        check_memory(f"{name} (a {value.shape[0]} x {value.shape[1]} sparse mask made dense)",
                     float(value.shape[0]) * value.shape[1] * max(1, value.dtype.itemsize))
        value = value.toarray()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting: numpy's message does not say what
        raise ValueError(f"{name} must be a 2-D 0/1 array, got {type(value).__name__}: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D 0/1 array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):  # complex: a 0j would cast with a warning
        raise ValueError(f"{name} must be numeric 0/1, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must contain only 0 and 1; entry {idx} is {arr[idx]!r}")
    return arr.astype(np.uint8)


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """An integer (not bool, not a float with integral value) at least ``minimum`` and below 2**63."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if number >= 2**63:  # no size or count this large fits in memory or time (nor in numpy's int64)
        raise ValueError(f"{name} must be an integer >= {minimum} and below 2**63, got {value!r}")
    return number


def _finite_real(value) -> float | None:
    """``value`` as a float when it is a finite real number (not a bool), else None.

    Integers beyond the float range (``10**400``) are None rather than an ``OverflowError``, and
    integers beyond ``2**64`` never reach ``numpy.isfinite`` (a ``TypeError`` there).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_nonnegative_float(name: str, value: float) -> float:
    """A finite real number >= 0."""
    number = _finite_real(value)
    if number is None or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def check_positive_float(name: str, value: float) -> float:
    """A finite real number > 0."""
    number = _finite_real(value)
    if number is None or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def check_density(name: str, value: float) -> float:
    """A density in (0, 1]."""
    number = _finite_real(value)
    if number is None or not 0.0 < number <= 1.0:
        raise ValueError(f"{name} must be a density in (0, 1], got {value!r}")
    return number


def check_float_dtype(name: str, value) -> np.dtype:
    """float64 or float32, given as a type, a ``numpy.dtype`` or its name; anything else is refused by name."""
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError, OverflowError):
        dtype = None
    if isinstance(value, bool) or dtype is None or dtype.name not in ("float64", "float32"):
        raise ValueError(f"{name} must be float64 or float32, got {value!r}")
    return dtype


def check_arguments(name: str, f, *arguments: str) -> None:
    """``f`` accepts the positional arguments named (checked on its signature, without calling it)."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # builtins without a signature: found out when called
        return
    try:
        signature.bind(*arguments)
    except TypeError:
        raise ValueError(f"{name} must take {len(arguments)} positional argument(s) ({', '.join(arguments)}), "
                         f"got {getattr(f, '__name__', type(f).__name__)}{signature}") from None


def check_flag(name: str, value) -> bool:
    """True or False (a numpy bool too); a truthy string, number or None is refused rather than read as a flag."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    """One of a fixed set of strings (anything else, hashable or not, is refused by name)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_rule(name: str, rule, *, optional: bool = True):
    """A :class:`~graphon_ops.quadrature.QuadratureRule` (or None when ``optional``)."""
    from .quadrature import QuadratureRule  # quadrature imports this module: import on use

    if (rule is None and optional) or isinstance(rule, QuadratureRule):
        return rule
    raise ValueError(f"{name} must be a QuadratureRule{' or None' if optional else ''}, got "
                     f"{type(rule).__name__} {rule!r:.80}")


def check_unit_interval(name: str, values: np.ndarray) -> np.ndarray:
    """Check graphon values: finite and in [0, 1] up to rounding; returns them clipped to [0, 1].

    Values within ``options().unit_interval_tolerance`` of the interval are rounding and are clipped;
    anything further out is an error naming the first bad entry.
    """
    if np.iscomplexobj(values):  # the cast below would keep the real part with only a warning
        raise ValueError(f"{name} must be real, got complex values (dtype {np.asarray(values).dtype})")
    values = np.asarray(values, dtype=get_options().dtype)
    tol = get_options().unit_interval_tolerance
    finite = np.isfinite(values)
    if not np.all(finite):
        idx = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{name} must be finite; entry {idx} is {values[idx]!r}")
    lo, hi = values.min(initial=0.0), values.max(initial=1.0)
    if lo < -tol or hi > 1.0 + tol:
        bad = (values < -tol) | (values > 1.0 + tol)
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must take values in [0, 1]; entry {idx} is {values[idx]!r}")
    if lo < 0.0 or hi > 1.0:
        values = np.clip(values, 0.0, 1.0)
    return values


def check_sorted_breakpoints(name: str, value) -> np.ndarray:
    """Breakpoints in [0, 1], strictly increasing; 0 and 1 are added when missing."""
    arr = as_float_array(name, value, ndim=1, allow_empty=True)
    if arr.size and (arr[0] < 0.0 or arr[-1] > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {arr.tolist()}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    if arr.size == 0 or arr[0] > 0.0:
        arr = np.concatenate([[0.0], arr])
    if arr[-1] < 1.0:
        arr = np.concatenate([arr, [1.0]])
    return arr


def as_generator(seed: int | np.random.SeedSequence | np.random.Generator | None) -> np.random.Generator:
    """``None``, an int, a SeedSequence or a Generator -> a ``numpy.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)) and not isinstance(seed, bool):
        if isinstance(seed, numbers.Integral) and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be None, an int, a SeedSequence or a numpy Generator, got {seed!r}")


def format_bytes(nbytes: float) -> str:
    """Human-readable size (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def check_memory(what: str, nbytes: float, budget: int | None = None) -> None:
    """Refuse work whose estimated working set exceeds the memory budget, saying what it needs."""
    budget = get_options().memory_budget_bytes if budget is None else budget
    nbytes = float(min(nbytes, 1e300))  # a Python integer size beyond the float range is still "too much"
    if nbytes > budget:
        raise ValueError(f"{what} would need about {format_bytes(nbytes)}, more than the memory budget of "
                         f"{format_bytes(budget)}; use a smaller size or raise the budget with "
                         f"graphon_ops.options(memory_budget_bytes=...)")
