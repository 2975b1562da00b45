"""`chromepredict extract` through the real Typer app and the installed console script."""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from chromepredict.io.features import FeatureSet


def test_extract_writes_npz_and_tsv(cli, tracks, example, tmp_path):
    out, tsv = tmp_path / "f.npz", tmp_path / "f.tsv"
    code, _, stderr = cli("extract", *tracks, "--gtf", example["gtf"], "-o", out, "--tsv", tsv)
    assert code == 0, stderr
    data = FeatureSet.load_npz(out)
    assert data.features.shape == (369, 5, 100)  # 371 genes, 2 pseudogenes filtered
    assert data.spec.orientation == "5to3"
    table = pd.read_csv(tsv, sep="\t")  # one header row, then data: pandas' default call reads it
    assert list(table.columns) == ["gene_id", "mark", "bin", "offset_bp", "value"]
    assert len(table) == 369 * 5 * 100
    first = table[(table.gene_id == data.genes.gene_id[0]) & (table.mark == "H3K4me3")]
    np.testing.assert_allclose(first["value"], data.features[0, 3], rtol=1e-5)
    sidecar = tmp_path / "f.json"  # how the table was made, beside it
    about = json.loads(sidecar.read_text())
    assert about["table"] == "f.tsv" and about["window"] == {
        "flank_bp": 5000,
        "bin_size_bp": 100,
        "orientation": "5to3",
    }
    assert set(tmp_path.iterdir()) == {out, tsv, sidecar}


def test_extract_options(cli, tracks, example, tmp_path):
    out = tmp_path / "f.npz"
    code, _, _ = cli(
        "extract", *tracks, "--gtf", example["gtf"], "-o", out, "--all-genes",
        "--orientation", "genomic", "--flank", "2000", "--bin-size", "200", "--threads", "2",
    )  # fmt: skip
    assert code == 0
    data = FeatureSet.load_npz(out)
    assert data.features.shape == (371, 5, 20)
    assert data.spec.orientation == "genomic"


def test_explicit_mark_for_unrecognised_name(cli, tracks, example, tmp_path):
    renamed = tmp_path / "sample7.bw"
    shutil.copy(tracks[3], renamed)  # H3K4me3
    others = [t for t in tracks if "H3K4me3" not in t]
    code, _, stderr = cli("extract", *others, renamed, "--gtf", example["gtf"], "-o", tmp_path / "f.npz")
    assert code == 2 and "--mark MARK=" in stderr
    code, _, _ = cli(
        "extract", *others, "--mark", f"H3K4me3={renamed}", "--gtf", example["gtf"], "-o", tmp_path / "f.npz"
    )
    assert code == 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t, g, d: (t[:4] + [str(d / "sample7.bw")], g), "--mark MARK="),
        (lambda t, g, d: (t, d / "missing.gtf"), "GTF file not found"),
        (lambda t, g, d: (t[:4] + [str(d / "x-H3K9me3.bw")], g), "bigWig file not found"),
        (lambda t, g, d: (t[:4] + [str(d / "text-H3K9me3.bw")], g), "not a bigWig"),
        (lambda t, g, d: (t, d / "text-H3K9me3.bw"), "not a GTF"),
    ],
)
def test_user_errors_are_one_line_without_output(cli, tracks, example, tmp_path, mutate, message):
    (tmp_path / "text-H3K9me3.bw").write_text("not\ta\tbigwig\n")
    files, gtf = mutate(tracks, example["gtf"], tmp_path)
    out = tmp_path / "out" / "f.npz"
    out.parent.mkdir()
    code, stdout, stderr = cli("extract", *files, "--gtf", gtf, "-o", out)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1
    assert list(out.parent.iterdir()) == []


@pytest.mark.slow
def test_console_script_entry_point(tracks, example, tmp_path):
    exe = shutil.which("chromepredict")
    assert exe, "the package is not installed (pip install .)"
    result = subprocess.run([exe], capture_output=True, text=True)
    assert "extract" in result.stdout + result.stderr  # no arguments: help
    result = subprocess.run(
        [exe, "extract", *tracks[:4], "--gtf", str(example["gtf"]), "-o", str(tmp_path / "f.npz")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr  # any set of marks can be extracted
    assert np.load(tmp_path / "f.npz")["features"].shape == (369, 4, 100)
    result = subprocess.run(
        [exe, "extract", *tracks, "--gtf", str(tmp_path / "missing.gtf"), "-o", str(tmp_path / "g.npz")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "option, message",
    [
        (["--orientation", "upstream"], "'upstream' is not one of '5to3', 'genomic'"),
        (["--bin-size", "300"], "multiple of the bin size"),
        (["--gene-type", "lincRNA"], "--all-genes"),
        (["--threads", "0"], "Invalid value for '--threads'"),
    ],
)
def test_bad_option_values(cli, tracks, example, tmp_path, option, message):
    code, stdout, stderr = cli("extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "f.npz", *option)
    assert code == 2 and message in stderr
    assert "Traceback" not in stdout + stderr and not (tmp_path / "f.npz").exists()


@pytest.mark.parametrize("name", ["features.tsv", "features.csv.gz", "features.txt"])
def test_a_table_name_given_to_o_is_refused_with_the_fix(cli, tracks, example, tmp_path, name):
    """-o is the .npz: a table's name there would get an archive under it."""
    code, _, stderr = cli("extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / name)
    assert code == 2 and "NumPy .npz archive, not a table" in stderr and f"--tsv {tmp_path / name}" in stderr
    assert not (tmp_path / name).exists()
    code, _, stderr = cli("extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "features")
    assert code == 0, stderr  # a name without a suffix is the user's choice


@pytest.mark.parametrize("cores, expected", [({0}, 1), ({0, 1}, 2), (set(range(32)), 8)])
def test_threads_default_to_the_usable_cores_at_most_8(monkeypatch, cores, expected):
    import os

    from chromepredict.cli import options

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores, raising=False)
    assert options.default_threads() == expected


def test_option_choices_are_the_librarys_registries():
    """The CLI lists its choices without importing the library; they must name the same things."""
    from chromepredict.cli import options
    from chromepredict.models import targets, training, transform

    assert {t.value for t in options.TargetName} == set(targets.TARGETS)
    assert {t.value for t in options.TransformName} == set(transform.TRANSFORMS)
    assert {a.value for a in options.Architecture} == set(training.RECIPES)
