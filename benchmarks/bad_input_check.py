"""Bad-input check: each named repro of bad or extreme input must end in a ValueError (or a finite result) quickly.

Run by hand from the repository root: ``python benchmarks/bad_input_check.py`` (about two minutes); results go to
``benchmarks/results/bad_input.txt``. Each case runs in its own process with an address-space cap (8 GiB)
and a wall-clock limit (60 s), so that a regression shows up as MemoryError/KILLED/TIMEOUT in the table
instead of taking the machine down. A case passes with a ValueError (``VALUE ERROR``) or a result whose
numbers are all finite (``FINITE``); anything else is a hole to close. The fuzz tests
(``tests/test_fuzz.py``) pin the same inputs inside the suite; this script adds the time and memory
each refusal takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from timing import write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = 60
ADDRESS_SPACE = 8 * 2**30

SETUP = """
import math, numpy as np, scipy.sparse, graphon_ops as go
from graphon_ops import predict, pruning
from graphon_ops.pruning import MLP
X = np.random.default_rng(0).normal(size=(4, 3))
"""

#: (issue item, what, Python statement evaluated after SETUP; its value is the result)
CASES = [
    # 6: sizes estimated before allocating
    ("6", "graphon_ntk results of 10**6 inputs", "go.graphon_ntk(np.zeros((10**6, 2)), [0.5])"),
    ("6", "graphon_ntk max_patterns 10**9", "go.graphon_ntk(np.eye(40), [0.3], max_patterns=10**9)"),
    ("6", "graphon_ntk n_samples 10**12", "go.graphon_ntk(np.eye(40), [0.3], first_layer='patterns', "
                                         "n_samples=10**12, max_patterns=2)"),
    ("6", "graphon_ntk hermite_order 10**9", "go.graphon_ntk(X, [0.5], activation='tanh', hermite_order=10**9)"),
    ("6", "graphon_ntk on a 10**6-node rule", "go.graphon_ntk(X, ['u*v', 'u*v'], rule=go.midpoint(10**6))"),
    ("6", "empirical_ntk of a 10**5-wide network", "go.empirical_ntk(X[:, :2], [np.ones((10**5, 2), np.uint8), "
                                                   "scipy.sparse.eye_array(10**5, format='csr', dtype=np.uint8)])"),
    ("6", "MLP widths 10**6 x 10**6", "MLP([10**6, 10**6, 1])"),
    ("6", "gauss_legendre(10**5)", "go.gauss_legendre(10**5)"),
    ("6", "midpoint(10**9)", "go.midpoint(10**9)"),
    ("6", "trapezoid(10**9)", "go.trapezoid(10**9)"),
    ("6", "Graphon.on_grid 10**6 x 10**6", "go.graphon('u*v').on_grid(np.zeros(10**6), np.zeros(10**6))"),
    ("6", "estimate_graphon with 10**4 blocks", "pruning.estimate_graphon(np.ones((10**4, 10**4), np.uint8), "
                                                "blocks=10**4)"),
    ("6", "width_sweep to width 10**7", "pruning.width_sweep('random', widths=(10**7,))"),
    ("6", "plot_graphon at resolution 10**6", "pruning.plot_graphon(go.graphon('u*v'), resolution=10**6)"),
    ("6", "kernel_spectrum of a 10**5 kernel (its copy)", "go.kernel_spectrum(np.lib.stride_tricks.as_strided("
                                                         "np.zeros(1), (10**5, 10**5), (0, 0)))"),
    ("6", "cut_norm_exact on 24 x 10**5", "go.cut_norm_exact(np.lib.stride_tricks.as_strided("
                                          "np.ones(1), (24, 10**5), (0, 0)))"),
    # 7: overflow
    ("7", "relu inputs at 1e78", "go.graphon_ntk(X * 1e78, [0.5])"),
    ("7", "erf inputs at 1e78", "go.graphon_ntk(X * 1e78, [0.5], activation='erf')"),
    ("7", "sigma_w 1e50", "go.graphon_ntk(X, [0.5, 0.5], sigma_w=1e50)"),
    ("7", "sigma_w 1e100", "go.graphon_ntk(X, [0.5, 0.5], sigma_w=1e100)"),
    ("7", "sigma_w 1e160", "go.graphon_ntk(X, [0.5, 0.5], sigma_w=1e160)"),
    ("7", "density normalisation with W = 1e-300", "go.graphon_ntk(X, [1e-300, 0.5], normalization='density')"),
    # 8: complex, strings, huge integers, sympy infinities, rules, options, seeds, flags
    ("8", "complex inputs to graphon_ntk", "go.graphon_ntk(X + 1j, [0.5])"),
    ("8", "complex matrix to cut_norm", "go.cut_norm(np.eye(3) * (1 + 1j))"),
    ("8", "complex kernel to kernel_alignment", "go.kernel_alignment(np.eye(3) + 0j, [1.0, 2.0, 3.0])"),
    ("8", "complex inputs to an MLP", "MLP([3, 4, 1], seed=0).forward(X + 1j)"),
    ("8", "callable returning complex values", "go.graphon(lambda u, v: 0.5 + 0j * u).density()"),
    ("8", "expression with complex values", "go.graphon('sqrt(u - 2)').density()"),
    ("8", "numeric strings as inputs", "go.graphon_ntk(np.array([['1', '2']]), [0.5])"),
    ("8", "sigma_b beyond 2**64", "go.graphon_ntk(X, [0.5], sigma_b=2**70)"),
    ("8", "zoo in an expression", "go.graphon('zoo * u')"),
    ("8", "oo in an expression", "go.graphon('oo')"),
    ("8", "from_sympy density 1.5", "go.graphon('3/2').density()"),
    ("8", "QuadratureRule with a NaN weight", "go.QuadratureRule(np.array([0.5]), np.array([np.nan]), 'x', 0)"),
    ("8", "QuadratureRule with a negative weight", "go.QuadratureRule(np.array([0.2, 0.8]), np.array([-1.0, 2.0]), "
                                                   "'x', 0)"),
    ("8", "QuadratureRule with a node at 1.5", "go.QuadratureRule(np.array([1.5]), np.array([1.0]), 'x', 0)"),
    ("8", "options(dtype=int64)", "go.options(dtype=np.int64).__enter__()"),
    ("8", "options with a NaN tolerance", "go.options(symmetry_tolerance=math.nan).__enter__()"),
    ("8", "unused bad seed", "go.graphon_ntk(X, [0.5], seed='abc')"),
    ("8", "non-boolean flag", "go.sample_mask(0.5, 4, 4, sparse='yes')"),
    ("8", "default_rule(axis='bogus')", "go.graphon('u*v').default_rule(axis='bogus')"),
    # 9: exception types converted
    ("9", "cut_distance(mask, lambda u, v: 0.5)", "go.cut_distance(np.eye(3), lambda u, v: 0.5).upper"),
    ("9", "cut_distance(mask, lambda u: 0.5)", "go.cut_distance(np.eye(3), lambda u: 0.5)"),
    ("9", "density(rule=5)", "go.graphon('u*v').density(rule=5)"),
    ("9", "cut_norm of entries near 1e300", "go.cut_norm(np.array([[1e300, -1e300], [-1e300, 1e300]]), seed=0).upper"),
    ("9", "limit_graphon overflowing factor products", "go.limit_graphon('snip', 0.2, row_factor=np.array([1e300]), "
                                                      "col_factor=np.array([1e300]))"),
    ("9", "limit_graphon rule=5 with callable factors", "go.limit_graphon('snip', 0.2, row_factor=lambda u: u, "
                                                        "col_factor=lambda v: v, rule=5)"),
    ("9", "limit_graphon factor of two arguments", "go.limit_graphon('snip', 0.2, row_factor=lambda u, v: u, "
                                                   "col_factor=lambda v: v)"),
    ("9", "limit_graphon weight_scale 2**64", "go.limit_graphon('magnitude', 0.2, weight_scale=2**64).values"),
    ("9", "discretize(W, None) (the default rule)", "go.discretize(go.graphon('u*v'), None).kernel"),
    ("9", "gradient_descent_mse learning_rate 10**400", "predict.gradient_descent_mse(np.eye(2), [1.0, 2.0], "
                                                      "learning_rate=10**400)"),
    ("9", "gp_inference trace_axes a nested list", "predict.gp_inference(np.eye(2), [1.0, 2.0], trace_axes=[[1], [2, 3]])"),
    ("7", "predictions from starting outputs 1.7e308", "predict.gradient_descent_mse(np.eye(2), [1.0, 2.0])(t=0.0, "
                                                     "fx_train_0=1.7e308)"),
    ("6", "train_mse for 10**12 steps", "pruning.train_mse(MLP([2, 1], seed=0), np.ones((1, 2)), [1.0], steps=10**12)"),
    ("8", "non-boolean flag centered='no'", "go.kernel_alignment(np.eye(2), [1.0, -1.0], centered='no')"),
]

#: (issue item, what, command-line arguments after ``graphon-ops``); {dir} is a fresh temporary folder
CLI_CASES = [
    ("10", "expression 10^10^10*u", ["spectrum", "--graphon", "10^10^10*u"]),
    ("10", "expression u*9^9^9", ["spectrum", "--graphon", "u*9^9^9"]),
    ("10", "expression u*2^2^2^2^2^2", ["spectrum", "--graphon", "u*2^2^2^2^2^2"]),
    ("10", "a sum of 10**4 terms", ["spectrum", "--graphon", "+".join(["u*v/10000"] * 10**4)]),
    ("10", "--ntk-out equal to --nngp-out", ["ntk", "--data", "{dir}/x.npy", "--graphon", "0.5", "--ntk-out",
                                            "{dir}/k.npy", "--nngp-out", "{dir}/k.npy"]),
    ("10", "existing output without --force", ["ntk", "--data", "{dir}/x.npy", "--graphon", "0.5", "--ntk-out",
                                               "{dir}/x.npy"]),
    ("10", "missing output directory", ["ntk", "--data", "{dir}/x.npy", "--graphon", "0.5", "--ntk-out",
                                        "{dir}/missing/k.npy"]),
]

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
""" + SETUP + """
def finite(value):
    import dataclasses
    if isinstance(value, (int, float, np.floating, np.integer)):
        return math.isfinite(value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.all(np.isfinite(value)))
    if dataclasses.is_dataclass(value):
        return all(finite(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "details")
    return True
try:
    value = eval(sys.argv[1])
except ValueError as exc:
    print("VALUE ERROR", str(exc).splitlines()[0][:110])
except BaseException as exc:
    print("HOLE", type(exc).__name__, str(exc).splitlines()[0][:100] if str(exc) else "")
else:
    print("FINITE" if finite(value) else "HOLE non-finite", type(value).__name__)
"""


