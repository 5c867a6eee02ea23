"""The graphon-ops command: a validation smoke run, everyday subcommands, one-line errors."""

import json

import numpy as np
import pytest

from graphon_ops.cli import main, parse_graphon


def test_validate_smoke(tmp_path, capsys):
    status = main(["validate", "--quick", "--only", "nystrom_convergence", "--out", str(tmp_path),
                   "--no-progress"])
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["meta"]["seed"] == 0 and results["studies"]["nystrom_convergence"]["passed"] is True
    report = (tmp_path / "report.md").read_text()
    assert "Verdict: PASS" in report and "Criterion" in report
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_validate_unknown_study(tmp_path, capsys):
    assert main(["validate", "--only", "nonsense", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown study 'nonsense'" in err


def test_spectrum(capsys, tmp_path):
    out = tmp_path / "values.npy"
    assert main(["spectrum", "--graphon", "0.5", "--k", "2", "--out", str(out)]) == 0
    values = np.load(out)
    # constant graphon: one eigenvalue 0.5, the rest rounding (32 nodes * eps)
    assert abs(values[0] - 0.5) < 1e-14 and abs(values[1]) < 1e-14


def test_spectrum_of_a_non_symmetric_graphon_gives_singular_values(capsys):
    assert main(["spectrum", "--graphon", "u*(1-v)", "--k", "1"]) == 0
    assert "singular values" in capsys.readouterr().out


@pytest.mark.parametrize("spec, message", [
    ("__import__('os').system('true')", "unexpected character"),
    ("u.real", "unexpected character"),
    ("lambda", "unknown name 'lambda'"),
    ("u +", "does not parse"),
    ("u + v", "values in \\[0, 1\\]"),
    ("random:1.5", "density must be a density in"),
    ("step:missing.npy", "does not exist"),
])
def test_bad_graphon_specs_are_one_line_errors(spec, message, capsys):
    assert main(["spectrum", "--graphon", spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert pytest.importorskip("re").search(message, err)


def test_parse_graphon_forms(tmp_path):
    assert parse_graphon("magnitude:0.2").density() == 0.2
    path = tmp_path / "blocks.csv"
    np.savetxt(path, [[1.0, 0.0], [0.0, 1.0]], delimiter=",")
    assert parse_graphon(f"step:{path}").density() == 0.5
    # sympy integrates exactly: int int exp(-(u-v)^2) = sqrt(pi) erf(1) + e^{-1} - 1
    W = parse_graphon("exp(-(u-v)^2)")
    assert abs(W.density() - (np.sqrt(np.pi) * 0.8427007929497149 + np.exp(-1) - 1)) < 1e-14


def test_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "x.npy"
    bad.write_text("not an array")
    assert main(["ntk", "--data", str(bad), "--graphon", "0.5"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_help_is_complete(capsys):
    for command in ("validate", "ntk", "spectrum", "cutnorm"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--only" in out and "--graphon" in out and "--mask" in out
    assert "universal_approximation" in out and "lazy_training" in out        # validate --help lists the studies
    assert main(["spectrum", "--graphon", "0.5", "--nodes", "0"]) == 2
    assert "--nodes must be an integer >= 1, got 0" in capsys.readouterr().err


def test_ntk_out_of_core_route_writes_zarr_and_guards_the_store(tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    pytest.importorskip("dask.array")
    from graphon_ops import graphon_ntk

    X = np.random.default_rng(0).standard_normal((30, 3))
    np.save(tmp_path / "x.npy", X)
    store = tmp_path / "k.zarr"
    arguments = ["ntk", "--data", str(tmp_path / "x.npy"), "--graphon", "0.5", "--graphon", "u*v",
                 "--sigma-b", "0.1", "--out", str(store), "--block-size", "8", "--no-progress"]
    assert main(arguments) == 0
    expected = graphon_ntk(X, [0.5, parse_graphon("u*v")], sigma_b=0.1).ntk
    assert np.max(np.abs(zarr.open_group(str(store), mode="r")["ntk"][:] - expected)) < 1e-12 * np.max(expected)
    assert main(arguments) == 2 and "already exists; pass --overwrite" in capsys.readouterr().err
    assert main(arguments + ["--overwrite"]) == 0
    assert main(arguments[:-5] + ["--block-size", "8"]) == 2      # a block size without --out
    assert "out-of-core route" in capsys.readouterr().err


def test_ntk_nngp_goes_beside_the_ntk_file(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.eye(3))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    assert main(["ntk", "--data", "x.npy", "--graphon", "0.5", "--ntk-out", "elsewhere/k.npy"]) == 0
    assert (tmp_path / "elsewhere" / "nngp.npy").exists() and not (tmp_path / "nngp.npy").exists()


def _refuse_to_compute(*args, **kwargs):
    raise AssertionError("the output files must be checked before anything is computed")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("ntk_out, nngp_out", [("k.npy", "k.npy"), ("k", "k.npy"), ("k.npy", "./k.npy"),
                                               ("sub/../k.npy", "k")])
def test_ntk_refuses_one_file_for_both_kernels(ntk_out, nngp_out, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "x.npy", np.eye(3))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("graphon_ops.ntk.graphon_ntk", _refuse_to_compute)
    assert main(["ntk", "--data", "x.npy", "--graphon", "0.5", "--ntk-out", ntk_out, "--nngp-out", nngp_out]) == 2
    assert "--ntk-out and --nngp-out name the same file" in _one_line_error(capsys)
    assert not (tmp_path / "k.npy").exists()


def test_ntk_does_not_overwrite_without_force(tmp_path, monkeypatch, capsys):
    from graphon_ops import graphon_ntk

    X = np.array([[1.0, 0.0], [0.6, 0.8]])
    np.save(tmp_path / "x.npy", X)
    monkeypatch.chdir(tmp_path)
    np.save("ntk.npy", np.zeros(1))
    arguments = ["ntk", "--data", "x.npy", "--graphon", "0.5"]
    with monkeypatch.context() as patch:
        patch.setattr("graphon_ops.ntk.graphon_ntk", _refuse_to_compute)
        assert main(arguments) == 2
        assert "'ntk.npy' already exists; pass --force" in _one_line_error(capsys)
        assert np.load("ntk.npy").tolist() == [0.0] and not (tmp_path / "nngp.npy").exists()
        np.save("only_nngp.npy", np.zeros(1))
        assert main(arguments + ["--ntk-out", "fresh.npy", "--nngp-out", "only_nngp.npy"]) == 2
        assert "--nngp-out: 'only_nngp.npy' already exists" in _one_line_error(capsys)
        assert not (tmp_path / "fresh.npy").exists()
    assert main(arguments + ["--force"]) == 0
    expected = graphon_ntk(X, [0.5])
    assert np.array_equal(np.load("ntk.npy"), expected.ntk) and np.array_equal(np.load("nngp.npy"), expected.nngp)


def test_ntk_prints_the_paths_it_writes(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "x.npy", np.eye(2))
    monkeypatch.chdir(tmp_path)
    assert main(["ntk", "--data", "x.npy", "--graphon", "0.5", "--ntk-out", "kernel", "--nngp-out", "gp.bin"]) == 0
    out = capsys.readouterr().out
    # numpy.save's convention: .npy is appended to a name without it, and the message says so
    assert "-> kernel.npy;" in out and "NNGP -> gp.bin.npy" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gp.bin.npy", "kernel.npy", "x.npy"]


@pytest.mark.parametrize("command", [
    ["ntk", "--data", "x.npy", "--graphon", "0.5", "--ntk-out", "missing/k.npy"],
    ["ntk", "--data", "x.npy", "--graphon", "0.5", "--nngp-out", "missing/g.npy"],
    ["spectrum", "--graphon", "0.5", "--out", "missing/v.npy"],
])
def test_missing_output_folder_is_a_one_line_error(command, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "x.npy", np.eye(2))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("graphon_ops.ntk.graphon_ntk", _refuse_to_compute)
    assert main(command) == 2
    assert "folder 'missing' does not exist" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_spectrum_out_needs_force_to_replace(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["spectrum", "--graphon", "0.5", "--k", "1", "--out", "v"]) == 0
    assert "eigenvalues -> v.npy" in capsys.readouterr().out
    assert main(["spectrum", "--graphon", "0.25", "--k", "1", "--out", "v.npy"]) == 2
    assert "'v.npy' already exists; pass --force" in _one_line_error(capsys)
    assert abs(np.load("v.npy")[0] - 0.5) < 1e-14
    assert main(["spectrum", "--graphon", "0.25", "--k", "1", "--out", "v.npy", "--force"]) == 0
    # constant graphon c: one eigenvalue c (32 Gauss nodes: rounding of a few eps)
    assert abs(np.load("v.npy")[0] - 0.25) < 1e-14


@pytest.mark.parametrize("data, message", [(np.eye(2) * (1 + 1j), "X must be real, got complex"),
                                           (np.array([["1", "2"]]), "X must be a real numeric array")])
def test_ntk_data_is_not_cast(data, message, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "x.npy", data)
    monkeypatch.chdir(tmp_path)
    assert main(["ntk", "--data", "x.npy", "--graphon", "0.5"]) == 2
    assert message in _one_line_error(capsys)


def test_out_of_core_store_checks_its_folder_and_takes_force(tmp_path, monkeypatch, capsys):
    pytest.importorskip("zarr")
    pytest.importorskip("dask.array")
    np.save(tmp_path / "x.npy", np.eye(3))
    monkeypatch.chdir(tmp_path)
    arguments = ["ntk", "--data", "x.npy", "--graphon", "0.5", "--block-size", "2", "--no-progress", "--out"]
    assert main(arguments + ["missing/k.zarr"]) == 2
    assert "folder 'missing' does not exist" in _one_line_error(capsys)
    assert main(arguments + ["k.zarr"]) == 0
    assert main(arguments + ["k.zarr"]) == 2
    assert "already exists; pass --overwrite (or --force)" in _one_line_error(capsys)
    assert main(arguments + ["k.zarr", "--force"]) == 0
