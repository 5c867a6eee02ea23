"""Topology versus kernel alignment: Random, Magnitude, SNIP and GraSP limit graphons at equal density (docs/theory/paths_alignment.rst).

Setting: one hidden ReLU layer (the theory's setting), normalisation "none", sigma_b = 0, the
mean-field first layer (the regime where the input dimension grows with the width). For each
criterion the first-layer graphon is the Factorised Saliency Model limit built from the factors
measured on a finite network of width 256 (saliency -> factorise -> limit_graphon); Random and
Magnitude both have the limit W = rho. GraSP is its magnitude variant |theta (H g)| (the form the
graphon theory analyses). Latent column k of a limit graphon is the input coordinate with the k-th
smallest column factor.

Data: (a) synthetic, x ~ N(0, I_16), the signal carried by a random subset J of 4 coordinates,
y = sum_J x_j / 2 + x_J1 x_J2 / 2; (b) scikit-learn's digits (8 x 8 images scaled to [0, 1], one-hot labels),
with J the pixels that are not blank in every image.

Measured per (data, topology, density): centred alignment with the targets, spectral alignment C(10),
the generalisation bound sqrt(2 y^T K^-1 y / N) (scale-dependent: "none" scales kernels with the
density), the trace-normalised complexity, spectral metrics, and the share of the input path mass on J.

Criteria, fixed before the runs: (1) on the synthetic data the Pearson correlation between the
path-mass share on J and the centred alignment over all (topology, density) points is > 0.5; (2) at
the lowest density SNIP and GraSP align better than Random; (3) the reported high-density effect: the
advantage over Random at density 0.9 is below half the advantage at the lowest density, or negative;
(4) the reported spectral collapse: sharpening the factors (a^gamma, b^gamma at density 0.1)
lowers the effective rank at the largest gamma below 0.8 times that at gamma = 0 and raises the
top-5 energy. Each is reported separately; "passed" is their conjunction.
"""

from __future__ import annotations

import math

import numpy as np

from graphon_ops.alignment import generalization_bound, kernel_alignment, spectral_alignment, spectral_metrics
from graphon_ops.ntk import graphon_ntk
from graphon_ops.paths import input_path_mass
from graphon_ops.pruning import MLP, factorise, limit_graphon, saliency
from graphon_ops.validation._common import main, new_figure, result, save_figure

TOPOLOGIES = ("random", "magnitude", "snip", "grasp_magnitude")
NTK_OPTIONS = dict(activation="relu", sigma_w=1.0, sigma_b=0.0, first_layer="mean-field", normalization="none")
WIDTH = 256


def synthetic_data(n: int, rng, d: int = 16, k: int = 4):
    """Gaussian inputs; the target depends on the coordinates J only."""
    J = np.sort(rng.choice(d, size=k, replace=False))
    X = rng.standard_normal((n, d))
    y = X[:, J].sum(axis=1) / 2 + X[:, J[0]] * X[:, J[1]] / 2
    return X, y, J


