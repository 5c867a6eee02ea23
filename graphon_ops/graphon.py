r"""Bipartite graphons :math:`W: [0,1]^2 \to [0,1]` as continuous objects.

A :class:`Graphon` never stores a grid. Anything that integrates takes a
:class:`~graphon_ops.quadrature.QuadratureRule` (or builds the default one from the graphon's known
breakpoints), so that a convergence study is one graphon and a sequence of rules.

:math:`W(u, v)` is the limiting probability that the output neuron at latent position :math:`u`
connects to the input neuron at latent position :math:`v` (docs/theory/graphons.rst).

* density :math:`\rho(W) = \int\!\!\int W(u,v)\,du\,dv`
* out-degree :math:`d_\mathrm{out}(u) = \int W(u,v)\,dv`, in-degree :math:`d_\mathrm{in}(v) = \int W(u,v)\,du`
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import re
from tokenize import TokenError
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

import numpy as np

from ._config import get_options
from ._validation import (as_float_array, as_mask, check_arguments, check_choice, check_flag, check_memory,
                          check_positive_int, check_rule, check_sorted_breakpoints, check_unit_interval)
from .adaptive import adaptive_rule, check_rule_or_tol, graphon_density
from .quadrature import QuadratureRule, composite

__all__ = ["Graphon", "graphon", "DEFAULT_NODES_PER_PIECE"]

#: Gauss--Legendre nodes per piece of the default rule. For a graphon analytic on each piece, 32 nodes
#: reach 1e-12 relative accuracy in every worked example of ``docs/graphons.rst``; pass a rule to
#: control accuracy yourself.
DEFAULT_NODES_PER_PIECE = 32

_KINDS = ("constant", "product", "step", "callable", "sympy")


def _frozen_array(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _check_points(name: str, x) -> np.ndarray:
    x = as_float_array(name, x, allow_empty=True)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{x.min()!r}, {x.max()!r}]")
    return x


def _piece_index(breaks: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index i of the piece [b_i, b_{i+1}) holding x (the last piece is closed at 1)."""
    return np.clip(np.searchsorted(breaks, x, side="right") - 1, 0, breaks.size - 2)


#: Names an expression string may use (:meth:`Graphon.from_expression`, the command line).
EXPRESSION_NAMES = frozenset({"u", "v", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan",
                              "erf", "erfc", "Abs", "Min", "Max", "abs", "min", "max", "sign", "Heaviside", "pi",
                              "E"})
_EXPRESSION_ALIASES = {"abs": "Abs", "min": "Min", "max": "Max"}
#: Largest |exponent| of a power in an expression string: beyond, evaluation could hang or exhaust memory.
_LARGEST_EXPONENT = 1000.0
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z]+)|(\*\*|[-+*/^(),]))")


def _check_expression(text: str) -> None:
    """Allow only numbers, :data:`EXPRESSION_NAMES` and arithmetic: nothing else reaches sympy."""
    if len(text) > 2000:
        raise ValueError(f"graphon expression is too long ({len(text)} characters, at most 2000)")
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                return
            raise ValueError(f"graphon expression {text!r}: unexpected character {text[position]!r} at "
                             f"position {position}")
        name = match.group(2)
        if name is not None and name not in EXPRESSION_NAMES:
            raise ValueError(f"graphon expression {text!r}: unknown name {name!r}; allowed: "
                             f"{sorted(EXPRESSION_NAMES)}")
        position = match.end()


