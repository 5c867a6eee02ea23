"""Topology versus kernel alignment: Random, Magnitude, SNIP and GraSP limit graphons at equal density (docs/theory/paths_alignment.rst).

No finite networks are trained; the kernels are those of the limit graphons with fresh weights
(re-drawn after pruning: weight graphon M = W). A finite network of width 256 is only scored once, at
initialisation, to measure the saliency factors.

Setting: one hidden ReLU layer (the theory's setting), normalisation "none", sigma_w = 1, sigma_b = 0,
and the exact first layer for a fixed input dimension (``first_layer="patterns"``, the graphon_ntk
default: each first-layer neuron keeps its own Bernoulli row pattern, P(m_j = 1) = W_1(u, v_j), and the
kernel is averaged over patterns). For each criterion the first-layer graphon is the Factorised Saliency
Model (FSM) limit built from the factors measured on the finite network (saliency -> factorise ->
limit_graphon); Random and Magnitude both have the limit W = rho, so they share one kernel. GraSP is
used in its magnitude variant |theta (H g)| (the form the graphon theory analyses). Latent column k of a limit
graphon is the input coordinate with the k-th smallest column factor.

The pattern average is estimated, not enumerated (2^16 and 2^64 patterns): the integral over the
first-layer positions u uses R nodes (the middle row of each block of 256 / R rows of the FSM step graphon,
sorted by row factor; R = 16 quick, 32 full) and each node S = 12 sampled patterns, stratified: coordinate
j is kept in exactly floor(S W_1(u, v_j) + U) of the node's S patterns (U uniform, slots permuted
independently per coordinate), so every sampled pattern has exactly the Bernoulli law above and the
estimate is unbiased. The sampled 0/1 patterns form a step graphon whose pattern-averaged Graphon-NTK
graphon_ntk computes exactly. The same random numbers (drawn from the seed) are used for every kernel
(common random numbers), so topologies are compared on coupled samples.

Data: (a) synthetic, x ~ N(0, I_16), the signal carried by a random subset J of 4 coordinates,
y = sum_J x_j / 2 + x_J1 x_J2 / 2; (b) scikit-learn's digits (8 x 8 images scaled to [0, 1], one-hot
labels), with J the pixels not blank in every image (61 of 64: the signal is spread over almost all
inputs). Kernels on 200 points (quick) or 800 (full); saliency factors on 512 other points.

Measured per (data, topology, density): centred alignment with the targets, spectral alignment C(10),
the generalisation bound sqrt(2 y^T K^-1 y / N) (scale-dependent: "none" scales kernels with the
density), the trace-normalised complexity, spectral metrics ("not defined" where the decay fit or the
gap is undefined), and the share of the input path mass on J (of the limit graphon, exact). Criteria
without an FSM limit at a density (density >= P(Q_a Q_b > 0), the share of positive factor products:
digits at 0.9, whose blank pixels and dead neurons have zero factors) are listed in their own table.

Criteria. The effect is claimed on the synthetic data: (1) the Pearson correlation between the
path-mass share on J and the centred alignment over the distinct limits (Random = Magnitude, SNIP, GraSP)
at every density is > 0.5; (2) at the lowest density SNIP and GraSP align better than Random; (3) the
advantage over Random at density 0.9 is below half the advantage at the lowest density (or negative),
for SNIP and GraSP. The claim's stated exception, digits (contrary evidence to the effect in general):
(4) for SNIP and for GraSP the largest advantage over Random on digits, over the densities with a limit,
is below half its synthetic advantage at the lowest density -- no comparable advantage. (The digits
advantage is negative at low density in most seeds, at most about +0.005 in seeds 0-7, and within
sampling precision of zero at high density.) "passed" is the conjunction of (1)-(4).

Reported, not a criterion: the concentration sweep (SNIP factors raised to gamma at density
0.1). Under the exact first layer sharpening raises the top-5 energy of the kernel spectrum by 40 to
70 %, but the effective rank tr K / lambda_1 moves by at most about 10 % in either direction across
seeds 0-7 (the 20-30 % fall seen with the mean-field first layer does not carry over), so no "spectral
collapse" is asserted.

Precision (seed 0, 6 pattern-sampling seeds): the standard deviation of the centred alignment is about
0.015 at density 0.05 on the synthetic data (0.02 for the advantage over Random) and 0.0025 or less at
the other points checked (synthetic 0.3 and 0.9, digits 0.05 and 0.7), well below the asserted effects
(advantages of 0.08 to 0.2 at density 0.05).

Negative control: criterion (1) evaluated by the same code with J replaced by a planted wrong set J', 4
coordinates drawn at random from those outside J; the planted set must give correlation <= 0.5.
"""

