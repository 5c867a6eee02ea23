"""The ``graphon-ops`` command: validation report, Graphon-NTK, spectra and cut norms from files.

Every subcommand validates its arguments and reports a bad one in a single line
(``graphon-ops: error: ...``, exit status 2) instead of a traceback. Output files are checked before
anything is computed: their folder must exist, an existing file is replaced only with ``--force``, and
the paths printed are the files written (``.npy`` appended where :func:`numpy.save` would append it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback

import numpy as np

from . import __version__

__all__ = ["main", "parse_graphon", "load_array"]

class CommandError(ValueError):
    """A bad command-line argument, reported in one line."""


def parse_graphon(spec: str):
    """A graphon from a command-line specification.

    * ``0.3`` -> constant graphon
    * ``random:RHO`` / ``magnitude:RHO`` -> the pruning limits (constant ``RHO``)
    * ``step:FILE`` -> step graphon with the block values in FILE (.npy/.npz/.csv), equal blocks
    * anything else -> an expression in ``u`` and ``v``, :meth:`graphon_ops.Graphon.from_expression`
      (arithmetic, exp, log, sqrt, trigonometric and hyperbolic functions, erf, erfc, abs, min, max,
      sign, Heaviside, pi, E; checked token by token before sympy sees it)

    Examples
    --------
    >>> parse_graphon("0.25").density()
    0.25
    >>> round(parse_graphon("u*v").density(), 12)
    0.25
    """
    from .graphon import Graphon

    spec = spec.strip()
    try:
        value = float(spec)
    except ValueError:
        value = None
    if value is not None:
        return Graphon.constant(value)
    head, _, tail = spec.partition(":")
    if head in ("random", "magnitude") and tail:
        try:
            rho = float(tail)
        except ValueError:
            raise CommandError(f"graphon {spec!r}: density {tail!r} is not a number") from None
        from ._validation import check_density

        # both criteria keep each weight with probability rho in the limit (docs/theory/pruning.rst)
        return Graphon.constant(check_density("density", rho)).replace(metadata={"method": head})
    if head == "step" and tail:
        return Graphon.step(load_array(tail, ndim=2))
    if tail and head.isalpha() and head not in ("random", "magnitude", "step"):
        raise CommandError(f"graphon {spec!r}: unknown prefix {head!r}; the forms are a number, random:RHO, "
                           f"magnitude:RHO, step:FILE or an expression in u and v (the limits of data-driven "
                           f"criteria such as {head} need a network: graphon_ops.pruning.limit_graphon in Python)")
    return Graphon.from_expression(spec)


def load_array(path: str, *, ndim: int | None = None) -> np.ndarray:
    """Read a numeric array from ``.npy``, ``.npz`` (key ``X`` or the only array) or ``.csv``."""
    if not os.path.isfile(path):
        raise CommandError(f"file {path!r} does not exist")
    try:
        if path.endswith(".npy"):
            array = np.load(path, allow_pickle=False)
        elif path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                keys = list(data.keys())
                key = "X" if "X" in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise CommandError(f"{path!r} holds arrays {keys}: name the data 'X' or keep one array")
                array = data[key]
        elif path.endswith(".csv"):
            array = np.loadtxt(path, delimiter=",", ndmin=2)
        else:
            raise CommandError(f"{path!r}: unknown file type (use .npy, .npz or .csv)")
    except CommandError:
        raise
    except Exception as exc:  # unreadable or corrupt file: one line, not a traceback
        raise CommandError(f"cannot read {path!r}: {exc}") from None
    if ndim is not None and array.ndim != ndim:
        raise CommandError(f"{path!r} must hold a {ndim}-D array, got shape {array.shape}")
    return array


# ------------------------------------------------------------------------------------ validate
def _versions() -> dict:
    import numba
    import scipy
    import sympy

    return {"graphon_ops": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "sympy": sympy.__version__,
            "platform": platform.platform()}


def _progress(items, enabled):
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="studies", unit="study", file=sys.stderr)


#: Optional packages the studies use, and the extra that installs them.
_STUDY_EXTRAS = ("matplotlib", "sklearn", "tqdm")
_INSTALL_HINT = "python -m pip install 'graphon_ops[validation]'"


#: Terms the report uses, in the order a reader meets them.
_GLOSSARY = (
    ("graphon W(u, v)", "the limit of a layer's 0/1 mask seen as a step function on [0, 1]^2: the probability "
                        "that output neuron u keeps its connection to input v; rho is its density (mean)"),
    ("weight graphon M", "the limit second moment E[theta^2 1{kept}] of the weights pruning keeps; M = W when "
                         "the weights are re-drawn (fresh) after pruning"),
    ("kept / fresh weights", "kept: the network pruning really produces, with the weights that passed the "
                             "criterion; fresh: the same masks with weights drawn again"),
    ("cut norm", "max over sets S, T of |integral over S x T of (W1 - W2)|: the distance in which masks converge"),
    ("FSM (Factorised Saliency Model)", "a criterion's score of weight (i, j) modelled as a row factor times a "
                                        "column factor times |theta|; its limit keeps a weight when the score "
                                        "exceeds a threshold tau, solved so that the density is rho"),
    ("NNGP, NTK", "the infinite-width kernels: the covariance of the outputs at initialisation, and the tangent "
                  "kernel J J^T that drives gradient descent; Graphon-NTK: the NTK of a sparse network's limit"),
    ("patterns / mean-field", "the two first-layer limits at fixed input dimension d: averaging over which "
                              "inputs each neuron reads (exact), or replacing the pattern by its mean (exact only "
                              "as d grows)"),
    ("J", "in the data studies, the set of input coordinates that carry the target"),
    ("f0", "a network's output at initialisation; training keeps the part of it that the kernel does not fit"),
    ("c = alpha n p^k", "the expected number of hidden neurons connected to all k active coordinates"),
    ("z, t", "a mean difference divided by its standard error over independent networks; large |z| means a real "
             "difference"),
    ("SE", "standard error of a mean over independent seeds or networks"),
    ("negative control", "a planted wrong answer run through the study's own criterion; the verdict PASS needs "
                         "it rejected"),
)


def _verdict(record: dict) -> str:
    """PASS needs the claim's criterion met and, where the study plants a wrong answer, that answer rejected."""
    if record.get("skipped"):
        return "SKIP"
    control = record.get("negative_control")
    return "PASS" if record["passed"] and (control is None or not control["passed"]) else "FAIL"


