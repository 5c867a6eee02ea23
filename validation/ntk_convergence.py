"""Empirical NTK of sparse finite networks converges to the Graphon-NTK; first-layer regimes (docs/theory/ntk.rst).

Claims.
(1) For W-random masks of width n (grid latent positions; layer 1's columns at v_j = (j - 1/2)/d),
    the empirical NTK J Jᵀ of a masked ReLU MLP converges to the Graphon-NTK with the
    pattern-averaged first layer: a single network's relative error falls as n^{-1/2} (log-log
    slope -1/2: the NTK is an average of ~n independent terms per layer), and the mean over
    initialisations agrees with the limit within its standard error. Stacks: Random (W = rho), a
    SNIP-like saliency limit (heterogeneous, from graphon_ops.pruning.limit_graphon) and step graphons.
(2) (:func:`run_first_layer_regimes`) For a fixed small input dimension d the mean-field first layer
    is not the limit: finite networks agree with the pattern-averaged kernel and reject the
    mean-field one; the relative difference between the two shrinks as d grows (the theory's regime
    d -> infinity, where mean-field is exact).
"""

from __future__ import annotations

import numpy as np

import graphon_ops as go
from graphon_ops.empirical import empirical_ntk
from graphon_ops.ntk import graphon_ntk
from graphon_ops.pruning import limit_graphon
from graphon_ops.sampling import sample_mask
from graphon_ops.validation._common import exact_ticks, fit_loglog_slope, main, new_figure, result, save_figure

# Both studies: ReLU, sigma_w = 1, a small bias, normalisation "none" (the literature's Graphon-NTK).
SETTINGS = dict(activation="relu", sigma_w=1.0, sigma_b=0.1, normalization="none")


def stacks() -> dict:
    """Two-hidden-layer stacks (layer 1's columns are the input coordinates)."""
    random = [go.Graphon.constant(0.5), go.Graphon.constant(0.5)]
    snip = [limit_graphon("snip", 0.4, row_factor=lambda u: 0.2 + u, col_factor=lambda v: 0.1 + v),
            limit_graphon("snip", 0.3, row_factor=lambda u: 0.5 + u ** 2, col_factor=lambda v: 0.2 + v)]
    step = [go.Graphon.step([[0.9, 0.2, 0.6], [0.3, 0.8, 0.1]], row_breaks=[0.4]),
            go.Graphon.step([[0.7, 0.2], [0.1, 0.9]], col_breaks=[0.4], row_breaks=[0.6])]
    return {"random": random, "snip-limit": snip, "step": step}


def sample_masks(graphons, d: int, width: int, rng) -> list:
    masks = [sample_mask(graphons[0], width, d, seed=rng).mask]
    masks += [sample_mask(W, width, width, seed=rng).mask for W in graphons[1:]]
    return masks


def empirical_draws(graphons, X, width: int, draws: int, rng) -> np.ndarray:
    """Empirical NTKs of ``draws`` networks (fresh masks and weights each)."""
    return np.stack([empirical_ntk(X, sample_masks(graphons, X.shape[1], width, rng), seed=rng, **SETTINGS)
                     for _ in range(draws)])


