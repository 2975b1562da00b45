"""The folders are the architecture: imports point down the layers, never up (import-linter's
layers contract in pyproject.toml), and ``import chromepredict`` stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_imports_point_down_the_layers():
    lint = pytest.importorskip("importlinter.cli")
    assert lint.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract can fail: a copy of the package whose reading layer imports a model is refused."""
    pytest.importorskip("importlinter.cli")
    import shutil

    copy = tmp_path / "chromepredict"
    shutil.copytree(
        ROOT / "chromepredict", copy, ignore=shutil.ignore_patterns("pretrained", "data", "__pycache__")
    )
    (copy / "io" / "upward.py").write_text("from chromepredict.models import gate\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    assert result.returncode != 0
    assert "chromepredict.io.upward -> chromepredict.models.gate" in result.stdout