def _run_study(name: str, quick: bool, seed: int, out_dir: str) -> dict:
    try:
        module = importlib.import_module(f"graphon_ops.validation.{name}")
        record = module.run(quick=quick, seed=seed, out_dir=out_dir)
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _STUDY_EXTRAS:
            raise
        return {"claim": name, "measured": f"not run: it needs {missing}", "criterion": "", "passed": False,
                "skipped": True, "table": [], "figures": [],
                "reason": f"needs the optional package {missing}: {_INSTALL_HINT}"}
    except Exception as exc:  # a broken study is a failed claim in the report, not a crash of the run
        return {"claim": name, "measured": f"the study raised {type(exc).__name__}: {exc}",
                "criterion": "the study runs to completion", "passed": False, "table": [], "figures": [],
                "error": traceback.format_exc()}
    return record


def _write_report(out_dir: str, meta: dict, records: dict) -> None:
    from .validation import STUDIES
    from .validation._common import markdown_table

    lines = ["# graphon_ops validation report", "",
             f"Mode: **{meta['mode']}**, seed {meta['seed']}, backend {meta['backend']}, "
             f"total wall time {meta['wall_time_s']:.1f} s.", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
             "## Summary", "", "| study | verdict | wall time (s) |", "|---|---|---|"]
    for name, record in records.items():
        lines.append(f"| [{name}](#{name.replace('_', '-')}) | {_verdict(record)} | "
                     f"{meta['study_times_s'][name]:.1f} |")
    lines += ["", "## Glossary", ""] + [f"- **{term}**: {meaning}" for term, meaning in _GLOSSARY]
    for name, record in records.items():
        if record.get("skipped"):
            lines += ["", f"## {name}", "", f"*{STUDIES.get(name, name)}*", "",
                      f"**Verdict: SKIP** — {record['reason']}", ""]
            continue
        control = record.get("negative_control")
        control_line = "**Negative control.** none yet: this study does not plant a wrong answer." \
            if control is None else (
                f"**Negative control.** {control['what']}. Measured: "
                + (", ".join(f"{k}: {v:.3g}" for k, v in control["measured"].items())
                   if isinstance(control["measured"], dict) else str(control["measured"]))
                + f". {'Rejected, as it must be.' if not control['passed'] else 'NOT rejected: the criterion cannot tell it from the real answer.'}")
        lines += ["", f"## {name}", "", f"*{STUDIES.get(name, name)}*", "",
                  f"**Theory.** {record['claim']}", "", f"**Measured.** {record['measured']}", "",
                  f"**Criterion.** {record['criterion']}", "", control_line, "",
                  f"**Verdict: {_verdict(record)}**", ""]
        if record.get("table"):
            lines += [markdown_table(record["table"]), ""]
        for title, rows in record.get("tables", {}).items():
            lines += [f"**{title}**", "", markdown_table(rows), ""]
        lines += [f"![{figure}]({figure})" for figure in record.get("figures", [])]
        if record.get("error"):
            lines += ["```", record["error"], "```"]
    with open(os.path.join(out_dir, "report.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _validate(args) -> int:
    from ._config import options
    from .validation import STUDIES

    names = args.only or list(STUDIES)
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        raise CommandError(f"--only: unknown study {unknown[0]!r}; known: {', '.join(STUDIES)}")
    os.makedirs(args.out, exist_ok=True)
    records, times = {}, {}
    start = time.perf_counter()
    with options(backend=args.backend):
        for name in _progress(names, not args.no_progress):
            t0 = time.perf_counter()
            records[name] = _run_study(name, args.mode == "quick", args.seed, args.out)
            times[name] = time.perf_counter() - t0
    meta = {"mode": args.mode, "seed": args.seed, "backend": args.backend, "versions": _versions(),
            "wall_time_s": time.perf_counter() - start, "study_times_s": times}
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"meta": meta, "studies": records}, fh, indent=2, default=_json_default)
    _write_report(args.out, meta, records)
    width = max(len(n) for n in names)
    print(f"\n{'study'.ljust(width)}  verdict  time (s)")
    for name in names:
        print(f"{name.ljust(width)}  {_verdict(records[name])}     {times[name]:8.1f}")
    verdicts = [_verdict(records[n]) for n in names]
    skipped = [n for n, v in zip(names, verdicts) if v == "SKIP"]
    if skipped:
        print(f"\nskipped (optional packages missing): {', '.join(skipped)}; install them with: {_INSTALL_HINT}")
    print(f"\n{verdicts.count('PASS')} passed, {verdicts.count('FAIL')} failed, {len(skipped)} skipped; report: "
          f"{os.path.join(args.out, 'report.md')}")
    return 1 if "FAIL" in verdicts else 0


