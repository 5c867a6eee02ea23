r"""cupy twins of :mod:`graphon_ops._kernels.ntk`: same signatures, same formulas, same clipping.

``maps(S, T, V, first, second, F_out, G_out)`` with cupy arrays; one GPU thread per (node, pair) entry.
Imported only when the GPU backend is chosen.
"""

from __future__ import annotations

import functools

import cupy

__all__ = ["relu_maps", "erf_maps", "pair_products", "scatter_pairs", "mirror_upper"]

_ARGUMENTS = ("raw float64 S, raw float64 T, raw float64 V, raw int64 first, raw int64 second, int64 n_pairs, "
              "int64 n_inputs")
_OUTPUTS = "raw float64 F_out, raw float64 G_out"

# M_PI is not defined under NVRTC: spell pi out.
_PREAMBLE = """
    const double pi = 3.141592653589793;
    const ptrdiff_t row = i / n_pairs;
    const ptrdiff_t p = i % n_pairs;
    const double q1 = fmax(V[row * n_inputs + first[p]], 0.0);
    const double q2 = fmax(V[row * n_inputs + second[p]], 0.0);
    const double s = sqrt(q1 * q2);
"""

_RELU_BODY = _PREAMBLE + """
    if (s > 0.0) {
        const double cosine = fmin(fmax(S[i] / s, -1.0), 1.0);
        const double theta = acos(cosine);
        const double sine = sqrt(fmax(1.0 - cosine * cosine, 0.0));
        F_out[i] = s * (sine + (pi - theta) * cosine) / (2.0 * pi);
        G_out[i] = T[i] * (pi - theta) / (2.0 * pi);
    } else {
        F_out[i] = 0.0;
        G_out[i] = 0.0;
    }
"""

_ERF_BODY = _PREAMBLE + """
    const double c = fmin(fmax(S[i], -s), s);
    const double product = (1.0 + 2.0 * q1) * (1.0 + 2.0 * q2);
    const double ratio = fmin(fmax(2.0 * c / sqrt(product), -1.0), 1.0);
    F_out[i] = 2.0 / pi * asin(ratio);
    G_out[i] = T[i] * 4.0 / pi / sqrt(product - 4.0 * c * c);
"""


@functools.cache
def _kernel(name: str):
    body = {"relu": _RELU_BODY, "erf": _ERF_BODY}[name]
    return cupy.ElementwiseKernel(_ARGUMENTS, _OUTPUTS, body, f"graphon_ntk_{name}_maps")


def _call(name, S, T, V, first, second, F_out, G_out):
    for label, array in (("S", S), ("T", T), ("V", V), ("F_out", F_out), ("G_out", G_out)):
        if not (array.flags.c_contiguous and array.dtype == cupy.float64):
            raise ValueError(f"{label} must be a C-contiguous float64 cupy array")
    _kernel(name)(S, T, V, first.astype(cupy.int64, copy=False), second.astype(cupy.int64, copy=False),
                  S.shape[1], V.shape[1], F_out, G_out, size=S.size)


def relu_maps(S, T, V, first, second, F_out, G_out) -> None:
    """Arc-cosine kernel, as :func:`graphon_ops._kernels.ntk.relu_maps`."""
    _call("relu", S, T, V, first, second, F_out, G_out)


def erf_maps(S, T, V, first, second, F_out, G_out) -> None:
    """erf kernel, as :func:`graphon_ops._kernels.ntk.erf_maps`."""
    _call("erf", S, T, V, first, second, F_out, G_out)


def pair_products(inputs, first, second, out) -> None:
    """Coordinate products of a run of pairs, as :func:`graphon_ops._kernels.ntk.pair_products`."""
    out[...] = inputs[first] * inputs[second]


def scatter_pairs(values, rows, cols, out) -> None:
    """Scatter pair values into a matrix, as :func:`graphon_ops._kernels.ntk.scatter_pairs`."""
    out[rows, cols] = values


def mirror_upper(out, start, stop) -> None:
    """Upper triangle of a diagonal block to its lower one, as :func:`graphon_ops._kernels.ntk.mirror_upper`."""
    block = out[start:stop, start:stop]
    out[start:stop, start:stop] = cupy.triu(block) + cupy.triu(block, 1).T
