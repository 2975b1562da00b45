"""Release hygiene: the bioconda recipe agrees with pyproject, the version is one, the wheel is lean."""

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import chromepredict

ROOT = Path(__file__).parents[1]
# PyPI name → conda name where they differ
CONDA_NAMES = {"pybigwig": "pybigwig", "matplotlib": "matplotlib-base", "torch": "pytorch"}


def recipe() -> str:
    return (ROOT / "recipe" / "meta.yaml").read_text()


def recipe_section(name: str) -> dict[str, str]:
    """Package → version spec of one requirements list in meta.yaml (``run:``, ``run_constrained:``)."""
    block = re.search(rf"^  {name}:\n((?:    .*\n)+)", recipe(), re.MULTILINE)
    assert block, f"no {name} section in recipe/meta.yaml"
    entries = {}
    for line in block.group(1).splitlines():
        item = line.strip()
        if item.startswith("- "):
            package, _, spec = item[2:].partition(" ")
            entries[package] = spec.replace(" ", "")
    return entries


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_form(requirement: str) -> tuple[str, str]:
    req = Requirement(requirement)
    name = req.name.lower()
    spec = ",".join(sorted(str(s) for s in req.specifier))
    return CONDA_NAMES.get(name, name), spec


def test_run_requirements_match_pyproject():
    expected = dict(conda_form(r) for r in pyproject()["project"]["dependencies"])
    run = recipe_section("run")
    python = run.pop("python")
    assert python == pyproject()["project"]["requires-python"]
    assert {k: ",".join(sorted(v.split(","))) for k, v in run.items()} == expected


def test_torch_is_constrained_not_required():
    constrained = recipe_section("run_constrained")
    assert "pytorch" in constrained and "pytorch" not in recipe_section("run")
    train = dict(conda_form(r) for r in pyproject()["project"]["optional-dependencies"]["train"])
    assert set(train) <= set(constrained)


def test_versions_agree():
    version = re.search(r'{% set version = "([^"]+)" %}', recipe()).group(1)
    assert version == chromepredict.__version__
    assert f"version: {version}" in (ROOT / "CITATION.cff").read_text()
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()


def test_recipe_conventions():
    text = recipe()
    for needle in ("noarch: python", "pin_subpackage('chromepredict', max_pin=\"x.x\")", "entry_points:",
                   "license_file: LICENSE", "doi:10.1093/bioinformatics/btw427", "recipe-maintainers:",
                   "chromepredict --version", "chromepredict models", "chromepredict demo"):  # fmt: skip
        assert needle in text, needle


def test_recipe_builds_from_this_repository():
    """No placeholder checksum: the recipe's source is this repository (its root has pyproject.toml)."""
    source = re.search(r"^source:\n((?:  .*\n|\s*#.*\n)+)", recipe(), re.MULTILINE).group(1)
    path = re.search(r"^  path: (\S+)$", source, re.MULTILINE)
    assert path, "recipe source must be a path (sha256 placeholders are not allowed)"
    assert (ROOT / "recipe" / path.group(1) / "pyproject.toml").is_file()
    assert "0000000000" not in recipe()


def test_lowest_versions_ci_pins_exactly_the_floors():
    """.ci/run tests once with every core and train dependency at its pyproject floor."""
    pins = {}
    for line in (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    project = pyproject()["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["train"]]:
        req = Requirement(requirement)
        if req.name == "torch":
            continue  # only torch 2.13.0 (CPU) is installable on the project's machines
        floor = next(s.version for s in req.specifier if s.operator == ">=")
        assert Version(pins.get(req.name.lower(), "0")) == Version(floor), req


def test_version_option(cli):
    code, stdout, _ = cli("--version")
    assert code == 0 and stdout.strip() == f"chromepredict {chromepredict.__version__}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built once for the tests of what it holds and installs."""
    folder = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = folder.glob("chromepredict-*.whl")
    return built


@pytest.mark.slow
@pytest.mark.xdist_group("wheel")  # one worker builds the wheel for both tests (--dist loadgroup)
def test_wheel_holds_models_and_example_data_but_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    models = (
        "E003",
        "E123",
        "E003-E123",
        "E003-E123-level",
        "E003-level",
        "E123-level",
        "E003-E123-difference",
    )
    for model in models:
        for part in ("model.onnx", "model.card.json", "golden.npz"):
            assert f"chromepredict/pretrained/{model}/{part}" in names
    assert "chromepredict/models/checksums.py" in names
    assert "chromepredict/data/mark_identity.json" in names  # the mark-identity check's reference
    assert (
        sum(n.startswith("chromepredict/data/example/") and n.endswith(".bw") for n in names) == 10
    )  # E003, E123
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "scripts/", "recipe/"))]
    assert not [n for n in names if n.endswith("model.pt")]
    assert wheel.stat().st_size < 15_000_000


@pytest.mark.slow
@pytest.mark.xdist_group("wheel")
def test_fresh_venv_runs_demo_without_torch_or_the_repository(wheel, tmp_path):
    """`pip install .` (core only) in a new venv, then `chromepredict demo` run away from the repo."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(  # no .pyc compiled at install: the test runs each module once
        [str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)],
        check=True,
        capture_output=True,
    )
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode != 0
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "chromepredict"), "demo"], cwd=work, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "not a test" in result.stdout
    assert (work / "chromepredict-demo" / "predictions.tsv").is_file()