@dataclasses.dataclass(frozen=True, eq=False)
class Graphon:
    r"""A bipartite graphon :math:`W(u, v)` with what is known about it exactly.

    Build one with the named constructors (:meth:`constant`, :meth:`product`, :meth:`step`,
    :meth:`from_mask`, :meth:`from_callable`, :meth:`from_sympy`) or the factory :func:`graphon`.
    Calling ``W(u, v)`` evaluates with numpy broadcasting and checks that the values are finite and
    in [0, 1] (``ValueError`` otherwise).

    Attributes
    ----------
    kind : {"constant", "product", "step", "callable", "sympy"}
        Which structure the exact integrals and the fast paths may use.
    row_breaks, col_breaks : ndarray
        Known lines of discontinuity in :math:`u` and :math:`v`, ends included; the default rule
        puts a Gauss--Legendre piece between consecutive breaks.
    values : ndarray or None
        Block values :math:`P` of a step graphon (``(1, 1)`` for a constant one).
    expr, symbols : sympy objects or None
        The expression of a :meth:`from_sympy` graphon and its ``(u, v)`` symbols.
    metadata : mapping
        Read-only extra facts (e.g. the solved threshold ``tau`` of a saliency-model limit).
    """

    function: Callable = dataclasses.field(repr=False)
    kind: str
    row_breaks: np.ndarray = dataclasses.field(repr=False)
    col_breaks: np.ndarray = dataclasses.field(repr=False)
    values: np.ndarray | None = dataclasses.field(default=None, repr=False)
    expr: Any = None
    symbols: tuple | None = dataclasses.field(default=None, repr=False)
    factors: tuple | None = dataclasses.field(default=None, repr=False)
    scalar_function: Callable | None = dataclasses.field(default=None, repr=False)
    metadata: Mapping = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "row_breaks", _frozen_array(self.row_breaks))
        object.__setattr__(self, "col_breaks", _frozen_array(self.col_breaks))
        if self.values is not None:
            object.__setattr__(self, "values", _frozen_array(self.values))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def replace(self, **changes) -> "Graphon":
        """A copy with some fields changed (e.g. ``metadata``)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def constant(cls, c: float) -> "Graphon":
        """The constant graphon :math:`W \\equiv c`, :math:`c \\in [0, 1]`.

        Examples
        --------
        >>> Graphon.constant(0.3).density()
        0.3
        """
        # abs(c) <= 1 first: an int beyond 2**64 or 1e308 never reaches float() or numpy (Type/OverflowError)
        value = float(c) if isinstance(c, numbers.Real) and not isinstance(c, bool) and abs(c) <= 1 else np.nan
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"c must be a number in [0, 1], got {c!r}")
        ends = np.array([0.0, 1.0])
        return cls(lambda u, v: np.full(np.broadcast(u, v).shape, value), "constant", ends, ends,
                   values=np.array([[value]]))

    @classmethod
    def product(cls, f: Callable, g: Callable, *, row_breaks=(), col_breaks=()) -> "Graphon":
        """The rank-one graphon :math:`W(u, v) = f(u)\\,g(v)` for vectorised callables ``f``, ``g``.

        Examples
        --------
        >>> W = Graphon.product(lambda u: u, lambda v: 1 - v)
        >>> float(W(0.5, 0.25))
        0.375
        """
        if not (callable(f) and callable(g)):
            raise ValueError(f"f and g must be callables, got {type(f).__name__} and {type(g).__name__}")
        check_arguments("f", f, "u")
        check_arguments("g", g, "v")
        return cls(lambda u, v: np.asarray(f(u), dtype=float) * np.asarray(g(v), dtype=float), "product",
                   check_sorted_breakpoints("row_breaks", row_breaks),
                   check_sorted_breakpoints("col_breaks", col_breaks), factors=(f, g))

    @classmethod
    def step(cls, values, row_breaks=None, col_breaks=None) -> "Graphon":
        """Step graphon: :math:`W = P_{ij}` on :math:`[a_i, a_{i+1}) \\times [b_j, b_{j+1})`.

        Parameters
        ----------
        values : array_like, shape (r, c)
            Block values in [0, 1].
        row_breaks, col_breaks : array_like, optional
            ``r + 1`` and ``c + 1`` strictly increasing points from 0 to 1 (or the ``r - 1`` /
            ``c - 1`` interior ones). Default: equal blocks.

        Examples
        --------
        >>> W = Graphon.step([[1.0, 0.0], [0.0, 1.0]], row_breaks=[0.25])
        >>> W.density()
        0.5
        """
        P = check_unit_interval("values", as_float_array("values", values, ndim=2))
        r, c = P.shape
        rb = np.linspace(0.0, 1.0, r + 1) if row_breaks is None else check_sorted_breakpoints("row_breaks", row_breaks)
        cb = np.linspace(0.0, 1.0, c + 1) if col_breaks is None else check_sorted_breakpoints("col_breaks", col_breaks)
        if rb.size != r + 1 or cb.size != c + 1:
            raise ValueError(f"row_breaks/col_breaks must delimit {r} x {c} blocks, got {rb.size - 1} x "
                             f"{cb.size - 1} pieces")
        P = _frozen_array(P)

        def evaluate(u, v):
            return P[_piece_index(rb, np.asarray(u)), _piece_index(cb, np.asarray(v))]

        return cls(evaluate, "step", rb, cb, values=P)

    @classmethod
    def from_mask(cls, mask, row_order=None, col_order=None) -> "Graphon":
        """Empirical graphon of a 0/1 mask: the step graphon on equal blocks with :math:`P = M`.

        Parameters
        ----------
        mask : array_like, shape (n_out, n_in)
            0/1 (or boolean) entries.
        row_order, col_order : array_like of int, optional
            Permutations listing the rows (columns) in increasing latent position, so that
            ``mask[row_order][:, col_order]`` is the matrix in latent order (e.g.
            ``numpy.argsort(positions)``).

        Examples
        --------
        >>> W = Graphon.from_mask([[0, 1], [1, 1]], row_order=[1, 0])
        >>> W.values.tolist()
        [[1.0, 1.0], [0.0, 1.0]]
        """
        M = as_mask("mask", mask)
        M = M[_check_permutation("row_order", row_order, M.shape[0])]
        M = M[:, _check_permutation("col_order", col_order, M.shape[1])]
        return cls.step(M.astype(np.float64)).replace(metadata={"source": "mask", "shape": M.shape})

    @classmethod
    def from_callable(cls, f: Callable, *, row_breaks=(), col_breaks=(), jit: bool = False) -> "Graphon":
        """A graphon from a Python callable.

        Parameters
        ----------
        f : callable
            ``f(u, v)`` vectorised over numpy arrays (broadcasting); with ``jit=True`` instead a scalar
            function of two floats that numba can compile (``math`` functions, arithmetic).
        row_breaks, col_breaks : array_like, optional
            Known discontinuities of ``f`` in ``u`` and ``v`` (the default rule integrates piecewise).
        jit : bool
            Compile ``f`` with numba and evaluate large grids with a parallel kernel.

        Values are checked (finite, in [0, 1]) when first evaluated on a grid.

        Examples
        --------
        >>> W = Graphon.from_callable(lambda u, v: u * v)
        >>> round(W.density(), 12)
        0.25
        """
        if not callable(f):
            raise ValueError(f"f must be callable, got {type(f).__name__}")
        check_arguments("f", f, "u", "v")
        scalar = None
        function = f
        if check_flag("jit", jit):
            from ._kernels.cpu import jit_scalar_function

            scalar = jit_scalar_function(f)
            # the grid kernels store f's value in a float64 array: a string, complex or array result would
            # surface there as a numba TypingError
            value = scalar(0.5, 0.5)
            if not isinstance(value, numbers.Real):
                raise ValueError(f"f must return a real number with jit=True; f(0.5, 0.5) is "
                                 f"{type(value).__name__} {value!r:.80}")
            function = _pairwise_evaluator(scalar)

        return cls(function, "callable", check_sorted_breakpoints("row_breaks", row_breaks),
                   check_sorted_breakpoints("col_breaks", col_breaks), scalar_function=scalar)

    @classmethod
    def from_expression(cls, text: str, *, row_breaks=(), col_breaks=()) -> "Graphon":
        """A graphon from an expression string in ``u`` and ``v``, e.g. ``"exp(-(u - v)^2)"``.

        Allowed: numbers, ``u``, ``v``, ``+ - * / ^ **``, parentheses and the names in
        :data:`EXPRESSION_NAMES` (``abs``, ``min``, ``max`` may be written in lower case); the text is
        checked token by token before sympy parses it, so nothing else is evaluated. Exponents are
        bounded (a power tower such as ``10^10^10`` is refused instead of evaluated). The same strings are
        accepted by :func:`graphon` and by the command line.

        Examples
        --------
        >>> W = Graphon.from_expression("min(u, v)")
        >>> print(W.density())                            # exact: int int min(u, v) = 1/3
        0.3333333333333333
        """
        import sympy
        from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        _check_expression(text)
        u, v = sympy.symbols("u v", real=True)
        names = {name: getattr(sympy, _EXPRESSION_ALIASES.get(name, name)) for name in EXPRESSION_NAMES - {"u", "v"}}
        names.update(u=u, v=v)
        try:
            expr = parse_expr(text, local_dict=names, transformations=standard_transformations + (convert_xor,),
                              evaluate=False)
        except (SyntaxError, TypeError, IndexError, sympy.SympifyError, TokenError) as exc:
            # IndexError: sympy's tokenizer on an empty or blank string
            raise ValueError(f"graphon expression {text!r} does not parse: {exc}") from None
        if not isinstance(expr, sympy.Expr):  # "u, v" is a tuple, "erf" a function class
            raise ValueError(f"graphon expression {text!r} must be one expression in u and v, got "
                             f"{type(expr).__name__} {expr}")
        for power in expr.atoms(sympy.Pow):
            exponent = power.exp
            if exponent.is_number and not _bounded_number(exponent, _LARGEST_EXPONENT):
                raise ValueError(f"graphon expression {text!r}: exponent {exponent} is too large "
                                 f"(at most {_LARGEST_EXPONENT:g} in absolute value)")
        try:
            expr = expr.doit()
        except (OverflowError, MemoryError, ValueError, TypeError) as exc:
            raise ValueError(f"graphon expression {text!r} cannot be evaluated: {exc}") from None
        return cls.from_sympy(expr, u, v, row_breaks=row_breaks, col_breaks=col_breaks)

    @classmethod
    def from_sympy(cls, expr, u, v, *, row_breaks=(), col_breaks=()) -> "Graphon":
        """A graphon from a sympy expression in the symbols ``u``, ``v`` (lambdified for numpy).

        The expression is kept, so :meth:`density` and the degrees are integrated exactly by sympy
        when it can (numerically with the default rule otherwise).

        Examples
        --------
        >>> import sympy as sp
        >>> u, v = sp.symbols("u v")
        >>> W = Graphon.from_sympy(u * v**2, u, v)
        >>> W.density() == 1 / 6
        True
        """
        import sympy

        try:
            expr = sympy.sympify(expr, strict=True)
        except (sympy.SympifyError, TypeError) as exc:
            raise ValueError(f"expr must be a sympy expression, got {expr!r}: {exc}") from None
        if not isinstance(expr, sympy.Expr):  # a tuple, a relation, a function class
            raise ValueError(f"expr must be a scalar sympy expression, got {type(expr).__name__} {expr}")
        for name, sym in (("u", u), ("v", v)):
            if not isinstance(sym, sympy.Symbol):
                raise ValueError(f"{name} must be a sympy Symbol, got {sym!r}")
        extra = expr.free_symbols - {u, v}
        if extra:
            raise ValueError(f"expr may only depend on {u} and {v}; it also has {sorted(map(str, extra))}")
        if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):  # e.g. 1/(u - u), log(0): no numpy printer
            raise ValueError(f"expr {expr} is infinite or undefined, not a graphon with values in [0, 1]")
        lambdified = sympy.lambdify((u, v), expr, modules="numpy")

        def evaluate(uu, vv):
            uu, vv = np.asarray(uu, dtype=float), np.asarray(vv, dtype=float)
            # log(0), sqrt(-1), overflow: NaN/inf/complex values are reported next, by name, as ValueError
            with np.errstate(all="ignore"):
                values = np.asarray(lambdified(uu, vv))
            if np.iscomplexobj(values):
                if np.any(values.imag != 0):
                    raise ValueError(f"W(u, v) = {expr} takes complex values on [0, 1]^2, e.g. "
                                     f"{values.ravel()[np.flatnonzero(values.imag != 0)[0]]}")
                values = values.real
            return np.broadcast_to(values.astype(float), np.broadcast(uu, vv).shape)

        return cls(evaluate, "sympy", check_sorted_breakpoints("row_breaks", row_breaks),
                   check_sorted_breakpoints("col_breaks", col_breaks), expr=expr, symbols=(u, v))

    # ------------------------------------------------------------------ evaluation
    def __call__(self, u, v) -> np.ndarray:
        """Values :math:`W(u, v)` with broadcasting; checked to be finite and in [0, 1]."""
        u, v = _check_points("u", u), _check_points("v", v)
        return check_unit_interval("W(u, v)", self.function(u, v))

    def on_grid(self, x, y) -> np.ndarray:
        """The matrix :math:`W(x_i, y_k)` (shape ``(len(x), len(y))``), checked like ``W(u, v)``.

        Step and constant graphons index their block values; product graphons take an outer product;
        a ``jit`` callable runs the parallel numba kernel on grids of at least
        ``options().numba_min_size`` points.
        """
        x, y = _check_points("x", np.ravel(x)), _check_points("y", np.ravel(y))
        # the float64 values, one temporary of the formula (or the copy clipping makes) and the booleans
        # of the finiteness check: measured 9 bytes a value for u * v, 17 when clipped
        check_memory(f"Graphon.on_grid on len(x) x len(y) = {x.size} x {y.size} points (the values, a "
                     f"temporary and the range check's booleans)", 24.0 * x.size * y.size)
        if self.kind in ("step", "constant"):
            P = self.values
            assert P is not None  # step and constant graphons always carry their block values
            values = P[_piece_index(self.row_breaks, x)][:, _piece_index(self.col_breaks, y)] \
                if self.kind == "step" else np.full((x.size, y.size), P[0, 0])
        elif self.kind == "product":
            assert self.factors is not None  # product graphons always carry their factors
            f, g = self.factors
            values = np.outer(np.broadcast_to(f(x), x.shape), np.broadcast_to(g(y), y.shape))
        elif self.scalar_function is not None and x.size * y.size >= get_options().numba_min_size:
            from ._kernels.cpu import evaluate_grid

            values = evaluate_grid(self.scalar_function, x, y)
        else:
            # a callable that ignores one argument returns a row or a column: broadcast it to the grid
            values = np.broadcast_to(self.function(x[:, None], y[None, :]), (x.size, y.size))
        return check_unit_interval("W(u, v)", values)

    def default_rule(self, axis: str = "row", m: int = DEFAULT_NODES_PER_PIECE) -> QuadratureRule:
        """The rule exact integrals fall back to: composite Gauss--Legendre on the known breaks.

        Step and constant graphons get one midpoint node per block, which integrates them exactly.
        """
        breaks = self.row_breaks if check_choice("axis", axis, ("row", "col")) == "row" else self.col_breaks
        if self.kind in ("step", "constant"):
            return composite("midpoint", 1, breaks)
        return composite("gauss_legendre", check_positive_int("m", m), breaks)

    # ------------------------------------------------------------------ integrals
    def density(self, rule: QuadratureRule | None = None, tol: float | None = None) -> float:
        r""":math:`\rho(W) = \int_0^1\!\int_0^1 W(u,v)\,du\,dv`.

        Exact for constant and step graphons, and for sympy graphons whose integral sympy finds within
        ``EXACT_INTEGRATION_SECONDS`` (3 s; in the main thread of a Unix process); otherwise, with ``tol``,
        an adaptive iterated integral reaching relative accuracy ``tol``
        (:func:`~graphon_ops.adaptive.graphon_density`, which also returns the error estimate; an
        :class:`~graphon_ops.adaptive.AccuracyWarning` when a budget stops it); else the tensor rule
        ``rule`` x ``rule`` (default: :meth:`default_rule` on each side). Giving both ``rule`` and ``tol``
        is a ``ValueError``. See docs/theory/graphons.rst, "Error model and adaptive rules".

        Examples
        --------
        A kink at :math:`u = c` that the graphon does not announce as a break:

        >>> c = 0.3719
        >>> W = Graphon.from_callable(lambda u, v: 0.2 + 0.6 * np.abs(u - c) * v)
        >>> exact = 0.2 + 0.3 * (c**2 + (1 - c)**2) / 2
        >>> print(f"{abs(W.density() - exact):.1e} {abs(W.density(tol=1e-12) - exact) < 1e-12}")
        1.3e-05 True
        """
        tol = check_rule_or_tol(check_rule("rule", rule), tol)
        if self.kind in ("constant", "step"):
            return float(np.diff(self.row_breaks) @ self.values @ np.diff(self.col_breaks))
        if self.kind == "sympy" and rule is None and self._exact_density is not None:
            return self._exact_density
        if tol is not None:
            return float(graphon_density(self, tol).integral)
        ru = rule if rule is not None else self.default_rule("row")
        rv = rule if rule is not None else self.default_rule("col")
        return float(ru.weights @ self.on_grid(ru.nodes, rv.nodes) @ rv.weights)

    def out_degree(self, u, rule: QuadratureRule | None = None, tol: float | None = None) -> np.ndarray:
        r"""Out-degree (fan-in profile) :math:`d_\mathrm{out}(u) = \int_0^1 W(u,v)\,dv` at points ``u``.

        Exact for step, constant and (when sympy integrates) sympy graphons; with ``tol`` every value to
        relative accuracy ``tol`` by one :func:`~graphon_ops.adaptive.adaptive_rule` for the rows at ``u``
        (``relative_to="each"``); else on ``rule`` (default :meth:`default_rule`). Not both ``rule`` and ``tol``.
        """
        return self._degree(u, rule, "row", tol)

    def in_degree(self, v, rule: QuadratureRule | None = None, tol: float | None = None) -> np.ndarray:
        r"""In-degree :math:`d_\mathrm{in}(v) = \int_0^1 W(u,v)\,du` at points ``v`` (``rule``, ``tol``: :meth:`out_degree`)."""
        return self.transpose()._degree(v, rule, "row", tol)

    def _degree(self, u, rule, axis, tol=None):
        tol = check_rule_or_tol(check_rule("rule", rule), tol)
        u = _check_points("u", u)
        shape = u.shape
        u = u.ravel()
        if self.kind in ("constant", "step"):
            out = self.values[_piece_index(self.row_breaks, u)] @ np.diff(self.col_breaks)
        elif self.kind == "sympy" and rule is None and self._exact_out_degree is not None:
            out = np.broadcast_to(np.asarray(self._exact_out_degree(u), dtype=float), u.shape)
        elif tol is not None and u.size:
            out = adaptive_rule(lambda v: self.on_grid(u, v).T, tol, breaks=self.col_breaks, relative_to="each").integral
        else:
            rv = rule if rule is not None else self.default_rule("col")
            out = self.on_grid(u, rv.nodes) @ rv.weights
        return np.asarray(out, dtype=float).reshape(shape)

    @functools.cached_property
    def _exact_density(self) -> float | None:
        import sympy

        assert self.symbols is not None  # only sympy graphons (which carry their symbols) get here
        u, v = self.symbols
        self._check_default_grid()
        value = _integrate_in_time(self.expr, (v, 0, 1), (u, 0, 1))
        return None if value is None else _real_number(value)

    def _check_default_grid(self) -> None:
        """Evaluate on the default grid (``ValueError`` for values outside [0, 1] or not finite): exact
        integrals never evaluate ``W``, so ``pi`` or ``sign(u - v)`` would otherwise pass unchecked."""
        self.on_grid(self.default_rule("row").nodes, self.default_rule("col").nodes)

    @functools.cached_property
    def _exact_out_degree(self):
        import sympy

        u, v = self.symbols
        self._check_default_grid()
        value = _integrate_in_time(self.expr, (v, 0, 1))
        if value is None or value.has(sympy.Integral):
            return None
        degree = sympy.lambdify(u, value, modules=["scipy", "numpy"])

        def evaluate(x):
            # Antiderivatives may pass through complex special functions (e.g. Ei); keep the real part
            # only when the imaginary part is rounding.
            with np.errstate(all="ignore"):
                out = np.asarray(degree(x))
            if np.iscomplexobj(out):
                if np.any(np.abs(out.imag) > 1e-12 * np.maximum(1.0, np.abs(out.real))):
                    raise ValueError(f"exact out-degree of {self.expr} is not real on the grid")
                out = out.real
            return out

        # a closed form that numpy cannot evaluate (meijerg, for Heaviside(u - 1/2) v) or that is NaN at a
        # point (0 log 0 at an end): integrate numerically instead
        try:
            probe = evaluate(np.concatenate([[0.0, 1.0], self.default_rule("row").nodes]))
        except (NameError, TypeError, ValueError, AttributeError, ZeroDivisionError):
            return None
        return evaluate if np.all(np.isfinite(probe)) else None

    def transpose(self) -> "Graphon":
        """The graphon :math:`W^\\top(u, v) = W(v, u)` (the adjoint operator's kernel)."""
        f = self.function
        swapped: dict[str, Any] = dict(row_breaks=self.col_breaks, col_breaks=self.row_breaks, metadata=self.metadata)
        if self.kind in ("step", "constant"):
            assert self.values is not None  # step and constant graphons always carry their block values
            return Graphon.step(self.values.T, self.col_breaks, self.row_breaks).replace(
                kind=self.kind, metadata=self.metadata)
        if self.kind == "product":
            assert self.factors is not None  # product graphons always carry their factors
            g, h = self.factors
            return dataclasses.replace(self, function=lambda u, v: f(v, u), factors=(h, g), **swapped)
        if self.kind == "sympy":
            import sympy

            assert self.symbols is not None  # sympy graphons always carry their symbols
            u, v = self.symbols
            t = sympy.Dummy("t")
            expr = self.expr.subs(u, t).subs(v, u).subs(t, v)
            return Graphon.from_sympy(expr, u, v, row_breaks=self.col_breaks, col_breaks=self.row_breaks).replace(
                metadata=self.metadata)
        scalar = self.scalar_function
        if scalar is not None:
            from ._kernels.cpu import jit_scalar_function

            scalar = jit_scalar_function(_swap_scalar(scalar))
        return dataclasses.replace(self, function=lambda u, v: f(v, u), scalar_function=scalar, **swapped)

    def __repr__(self) -> str:
        shape = "" if self.values is None else f", blocks={self.values.shape}"
        expr = "" if self.expr is None else f", expr={self.expr}"
        return f"Graphon(kind={self.kind!r}{shape}{expr})"


def _bounded_number(value, bound: float) -> bool:
    """True when a numeric sympy value is finite with modulus at most ``bound`` (False for zoo, nan)."""
    import sympy

    try:
        return abs(complex(sympy.N(value, 15))) <= bound
    except (TypeError, ValueError, OverflowError):
        return False


#: Time given to sympy for one exact integral before the quadrature rule takes over: closed forms come in
#: well under a second; an integrand without one (u**u**u**u) can keep sympy searching for half a minute.
EXACT_INTEGRATION_SECONDS = 3.0


class _OutOfTime(BaseException):
    """Raised by the timer; a BaseException so that sympy's own ``except Exception`` clauses let it through."""


def _integrate_in_time(expr, *limits):
    """``sympy.integrate(expr, *limits)``, or None when it takes more than ``EXACT_INTEGRATION_SECONDS``.

    The limit is a SIGALRM timer, so it applies in the main thread of a Unix process whose own timer is not
    running; the caller's handler and timer are restored. Elsewhere sympy runs without a limit.
    """
    import signal
    import threading

    import sympy

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread() \
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        return sympy.integrate(expr, *limits)

    def out_of_time(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, out_of_time)
    try:
        signal.setitimer(signal.ITIMER_REAL, EXACT_INTEGRATION_SECONDS)
        try:
            return sympy.integrate(expr, *limits)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0.0)  # an alarm just before this line lands in the except below
    except _OutOfTime:
        return None
    finally:
        signal.signal(signal.SIGALRM, previous)


