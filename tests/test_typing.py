"""The package's annotations are consistent: mypy finds no error in graphon_ops/ (configured in pyproject.toml)."""

import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("mypy")

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mypy_is_clean_and_the_package_ships_py_typed():
    assert (ROOT / "graphon_ops" / "py.typed").exists()
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "graphon_ops"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