# ------------------------------------------------------------------------------------ everyday commands
def _output_file(flag: str, path: str, force: bool) -> str:
    """The file an output flag names, checked before any work: ``.npy`` appended as :func:`numpy.save`
    does (so the path printed is the path written), its folder existing, and no existing file replaced
    without ``--force``."""
    if os.path.isdir(path):
        raise CommandError(f"{flag}: {path!r} is a folder, not a file")
    if not path.endswith(".npy"):
        path += ".npy"
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise CommandError(f"{flag}: folder {folder!r} does not exist; create it first")
    if os.path.isdir(path):
        raise CommandError(f"{flag}: {path!r} is a folder, not a file")
    if os.path.lexists(path) and not force:
        raise CommandError(f"{flag}: {path!r} already exists; pass --force to replace it")
    return path


def _save(path: str, array: np.ndarray, force: bool) -> None:
    """Write ``array`` to exactly ``path`` (never an existing file without ``force``, even one created since
    the check); a failed write (permissions, a full disk) is a one-line error."""
    try:
        with open(path, "wb" if force else "xb") as fh:
            np.save(fh, array)
    except FileExistsError:
        raise CommandError(f"{path!r} appeared while computing; pass --force to replace it") from None
    except OSError as exc:
        raise CommandError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def _ntk(args) -> int:
    # no cast here: graphon_ntk refuses complex or string data by name instead of dropping or parsing it
    X = load_array(args.data, ndim=2)
    graphons = [parse_graphon(spec) for spec in args.graphon]
    options = dict(activation=args.activation, sigma_w=args.sigma_w, sigma_b=args.sigma_b,
                   first_layer=args.first_layer, normalization=args.normalization, backend=args.backend)
    if args.out is not None:
        if args.ntk_out is not None or args.nngp_out is not None:
            raise CommandError("--out (a zarr store for both kernels) and --ntk-out/--nngp-out (.npy files) "
                               "exclude each other")
        return _ntk_out_of_core(X, graphons, options, args)
    for flag in ("block_size", "scheduler"):
        if getattr(args, flag) is not None:
            raise CommandError(f"--{flag.replace('_', '-')} applies to the out-of-core route: pass --out STORE.zarr")
    from .ntk import graphon_ntk

    ntk_out = _output_file("--ntk-out", args.ntk_out or "ntk.npy", args.force)
    nngp_out = _output_file("--nngp-out", args.nngp_out or os.path.join(os.path.dirname(ntk_out), "nngp.npy"),
                            args.force)
    if os.path.realpath(ntk_out) == os.path.realpath(nngp_out):
        raise CommandError(f"--ntk-out and --nngp-out name the same file {ntk_out!r}: the NNGP would overwrite "
                           f"the NTK; give two different files")
    result = graphon_ntk(X, graphons, **options)
    _save(ntk_out, result.ntk, args.force)
    _save(nngp_out, result.nngp, args.force)
    print(f"NTK ({result.ntk.shape[0]} x {result.ntk.shape[1]}) -> {ntk_out}; NNGP -> {nngp_out}")
    return 0