def z_scores(draws: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """(mean - limit) / standard error on the upper triangle."""
    upper = np.triu_indices(limit.shape[0])
    mean = draws.mean(axis=0)
    standard_error = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    return ((mean - limit) / standard_error)[upper]


def test_inputs(rng, n_inputs: int, d: int) -> np.ndarray:
    """Unit-norm inputs, half of them sparse (one or two coordinates): first-layer patterns matter most."""
    X = rng.standard_normal((n_inputs, d))
    for k in range(0, n_inputs, 2):
        keep = rng.choice(d, size=min(2, d), replace=False)
        X[k, np.setdiff1d(np.arange(d), keep)] = 0.0
    return X / np.linalg.norm(X, axis=1, keepdims=True) * np.sqrt(d)


#: The planted wrong limit of :func:`run`: the Graphon-NTK scaled by this factor (negative control), quick / full.
#: 4.5 standard errors of the mean over 16 networks at width 1024 are about 5 % of the kernel (x 1.05 gave
#: max |z| 4.47 on the random stack, seed 0): the quick run plants 10 %, the full run (48 networks, width 4096) 5 %.
PLANTED_SCALE = {True: 1.10, False: 1.05}
#: Largest |z| of a mean kernel accepted as agreeing with a limit (both studies).
Z_LIMIT = 4.5


def accepts(slope: float, worst_z: float) -> bool:
    """The convergence criterion of :func:`run`, applied alike to the real and the planted limit."""
    return abs(slope + 0.5) <= 0.15 and worst_z < Z_LIMIT


def _same_keys(rows: list[dict], fill: str = "n/a") -> list[dict]:
    """Every row with every key (``fill`` where a key does not apply to a row's part)."""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return [{key: row.get(key, fill) for key in keys} for row in rows]


def run(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    planted_scale = PLANTED_SCALE[quick]
    d = 5
    X = test_inputs(rng, 5, d)
    widths = [64, 128, 256, 512, 1024] if quick else [64, 128, 256, 512, 1024, 2048, 4096]
    draws = 12 if quick else 32
    final_draws = 16 if quick else 48
    table, slopes, curves, worst_z, planted = [], {}, {}, {}, {}
    for name, graphons in stacks().items():
        limit = graphon_ntk(X, graphons, **SETTINGS).ntk
        scale = np.linalg.norm(limit)
        errors, planted_errors = [], []
        for n in widths:
            samples = empirical_draws(graphons, X, n, draws, rng)
            per_network = np.linalg.norm(samples - limit, axis=(1, 2)) / scale
            errors.append(float(np.sqrt(np.mean(per_network ** 2))))
            wrong = np.linalg.norm(samples - planted_scale * limit, axis=(1, 2)) / (planted_scale * scale)
            planted_errors.append(float(np.sqrt(np.mean(wrong ** 2))))
            table.append({"part": "convergence", "stack": name, "width": n, "draws": draws,
                          "rms_relative_error": errors[-1], "error_times_sqrt_n": errors[-1] * np.sqrt(n)})
        slopes[name], slope_error = fit_loglog_slope(widths, errors)
        curves[name] = errors
        samples = empirical_draws(graphons, X, widths[-1], final_draws, rng)
        worst_z[name] = float(np.max(np.abs(z_scores(samples, limit))))
        planted[name] = (fit_loglog_slope(widths, planted_errors)[0],
                         float(np.max(np.abs(z_scores(samples, planted_scale * limit)))))
        table.append({"part": "mean vs limit", "stack": name, "width": widths[-1], "draws": final_draws,
                      "slope": slopes[name], "slope_se": slope_error, "max_abs_z": worst_z[name],
                      "planted_slope": planted[name][0], "planted_max_abs_z": planted[name][1]})

    figures = []
    try:
        fig, axes = new_figure(1)
        ax = axes[0, 0]
        for name, errors in curves.items():
            ax.loglog(widths, errors, marker="o", label=f"{name} (slope {slopes[name]:.2f})")
        first = next(iter(curves.values()))
        ax.loglog(widths, first[0] * (np.asarray(widths) / widths[0]) ** -0.5, "k--", label="n^-1/2")
        ax.set_xlabel("width n")
        ax.set_ylabel("RMS relative error of J J^T")
        ax.set_title("Empirical NTK -> Graphon-NTK (patterns), L = 2, d = 5")
        exact_ticks(ax, widths)
        ax.legend(fontsize=8)
        figures.append(save_figure(fig, out_dir, "ntk_convergence"))
    except ImportError:
        pass

    # z: mean of `final_draws` networks, t-distributed; 15 entries per stack: |t| < 4.5 unless a
    # real discrepancy (probability < 1e-3 per entry). Slope: -1/2 within 0.15 (4-6 widths, noisy).
    passed = all(accepts(slopes[name], worst_z[name]) for name in slopes)
    planted_passed = any(accepts(*planted[name]) for name in planted)
    measured = "; ".join(f"{name}: slope {slopes[name]:.3f}, max |z| {worst_z[name]:.2f}" for name in slopes)
    measured += (f". Planted limit (Graphon-NTK x {planted_scale}): "
                 + "; ".join(f"{name}: slope {s:.3f}, max |z| {z:.2f}" for name, (s, z) in planted.items())
                 + f". Resolution of the z test: {Z_LIMIT} standard errors of the mean over {final_draws} networks "
                   f"at width {widths[-1]}")
    return result(
        claim="The empirical NTK of W-random masked ReLU networks converges to the Graphon-NTK (pattern-"
              "averaged first layer) at rate n^-1/2; its mean over initialisations matches the limit.",
        measured=measured,
        criterion="every stack: log-log slope of the RMS relative error in [-0.65, -0.35] and max |z| of the "
                  f"mean at the largest width < {Z_LIMIT}",
        passed=passed, table=_same_keys(table), figures=figures,
        negative_control={"what": f"every stack's Graphon-NTK scaled by {planted_scale}, the same networks tested by "
                                  "the same slope and z criterion (passes if any stack accepts it)",
                          "measured": {f"{name}: {key}": value for name, (s, z) in planted.items()
                                       for key, value in (("slope", s), ("max |z|", z))},
                          "passed": planted_passed})


#: The sparse-input gap "does not shrink with d" when its log-log slope in d exceeds this.
PERSISTS_SLOPE = -0.2


def gap_persists(dimensions, gaps) -> tuple[bool, float]:
    """Sparse-input criterion: the mean-field/patterns gap does not shrink as d grows (log-log slope > -0.2)."""
    slope = fit_loglog_slope(dimensions, gaps)[0]
    return bool(slope > PERSISTS_SLOPE), slope


def run_first_layer_regimes(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    first = go.Graphon.from_callable(lambda u, v: 0.15 + 0.7 * u * (1 - v))
    second = go.Graphon.from_callable(lambda u, v: 0.3 + 0.6 * u * v)
    graphons = [first, second]
    table = []
    dimensions = [2, 4, 6, 8, 12] if quick else [2, 4, 6, 8, 12, 16, 24, 32]
    differences = {"dense inputs": [], "sparse inputs": []}
    for d in dimensions:
        # 24 inputs so that the gap is an average over many pairs, not one pair's geometry
        dense = np.random.default_rng(seed + d).standard_normal((24, d))
        sparse = test_inputs(np.random.default_rng(seed + d), 24, d)[::2]
        for kind, X in (("dense inputs", dense), ("sparse inputs", sparse)):
            patterns = graphon_ntk(X, graphons, seed=rng, **SETTINGS)
            mean_field = graphon_ntk(X, graphons, first_layer="mean-field", **SETTINGS)
            difference = float(np.linalg.norm(mean_field.ntk - patterns.ntk) / np.linalg.norm(patterns.ntk))
            error = "exact enumeration" if patterns.ntk_standard_error is None else \
                float(np.linalg.norm(patterns.ntk_standard_error) / np.linalg.norm(patterns.ntk))
            differences[kind].append(difference)
            table.append({"part": "patterns vs mean-field", "inputs": kind, "d": d,
                          "method": patterns.first_layer_method, "n_patterns": patterns.n_patterns,
                          "relative_difference": difference, "monte_carlo_relative_se": error})
    slope, _ = fit_loglog_slope(dimensions, differences["dense inputs"])
    sparse_persists, sparse_slope = gap_persists(dimensions, differences["sparse inputs"])
    # negative control (a): the dense inputs' gaps, which do close, through the sparse-input criterion
    dense_persists, _ = gap_persists(dimensions, differences["dense inputs"])

    d, width = 4, (512 if quick else 2048)
    draws = 16 if quick else 32
    X = test_inputs(np.random.default_rng(seed + 100), 5, d)
    patterns = graphon_ntk(X, graphons, **SETTINGS).ntk
    mean_field = graphon_ntk(X, graphons, first_layer="mean-field", **SETTINGS).ntk
    samples = empirical_draws(graphons, X, width, draws, rng)
    z_patterns = float(np.max(np.abs(z_scores(samples, patterns))))
    # negative control (b): the mean-field kernel, the other regime's limit, through the same z criterion
    z_mean_field = float(np.max(np.abs(z_scores(samples, mean_field))))
    table.append({"part": "finite networks", "d": d, "width": width, "draws": draws,
                  "max_abs_z_patterns": z_patterns, "max_abs_z_mean_field": z_mean_field})

    figures = []
    try:
        fig, axes = new_figure(1)
        ax = axes[0, 0]
        for kind, values in differences.items():
            label = f"{kind} (slope {slope:.2f})" if kind == "dense inputs" else kind
            ax.loglog(dimensions, values, marker="o", label=label)
        ax.set_xlabel("input dimension d")
        ax.set_ylabel("||Theta_mf - Theta_patterns|| / ||Theta_patterns||")
        ax.set_title("First layer: mean-field vs pattern-averaged")
        exact_ticks(ax, dimensions)
        ax.legend(fontsize=8)
        figures.append(save_figure(fig, out_dir, "first_layer_regimes"))
    except ImportError:
        pass

    gap = differences["dense inputs"][dimensions.index(6)]
    passed = z_patterns < Z_LIMIT and slope < -0.4 and gap > 0.01 and sparse_persists
    return result(
        claim="For a fixed small d the pattern-averaged first layer is the limit of finite networks and the "
              "mean-field one is not (several % apart at d ~ 6); for inputs spread over the coordinates the "
              "gap closes as d grows (mean-field exact as d -> infinity); for sparse inputs it does not.",
        measured=f"d = 4, width {width}, {draws} networks: max |z| {z_patterns:.2f} vs patterns, "
                 f"{z_mean_field:.2f} vs mean-field; dense inputs: relative gap at d = 6 {gap:.3f}, "
                 f"log-log slope in d {slope:.2f}; sparse inputs: gap at the largest d "
                 f"{differences['sparse inputs'][-1]:.3f}, log-log slope in d {sparse_slope:.2f}",
        criterion=f"max |z| vs patterns < {Z_LIMIT}; dense inputs: gap at d = 6 > 1 % and log-log slope in d < "
                  f"-0.4 (the gap is a second-order term, O(1/d) asymptotically; the small-d range fitted here is "
                  f"pre-asymptotic); sparse inputs: the gap does not shrink with d (log-log slope > "
                  f"{PERSISTS_SLOPE})",
        passed=passed, table=_same_keys(table), figures=figures,
        negative_control={"what": "(a) the mean-field kernel (the other first-layer regime) as the limit of the "
                                  "finite networks, by the same z criterion; (b) the dense inputs' gaps, which "
                                  "close with d, by the sparse-input criterion",
                          "measured": {"max |z| vs mean-field": z_mean_field,
                                       "dense-input gap slope in d": slope},
                          "passed": bool(z_mean_field < Z_LIMIT or dense_persists)})


if __name__ == "__main__":
    import sys

    if "--first-layer" in sys.argv:
        sys.argv.remove("--first-layer")
        main(run_first_layer_regimes, "First-layer regimes at small input dimension: patterns vs mean-field")
    else:
        main(run, "Empirical NTK of sparse finite networks converges to the Graphon-NTK")
