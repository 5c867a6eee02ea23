r"""numba kernels of the Graphon-NTK recursion: the Gaussian expectations :math:`F` and :math:`\dot F`.

Every map has the signature ``maps(S, T, V, first, second, F_out, G_out)``:

* ``S`` (m, P): covariances :math:`\Sigma(v; x, x')` of m nodes at P pair columns;
* ``T`` (m, P): the NTK values :math:`\Theta(v; x, x')` at the same places;
* ``V`` (m, n): variances :math:`\Sigma(v; x, x)` of the n inputs involved;
* ``first``, ``second`` (P,): for column p, the columns of ``V`` holding
  :math:`\Sigma(v; x, x)` and :math:`\Sigma(v; x', x')` (for the variances themselves, ``V`` is ``S``
  and the indices point at the column itself);
* ``F_out[k, p]`` :math:`= F(q_1, q_2, c)` and ``G_out[k, p]`` :math:`= T_{kp}\,\dot F(q_1, q_2, c)`.

Covariances are clipped to :math:`|c| \le \sqrt{q_1 q_2}` (rounding can push a correlation past
:math:`\pm 1`); a node with a zero variance (no inputs, no bias) gives :math:`F = \dot F = 0` for
ReLU (:math:`\varphi'(0) = 0` by convention, as in the finite network).

The maps are serial: :func:`graphon_ops.graphon_ntk` runs one chunk of pairs per thread, the whole
recursion of a chunk in cache, so the threads never synchronise inside a layer. Each node's row is
done in two passes: a gather of :math:`q_1 q_2` (indexed loads, which keep LLVM from vectorising a
loop) and an arithmetic pass over contiguous memory, which LLVM vectorises (AVX2: four pairs per
instruction; the arc-cosine below has no calls; the slow instructions are three square roots and two
divisions per pair). :math:`s = \sqrt{q_1 q_2}` rather than :math:`\sqrt{q_1}\sqrt{q_2}` keeps
:math:`c / s = 1` exact for a pair of equal inputs, where the arc-cosine's infinite slope would turn a
rounding of one ulp into an error of :math:`10^{-8}` in :math:`\dot F`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._config import NUMBA_FLAGS

__all__ = ["relu_maps", "erf_maps", "pair_products", "scatter_pairs", "mirror_upper"]

_INV_2PI = 1.0 / (2.0 * math.pi)

# arccos by the rational approximation of fdlibm (e_acos.c, Sun Microsystems): |error| < 1 ulp on
# [-1, 1] (checked against numpy in tests/test_ntk.py). Written without calls so that LLVM vectorises
# the pair loop; libm's scalar acos was a third of the cost of a whole layer.
_P0, _P1, _P2 = 1.66666666666666657415e-01, -3.25565818622400915405e-01, 2.01212532134862925881e-01
_P3, _P4, _P5 = -4.00555345006794114027e-02, 7.91534994289814532176e-04, 3.47933107596021167570e-05
_Q1, _Q2 = -2.40339491173441421878e+00, 2.02094576023350569471e+00
_Q3, _Q4 = -6.88283971605453293030e-01, 7.70381505559019352791e-02


@numba.njit(inline="always", **NUMBA_FLAGS)
def _arccos(x):
    small = abs(x) < 0.5
    z = x * x if small else (1.0 - abs(x)) * 0.5
    r = z * (_P0 + z * (_P1 + z * (_P2 + z * (_P3 + z * (_P4 + z * _P5))))) \
        / (1.0 + z * (_Q1 + z * (_Q2 + z * (_Q3 + z * _Q4))))
    root = math.sqrt(z)
    large = 2.0 * (root + root * r)
    if small:
        return 0.5 * math.pi - (x + x * r)
    return large if x > 0.0 else math.pi - large


@numba.njit(**NUMBA_FLAGS)
def _gather_variance_products(V, first, second, out):
    for p in range(out.size):
        out[p] = max(V[first[p]], 0.0) * max(V[second[p]], 0.0)


@numba.njit(**NUMBA_FLAGS)
def _relu_row(S, T, products, F_out, G_out):
    # one node's row (1-D contiguous views, none overlapping: LLVM's overlap check would pick the
    # scalar loop)
    for p in range(S.size):
        s = math.sqrt(products[p])
        positive = s > 0.0
        cosine = min(max(S[p] / (s if positive else 1.0), -1.0), 1.0)
        angle = math.pi - _arccos(cosine)
        sine = math.sqrt(max(1.0 - cosine * cosine, 0.0))
        F_out[p] = s * (sine + angle * cosine) * _INV_2PI if positive else 0.0
        G_out[p] = T[p] * angle * _INV_2PI if positive else 0.0


@numba.njit(**NUMBA_FLAGS)
def _erf_row(S, T, V, first, second, F_out, G_out):
    for p in range(S.size):
        q1 = max(V[first[p]], 0.0)
        q2 = max(V[second[p]], 0.0)
        s = math.sqrt(q1 * q2)
        c = min(max(S[p], -s), s)
        product = (1.0 + 2.0 * q1) * (1.0 + 2.0 * q2)
        ratio = min(max(2.0 * c / math.sqrt(product), -1.0), 1.0)
        F_out[p] = 2.0 / math.pi * math.asin(ratio)
        # product - 4 c^2 >= 1 + 2 q1 + 2 q2 >= 1 after the clip: no division by zero
        G_out[p] = T[p] * 4.0 / math.pi / math.sqrt(product - 4.0 * c * c)


@numba.njit(**NUMBA_FLAGS)
def _relu_maps(S, T, V, first, second, F_out, G_out):
    products = np.empty(S.shape[1])
    for k in range(S.shape[0]):
        _gather_variance_products(V[k], first, second, products)
        _relu_row(S[k], T[k], products, F_out[k], G_out[k])


@numba.njit(**NUMBA_FLAGS)
def _erf_maps(S, T, V, first, second, F_out, G_out):
    for k in range(S.shape[0]):
        _erf_row(S[k], T[k], V[k], first, second, F_out[k], G_out[k])


def _contiguous(name, a, dtype):
    if not (a.flags.c_contiguous and a.dtype == dtype):
        raise ValueError(f"{name} must be a C-contiguous {np.dtype(dtype).name} array")
    return a


def _call(kernel, S, T, V, first, second, F_out, G_out):
    kernel(_contiguous("S", S, np.float64), _contiguous("T", T, np.float64), _contiguous("V", V, np.float64),
           _contiguous("first", first, np.int64), _contiguous("second", second, np.int64),
           _contiguous("F_out", F_out, np.float64), _contiguous("G_out", G_out, np.float64))


def relu_maps(S, T, V, first, second, F_out, G_out) -> None:
    r"""Arc-cosine kernel (Cho & Saul 2009): with :math:`s = \sqrt{q_1 q_2}`, :math:`\theta = \arccos(c/s)`,
    :math:`F = s(\sin\theta + (\pi - \theta)\cos\theta)/(2\pi)`, :math:`\dot F = (\pi - \theta)/(2\pi)`."""
    _call(_relu_maps, S, T, V, first, second, F_out, G_out)


def erf_maps(S, T, V, first, second, F_out, G_out) -> None:
    r""":math:`F = \frac{2}{\pi}\arcsin\frac{2c}{\sqrt{(1+2q_1)(1+2q_2)}}`,
    :math:`\dot F = \frac{4}{\pi}\big((1+2q_1)(1+2q_2) - 4c^2\big)^{-1/2}`."""
    _call(_erf_maps, S, T, V, first, second, F_out, G_out)


@numba.njit(**NUMBA_FLAGS)
def _pair_products(inputs, first, second, out):
    width, d = out.shape
    for p in range(width):
        a = first[p]
        b = second[p]
        for j in range(d):
            out[p, j] = inputs[a, j] * inputs[b, j]


def pair_products(inputs, first, second, out) -> None:
    r"""``out[p, j] = inputs[first[p], j] * inputs[second[p], j]``: the coordinate products
    :math:`x_j x'_j` of a run of pairs (width x d)."""
    _pair_products(_contiguous("inputs", inputs, np.float64), _contiguous("first", first, np.int64),
                   _contiguous("second", second, np.int64), _contiguous("out", out, np.float64))


@numba.njit(parallel=True, **NUMBA_FLAGS)
def _scatter_pairs(values, rows, cols, out):
    for p in numba.prange(values.size):
        out[rows[p], cols[p]] = values[p]


def scatter_pairs(values, rows, cols, out) -> None:
    """``out[rows[p], cols[p]] = values[p]``, in parallel."""
    _scatter_pairs(np.ascontiguousarray(values, dtype=np.float64), _contiguous("rows", rows, np.int64),
                   _contiguous("cols", cols, np.int64), out)


_BLOCK = 64


@numba.njit(parallel=True, **NUMBA_FLAGS)
def _mirror_upper(out, start, stop):
    n_blocks = (stop - start + _BLOCK - 1) // _BLOCK
    for block_row in numba.prange(n_blocks):
        row_start = start + block_row * _BLOCK
        row_stop = min(stop, row_start + _BLOCK)
        for col_start in range(start, row_stop, _BLOCK):
            for i in range(row_start, row_stop):
                for j in range(col_start, min(i, col_start + _BLOCK)):
                    out[i, j] = out[j, i]


def mirror_upper(out, start, stop) -> None:
    """Copy the upper triangle of the diagonal block ``out[start:stop, start:stop]`` to its lower
    triangle (64 x 64 blocks, so that the transposed reads stay in cache)."""
    _mirror_upper(out, start, stop)
