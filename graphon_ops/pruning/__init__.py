"""Pruning at initialisation: finite masked MLPs, saliency criteria, exact-count masks, and the
Factorised Saliency Model limit graphons of the masks (docs/theory/pruning.rst).

Plotting helpers (:mod:`graphon_ops.pruning.plotting`) import matplotlib when called.
"""

from .convergence import ConvergencePoint, ConvergenceResult, fitted_slope, width_sweep
from .criteria import KEEP, METHODS, kept_count, prune, prune_at_init, prune_scores, saliency, synflow_path_sums
from .mlp import LOSSES, MLP, ForwardCache
from .plotting import plot_graphon, plot_mask
from .pruned_network import LABELLINGS, PrunedNetwork, prune_network
from .saliency_model import (LIMIT_METHODS, Factorisation, LayerGraphons, estimate_graphon, estimate_layer_graphons,
                             factorise, limit_graphon, quantile_function)
from .torch_masks import TorchMasks, masks_from_state_dict
from .training import TrainingResult, train_mse

__all__ = [
    "ConvergencePoint", "ConvergenceResult", "Factorisation", "ForwardCache", "KEEP", "LABELLINGS", "LIMIT_METHODS",
    "LOSSES", "LayerGraphons", "METHODS", "MLP", "PrunedNetwork", "estimate_graphon", "estimate_layer_graphons",
    "factorise", "fitted_slope", "kept_count", "limit_graphon", "plot_graphon", "plot_mask", "prune",
    "prune_at_init", "prune_network", "prune_scores", "quantile_function", "saliency", "synflow_path_sums",
    "width_sweep", "TrainingResult", "train_mse", "TorchMasks", "masks_from_state_dict",
]