def _ntk_out_of_core(X, graphons, options: dict, args) -> int:
    """Both kernels block by block into a zarr store, on a local Dask scheduler or a distributed one."""
    import contextlib

    from .distributed import graphon_ntk

    block_size = 4096 if args.block_size is None else args.block_size
    if block_size < 1:
        raise CommandError(f"--block-size must be at least 1, got {block_size}")
    scheduler = args.scheduler or "threads"
    overwrite = args.overwrite or args.force
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise CommandError(f"--out: folder {os.path.dirname(args.out)!r} does not exist; create it first")
    if os.path.exists(args.out) and not overwrite:
        raise CommandError(f"--out: {args.out} already exists; pass --overwrite (or --force) to replace it")
    lazy = graphon_ntk(X, graphons, block_size=block_size, **options)
    if scheduler in ("threads", "processes", "synchronous"):
        from dask.diagnostics import ProgressBar

        with contextlib.nullcontext() if args.no_progress else ProgressBar():
            lazy.to_zarr(args.out, overwrite=overwrite, scheduler=scheduler)
    else:
        from distributed import Client, progress

        with Client(scheduler) as client:
            futures = client.compute(lazy.to_zarr(args.out, overwrite=overwrite, compute=False))
            if not args.no_progress:
                progress(futures)
            client.gather(futures)
    n = lazy.ntk.shape
    print(f"NTK and NNGP ({n[0]} x {n[1]}, blocks of {block_size}) -> {args.out} (zarr arrays 'ntk', 'nngp')")
    return 0


def _spectrum(args) -> int:
    from .operator import discretize
    from .quadrature import RULES

    if args.nodes < 1:
        raise CommandError(f"--nodes must be an integer >= 1, got {args.nodes}")
    out = None if args.out is None else _output_file("--out", args.out, args.force)
    W = parse_graphon(args.graphon)
    rule = RULES[args.rule](args.nodes)
    op = discretize(W, rule)
    try:
        values, what = op.eigenvalues(args.k), "eigenvalues"
    except ValueError:
        values, what = op.singular_values(args.k), "singular values"
    print(f"{what} of T_W ({args.rule}, {args.nodes} nodes):")
    for i, value in enumerate(values, 1):
        print(f"{i:4d}  {value: .16e}")
    if out is not None:
        _save(out, values, args.force)
        print(f"{what} -> {out}")
    return 0


def _cutnorm(args) -> int:
    from .cutnorm import cut_distance

    mask = load_array(args.mask, ndim=2)
    W = parse_graphon(args.graphon)
    result = cut_distance(mask, W, labelled=not args.unlabelled, seed=args.seed)
    kind = "unlabelled" if args.unlabelled else "labelled"
    print(f"{kind} cut distance in [{result.lower:.6g}, {result.upper:.6g}]")
    return 0