from __future__ import annotations

import math

import numpy as np

from graphon_ops.alignment import generalization_bound, kernel_alignment, spectral_alignment, spectral_metrics
from graphon_ops.graphon import Graphon
from graphon_ops.ntk import graphon_ntk
from graphon_ops.paths import input_path_mass
from graphon_ops.pruning import MLP, factorise, limit_graphon, saliency
from graphon_ops.validation._common import main, result, save_figure

TOPOLOGIES = ("random", "magnitude", "snip", "grasp_magnitude")
#: Distinct limits (Magnitude has Random's limit W = rho) and their display names.
DISTINCT = {"random": "Random (= Magnitude)", "snip": "SNIP", "grasp_magnitude": "GraSP"}
NTK_OPTIONS = dict(activation="relu", sigma_w=1.0, sigma_b=0.0, first_layer="patterns", normalization="none")
WIDTH = 256
#: Sampled patterns per first-layer node (stratified, see the module docstring).
PATTERNS_PER_NODE = 12
CORRELATION_MIN = 0.5
SWEEP_DENSITY = 0.1


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
    """First-layer row and column factors of a criterion on a finite network at initialisation, and the fit residual."""
    outputs = 1 if y.ndim == 1 else y.shape[1]
    net = MLP([X.shape[1], WIDTH, outputs], seed=rng)
    scores = saliency(net, X, y, method)[0]
    fit = factorise(scores, weights=net.parameters()[0])
    return fit.row_factors, fit.col_factors, fit.residual


def positive_mass(factors) -> float:
    """P(Q_a Q_b > 0): the largest density an FSM limit of these factors can have."""
    rows, cols = factors
    return float(np.mean(rows > 0) * np.mean(cols > 0))


def first_layer(method: str, density: float, factors):
    """Limit graphon and the latent column order (column k <-> coordinate order[k]), None for constant limits."""
    if method in ("random", "magnitude"):
        return limit_graphon(method, density), None
    rows, cols = factors
    return (limit_graphon("factorised" if method == "sharpened" else method, density, row_factor=rows,
                          col_factor=cols), np.argsort(cols, kind="stable"))


def sampled_patterns(W1, d: int, nodes: int, pattern_seed) -> Graphon:
    """Stratified sample of first-layer row patterns of W1, as a 0/1 step graphon (one block per distinct
    pattern, its width the pattern's share of the samples).

    Node k sits at the middle row of block k of ``WIDTH / nodes`` rows (the FSM step graphons have one row
    per neuron of the width-``WIDTH`` network); coordinate j is kept in floor(S W1 + U) of its S patterns,
    at slots permuted independently per coordinate, so each pattern has the exact Bernoulli law."""
    block = WIDTH // nodes
    positions = (np.arange(nodes) * block + block // 2 + 0.5) / WIDTH
    keep = W1.on_grid(positions, (np.arange(d) + 0.5) / d)
    rng = np.random.default_rng(pattern_seed)  # the same numbers for every kernel: common random numbers
    counts = np.floor(PATTERNS_PER_NODE * keep + rng.random(keep.shape))
    slots = np.argsort(rng.random((nodes, PATTERNS_PER_NODE, d)), axis=1)
    patterns, multiplicity = np.unique((slots < counts[:, None, :]).reshape(-1, d), axis=0, return_counts=True)
    # one block per distinct pattern, as wide as its share of the samples
    breaks = np.cumsum(multiplicity[:-1]) / multiplicity.sum() if multiplicity.size > 1 else None
    return Graphon.step(patterns.astype(np.float64), row_breaks=breaks)


def finite_or_text(value: float):
    return float(value) if math.isfinite(value) else "not defined"


def evaluate(W1, order, X, y, nodes: int, pattern_seed) -> dict:
    """Kernel metrics of the one-hidden-layer Graphon-NTK with first layer W1 (fresh weights)."""
    d = X.shape[1]
    order = np.arange(d) if order is None else order
    K = graphon_ntk(np.ascontiguousarray(X[:, order]), [sampled_patterns(W1, d, nodes, pattern_seed)],
                    **NTK_OPTIONS).ntk
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
            "decay": finite_or_text(metrics.decay_exponent), "effective_rank": metrics.effective_rank,
            "gap": finite_or_text(metrics.spectral_gap), "top5": metrics.top5_energy, "mass": mass,
            "curve": curve}


