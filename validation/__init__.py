"""Validation studies: each module reproduces one claim of the theory.

Every study module exposes ``run(quick: bool, seed: int, out_dir) -> dict`` returning a
JSON-serialisable record with the keys ``claim`` (what the theory says), ``measured`` (the figures),
``criterion`` (the PASS/FAIL rule, stated before the run), ``passed`` (bool), ``table`` (list of row
dicts), optionally ``tables`` (title -> list of row dicts, for parts whose columns differ),
``negative_control`` (the planted wrong answer, see below) and ``figures`` (file names written under
``out_dir``). ``graphon-ops validate`` runs them all
and writes ``report.md`` and ``results.json``; each module also runs alone
(``python validation/<name>.py``).
"""

#: Study modules in report order (module name -> one-line title).
STUDIES = {
    "nystrom_convergence": "Quadrature and Nystrom convergence of operator spectra",
    "cut_norm_rate": "W-random masks converge to W in cut norm at rate n^-1/2",
    "pruning_limits": "Pruning masks converge to their factorised-saliency limit graphons",
    "feature_selection": "Implicit feature selection of SNIP/GraSP (theory setting and digits)",
    "ntk_convergence": "Empirical NTK of sparse finite networks converges to the Graphon-NTK",
    "first_layer_regimes": "First-layer regimes at small input dimension: patterns vs mean-field",
    "kept_weights": "Networks pruned at initialisation keep their weights: the kept-weight Graphon-NTK",
    "lazy_training": "Trained sparse networks follow the kernel prediction as the width grows",
    "generalization": "Which kernel quantity explains the test error of trained sparse networks",
    "path_density": "Path counts converge to path densities; the linear-network identity",
    "universal_approximation": "Universal approximation on the active coordinates: the condition alpha n p^k",
    "alignment_topology": "Topology versus kernel alignment and generalisation bound",
}
