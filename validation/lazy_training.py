"""Lazy training: trained finite sparse networks follow the kernel prediction, closer as the width grows.

Weights are KEPT after pruning in every network of this study (the network pruning really produces), and
training starts from them.

Setting. ReLU MLPs [d, n, n, 1] (d = 8, sigma_w = sqrt 2, sigma_b = 0.1, normalisation "none") pruned
layer by layer to density 0.2 (readout dense) by Random pruning and by SNIP (its batch is the training
set), trained by full-batch gradient descent on ||f - y||^2 / (2N) (``graphon_ops.pruning.train_mse``,
every raw weight and bias, masks fixed) on 24 unit-scale inputs with a smooth target, for 200 steps of
size eta = lambda_max(K) / (2N) -- half the largest stable step. The test outputs on 16 other inputs after
10, 50 and 200 steps are compared with ``graphon_ops.predict.gradient_descent_mse(K, y, eta,
discrete_time=True)`` started from the network's own initial outputs: the outputs of the linearised
network after the same steps (the flow, continuous time, would leave a deterministic floor of about
u/(2e) per mode, u = eta lambda/N; ``docs/theory/predictions.rst``).

Asserted, for each reference kernel K that the theory says the network follows:
- Random masks against the closed-form Graphon-NTK (W = M = 0.2: random pruning keeps weights whose law
  is the initial one, so kept and re-drawn weights have the same limit);
- SNIP masks against their own empirical NTK at initialisation (J Jᵀ of the pruned network, kept weights):
  lazy training proper.
Criterion (both): the RMS test-output deviation times sqrt(n) grows at most GROWTH_LIMIT-fold from the
smallest to the largest width (a floor makes it grow like sqrt(n): sqrt 8 = 2.8-fold over the quick
widths), and the mean deviation over the networks at the largest width is zero within a t-test
(max |t| over the test outputs and times below the Bonferroni t quantile of family-wise level 1 %).

Reported: SNIP against the Graphon-NTK of its block-estimated limit (``PrunedNetwork.limit``), where the
kept-weight limit of SNIP is known to be biased at d = 8 (validation study kept_weights).

Negative control: the Random networks against the Graphon-NTK with the mean-field first layer (the
kernel of the other first-layer regime, wrong at d = 8), by the same criterion; it must be rejected.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.stats

from graphon_ops.network import GraphonNetwork
from graphon_ops.predict import gradient_descent_mse
from graphon_ops.pruning import MLP, limit_graphon, prune_network, train_mse
from graphon_ops.validation._common import finish_figure, fit_loglog_slope, main, one_panel_figure, result
from graphon_ops.validation.ntk_convergence import test_inputs

SETTINGS = dict(activation="relu", sigma_w=float(np.sqrt(2.0)), sigma_b=0.1, normalization="none")
D = 8
DENSITY = 0.2
N_TRAIN, N_TEST = 24, 16
#: Gradient steps after which the test outputs are compared (0: the shared starting point).
STEPS = (0, 10, 50, 200)
#: eta lambda_max / N: half the largest stable step.
STEP_FRACTION = 0.5
#: Largest growth of sqrt(n) x RMS deviation over the widths accepted as "no floor".
GROWTH_LIMIT = 1.5
#: Family-wise level of the t-test on the mean deviation.
LEVEL = 0.01
ASSERTED = {("random", "Graphon-NTK (closed form)"), ("snip", "own NTK at initialisation")}
PLANTED = ("random", "planted: mean-field first layer")


def task(rng):
    """Training and test inputs (unit-norm scale sqrt d, half of them sparse) and a smooth, standardised target."""
    X_train, X_test = test_inputs(rng, N_TRAIN, D), test_inputs(rng, N_TEST, D)
    y = np.sin(X_train[:, 0]) + 0.5 * X_train[:, 1] * X_train[:, 2]
    return X_train, X_test, (y - y.mean()) / y.std()


def accepts(deviations: dict, widths, networks: int) -> tuple[bool, float, float, float]:
    """The criterion: (accepted, growth of sqrt(n) x RMS, max |t| at the largest width, its threshold).

    ``deviations[width]`` is an array (networks, entries) of network minus prediction."""
    scaled = [np.sqrt(np.mean(deviations[w] ** 2)) * np.sqrt(w) for w in widths]
    growth = scaled[-1] / scaled[0]
    last = deviations[widths[-1]]
    t = np.abs(last.mean(axis=0)) / (last.std(axis=0, ddof=1) / np.sqrt(last.shape[0]))
    threshold = float(scipy.stats.t.ppf(1.0 - LEVEL / (2 * last.shape[1]), networks - 1))
    return bool(growth <= GROWTH_LIMIT and t.max() < threshold), float(growth), float(t.max()), threshold


def _deviation(predict_fn, k_test_train, trained) -> np.ndarray:
    """Test outputs of the trained network minus the prediction, at the steps after 0, flattened."""
    _, predicted = predict_fn(t=list(STEPS), fx_train_0=trained.fx_train[0], fx_test_0=trained.fx_test[0],
                              k_test_train=k_test_train)
    return (trained.fx_test - predicted)[1:].ravel()


def _prune(net, method, X_train, y, rng):
    with warnings.catch_warnings():  # first-layer neurons without inputs are expected at d = 8, density 0.2
        warnings.filterwarnings("ignore", "pruning left parts of the network disconnected")
        return prune_network(net, X_train if method == "snip" else None, y if method == "snip" else None,
                             method, DENSITY, scope="layerwise", seed=rng)


def run(quick: bool = True, seed: int = 0, out_dir: str = "validation_out") -> dict:
    rng = np.random.default_rng(seed)
    X_train, X_test, y = task(rng)
    X = np.vstack([X_train, X_test])
    widths = [128, 256, 512, 1024] if quick else [128, 256, 512, 1024, 2048, 4096]
    networks = {"random": 8, "snip": 6} if quick else {"random": 24, "snip": 16}

    W = limit_graphon("random", DENSITY)
    limits = {"Graphon-NTK (closed form)": GraphonNetwork([W, W], weights=[W, W], **SETTINGS).kernels(X).ntk,
              PLANTED[1]: GraphonNetwork([W, W], weights=[W, W], **SETTINGS)
              .kernels(X, first_layer="mean-field").ntk}
    eta_random = STEP_FRACTION * N_TRAIN / np.linalg.eigvalsh(limits["Graphon-NTK (closed form)"][:N_TRAIN, :N_TRAIN])[-1]
    fixed = {name: gradient_descent_mse(K[:N_TRAIN, :N_TRAIN], y[:, None], eta_random, discrete_time=True)
             for name, K in limits.items()}

    deviations: dict = {}
    for width in widths:
        blocks = max(2, int(round(np.sqrt(width) / 2)))
        for method in ("random", "snip"):
            for _ in range(networks[method]):
                pruned = _prune(MLP([D, width, width, 1], seed=rng, **SETTINGS), method, X_train, y, rng)
                if method == "random":
                    trained = train_mse(pruned.network, X_train, y, learning_rate=eta_random, times=STEPS,
                                        X_test=X_test)
                    for name, K in limits.items():
                        deviations.setdefault((method, name), {}).setdefault(width, []).append(
                            _deviation(fixed[name], K[N_TRAIN:, :N_TRAIN], trained))
                    continue
                kernels = {"own NTK at initialisation": pruned.empirical_ntk(X),
                           "Graphon-NTK (block estimate)": pruned.limit(blocks).kernels(X).ntk}
                own = kernels["own NTK at initialisation"][:N_TRAIN, :N_TRAIN]
                eta = STEP_FRACTION * N_TRAIN / np.linalg.eigvalsh(own)[-1]
                trained = train_mse(pruned.network, X_train, y, learning_rate=eta, times=STEPS, X_test=X_test)
                for name, K in kernels.items():
                    predict_fn = gradient_descent_mse(K[:N_TRAIN, :N_TRAIN], y[:, None], eta, discrete_time=True)
                    deviations.setdefault((method, name), {}).setdefault(width, []).append(
                        _deviation(predict_fn, K[N_TRAIN:, :N_TRAIN], trained))

    table, verdicts, curves = [], {}, {}
    for (method, name), by_width in deviations.items():
        by_width = {w: np.stack(v) for w, v in by_width.items()}
        rms = [float(np.sqrt(np.mean(by_width[w] ** 2))) for w in widths]
        slope, slope_error = fit_loglog_slope(widths, rms)
        ok, growth, t_max, threshold = accepts(by_width, widths, networks[method])
        verdicts[(method, name)] = dict(ok=ok, growth=growth, t=t_max, threshold=threshold, slope=slope,
                                        slope_error=slope_error)
        curves[f"{method}: {name}"] = rms
        role = ("negative control" if (method, name) == PLANTED else
                "asserted" if (method, name) in ASSERTED else "reported")
        for w, r in zip(widths, rms):
            table.append({"pruning": method, "reference kernel": name, "role": role, "width": w,
                          "networks": networks[method], "RMS deviation": r, "RMS x sqrt(n)": r * np.sqrt(w)})

    real_ok = all(verdicts[key]["ok"] for key in ASSERTED)
    planted = verdicts[PLANTED]
    rejected = not planted["ok"]
    estimate = verdicts[("snip", "Graphon-NTK (block estimate)")]

    def describe(key):
        v = verdicts[key]
        return (f"{key[0]} vs {key[1]}: slope {v['slope']:.2f} +- {v['slope_error']:.2f}, sqrt(n) x RMS grows "
                f"{v['growth']:.2f}x, max |t| {v['t']:.1f} (threshold {v['threshold']:.1f})")

    measured = ("; ".join(describe(key) for key in sorted(ASSERTED))
                + f". Reported: {describe(('snip', 'Graphon-NTK (block estimate)'))}"
                + (" -- contrary evidence: the SNIP network does not follow the Graphon-NTK of its block-estimated "
                   "limit, whose kept-weight second moments are biased at d = 8 (study kept_weights)"
                   if not estimate["ok"] else "")
                + f". Negative control: {describe(PLANTED)}.")
    return result(
        claim="A sparse network trained by gradient descent from its initialisation (weights kept after pruning) "
              "follows the kernel prediction: its test outputs approach those of the linearised network after the "
              "same steps at rate n^-1/2 -- for Random masks with the Graphon-NTK of the limit, for SNIP masks "
              "with the network's own NTK at initialisation. The block-estimated Graphon-NTK of SNIP is a "
              "separate, weaker claim, reported here.",
        measured=measured,
        criterion=f"For Random vs its closed-form Graphon-NTK and SNIP vs its own initial NTK: sqrt(n) x RMS "
                  f"test-output deviation (over {N_TEST} test inputs and steps {', '.join(map(str, STEPS[1:]))}) "
                  f"grows at most {GROWTH_LIMIT}x from width {widths[0]} to {widths[-1]} (a floor grows "
                  f"{np.sqrt(widths[-1] / widths[0]):.1f}x), and at width {widths[-1]} the mean deviation over "
                  f"the networks passes a t-test (max |t| below the Bonferroni quantile, family-wise level "
                  f"{LEVEL:.0%}). Negative control: the Random networks against the Graphon-NTK with the "
                  f"mean-field first layer must fail the same criterion.",
        passed=real_ok and rejected,
        table=table,
        figures=_figure(widths, curves, out_dir),
        negative_control={"what": "Random networks compared with the Graphon-NTK of the other first-layer regime "
                                  "(mean-field instead of patterns, wrong at d = 8), by the same criterion",
                          "measured": {"sqrt(n) x RMS growth": planted["growth"], "max |t|": planted["t"],
                                       "t threshold": planted["threshold"]},
                          "passed": not rejected})


def _figure(widths, curves, out_dir):
    panel = one_panel_figure()
    if panel is None:
        return []
    fig, ax, colours = panel
    for k, (name, rms) in enumerate(curves.items()):
        style = "--" if "planted" in name else "-"
        ax.loglog(widths, rms, style, marker="o", color=colours[k], label=name)
    reference = np.asarray(widths, dtype=float)
    first = next(iter(curves.values()))[0]
    ax.loglog(reference, first * (reference / reference[0]) ** -0.5, "k:", label="n^-1/2")
    return finish_figure(fig, ax, out_dir, "lazy_training", xlabel="width n",
                         ylabel="RMS test-output deviation from prediction",
                         title=f"Lazy training, density {DENSITY}, d = {D}, kept weights", ticks=widths)


if __name__ == "__main__":
    main(run, "Lazy training of sparse networks against the kernel prediction")