def mass_share(values: dict, coordinates) -> float:
    return float(values["mass"][coordinates].sum() / values["mass"].sum())


def correlation_criterion(results: dict, data: str, coordinates) -> float:
    """Criterion (1): Pearson correlation of the path-mass share on ``coordinates`` with the centred
    alignment over the distinct limits at every density (the same code for J and the planted set)."""
    points = [(mass_share(v, coordinates), v["centred_alignment"]) for (name, method, _), v in results.items()
              if name == data and method in DISTINCT]
    share, alignment = np.array(points).T
    return float(np.corrcoef(share, alignment)[0, 1]) if np.ptp(share) > 0 else float("nan")


def metric_row(values: dict, J) -> dict:
    return {"centred alignment": values["centred_alignment"], "C(10)": values["C10"], "bound": values["bound"],
            "condition number": values["condition"], "ridge": values["ridge"],
            "trace-normalised complexity": values["complexity"], "decay exponent": values["decay"],
            "effective rank": values["effective_rank"], "spectral gap": values["gap"],
            "top-5 energy": values["top5"], "path mass share on J": mass_share(values, J)}


def run(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    pattern_seed = (seed, 1)  # stream of the pattern samples, separate from rng
    n_kernel = 200 if quick else 800
    nodes = 16 if quick else 32
    densities = [0.05, 0.3, 0.7, 0.9] if quick else [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
    gammas = [0.0, 2.0, 8.0] if quick else [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]

    X_syn, y_syn, J_syn = synthetic_data(n_kernel + 512, rng)
    X_dig, Y_dig, J_dig = digits_data(n_kernel + 512, rng)
    datasets = {"synthetic": (X_syn[:n_kernel], y_syn[:n_kernel], J_syn, X_syn[n_kernel:], y_syn[n_kernel:]),
                "digits": (X_dig[:n_kernel], Y_dig[:n_kernel], J_dig, X_dig[n_kernel:], Y_dig[n_kernel:])}

    table, no_limit, results, residuals, all_factors = [], [], {}, {}, {}
    for data_name, (X, y, J, X_batch, y_batch) in datasets.items():
        factors = all_factors[data_name] = {}
        for method in ("snip", "grasp_magnitude"):
            rows, cols, residual = measured_factors(X_batch, y_batch, method, rng)
            factors[method] = (rows, cols)
            residuals[(data_name, method)] = residual
        for density in densities:
            for method in TOPOLOGIES:
                if method == "magnitude":
                    values = results[(data_name, "random", density)]  # both limits are W = rho: the same kernel
                else:
                    try:
                        W1, order = first_layer(method, density, factors.get(method))
                    except ValueError:
                        no_limit.append({"data": data_name, "topology": method, "density": density,
                                         "P(Q_a Q_b > 0)": positive_mass(factors[method]),
                                         "status": "no FSM limit: density >= P(Q_a Q_b > 0)"})
                        continue
                    values = results[(data_name, method, density)] = evaluate(W1, order, X, y, nodes, pattern_seed)
                table.append({"data": data_name, "topology": method, "density": density, **metric_row(values, J)})

    # concentration sweep on the synthetic data: SNIP factors raised to the power gamma
    X, y, J = datasets["synthetic"][:3]
    rows, cols = all_factors["synthetic"]["snip"]
    sweep = {}
    for gamma in gammas:
        W1, order = first_layer("sharpened", SWEEP_DENSITY, (rows**gamma, cols**gamma))
        sweep[gamma] = evaluate(W1, order, X, y, nodes, pattern_seed)
    sweep_table = [{"gamma": gamma, **metric_row(values, J)} for gamma, values in sweep.items()]

    # negative control: criterion (1) with a planted wrong coordinate set, drawn after all measurements
    planted = np.sort(rng.choice(np.setdiff1d(np.arange(X.shape[1]), J), size=J.size, replace=False))
    findings = summarise(results, densities, J_syn, J_dig, planted)
    criteria = findings["criteria"]
    low, high = densities[0], densities[-1]

    def advantages(data, density):
        return ", ".join(f"{DISTINCT[m]} {findings['advantage'][(data, m, density)]:+.3f}"
                         if (data, m, density) in findings["advantage"] else f"{DISTINCT[m]} no limit"
                         for m in ("snip", "grasp_magnitude"))

    digits_largest = ", ".join(f"{DISTINCT[m]} {findings['digits_max'][m]:+.4f}" for m in ("snip", "grasp_magnitude"))
    if all(v <= 0 for v in findings["digits_max"].values()):
        digits_verdict = "SNIP and GraSP align no better than Random on digits at any density"
    elif criteria["4_no_comparable_advantage_on_digits"]:
        digits_verdict = "no advantage on digits comparable to the synthetic one"
    else:
        digits_verdict = "an advantage on digits comparable to the synthetic one"
    first, last = sweep[gammas[0]], sweep[gammas[-1]]
    measured = (f"Synthetic (J = coordinates {', '.join(map(str, J_syn))} of 16): corr(path-mass share on J, centred "
                f"alignment) = {findings['correlation']:.3f}; advantage in centred alignment over Random at density "
                f"{low}: {advantages('synthetic', low)}; at {high}: {advantages('synthetic', high)}. "
                f"Contrary evidence, digits (J = {J_dig.size} of 64 pixels): advantage over Random at {low}: "
                f"{advantages('digits', low)}; at {densities[1]}: {advantages('digits', densities[1])}; at {high}: "
                f"{advantages('digits', high)}; corr(path-mass share on J, centred alignment) = "
                f"{findings['digits_correlation']:.3f}; largest advantage on digits over all densities: "
                f"{digits_largest} -- {digits_verdict}. Reported "
                f"(not a criterion): sharpening the SNIP factors at density {SWEEP_DENSITY} (gamma 0 -> "
                f"{gammas[-1]:g}) moves the effective rank {first['effective_rank']:.2f} -> "
                f"{last['effective_rank']:.2f} (ratio {last['effective_rank'] / first['effective_rank']:.2f}), the "
                f"top-5 energy {first['top5']:.3f} -> {last['top5']:.3f} and the centred alignment "
                f"{first['centred_alignment']:.3f} -> {last['centred_alignment']:.3f}. FSM fit residuals: "
                + ", ".join(f"{d}/{m} {r:.2f}" for (d, m), r in residuals.items())
                + f". Negative control: planted set J' = {', '.join(map(str, planted))} gives corr = "
                f"{findings['planted_correlation']:.3f}.")
    criteria_table = [
        {"criterion": "(1) corr(path-mass share on J, centred alignment), synthetic",
         "value": f"{findings['correlation']:.3f}", "required": f"> {CORRELATION_MIN}",
         "met": "yes" if criteria["1_correlation"] else "no"},
        {"criterion": f"(2) advantage over Random at density {low}, synthetic", "value": advantages("synthetic", low),
         "required": "> 0 for both", "met": "yes" if criteria["2_low_density_advantage"] else "no"},
        {"criterion": f"(3) advantage at density {high} vs half the advantage at {low}, synthetic",
         "value": advantages("synthetic", high), "required": "below half of (2) for both",
         "met": "yes" if criteria["3_high_density_vanishes_or_reverses"] else "no"},
        {"criterion": "(4) largest advantage over Random on digits (any density) vs half the synthetic advantage "
                      f"at {low}", "value": digits_largest, "required": "below half of (2) for both",
         "met": "yes" if criteria["4_no_comparable_advantage_on_digits"] else "no"},
        {"criterion": "negative control: criterion (1) with the planted set J'",
         "value": f"{findings['planted_correlation']:.3f}", "required": f"<= {CORRELATION_MIN} (rejected)",
         "met": "yes" if not findings["planted_passes"] else "no"},
    ]
    tables = {"Pass criteria and negative control": criteria_table,
              f"Concentration sweep (synthetic, SNIP factors^gamma, density {SWEEP_DENSITY}; reported)": sweep_table}
    if no_limit:
        tables["Pruning criteria without an FSM limit at the density (no kernel computed)"] = no_limit
    return result(
        claim="On the synthetic task, where the target depends on a few input coordinates J (4 of 16), the "
              "centred alignment of the one-hidden-layer Graphon-NTK (exact first layer, fresh weights) with the "
              "target rises with the share of input path mass on J, and the data-driven limits (SNIP, GraSP), "
              "which move path mass onto J, align better than Random at low density, an advantage that shrinks "
              "as the density approaches 0.9. This does not carry over to digits, where the signal is spread over "
              "almost every pixel (J = 61 of 64): there SNIP and GraSP give no comparable advantage -- their "
              "alignment is mostly below Random's, at best marginally above it (contrary evidence, measured and "
              "checked as the claim's stated condition). The spectral effect of over-concentrated connectivity "
              "is reported, not asserted.",
        measured=measured,
        criterion=f"On the synthetic data: (1) corr(path-mass share on J, centred alignment) over Random (= "
                  f"Magnitude), SNIP and GraSP at densities {', '.join(map(str, densities))} > {CORRELATION_MIN}; "
                  f"(2) at density {low} SNIP and GraSP centred alignment > Random; (3) their advantage at density "
                  f"{high} < half their advantage at {low}, or negative. On digits, the stated exception: (4) the "
                  f"largest advantage of SNIP and of GraSP over Random at any density < half their synthetic "
                  f"advantage at {low}. Negative control: criterion (1) with J "
                  f"replaced by a planted set of {J_syn.size} coordinates outside J must give correlation <= "
                  f"{CORRELATION_MIN}.",
        passed=all(criteria.values()), table=table, tables=tables,
        figures=plots(results, sweep, densities, gammas, J_syn, planted, out_dir),
        negative_control={"what": f"criterion (1) on the synthetic data with the signal set J replaced by the "
                                  f"planted set J' = {{{', '.join(map(str, planted))}}} (4 coordinates drawn at "
                                  f"random outside J), by the same correlation code",
                          "measured": {"corr(path-mass share on J', centred alignment)": findings["planted_correlation"],
                                       "threshold": CORRELATION_MIN},
                          "passed": findings["planted_passes"]},
        criteria={k: bool(v) for k, v in criteria.items()},
        fsm_residuals={f"{d}/{m}": r for (d, m), r in residuals.items()})


def summarise(results, densities, J_syn, J_dig, planted) -> dict:
    low, high = densities[0], densities[-1]
    methods = ("snip", "grasp_magnitude")
    advantage = {(data, m, r): results[(data, m, r)]["centred_alignment"]
                 - results[(data, "random", r)]["centred_alignment"]
                 for (data, m, r) in results if m in methods}
    correlation = correlation_criterion(results, "synthetic", J_syn)
    planted_correlation = correlation_criterion(results, "synthetic", planted)
    low_advantage = [advantage.get(("synthetic", m, low), float("nan")) for m in methods]
    high_advantage = [advantage.get(("synthetic", m, high), float("nan")) for m in methods]
    # largest advantage on digits over the densities with a limit (nan when there is none)
    digits_max = {m: max((a for (data, method, _), a in advantage.items() if data == "digits" and method == m),
                         default=float("nan")) for m in methods}
    criteria = {  # a missing limit gives nan, and nan fails every comparison
        "1_correlation": correlation > CORRELATION_MIN,
        "2_low_density_advantage": all(a > 0 for a in low_advantage),
        "3_high_density_vanishes_or_reverses": all(h < 0.5 * a for h, a in zip(high_advantage, low_advantage)),
        "4_no_comparable_advantage_on_digits": all(digits_max[m] < 0.5 * a for m, a in zip(methods, low_advantage)),
    }
    return {"correlation": correlation, "advantage": advantage, "criteria": criteria, "digits_max": digits_max,
            "digits_correlation": correlation_criterion(results, "digits", J_dig),
            "planted_correlation": planted_correlation, "planted_passes": planted_correlation > CORRELATION_MIN}


def _legend_in_band(ax, ncol: int = 1, band: float = 0.3) -> None:
    """Legend in a band added above the data (the top ``band`` of the axes holds no data)."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, low + (high - low) / (1.0 - band))
    ax.legend(fontsize=8, loc="upper left", ncol=ncol, frameon=False)


def plots(results, sweep, densities, gammas, J, planted, out_dir) -> list:
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"random": "tab:gray", "snip": "tab:blue", "grasp_magnitude": "tab:orange"}
    fig, axes = plt.subplots(2, 3, figsize=(13.0, 7.8))
    for ax, data in zip(axes[0, :2], ("synthetic", "digits")):
        for method, name in DISTINCT.items():
            values = [results[(data, method, r)]["centred_alignment"] if (data, method, r) in results else np.nan
                      for r in densities]
            missing = [r for r, v in zip(densities, values) if np.isnan(v)]
            label = name + (f" (no limit at {', '.join(map(str, missing))})" if missing else "")
            ax.plot(densities, values, marker="o", color=colours[method], label=label)
        ax.set_xlabel("density")
        ax.set_ylabel("centred alignment with the targets")
        ax.set_title(f"{data}: alignment vs density")
        _legend_in_band(ax, band=0.25)
    ax = axes[0, 2]
    for method, name in DISTINCT.items():
        points = np.array([(mass_share(results[("synthetic", method, r)], J),
                            results[("synthetic", method, r)]["centred_alignment"]) for r in densities])
        ax.scatter(points[:, 0], points[:, 1], color=colours[method], label=f"{name.split()[0]}: share on J")
    wrong = np.array([(mass_share(v, planted), v["centred_alignment"]) for (data, method, _), v in results.items()
                      if data == "synthetic" and method in DISTINCT])
    ax.scatter(wrong[:, 0], wrong[:, 1], color="tab:red", marker="x", label="all: share on planted J'")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("share of input path mass on the coordinate set")
    ax.set_ylabel("centred alignment with the targets")
    ax.set_title("synthetic: path mass vs alignment")
    _legend_in_band(ax, ncol=2, band=0.2)
    for ax, data in zip(axes[1, :2], ("synthetic", "digits")):
        for method, name in DISTINCT.items():
            ax.plot(np.arange(1, 41), results[(data, method, densities[0])]["curve"], color=colours[method],
                    label=name)
        ax.set_xlabel("number of leading eigenvectors k")
        ax.set_ylabel("spectral alignment C(k)")
        ax.set_title(f"{data}: spectral alignment, density {densities[0]}")
        _legend_in_band(ax, band=0.25)
    ax = axes[1, 2]
    first = sweep[gammas[0]]
    for key, name, colour, marker in (("effective_rank", "effective rank tr K / lambda_1", "tab:green", "o"),
                                      ("top5", "top-5 energy", "tab:purple", "s"),
                                      ("centred_alignment", "centred alignment", "tab:brown", "^")):
        ax.plot(gammas, [sweep[g][key] / first[key] for g in gammas], marker=marker, color=colour, label=name)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlabel(f"factor sharpening gamma (SNIP factors, density {SWEEP_DENSITY})")
    ax.set_ylabel("value / value at gamma = 0")
    ax.set_title("synthetic: concentration sweep (reported)")
    _legend_in_band(ax, band=0.25)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.07, top=0.96, wspace=0.26, hspace=0.3)  # no extra draw pass
    return [save_figure(fig, out_dir, "alignment_topology")]


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
