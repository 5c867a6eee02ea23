"""graphon_ops: continuous graphon operators for pruned neural networks.

Graphons (:class:`Graphon`) are continuous objects; quadrature rules (:mod:`graphon_ops.quadrature`)
discretise them into integral operators (:class:`GraphonOperator`). Importing the package loads
numpy and scipy only: numba kernels compile on first use, cupy and sympy load when asked for.
"""

from ._config import get_options, options
from .graphon import Graphon, graphon
from .operator import GraphonOperator, discretize
from .quadrature import QuadratureRule, clenshaw_curtis, composite, gauss_legendre, midpoint, trapezoid

__version__ = "0.1.0"

__all__ = [
    "Graphon", "GraphonOperator", "QuadratureRule", "clenshaw_curtis", "composite", "discretize",
    "gauss_legendre", "get_options", "graphon", "midpoint", "options", "trapezoid",
]
