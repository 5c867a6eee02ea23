"""graphon_ops: continuous graphon operators for pruned neural networks.

Graphons (:class:`Graphon`) are continuous objects; quadrature rules (:mod:`graphon_ops.quadrature`)
discretise them into integral operators (:class:`GraphonOperator`). On top of them: certified cut
norms (:func:`cut_norm`, :func:`cut_distance`), W-random masks (:func:`sample_mask`), pruning criteria
and their limit graphons (:mod:`graphon_ops.pruning`), the Graphon-NTK (:func:`graphon_ntk`) and the
empirical NTK of finite masked networks (:func:`empirical_ntk`), path densities, alignment and
generalisation bounds, and active coordinates. Importing the package loads numpy and scipy only:
numba kernels compile on first use, cupy and sympy load when asked for.
"""

from . import pruning
from ._config import get_options, options
from .adaptive import AccuracyWarning, AdaptiveRule, adaptive_rule, graphon_density, graphon_rule
from .active import active_coordinates
from .alignment import (BoundResult, SpectralMetrics, generalization_bound, kernel_alignment, kernel_complexity,
                        kernel_spectrum, spectral_alignment, spectral_metrics)
from .cutnorm import CutNormResult, cut_distance, cut_norm, cut_norm_exact, homomorphism_density
from .empirical import empirical_ntk
from .graphon import Graphon, graphon
from .ntk import GraphonNTKResult, graphon_ntk
from .operator import GraphonOperator, SpectrumEstimate, discretize
from .paths import input_path_mass, path_counts, path_density
from .pruning import MLP, limit_graphon, prune, saliency
from .quadrature import (QuadratureRule, clenshaw_curtis, composite, gauss_legendre, gauss_lobatto, midpoint,
                         trapezoid)
from .sampling import MaskSample, sample_mask

__version__ = "0.1.0"

__all__ = [
    "AccuracyWarning", "AdaptiveRule", "SpectrumEstimate", "adaptive_rule", "gauss_lobatto", "graphon_density",
    "graphon_rule",
    "BoundResult", "CutNormResult", "Graphon", "GraphonNTKResult", "GraphonOperator", "MLP", "MaskSample",
    "QuadratureRule", "SpectralMetrics", "active_coordinates", "clenshaw_curtis", "composite", "cut_distance",
    "cut_norm", "cut_norm_exact", "discretize", "empirical_ntk", "gauss_legendre", "generalization_bound",
    "get_options", "graphon", "graphon_ntk", "homomorphism_density", "input_path_mass", "kernel_alignment",
    "kernel_complexity", "kernel_spectrum", "limit_graphon", "midpoint", "options", "path_counts",
    "path_density", "pruning", "prune", "sample_mask", "saliency", "spectral_alignment", "spectral_metrics",
    "trapezoid",
]
