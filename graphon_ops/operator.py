r"""Integral operators of graphons, discretised on quadrature grids (docs/theory/graphons.rst).

The operator :math:`(T_W f)(u) = \int_0^1 W(u,v) f(v)\,dv` on row rule :math:`(x_i, w_i)` and column
rule :math:`(y_k, z_k)` becomes the matrix :math:`K_{ik} = W(x_i, y_k)\,z_k`, so that
:math:`(T_W f)(x_i) \approx \sum_k K_{ik} f(y_k)`.

Spectra (Nyström): for symmetric :math:`W` on one rule the eigenvalues of :math:`T_W` are those of
:math:`S = D^{1/2} W(x_i, x_k) D^{1/2}` with :math:`D = \mathrm{diag}(w)`, eigenfunctions
:math:`\varphi(x_i) = D^{-1/2}\,\mathrm{eigvec}`; for any :math:`W` the singular values are those of
:math:`D_u^{1/2} W D_v^{1/2}`. The Nyström eigenvalue error is of the order of the rule's error on
:math:`u \mapsto W(u, v)\varphi(v)`: geometric in the node count for a graphon analytic on each piece
of the rule, zero (rounding) for a step graphon on a composite rule with its breakpoints.

Accuracy on request: ``discretize(W, tol=...)`` builds one rule adapted to both sides of :math:`W`
(:func:`~graphon_ops.adaptive.graphon_rule`), and :meth:`GraphonOperator.singular_values_with_error` /
:meth:`GraphonOperator.eigenvalues_with_error` estimate the spectrum's error by comparing it with the
spectra on the Gauss--Lobatto companions of the rules (docs/theory/graphons.rst, "Error model and adaptive
rules").
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ._config import get_options
from ._validation import as_float_array, check_memory, check_positive_int
from .adaptive import check_rule_or_tol, graphon_rule, lobatto_companions
from .graphon import DEFAULT_NODES_PER_PIECE, graphon
from .quadrature import QuadratureRule, composite

__all__ = ["GraphonOperator", "SpectrumEstimate", "discretize"]


@dataclasses.dataclass(frozen=True, eq=False)
class SpectrumEstimate:
    r"""Spectral values on an operator's rules with an estimate of their error.

    Attributes
    ----------
    values : ndarray
        Singular values (decreasing) or eigenvalues (decreasing magnitude) on the operator's rules.
    error_estimates : ndarray
        :math:`\max(|\lambda_k - \lambda_k^{L_{m+1}}|, |\lambda_k - \lambda_k^{L_m}|)`, the same values computed
        on the Gauss--Lobatto companions of the rules (:func:`~graphon_ops.adaptive.lobatto_companions`): the
        spectral form of the panel estimate of docs/theory/graphons.rst, "Error model and adaptive rules".
    """

    values: np.ndarray
    error_estimates: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class GraphonOperator:
    r"""A graphon's integral operator on a row rule and a column rule.

    Attributes
    ----------
    kernel : ndarray, shape (m_row, m_col)
        Kernel values :math:`W(x_i, y_k)` (for a composition, the composed kernel).
    row_rule, col_rule : QuadratureRule
        Grids of the output (:math:`u`) and input (:math:`v`) variables.
    graphon : Graphon or None
        The graphon discretised (set by :func:`discretize`; None for compositions and adjoints), which
        the error estimates evaluate on the companion rules.
    """

    kernel: np.ndarray
    row_rule: QuadratureRule
    col_rule: QuadratureRule
    graphon: Any = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        kernel = np.array(self.kernel, dtype=np.float64)
        if kernel.shape != (self.row_rule.size, self.col_rule.size):
            raise ValueError(f"kernel must have shape ({self.row_rule.size}, {self.col_rule.size}) to match "
                             f"the rules, got {kernel.shape}")
        kernel.setflags(write=False)
        object.__setattr__(self, "kernel", kernel)

    @property
    def shape(self) -> tuple[int, int]:
        return self.kernel.shape

    @property
    def matrix(self) -> np.ndarray:
        r"""The discretised operator :math:`K_{ik} = W(x_i, y_k)\,z_k`."""
        return self.kernel * self.col_rule.weights[None, :]

    def __matmul__(self, f):
        r"""Apply to function values at the column nodes: :math:`(T_W f)(x_i) \approx \sum_k K_{ik} f(y_k)`.

        ``f`` may be a vector (``m_col``) or a matrix (``m_col x p``), or another operator (then
        this is :meth:`compose`).
        """
        if isinstance(f, GraphonOperator):
            return self.compose(f)
        f = as_float_array("f", f, ndim=(1, 2))
        if f.shape[0] != self.col_rule.size:
            raise ValueError(f"f must have {self.col_rule.size} rows (one per column node), got shape {f.shape}")
        return self.matrix @ f

    def compose(self, other: "GraphonOperator") -> "GraphonOperator":
        r"""The operator :math:`T_{W_2} T_{W_1}` (``self`` = :math:`W_2`, ``other`` = :math:`W_1`).

        Its kernel :math:`(W_2 \circ W_1)(x_i, y_k) = \sum_j W_2(x_i, t_j)\,s_j\,W_1(t_j, y_k)` uses the
        shared middle rule :math:`(t_j, s_j)`, which must be ``self.col_rule == other.row_rule``.
        Cost: one GEMM (BLAS).
        """
        if not isinstance(other, GraphonOperator):
            raise ValueError(f"other must be a GraphonOperator, got {type(other).__name__}")
        if self.col_rule != other.row_rule:
            raise ValueError("compose needs self.col_rule == other.row_rule (the shared middle grid); got "
                             f"{self.col_rule!r} and {other.row_rule!r}")
        return GraphonOperator(self.matrix @ other.kernel, self.row_rule, other.col_rule)

    def adjoint(self) -> "GraphonOperator":
        r"""The adjoint :math:`T_W^*`, whose kernel is :math:`W(v, u)`."""
        return GraphonOperator(self.kernel.T, self.col_rule, self.row_rule)

    def as_linear_operator(self) -> scipy.sparse.linalg.LinearOperator:
        r"""A ``scipy.sparse.linalg.LinearOperator`` for :math:`f \mapsto K f` (``rmatvec``: :math:`K^\top g`)."""
        matrix = self.matrix
        return scipy.sparse.linalg.LinearOperator(
            self.shape, matvec=lambda f: matrix @ f, rmatvec=lambda g: matrix.T @ g,
            matmat=lambda F: matrix @ F, dtype=np.float64)

    # ------------------------------------------------------------------ spectra
    def _symmetric_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        if self.row_rule != self.col_rule:
            raise ValueError("eigenvalues need one rule for both sides (a square operator on one grid); "
                             "use singular_values for a bipartite operator")
        K = self.kernel
        scale = max(np.abs(K).max(), np.finfo(float).tiny)
        asym = np.abs(K - K.T).max() / scale
        if asym > get_options().symmetry_tolerance:
            raise ValueError(f"eigenvalues need a symmetric kernel; max |W(x,y) - W(y,x)| / max |W| = {asym:.3g} "
                             f"> symmetry_tolerance; use singular_values")
        root = np.sqrt(self.row_rule.weights)
        S = root[:, None] * K * root[None, :]
        return (S + S.T) / 2.0, root

    def eigenvalues(self, k: int | None = None) -> np.ndarray:
        r"""Nyström eigenvalues of a symmetric :math:`T_W`, the ``k`` largest in absolute value first.

        Real because :math:`S = D^{1/2} W D^{1/2}` is symmetric. A non-negative graphon may have
        negative eigenvalues (e.g. :math:`u + v`), hence the ordering by magnitude.

        Examples
        --------
        >>> from graphon_ops import Graphon, gauss_legendre, discretize
        >>> op = discretize(Graphon.product(lambda u: u, lambda v: v), gauss_legendre(8))
        >>> print(f"{op.eigenvalues(1)[0]:.14f}")      # int_0^1 u^2 du = 1/3
        0.33333333333333
        """
        return self._eigen(k, vectors=False)[0]

    def eigenfunctions(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        r"""Eigenvalues (as :meth:`eigenvalues`) and eigenfunction values :math:`\varphi_j(x_i)` (columns).

        The eigenfunctions are orthonormal in :math:`L^2` under the rule:
        :math:`\sum_i w_i \varphi_j(x_i)\varphi_l(x_i) = \delta_{jl}`.
        """
        values, vectors, root = self._eigen(k, vectors=True)
        return values, vectors / root[:, None]

    def _eigen(self, k, vectors):
        S, root = self._symmetric_matrix()
        m = S.shape[0]
        k = m if k is None else min(check_positive_int("k", k), m)
        check_memory("the eigen-decomposition", 3 * S.nbytes)
        # MRRR (LAPACK syevr) on the whole spectrum: partial solves (syevx) measured slower here, since
        # the small eigenvalues of a smooth graphon cluster near 0 and inverse iteration re-orthogonalises
        out = scipy.linalg.eigh(S, eigvals_only=not vectors, driver="evr")
        values, vecs = out if vectors else (out, None)
        order = np.argsort(-np.abs(values), kind="stable")[:k]
        return values[order], (None if vecs is None else vecs[:, order]), root

    def singular_values(self, k: int | None = None) -> np.ndarray:
        r"""Singular values of :math:`T_W` (bipartite Nyström: :math:`D_u^{1/2} W D_v^{1/2}`), decreasing.

        Examples
        --------
        >>> from graphon_ops import Graphon, gauss_legendre, discretize
        >>> W = Graphon.product(lambda u: u, lambda v: 1 - v**2)
        >>> s = discretize(W, gauss_legendre(6)).singular_values(2)
        >>> print(f"{s[0]:.14f} {(1 / 3) ** 0.5 * (8 / 15) ** 0.5:.14f} {s[1]:.14f}")   # rank one: ||f|| ||g||, 0
        0.42163702135578 0.42163702135578 0.00000000000000
        """
        A = np.sqrt(self.row_rule.weights)[:, None] * self.kernel * np.sqrt(self.col_rule.weights)[None, :]
        check_memory("the singular value decomposition", 3 * A.nbytes)
        s = scipy.linalg.svdvals(A)
        return s if k is None else s[:check_positive_int("k", k)]

    def _companions(self) -> list["GraphonOperator"]:
        """The graphon on the Gauss--Lobatto companions of the rules (one rule for both sides stays one)."""
        if self.graphon is None:
            raise ValueError("spectral error estimates need the graphon: only operators made by discretize "
                             "carry it (not compositions or adjoints)")
        rows = lobatto_companions(self.row_rule)
        cols = rows if self.col_rule == self.row_rule else lobatto_companions(self.col_rule)
        return [discretize(self.graphon, r, c) for r, c in zip(rows, cols)]

    def singular_values_with_error(self, k: int | None = None) -> SpectrumEstimate:
        r"""Singular values (:meth:`singular_values`) with error estimates from the Lobatto companion rules.

        The rules must be Gauss--Legendre with the same number of nodes on each piece (adaptive, default
        and composite Gauss--Legendre rules, midpoint rules). Costs two more SVDs of about the same size.

        Examples
        --------
        >>> import numpy as np
        >>> from graphon_ops import Graphon, discretize
        >>> W = Graphon.from_callable(lambda u, v: 0.2 + 0.6 * np.abs(u - 0.3719) * v)
        >>> found = discretize(W, tol=1e-10).singular_values_with_error(2)
        >>> print(" ".join(f"{value:.9f}" for value in found.values))
        0.289006895 0.020330299
        >>> print(" ".join(f"{estimate:.0e}" for estimate in found.error_estimates / found.values[0]))
        9e-12 8e-12
        """
        values = self.singular_values(k)
        others = [op.singular_values(values.size) for op in self._companions()]
        return SpectrumEstimate(values, np.max([np.abs(values - other) for other in others], axis=0))

    def eigenvalues_with_error(self, k: int | None = None) -> SpectrumEstimate:
        """Eigenvalues (:meth:`eigenvalues`) with error estimates from the Lobatto companion rules (one rule for
        both sides, as :meth:`eigenvalues` needs; otherwise as :meth:`singular_values_with_error`)."""
        values = self.eigenvalues(k)
        others = [op.eigenvalues(values.size) for op in self._companions()]
        return SpectrumEstimate(values, np.max([np.abs(values - other) for other in others], axis=0))

    def __repr__(self) -> str:
        return f"GraphonOperator(shape={self.shape}, row_rule={self.row_rule!r}, col_rule={self.col_rule!r})"


def discretize(W, rule: QuadratureRule | None = None, col_rule: QuadratureRule | None = None, *,
               tol: float | None = None) -> GraphonOperator:
    r"""Discretise the integral operator of ``W`` on ``rule`` (rows) and ``col_rule`` (columns, default ``rule``).

    Parameters
    ----------
    W : Graphon or anything :func:`graphon_ops.graphon` accepts
    rule, col_rule : QuadratureRule, optional
        Without ``rule``: with ``tol``, one adaptive rule for both sides,
        ``graphon_rule(W, tol, "both").rule`` (:func:`~graphon_ops.adaptive.graphon_rule`); without ``tol``,
        the graphon's default rule on the union of its row and column breaks (composite Gauss--Legendre with
        32 nodes a piece, or one midpoint a block for step graphons).
    tol : float, optional
        Relative accuracy of the rule on the graphon's sampled rows and columns, in ``[1e-14, 1)``; the
        spectrum then has about this relative accuracy, which
        :meth:`GraphonOperator.singular_values_with_error` estimates. Not together with ``rule`` or
        ``col_rule``.

    Returns
    -------
    GraphonOperator
        With ``kernel[i, k] = W(x_i, y_k)`` and ``matrix[i, k] = W(x_i, y_k) z_k``.

    Examples
    --------
    >>> from graphon_ops import Graphon, midpoint, discretize
    >>> discretize(Graphon.constant(0.5), midpoint(2)).matrix.tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    W = graphon(W)
    for name, r in (("rule", rule), ("col_rule", col_rule)):
        if r is not None and not isinstance(r, QuadratureRule):
            raise ValueError(f"{name} must be a QuadratureRule, got {type(r).__name__}")
    tol = check_rule_or_tol(rule if rule is not None else col_rule, tol)
    if rule is None:
        rule = graphon_rule(W, tol, "both").rule if tol is not None else _default_rule(W)
    col_rule = rule if col_rule is None else col_rule
    check_memory("the operator's kernel", 8.0 * rule.size * col_rule.size)
    return GraphonOperator(W.on_grid(rule.nodes, col_rule.nodes), rule, col_rule, W)


def _default_rule(W) -> QuadratureRule:
    """One rule for both sides: the default rule of :class:`~graphon_ops.Graphon` on all its breaks."""
    breaks = np.union1d(W.row_breaks, W.col_breaks)
    if W.kind in ("step", "constant"):
        return composite("midpoint", 1, breaks)
    return composite("gauss_legendre", DEFAULT_NODES_PER_PIECE, breaks)