def run_case(command: list[str]) -> tuple[str, float]:
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS)
    except subprocess.TimeoutExpired:
        return f"HOLE TIMEOUT after {SECONDS} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    out = done.stdout.strip().splitlines()
    return (out[-1] if out else f"HOLE exit {done.returncode}: {done.stderr.strip()[-100:]}"), seconds


def main() -> None:
    lines = [f"# bad_input_check.py, {time.strftime('%Y-%m-%d %H:%M:%S')}: each case in its own process, "
             f"address space capped at {ADDRESS_SPACE / 2**30:.0f} GiB, {SECONDS} s limit"]
    holes = 0
    child = CHILD.format(cap=ADDRESS_SPACE)
    for item, what, statement in CASES:
        verdict, seconds = run_case([sys.executable, "-c", child, statement])
        holes += verdict.startswith("HOLE")
        lines.append(f"item {item:2s} {seconds:5.1f} s  {what}: {verdict}")
        print(lines[-1], flush=True)
    with tempfile.TemporaryDirectory() as folder:
        import numpy as np

        np.save(os.path.join(folder, "x.npy"), np.eye(3))
        for item, what, arguments in CLI_CASES:
            command = [sys.executable, "-m", "graphon_ops", *(a.format(dir=folder) for a in arguments)]
            start = time.perf_counter()
            try:
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS)
                error = done.stderr.strip().splitlines()
                one_line = len(error) == 1 and "Traceback" not in done.stderr
                verdict = (f"refused, exit {done.returncode}: {error[0][:110]}" if done.returncode != 0 and one_line
                           else f"HOLE exit {done.returncode}, {len(error)} lines of stderr")
            except subprocess.TimeoutExpired:
                verdict = f"HOLE TIMEOUT after {SECONDS} s"
            holes += verdict.startswith("HOLE")
            lines.append(f"item {item:2s} {time.perf_counter() - start:5.1f} s  CLI {what}: {verdict}")
            print(lines[-1], flush=True)
    lines.append(f"summary: {len(CASES) + len(CLI_CASES)} cases, {holes} holes")
    write_results("bad_input", lines)


if __name__ == "__main__":
    main()