def digits_data(n: int, rng):
    """Digits scaled to [0, 1], one-hot labels, J = pixels not blank in every image."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X_all = digits.data / 16.0
    J = np.flatnonzero(X_all.max(axis=0) > 0)
    rows = rng.choice(X_all.shape[0], size=n, replace=False)
    return X_all[rows], np.eye(10)[digits.target[rows]], J


def measured_factors(X, y, method: str, rng) -> tuple[np.ndarray, np.ndarray, float]:
    """First-layer row and column factors of a criterion on a finite network, and the fit residual."""
    outputs = 1 if y.ndim == 1 else y.shape[1]
    net = MLP([X.shape[1], WIDTH, outputs], seed=rng)
    scores = saliency(net, X, y, method)[0]
    fit = factorise(scores, weights=net.parameters()[0])
    return fit.row_factors, fit.col_factors, fit.residual


def first_layer(method: str, density: float, factors):
    """Limit graphon and the latent column order (column k <-> coordinate order[k])."""
    if method in ("random", "magnitude"):
        return limit_graphon(method, density), None
    rows, cols = factors
    return (limit_graphon("factorised" if method == "sharpened" else method, density, row_factor=rows,
                          col_factor=cols), np.argsort(cols, kind="stable"))


def finite_or_none(value: float):
    return float(value) if math.isfinite(value) else None


def evaluate(W1, order, X, y, J) -> dict:
    """Kernel metrics of the one-hidden-layer Graphon-NTK with first layer W1."""
    d = X.shape[1]
    order = np.arange(d) if order is None else order
    K = graphon_ntk(np.ascontiguousarray(X[:, order]), [W1], **NTK_OPTIONS).ntk
    mass = np.empty(d)
    mass[order] = input_path_mass([W1], d)
    try:
        bound, ridge = generalization_bound(K, y), 0.0
    except ValueError:
        ridge = 1e-8 * np.trace(K) / K.shape[0]  # stated ridge when K is numerically singular
        bound = generalization_bound(K, y, ridge=ridge)
    metrics = spectral_metrics(K)
    curve = spectral_alignment(K, y, 40)
    # kernel_complexity(K, y, ridge) is this quadratic form times tr(K + ridge I)/N; reuse the factorisation
    complexity = bound.quadratic_form * (np.trace(K) + ridge * K.shape[0]) / K.shape[0]
    return {"centred_alignment": kernel_alignment(K, y, centered=True), "C10": float(curve[9]),
            "bound": bound.bound, "condition": bound.condition_number, "ridge": ridge, "complexity": complexity,
            "decay": finite_or_none(metrics.decay_exponent), "effective_rank": metrics.effective_rank,
            "gap": finite_or_none(metrics.spectral_gap), "top5": metrics.top5_energy,
            "mass_share_J": float(mass[J].sum() / mass.sum()), "curve": curve}


def run(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    n_kernel = 200 if quick else 800
    densities = [0.05, 0.3, 0.7, 0.9] if quick else [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
    gammas = [0.0, 2.0, 8.0] if quick else [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]

    X_syn, y_syn, J_syn = synthetic_data(n_kernel + 512, rng)
    X_dig, Y_dig, J_dig = digits_data(n_kernel + 512, rng)
    datasets = {"synthetic": (X_syn[:n_kernel], y_syn[:n_kernel], J_syn, X_syn[n_kernel:], y_syn[n_kernel:]),
                "digits": (X_dig[:n_kernel], Y_dig[:n_kernel], J_dig, X_dig[n_kernel:], Y_dig[n_kernel:])}

    table, results, residuals, all_factors = [], {}, {}, {}
    for data_name, (X, y, J, X_batch, y_batch) in datasets.items():
        factors = all_factors[data_name] = {}
        for method in ("snip", "grasp_magnitude"):
            rows, cols, residual = measured_factors(X_batch, y_batch, method, rng)
            factors[method] = (rows, cols)
            residuals[(data_name, method)] = residual
        for density in densities:
            constant = None
            for method in TOPOLOGIES:
                if method in ("random", "magnitude") and constant is not None:
                    values = constant  # both limits are W = rho: the same kernel
                else:
                    try:
                        W1, order = first_layer(method, density, factors.get(method))
                    except ValueError:
                        # density >= P(Q_a Q_b > 0) (zero column factors of blank pixels): no FSM limit
                        table.append({"data": data_name, "topology": f"{method}: no FSM limit", "density": density})
                        continue
                    values = evaluate(W1, order, X, y, J)
                    if method == "random":
                        constant = values
                results[(data_name, method, density)] = values
                table.append({"data": data_name, "topology": method, "density": density,
                              **{k: v for k, v in values.items() if k != "curve"}})

    # concentration sweep on the synthetic data: SNIP factors raised to the power gamma
    X, y, J = datasets["synthetic"][:3]
    rows, cols = all_factors["synthetic"]["snip"]
    sweep = {}
    for gamma in gammas:
        W1, order = first_layer("sharpened", 0.1, (rows**gamma, cols**gamma))
        sweep[gamma] = evaluate(W1, order, X, y, J)
        table.append({"data": "synthetic", "topology": f"snip factors^{gamma:g}", "density": 0.1,
                      **{k: v for k, v in sweep[gamma].items() if k != "curve"}})

    findings = summarise(results, sweep, densities, gammas)
    figures = plots(results, sweep, densities, gammas, out_dir)
    keys = list(table[0])
    table = [{key: row.get(key, "") for key in keys} for row in table]
    measured = (f"synthetic: corr(path mass on J, centred alignment) = {findings['correlation']:.3f}; "
                f"advantage over Random at density {densities[0]}: SNIP {findings['advantage_low']['snip']:+.3f}, "
                f"GraSP {findings['advantage_low']['grasp_magnitude']:+.3f}; at {densities[-1]}: SNIP "
                f"{findings['advantage_high']['snip']:+.3f}, GraSP {findings['advantage_high']['grasp_magnitude']:+.3f}; "
                f"digits advantage at {densities[0]}: SNIP {findings['digits_low']['snip']:+.3f}, GraSP "
                f"{findings['digits_low']['grasp_magnitude']:+.3f}, at {densities[-1]}: SNIP "
                f"{findings['digits_high']['snip']:+.3f}, GraSP {findings['digits_high']['grasp_magnitude']:+.3f}; "
                f"concentration gamma 0 -> {gammas[-1]:g}: effective rank {sweep[gammas[0]]['effective_rank']:.2f} -> "
                f"{sweep[gammas[-1]]['effective_rank']:.2f}, top-5 energy {sweep[gammas[0]]['top5']:.3f} -> "
                f"{sweep[gammas[-1]]['top5']:.3f}, centred alignment {sweep[gammas[0]]['centred_alignment']:.3f} -> "
                f"{sweep[gammas[-1]]['centred_alignment']:.3f}; FSM residuals "
                + ", ".join(f"{d}/{m} {r:.2f}" for (d, m), r in residuals.items()))
    return result(
        claim="Kernel alignment with a target rises with the input path mass on the coordinates that carry "
              "it; data-driven topologies (SNIP, GraSP) align better than Random at low density, an advantage "
              "reported to vanish or reverse at high density; over-concentrated connectivity is reported to "
              "collapse the kernel spectrum.",
        measured=measured,
        criterion="(1) synthetic corr(path mass share on J, centred alignment) > 0.5; (2) at the lowest density "
                  "SNIP and GraSP centred alignment > Random (synthetic); (3) advantage at density 0.9 < half the "
                  "lowest-density advantage, or negative, for SNIP and GraSP (synthetic); (4) effective rank at "
                  "the largest gamma < 0.8 x that at gamma = 0 and top-5 energy higher",
        passed=all(findings["criteria"].values()), table=table, figures=figures,
        criteria={k: bool(v) for k, v in findings["criteria"].items()},
        fsm_residuals={f"{d}/{m}": r for (d, m), r in residuals.items()})


def summarise(results, sweep, densities, gammas) -> dict:
    low, high = densities[0], densities[-1]

    def advantage(data, method, density):
        if (data, method, density) not in results:
            return float("nan")  # no FSM limit at this density
        return (results[(data, method, density)]["centred_alignment"]
                - results[(data, "random", density)]["centred_alignment"])

    points = [(v["mass_share_J"], v["centred_alignment"]) for (data, _, _), v in results.items() if data == "synthetic"]
    mass, alignment = np.array(points).T
    correlation = float(np.corrcoef(mass, alignment)[0, 1]) if np.ptp(mass) > 0 else float("nan")
    methods = ("snip", "grasp_magnitude")
    advantage_low = {m: advantage("synthetic", m, low) for m in methods}
    advantage_high = {m: advantage("synthetic", m, high) for m in methods}
    first, last = sweep[gammas[0]], sweep[gammas[-1]]
    criteria = {
        "1_correlation": correlation > 0.5,
        "2_low_density_advantage": all(a > 0 for a in advantage_low.values()),
        "3_high_density_vanishes_or_reverses": all(advantage_high[m] < 0.5 * advantage_low[m] for m in methods),
        "4_spectral_collapse": last["effective_rank"] < 0.8 * first["effective_rank"] and last["top5"] > first["top5"],
    }
    return {"correlation": correlation, "advantage_low": advantage_low, "advantage_high": advantage_high,
            "digits_low": {m: advantage("digits", m, low) for m in methods},
            "digits_high": {m: advantage("digits", m, high) for m in methods}, "criteria": criteria}


def plots(results, sweep, densities, gammas, out_dir) -> list:
    try:
        fig, axes = new_figure(4, width=4.2)
    except ImportError:
        return []
    ax = axes[0, 0]
    for method in TOPOLOGIES[1:]:
        for data, style in (("synthetic", "-"), ("digits", ":")):
            ax.plot(densities, [results.get((data, method, r), {}).get("centred_alignment", np.nan) for r in densities],
                    style,
                    marker="o", label=f"{method} ({data})")
    ax.set_xlabel("density")
    ax.set_ylabel("centred alignment")
    ax.set_title("alignment vs density (magnitude = random)")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    for method in TOPOLOGIES[1:]:
        ax.plot(np.arange(1, 41), results[("synthetic", method, densities[0])]["curve"], label=method)
    ax.set_xlabel("k")
    ax.set_ylabel("C(k)")
    ax.set_title(f"spectral alignment, synthetic, density {densities[0]}")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    for method in TOPOLOGIES[1:]:
        points = np.array([(results[("synthetic", method, r)]["mass_share_J"],
                            results[("synthetic", method, r)]["centred_alignment"]) for r in densities])
        ax.scatter(points[:, 0], points[:, 1], label=method)
    ax.set_xlabel("share of input path mass on J")
    ax.set_ylabel("centred alignment")
    ax.set_title("path mass vs alignment (synthetic)")
    ax.legend(fontsize=7)
    ax = axes[0, 3]
    ax.plot(gammas, [sweep[g]["effective_rank"] for g in gammas], marker="o", label="effective rank")
    ax.plot(gammas, [10 * sweep[g]["top5"] for g in gammas], marker="s", label="10 x top-5 energy")
    ax.plot(gammas, [10 * sweep[g]["centred_alignment"] for g in gammas], marker="^", label="10 x centred alignment")
    ax.set_xlabel("factor sharpening gamma (density 0.1)")
    ax.set_title("concentration sweep (synthetic)")
    ax.legend(fontsize=7)
    return [save_figure(fig, out_dir, "alignment_topology")]


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
