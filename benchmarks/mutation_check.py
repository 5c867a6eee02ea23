"""Mutation check: one-line bugs planted in the numerical core must each make the test suite fail.

Run by hand from the repository root: ``python benchmarks/mutation_check.py`` (a few minutes); results go to
``benchmarks/results/mutations.txt``. Each mutation replaces one exact line fragment, runs the tests that
guard that code (``pytest -x -q``), records KILLED (a test failed) or SURVIVED, and restores the file,
also on Ctrl-C. A SURVIVED line is a hole in the suite: add the test that kills it.

Do not run it while editing the package: it rewrites source files for the duration of each test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from timing import write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (name, file, exact fragment, replacement, tests that guard it)
MUTATIONS = [
    ("Cholesky certificate without its rounding margin", "graphon_ops/cutnorm.py",
     "margin = 2.0 * (gram.shape[0] + terms)", "margin = 0.0 * (gram.shape[0] + terms)", ["tests/test_cutnorm.py"]),
    ("SDP upper bound 1 % too small", "graphon_ops/cutnorm.py",
     "sdp_upper = certificate / 4.0 / scale", "sdp_upper = 0.99 * certificate / 4.0 / scale",
     ["tests/test_cutnorm.py"]),
    ("entrywise upper bound 1 % too small", "graphon_ops/cutnorm.py",
     "entrywise_upper = max(float(A[A > 0].sum()), float(-A[A < 0].sum())) / scale",
     "entrywise_upper = 0.99 * max(float(A[A > 0].sum()), float(-A[A < 0].sum())) / scale",
     ["tests/test_cutnorm.py"]),
    ("spectral upper bound 1 % too small", "graphon_ops/cutnorm.py",
     "spectral_upper = _certified_spectral_norm(A, spectral_estimate * math.sqrt(scale)) / math.sqrt(scale)",
     "spectral_upper = 0.99 * _certified_spectral_norm(A, spectral_estimate * math.sqrt(scale)) / math.sqrt(scale)",
     ["tests/test_cutnorm.py"]),
    ("graphon block kernel without its quadrature error", "graphon_ops/cutnorm.py",
     "deviation + quadrature_error, quadrature_error)", "deviation, quadrature_error)", ["tests/test_cutnorm.py"]),
    ("cut distance lower bound ignores the quadrature error", "graphon_ops/cutnorm.py",
     "lost = first.quadrature_error + second.quadrature_error", "lost = 0.0", ["tests/test_cutnorm.py"]),
    ("density integrates columns with the row rule", "graphon_ops/graphon.py",
     '        rv = rule if rule is not None else self.default_rule("col")\n        return float(',
     '        rv = rule if rule is not None else self.default_rule("row")\n        return float(',
     ["tests/test_graphon.py", "tests/test_cutnorm.py"]),
    ("identity activation takes the mean-field shortcut under degree normalisation", "graphon_ops/ntk.py",
     'if first_layer == "mean-field" or (linear and normalization != "degree"):',
     'if first_layer == "mean-field" or linear:', ["tests/test_ntk.py"]),
    ("kernel complexity drops the ridge from the trace", "graphon_ops/alignment.py",
     "return float(np.sum(Y * solved)), float(np.trace(A)), y_exp",
     "return float(np.sum(Y * solved)), float(np.trace(np.ldexp(K, -k_exp))), y_exp", ["tests/test_alignment.py"]),
    ("GraSP keeps the largest scores", "graphon_ops/pruning/criteria.py",
     '"grasp": "smallest"', '"grasp": "largest"', ["tests/test_pruning_criteria.py"]),
    ("kept count truncates instead of rounding", "graphon_ops/pruning/criteria.py",
     "return int(min(size, max(1, round(density * size))))", "return int(min(size, max(1, int(density * size))))",
     ["tests/test_pruning_criteria.py"]),
    ("Graphon-NTK error estimate ignores the bisected grid", "graphon_ops/ntk.py",
     "for other in (lobatto, finer))", "for other in (lobatto,))", ["tests/test_ntk.py", "tests/test_adaptive.py"]),
    ("readout scaled by sigma_w instead of its square", "graphon_ops/ntk.py",
     "K = (sigma_w ** 2 * rule.weights)[None, :]", "K = (sigma_w * rule.weights)[None, :]",
     ["tests/test_ntk.py", "tests/test_ntk_kept_weights.py"]),
    ("density normalisation forgets the layer density", "graphon_ops/ntk.py",
     "return sigma_w ** 2 / density * matrix", "return sigma_w ** 2 * matrix", ["tests/test_ntk.py"]),
    ("adaptive panel estimate without the Lobatto L_m comparison", "graphon_ops/adaptive.py",
     "error = np.maximum(np.abs(G - U), np.abs(G - L))", "error = np.abs(G - U)", ["tests/test_adaptive.py"]),
    ("centred alignment leaves the target kernel uncentred", "graphon_ops/alignment.py",
     "K, T = _center(K), _center(T)", "K, T = _center(K), T", ["tests/test_alignment.py"]),
    ("grid positions at the left ends of their cells", "graphon_ops/sampling.py",
     "row_positions = (np.arange(n_out) + 0.5) / n_out", "row_positions = np.arange(n_out) / n_out",
     ["tests/test_sampling.py"]),
    ("tanh derivative sech^2 missing its square", "graphon_ops/activations.py",
     "return 4.0 * decay / (1.0 + decay) ** 2", "return 4.0 * decay / (1.0 + decay)", ["tests/test_activations.py"]),
    ("discrete-time predictions use the flow's factor", "graphon_ops/predict.py",
     "        if not self.discrete_time:\n            return -self.rates",
     "        if True:\n            return -self.rates", ["tests/test_predict.py"]),
]


def run_one(name, path, old, new, tests) -> tuple[str, float]:
    full = os.path.join(ROOT, path)
    with open(full) as handle:
        original = handle.read()
    if original.count(old) != 1:
        return f"NOT APPLIED (fragment found {original.count(old)} times)", 0.0
    start = time.perf_counter()
    try:
        with open(full, "w") as handle:
            handle.write(original.replace(old, new))
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=ROOT, capture_output=True, text=True)
    finally:
        with open(full, "w") as handle:
            handle.write(original)
    return ("KILLED" if done.returncode != 0 else "SURVIVED"), time.perf_counter() - start


def main() -> None:
    lines = [f"# mutation_check.py, {time.strftime('%Y-%m-%d %H:%M:%S')}: {len(MUTATIONS)} one-line mutations"]
    counts = {}
    for name, path, old, new, tests in MUTATIONS:
        verdict, seconds = run_one(name, path, old, new, tests)
        counts[verdict.split()[0]] = counts.get(verdict.split()[0], 0) + 1
        lines.append(f"{verdict:9s} {seconds:6.1f} s  {path}: {name}")
        print(lines[-1], flush=True)
    lines.append("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    write_results("mutations", lines)


if __name__ == "__main__":
    main()