def _studies() -> dict:
    from .validation import STUDIES

    return STUDIES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphon-ops", description="Graphon operators of pruned neural networks: validation of the "
                                        "theory, Graphon-NTK, spectra and cut norms.")
    parser.add_argument("--version", action="version", version=f"graphon_ops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    val = sub.add_parser("validate", help="run the validation studies and write report.md, results.json, figures",
                         description="Run the studies in graphon_ops.validation; exit status 1 if a claim fails. "
                                     "Studies: " + "; ".join(f"{name} ({title})" for name, title in _studies().items()))
    mode = val.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="small sizes, under 3 minutes on 2 cores (default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="paper-scale sizes")
    val.set_defaults(mode="quick")
    val.add_argument("--out", default="validation_out", metavar="DIR", help="output folder (default: %(default)s)")
    val.add_argument("--only", nargs="+", metavar="NAME", help="run only these studies")
    val.add_argument("--seed", type=int, default=0, help="seed of every study (default: %(default)s)")
    val.add_argument("--backend", choices=["cpu", "gpu"], default="cpu", help="array backend (default: cpu)")
    val.add_argument("--no-progress", action="store_true", help="no progress bar")
    val.set_defaults(handler=_validate)

    graphon_help = ("graphon: a number (constant), random:RHO, magnitude:RHO, step:FILE, or an expression "
                    "in u and v such as 'exp(-(u-v)^2)'")
    ntk = sub.add_parser("ntk", help="Graphon-NTK and NNGP of a data file, written as .npy",
                         description="Compute the Graphon-NTK/NNGP of the inputs in DATA for a stack of layer graphons.")
    ntk.add_argument("--data", required=True, metavar="FILE", help="inputs X (N x d): .npy, .npz or .csv")
    ntk.add_argument("--graphon", required=True, action="append", metavar="GRAPHON",
                     help=graphon_help + "; repeat once per hidden layer, first layer first")
    ntk.add_argument("--activation", default="relu", help="relu, erf, identity, tanh, gelu, sigmoid")
    ntk.add_argument("--sigma-w", type=float, default=1.0)
    ntk.add_argument("--sigma-b", type=float, default=0.0)
    ntk.add_argument("--first-layer", choices=["patterns", "mean-field"], default="patterns")
    ntk.add_argument("--normalization", choices=["none", "density", "degree"], default="none")
    ntk.add_argument("--backend", choices=["cpu", "gpu", "auto"], default="cpu")
    ntk.add_argument("--ntk-out", metavar="FILE", help="in-memory route: the NTK as .npy (default: ntk.npy)")
    ntk.add_argument("--nngp-out", metavar="FILE",
                     help="in-memory route: the NNGP as .npy (default: nngp.npy beside --ntk-out)")
    ntk.add_argument("--out", metavar="STORE.zarr",
                     help="out-of-core route: both kernels block by block into this zarr store with Dask (needs "
                          "the extra: pip install 'graphon_ops[distributed]')")
    ntk.add_argument("--block-size", type=int, metavar="B", help="out-of-core blocks of B x B pairs (default: 4096)")
    ntk.add_argument("--scheduler", metavar="ADDRESS",
                     help="out-of-core: 'threads' (default), 'processes', 'synchronous', or the address of a "
                          "dask.distributed scheduler such as tcp://host:8786")
    ntk.add_argument("--overwrite", action="store_true", help="out-of-core: replace an existing store")
    ntk.add_argument("--force", action="store_true",
                     help="replace existing output files (checked before computing; without it an existing file "
                          "is an error); for the out-of-core store the same as --overwrite")
    ntk.add_argument("--no-progress", action="store_true", help="no progress bar")
    ntk.set_defaults(handler=_ntk)

    spec = sub.add_parser("spectrum", help="eigenvalues (or singular values) of a graphon's operator",
                          description="Nystrom spectrum of T_W; singular values when W is not symmetric.")
    spec.add_argument("--graphon", required=True, metavar="GRAPHON", help=graphon_help)
    spec.add_argument("--rule", default="gauss_legendre",
                      choices=["gauss_legendre", "clenshaw_curtis", "midpoint", "trapezoid"])
    spec.add_argument("--nodes", type=int, default=32, help="quadrature nodes (default: %(default)s)")
    spec.add_argument("--k", type=int, default=10, help="how many values (default: %(default)s)")
    spec.add_argument("--out", metavar="FILE", help="also save the values as .npy")
    spec.add_argument("--force", action="store_true", help="replace an existing --out file")
    spec.set_defaults(handler=_spectrum)

    cut = sub.add_parser("cutnorm", help="certified cut distance between a mask file and a graphon",
                         description="Bracket [lower, upper] of the cut distance of a 0/1 mask to a graphon.")
    cut.add_argument("--mask", required=True, metavar="FILE", help="0/1 mask (rows in latent order)")
    cut.add_argument("--graphon", required=True, metavar="GRAPHON", help=graphon_help)
    cut.add_argument("--unlabelled", action="store_true", help="infimum over relabellings")
    cut.add_argument("--seed", type=int, default=0)
    cut.set_defaults(handler=_cutnorm)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``graphon-ops``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (CommandError, ValueError) as exc:
        print(f"graphon-ops {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional extra that is not installed: say which and how
        if "pip install" not in str(exc):
            raise
        print(f"graphon-ops {args.command}: error: {exc}", file=sys.stderr)
        return 2
