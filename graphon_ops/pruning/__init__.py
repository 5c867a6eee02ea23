"""Pruning at initialisation: finite masked MLPs, saliency criteria, exact-count masks, and the
Factorised Saliency Model limit graphons of the masks (SPEC §8).

Plotting helpers (:mod:`graphon_ops.pruning.plotting`) import matplotlib when called.
"""

from .convergence import ConvergencePoint, ConvergenceResult, fitted_slope, width_sweep
from .criteria import KEEP, METHODS, kept_count, prune, prune_at_init, saliency, synflow_path_sums
from .mlp import LOSSES, MLP, ForwardCache
from .plotting import plot_graphon, plot_mask
from .saliency_model import (LIMIT_METHODS, Factorisation, estimate_graphon, factorise, limit_graphon,
                             quantile_function)

__all__ = [
    "ConvergencePoint", "ConvergenceResult", "Factorisation", "ForwardCache", "KEEP", "LIMIT_METHODS", "LOSSES",
    "METHODS", "MLP", "estimate_graphon", "factorise", "fitted_slope", "kept_count", "limit_graphon",
    "plot_graphon", "plot_mask", "prune", "prune_at_init", "quantile_function", "saliency",
    "synflow_path_sums", "width_sweep",
]
