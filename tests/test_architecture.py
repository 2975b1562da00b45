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


def test_every_option_of_every_command_has_a_rule():
    """Each command's rule table (chromepredict.cli.rules) names every option of the command, no more:
    a new option cannot be added without saying what it asks of the others."""
    import typer.main

    from chromepredict.cli import app
    from chromepredict.cli.app import RULES

    commands = typer.main.get_command(app).commands
    assert set(commands) == set(RULES)
    for name, command in commands.items():
        options = {p.name for p in command.params if p.name not in ("quiet", "help")}
        assert set(RULES[name]) == options, name


def test_rules_say_what_options_need_and_exclude():
    from chromepredict.cli.rules import Rule, validate
    from chromepredict.system.errors import UserError

    rules = {
        "pooled": Rule(needs=("samplesheet",)),
        "samplesheet": Rule(excludes=("tracks",)),
        "tracks": Rule(),
    }
    validate(
        {"pooled": False, "samplesheet": None, "tracks": ["a.bw"]}, rules
    )  # nothing given that asks anything
    with pytest.raises(UserError, match="--pooled needs --samplesheet"):
        validate({"pooled": True, "samplesheet": None, "tracks": None}, rules)
    with pytest.raises(UserError, match="--samplesheet and BIGWIG arguments cannot be given together"):
        validate({"pooled": False, "samplesheet": "s.csv", "tracks": ["a.bw"]}, rules)


def test_importing_chromepredict_is_light(tmp_path):
    """import chromepredict loads neither torch nor pandas (the API loads on first use), and takes a
    fraction of a second; the prediction API never imports torch."""
    code = (
        "import sys, time; t = time.perf_counter(); import chromepredict; took = time.perf_counter() - t; "
        "light = not {'torch', 'pandas', 'onnxruntime'} & set(sys.modules); "
        "chromepredict.load_model('E003'); print(took, light, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    took, light, torch = result.stdout.split()
    assert light == "True" and torch == "False" and float(took) < 0.5, result.stdout


def _mypy(*args: str) -> tuple[str, int]:
    """mypy, configured by pyproject.toml, in this process (its cache kept beside the package)."""
    api = pytest.importorskip("mypy.api")
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / ".mypy_cache")]
    stdout, stderr, status = api.run([*config, *args])
    return stdout + stderr, status


@pytest.mark.slow  # 20 s on a fresh clone (no mypy cache)
def test_the_package_type_checks():
    """mypy finds no error in the package: every annotation holds, the model protocols among them
    (the ONNX model is a ScoringModel, the torch one a Predictor)."""
    output, status = _mypy(str(ROOT / "chromepredict"))
    assert status == 0, output


def test_a_model_without_what_scoring_needs_is_refused(tmp_path, monkeypatch):
    """The check can fail: a torch model passed where scoring needs a card, marks and inputs is an error."""
    code = tmp_path / "misuse.py"
    code.write_text(
        "from chromepredict.models.protocols import ScoringModel\n"
        "from chromepredict.models.training import TrainedModel\n\n\n"
        "def scored(model: TrainedModel) -> ScoringModel:\n"
        "    return model\n"
    )
    monkeypatch.setenv("MYPYPATH", str(ROOT))  # this checkout's package, whatever is installed
    output, status = _mypy(str(code))
    assert status == 1 and 'got "TrainedModel", expected "ScoringModel"' in output, output
