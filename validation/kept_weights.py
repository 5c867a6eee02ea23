"""Networks pruned at initialisation keep their selected weights; their NTK is the kept-weight Graphon-NTK.

Weights are KEPT after pruning in every network of this study (the network pruning really produces);
the fresh-weight kernel (weights re-drawn after pruning) is the planted wrong answer.

Setting. A ReLU MLP [d, n, n, 1] (d = 8, sigma_w = sqrt 2, sigma_b = 0.1, normalisation "none") is
pruned layer by layer to density 0.2 in both hidden layers by Random, Magnitude, one-example SNIP,
batch SNIP, GraSP (magnitude variant), signed GraSP and one-shot SynFlow; the readout stays dense.

Asserted. For Random and Magnitude the population limits are known in closed form (W = 0.2; M = 0.2
for Random, M = 0.2 + sqrt(2/pi) tau e^{-tau^2/2} = 0.64982 for Magnitude; docs/theory/pruning.rst):
the mean over networks of the empirical NTK J Jᵀ (own, kept weights) agrees with that kept-weight
Graphon-NTK (max |z| < 4.5 over the 21 kernel entries: a t-statistic with networks − 1 degrees of
freedom, above which the difference is real), and single networks' RMS relative error times sqrt(n)
stays bounded (at most 1.6x growth over the widths: a floor would grow like sqrt(n)). The first layer
keeps ~1.6 of 8 inputs per neuron, so its pre-activations are sums of a few conditioned, non-Gaussian
weights; the limit uses the Gaussian closure with matched second moments, and a separate part
measures what the closure leaves (relative bias of the mean kernel < 6 %).

Reported. For the data-driven criteria no population limit is known: each network is compared with
the limit estimated from itself by ``PrunedNetwork.limit`` (block means of m and (m ⊙ ω)² in one
latent order per hidden neuron, the readout's profile E[v² | u]), with its kept and with fresh weights.

Negative controls, by the same z statistic at the largest width: the closed-form Magnitude limit
scaled by 1.15 (quick, which resolves errors of about 10 %; 1.05 in the full run, which resolves
about 3 %), and the
fresh-weight limit of every criterion where it is more than 10 % off, must give max |z| > 4.5.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.special

from graphon_ops.empirical import empirical_ntk
from graphon_ops.network import GraphonNetwork
from graphon_ops.pruning import MLP, limit_graphon, prune_network
from graphon_ops.validation._common import finish_figure, main, one_panel_figure, result
from graphon_ops.validation.ntk_convergence import test_inputs

SETTINGS = dict(activation="relu", sigma_w=float(np.sqrt(2.0)), sigma_b=0.1, normalization="none")
DENSITY = 0.2
D = 8
#: criterion name -> (method, batch size); batch size 0 = data-free
CRITERIA = {"random": ("random", 0), "magnitude": ("magnitude", 0), "snip (one example)": ("snip", 1),
            "snip (batch)": ("snip", 64), "grasp (magnitude)": ("grasp_magnitude", 64),
            "grasp (signed)": ("grasp", 64), "synflow": ("synflow", 0)}
#: Criteria whose kept law is not symmetric in the sign of theta: signed GraSP keeps theta with the sign
#: of (Hg)_ij, so the kept weights have non-zero means that a second-moment limit does not carry.
NO_FSM_LIMIT = {"grasp (signed)"}
Z_LIMIT = 4.5
#: Relative bias allowed for the first layer's Gaussian closure at d = 8 (measured 3.5 % with 32 networks of
#: width 512, standard error about 1 %): the closure is an approximation at small d, exact as d grows.
CLOSURE_BIAS = 0.06


def batch(rng, size: int):
    """A feature-selection batch: y = (x_1 + x_2) / sqrt 2 of Gaussian inputs."""
    X = rng.standard_normal((max(size, 1), D))
    return X, (X[:, 0] + X[:, 1]) / np.sqrt(2.0)


def closed_form_limit(name: str) -> GraphonNetwork | None:
    """Population limits of the exchangeable criteria (None for the data-driven ones)."""
    if name not in ("random", "magnitude"):
        return None
    W = limit_graphon(name, DENSITY)
    M = limit_graphon(name, DENSITY, moment="second")
    return GraphonNetwork([W, W], weights=[M, M], **SETTINGS)


def draws_for(name: str, width: int, draws: int, X, rng) -> dict:
    """Empirical NTKs and the kept/fresh limits of ``draws`` independently pruned networks."""
    method, size = CRITERIA[name]
    blocks = max(2, int(round(np.sqrt(width) / 2)))
    empirical, kept, fresh = [], [], []
    for _ in range(draws):
        net = MLP([D, width, width, 1], seed=rng, **SETTINGS)
        Xb, yb = batch(rng, size)
        with warnings.catch_warnings():  # first-layer neurons without inputs are expected at d = 8, density 0.2
            warnings.filterwarnings("ignore", "pruning left parts of the network disconnected")
            pruned = prune_network(net, Xb if size else None, yb if size else None, method, DENSITY,
                                   scope="layerwise", seed=rng)
        limit = pruned.limit(blocks)
        empirical.append(pruned.empirical_ntk(X))
        kept.append(limit.kernels(X).ntk)
        fresh.append(limit.with_fresh_weights().kernels(X).ntk)
    return {"empirical": np.stack(empirical), "kept": np.stack(kept), "fresh": np.stack(fresh), "blocks": blocks}


def paired_z(empirical: np.ndarray, limits: np.ndarray) -> float:
    """max |z| over the upper triangle of the mean paired difference (limits: one per network, or one)."""
    upper = np.triu_indices(empirical.shape[1])
    difference = (empirical - limits)[:, upper[0], upper[1]]
    standard_error = difference.std(axis=0, ddof=1) / np.sqrt(difference.shape[0])
    return float(np.max(np.abs(difference.mean(axis=0)) / standard_error))


def rms_relative_error(empirical: np.ndarray, limits: np.ndarray) -> float:
    scale = np.linalg.norm(limits, axis=(-2, -1)) * np.ones(empirical.shape[0])
    return float(np.sqrt(np.mean((np.linalg.norm(empirical - limits, axis=(1, 2)) / scale) ** 2)))


def relative_bias(empirical: np.ndarray, limits: np.ndarray) -> float:
    """||mean(empirical - limit)||_F / ||mean(limit)||_F (limits: one per network, or one)."""
    difference = (empirical - limits).mean(axis=0)
    return float(np.linalg.norm(difference) / np.linalg.norm(np.mean(limits * np.ones_like(empirical), axis=0)))


def run(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    X = test_inputs(rng, 6, D)
    widths = [128, 256, 512] if quick else [128, 256, 512, 1024, 2048]
    # Networks per width: the closed-form criteria carry the assertions and the planted errors, so they get
    # more (the standard error of the mean kernel is about 5 % / sqrt(networks / 16) of it at width 512).
    draws = {True: (32, 12), False: (64, 32)}[quick]
    # 4.5 standard errors of the mean kernel: about 10 % at width 512 with 32 networks (quick), about 3 % at
    # width 2048 with 64 (full); the planted error sits above that resolution
    planted = 1.15 if quick else 1.05
    table, curves, closed_ok, growth, reductions, controls = [], {}, {}, {}, {}, {}
    for name in CRITERIA:
        population = closed_form_limit(name)
        population_kernel = None if population is None else population.kernels(X).ntk
        errors = []
        for width in widths:
            runs = draws_for(name, width, draws[0] if population_kernel is not None else draws[1], X, rng)
            errors.append(rms_relative_error(runs["empirical"], runs["kept"]))
            row = {"criterion": name, "width": width, "blocks": runs["blocks"],
                   "max |z| kept (own estimate)": paired_z(runs["empirical"], runs["kept"]),
                   "max |z| fresh (own estimate)": paired_z(runs["empirical"], runs["fresh"]),
                   "bias kept": relative_bias(runs["empirical"], runs["kept"]),
                   "bias fresh": relative_bias(runs["empirical"], runs["fresh"]),
                   "kept/fresh trace": float(np.mean(np.trace(runs["kept"], axis1=1, axis2=2)
                                                     / np.trace(runs["fresh"], axis1=1, axis2=2))),
                   "RMS error x sqrt(n)": errors[-1] * np.sqrt(width),
                   "max |z| closed form": "no closed form" if population_kernel is None
                   else paired_z(runs["empirical"], population_kernel)}
            table.append(row)
        curves[name] = errors
        rows = [r for r in table if r["criterion"] == name]
        growth[name] = errors[-1] * np.sqrt(widths[-1]) / (errors[0] * np.sqrt(widths[0]))
        reductions[name] = rows[-1]["bias kept"] / rows[-1]["bias fresh"]
        if population_kernel is not None:
            closed_ok[name] = all(r["max |z| closed form"] < Z_LIMIT for r in rows)
        if name == "magnitude":
            controls[f"magnitude: closed-form limit x {planted}"] = paired_z(runs["empirical"],
                                                                            planted * population_kernel)
        if rows[-1]["bias fresh"] > 0.1:  # the fresh limit is a wrong answer wherever it is this far off
            controls[f"{name}: fresh-weight limit"] = rows[-1]["max |z| fresh (own estimate)"]

    # The first layer's Gaussian closure on its own: magnitude pruning of the first layer only, many
    # networks at the largest width, against the closed form (d = 8: about 1.6 kept inputs per neuron).
    width, many = widths[-1], (32 if quick else 96)
    tau = np.sqrt(2.0) * scipy.special.erfcinv(DENSITY)
    second_moment = limit_graphon("magnitude", DENSITY, moment="second").values[0, 0]
    first_only = GraphonNetwork([DENSITY, 1.0], weights=[second_moment, None], **SETTINGS).kernels(X).ntk
    samples = []
    for _ in range(many):
        net = MLP([D, width, width, 1], seed=rng, **SETTINGS)
        masks = [(np.abs(net.weights[0]) > tau).astype(np.uint8), np.ones((width, width), np.uint8),
                 np.ones((1, width), np.uint8)]
        samples.append(empirical_ntk(X, net.with_masks(masks), weights="kept"))
    samples = np.stack(samples)
    z_closure, bias_closure = paired_z(samples, first_only), relative_bias(samples, first_only)

    figures = _figure(widths, curves, out_dir)
    symmetric = [n for n in CRITERIA if n not in NO_FSM_LIMIT]
    data_driven = [n for n in symmetric if n not in closed_ok]
    real_ok = all(closed_ok.values()) and all(growth[n] <= 1.6 for n in closed_ok) \
        and bias_closure < CLOSURE_BIAS
    rejected = all(z > Z_LIMIT for z in controls.values())
    measured = (
        "; ".join(f"{n}: kept/fresh trace {[r for r in table if r['criterion'] == n][-1]['kept/fresh trace']:.2f}"
                  for n in CRITERIA)
        + f". Closed-form limits (Random, Magnitude): max |z| "
          f"{max(r['max |z| closed form'] for r in table if r['criterion'] in closed_ok):.2f} over all widths; "
          f"RMS error x sqrt(n) grows {max(growth[n] for n in closed_ok):.2f}x. First-layer closure alone: max |z| "
          f"{z_closure:.2f}, relative bias {bias_closure:.4f} ({many} networks of width {width}). Data-driven "
          f"criteria against their own block estimates, at width {widths[-1]}: relative bias kept / fresh = "
        + ", ".join(f"{n} {reductions[n]:.2f}" for n in data_driven)
        + f"; max |z| of the kept estimate "
        + ", ".join(f"{n} {[r for r in table if r['criterion'] == n][-1]['max |z| kept (own estimate)']:.1f}"
                    for n in data_driven)
        + " — contrary evidence: a residual bias of "
        + ", ".join(f"{[r for r in table if r['criterion'] == n][-1]['bias kept']:.0%}" for n in data_driven)
        + " remains (kept first-layer weights of SNIP and GraSP carry a per-coordinate sign bias at d = 8; "
          "SynFlow's two-sided neuron types are not resolved by one latent order). Signed GraSP keeps "
          "weights with the sign of (Hg)_ij and has no second-moment limit: its bias kept "
        + f"{[r for r in table if r['criterion'] == 'grasp (signed)'][-1]['bias kept']:.0%}.")
    return result(
        claim="The NTK of a network pruned at initialisation with its weights KEPT is the Graphon-NTK of its "
              "connectivity and weight graphons: for Random and Magnitude pruning (population limits in closed "
              "form) finite networks converge to it and reject the fresh-weight limit (Magnitude: 5x off). For "
              "data-driven criteria the block estimate from the network itself removes most of the fresh-weight "
              "error but not all of it: the second-moment limit holds only where the kept weights are "
              "sign-symmetric given the neuron types and those types are resolved.",
        measured=measured,
        criterion=f"Random and Magnitude: max |z| of the mean over {draws[0]} networks against the closed-form kept "
                  f"limit < {Z_LIMIT} at every width, and RMS relative error x sqrt(n) grows at most 1.6x over the "
                  f"widths (no floor); the first-layer Gaussian closure alone: relative bias of the mean kernel "
                  f"< {CLOSURE_BIAS:.0%}. The data-driven criteria (SNIP, GraSP, SynFlow) are measured and reported, "
                  f"not asserted: no population limit is known for them here. Negative controls (same z statistic): "
                  f"the magnitude limit x {planted} and every fresh-weight limit more than 10 % off must give "
                  f"max |z| > {Z_LIMIT}.",
        passed=real_ok and rejected,
        table=table,
        figures=figures,
        negative_control={"what": f"the closed-form Magnitude limit scaled by {planted}, and the fresh-weight "
                                  "Graphon-NTK (weights re-drawn, M = W) of every criterion where it is more "
                                  "than 10 % off, each tested by the same paired z statistic",
                          "measured": {k: float(v) for k, v in controls.items()},
                          "passed": not rejected},
        closure={"width": width, "networks": many, "max_abs_z": z_closure, "relative_bias": bias_closure})


def _figure(widths, curves, out_dir):
    panel = one_panel_figure()
    if panel is None:
        return []
    fig, ax, colours = panel
    for k, (name, errors) in enumerate(curves.items()):
        ax.loglog(widths, errors, marker="o", color=colours[k % 10], label=name)
    reference = np.asarray(widths, dtype=float)
    first = next(iter(curves.values()))[0]
    ax.loglog(reference, first * (reference / reference[0]) ** -0.5, "k--", label="n^-1/2")
    return finish_figure(fig, ax, out_dir, "kept_weights", xlabel="width n",
                         ylabel="RMS relative error of J J^T vs kept limit",
                         title=f"Kept weights, density {DENSITY}, d = {D}: single networks", ticks=widths)


if __name__ == "__main__":
    main(run, "Kept weights: the NTK of networks pruned at initialisation")