def _real_number(value) -> float | None:
    """A sympy result as a float, or None when it is not a closed-form real number."""
    import sympy

    if value.has(sympy.Integral) or not value.is_number:
        return None
    number = complex(sympy.N(value, 30))
    return number.real if abs(number.imag) <= 1e-14 * max(1.0, abs(number.real)) else None


def _pairwise_evaluator(scalar):
    """A broadcasting ``(u, v) -> values`` evaluator around a compiled scalar function."""
    from ._kernels.cpu import evaluate_pairs

    def evaluate(u, v):
        u, v = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
        return evaluate_pairs(scalar, u.ravel(), v.ravel()).reshape(u.shape)

    return evaluate


def _swap_scalar(f):
    def swapped(u, v):
        return f(v, u)

    return swapped


def _check_permutation(name: str, order, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n)
    order = np.asarray(order)
    if order.shape != (n,) or not np.issubdtype(order.dtype, np.integer) \
            or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"{name} must be a permutation of range({n}), got {order!r}")
    return order


def graphon(obj, **kwargs) -> Graphon:
    """Friendly factory: turn a number, matrix, sympy expression, callable or Graphon into a Graphon.

    * a number ``c`` -> :meth:`Graphon.constant`
    * a string -> :meth:`Graphon.from_expression` (the expressions the command line accepts)
    * a 2-D array -> :meth:`Graphon.step` (``kwargs`` are its breakpoints)
    * a sympy expression -> :meth:`Graphon.from_sympy` in the symbols named ``u`` and ``v``
    * a callable -> :meth:`Graphon.from_callable`
    * a Graphon -> itself

    Examples
    --------
    >>> graphon(0.5).kind, graphon([[1, 0], [0, 1]]).kind
    ('constant', 'step')
    """
    if isinstance(obj, Graphon):
        return obj
    if isinstance(obj, numbers.Real) and not isinstance(obj, bool):
        return Graphon.constant(cast(float, obj))  # any Real: constant() checks it
    if isinstance(obj, str):
        return Graphon.from_expression(obj, **kwargs)
    if isinstance(obj, (np.ndarray, list, tuple)):
        return Graphon.step(obj, **kwargs)
    if type(obj).__module__.startswith("sympy"):
        import sympy

        u, v = sympy.Symbol("u"), sympy.Symbol("v")
        named = {s.name: s for s in obj.free_symbols}
        return Graphon.from_sympy(obj, named.get("u", u), named.get("v", v), **kwargs)
    if callable(obj):
        return Graphon.from_callable(obj, **kwargs)
    raise ValueError(f"cannot make a graphon from {type(obj).__name__}: give a number, a matrix, a sympy "
                     f"expression, a callable or a Graphon")
