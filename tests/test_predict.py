"""predict, models and demo through the real CLI; pretrained models replayed through onnxruntime."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.io.features import FeatureSet, WindowSpec
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.trackinfo import TrackProfile
from chromepredict.models.zoo import available, open_model, pretrained_dir
from chromepredict.system.report import Report

NAMES = ["E003", "E003-E123", "E003-E123-difference", "E003-E123-level", "E003-level", "E123", "E123-level"]
PREDICTION_COLUMNS = [*GENE_COLUMNS, "p_high", "call"]
LEVEL_COLUMNS = [*GENE_COLUMNS, "level"]


def test_pretrained_models_are_shipped_with_cards():
    cards = available()
    assert sorted(cards) == NAMES
    for name, card in cards.items():
        assert card.inputs.marks == CORE_MARKS and card.inputs.mark_subsets
        assert (card.inputs.flank, card.inputs.bin_size, card.inputs.orientation) == (5000, 100, "5to3")
        assert card.genome_builds[0] == "hg19" and card.transform.kind == "track-log1p"
        assert card.ensemble_members >= 5
        assert (pretrained_dir() / name / "model.onnx").stat().st_size < 3_000_000
        assert card.target == (name.rpartition("-")[2] if name.endswith(("level", "difference")) else "class")
        if card.target == "difference":  # the change from E003 to E123: read-counts and all-views networks
            assert card.pairs == (("E003", "E123"),) and set(card.metrics.cross_validated) == {"E003_vs_E123"}
            assert (
                card.ensemble_members == 5
                and "a blend of 3 networks trained on 1 pipeline view" in card.description
            )
            assert "and 2 networks trained on 15 pipeline views" in card.description
        else:
            assert set(card.metrics.cross_validated) == set(card.cell_types)
        assert len(card.training_data.views) >= 10  # trained on pipeline views, listed on the card
        assert "Roadmap" in card.training_data.licence


@pytest.mark.parametrize("name", NAMES)
def test_golden_pairs_replay(name):
    golden = np.load(pretrained_dir() / name / "golden.npz")
    model = open_model(name, Report.silent())
    n = len(golden["features"])
    genes = pd.DataFrame(
        {"gene_id": [f"g{i}" for i in range(n)], "gene_name": "", "chrom": "", "tss": 0, "strand": "+"}
    )
    profiles = {m: TrackProfile(scale=float(s)) for m, s in zip(CORE_MARKS, golden["scales"], strict=True)}
    data = FeatureSet(golden["features"], genes, CORE_MARKS, WindowSpec(), profiles=profiles)
    # the network's raw output, as recorded; a level is reported floored at 0 (log2(1 + 0))
    np.testing.assert_allclose(model.predict(data), model.target.floor(golden["expected"]), atol=1e-6)


def test_unknown_model_name_lists_available(cli, tracks, example):
    code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--model", "E999")
    assert code == 2
    assert "unknown model 'E999'" in stderr and ", ".join(NAMES) in stderr


def test_predict_to_file_with_labels(cli, tracks, example, tmp_path):
    out = tmp_path / "predictions.tsv"
    code, stdout, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", "E123", "-o", out,
        "--expression", example["expression"], "--threshold", "0.4",
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout == ""
    about = json.loads((tmp_path / "predictions.json").read_text())  # how it was made, beside it
    assert about["model"]["name"] == "E123" and about["tracks"]["assembly"] == "hg19"
    assert about["table"] == "predictions.tsv" and about["values"] == "call: high when p_high >= 0.4"
    table = pd.read_csv(out, sep="\t")  # one header row, then data
    assert list(table.columns) == [*PREDICTION_COLUMNS, "label"]
    assert len(table) == 369 and table["p_high"].between(0, 1).all()
    assert ((table["p_high"] >= 0.4) == (table["call"] == "high")).all()
    assert "ROC AUC" in stderr and "using column rpkm" in stderr
    # E123 (K562) model on E003 (H1) tracks: another cell type, still clearly informative
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(table["label"] == "high", table["p_high"]) > 0.8


def test_level_model_writes_levels(cli, tracks, example, tmp_path):
    out = tmp_path / "levels.tsv"
    code, _, stderr = cli(
        "predict",
        *tracks,
        "--gtf",
        example["gtf"],
        "--model",
        "E003-E123-level",
        "-o",
        out,
        "--expression",
        example["expression"],
    )
    assert code == 0, stderr
    assert "level: predicted log2(1 + RPKM)" in json.loads((tmp_path / "levels.json").read_text())["values"]
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == [*LEVEL_COLUMNS, "measured_level"]
    assert table["measured_level"].corr(table["level"], method="spearman") > 0.6
    assert "Spearman" in stderr


def test_a_gene_does_not_depend_on_the_other_genes(cli, tracks, example, tmp_path):
    """The same 11 genes predicted from a 25-gene GTF and from the full GTF agree within 1e-4."""
    lines = gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    genes = [line for line in lines if not line.startswith("#") and "\tgene\t" in line][:25]
    small = tmp_path / "small.gtf"
    small.write_text("".join(header + genes))
    for name, gtf in (("full", example["gtf"]), ("small", small)):
        code, _, stderr = cli("predict", *tracks, "--gtf", gtf, "-o", tmp_path / f"{name}.tsv")
        assert code == 0, stderr
    full = pd.read_csv(tmp_path / "full.tsv", sep="\t", comment="#").set_index("gene_id")
    few = pd.read_csv(tmp_path / "small.tsv", sep="\t", comment="#").set_index("gene_id")
    assert len(few) >= 11
    np.testing.assert_allclose(few["p_high"], full.loc[few.index, "p_high"], atol=1e-4)


@pytest.mark.slow
def test_predict_without_torch_to_stdout(tracks, example):
    """The core path: onnxruntime only, torch import blocked, TSV on stdout."""
    code = (
        "import sys; sys.modules['torch'] = None; "
        "from chromepredict.cli import main; sys.argv = ['chromepredict'] + sys.argv[1:]; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "-q", "predict", *tracks, "--gtf", str(example["gtf"])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    body = result.stdout.splitlines()
    assert body[0].split("\t") == PREDICTION_COLUMNS and len(body) == 370
    assert "torch" not in result.stderr


def test_models_lists_pretrained(cli):
    code, stdout, _ = cli("models")
    assert code == 0
    rows = [line.split("\t") for line in stdout.strip().splitlines()]
    assert rows[0][:4] == ["name", "target", "cell_types", "marks"]
    assert [r[0] for r in rows[1:]] == NAMES
    assert any("(default)" in r[-1] for r in rows if r[0] == "E003-E123")


def test_demo(cli, tmp_path):
    code, stdout, stderr = cli("demo", "-o", tmp_path / "demo")
    assert code == 0, stderr
    assert "not a test" in stdout and "cross-validated AUC" in stdout
    table = pd.read_csv(tmp_path / "demo" / "predictions.tsv", sep="\t", comment="#")
    assert len(table) == 369


def test_evaluate_pretrained_on_its_training_genes_says_so(cli, tracks, example, tmp_path):
    import json

    code, stdout, stderr = cli(
        "evaluate",
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "--model",
        "E123",
        "-o",
        tmp_path / "ev",
    )
    assert code == 0, stderr
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["genes"] == 369 and result["all_genes"]["roc_auc"] > 0.8
    assert result["training_genes"] == 369 and "not a test" in result["caveat"]
    assert "held_out" not in result and result["headline"] == "all_genes"  # no other genes to lead with
    assert "E123 on 369 genes" in stdout
    assert "warning: 369 of 369 genes were used to train model E123" in stderr


def test_predict_with_expression_on_training_genes_says_so(cli, tracks, example, tmp_path):
    """predict --expression on a pretrained model's own genes: the AUC comes with a caveat, even with -q."""
    out = tmp_path / "p.tsv"
    code, _, stderr = cli(
        "-q", "predict", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
        "--model", "E003", "-o", out,
    )  # fmt: skip
    assert code == 0, stderr
    assert "369 of the 369 genes with a value" in stderr and "not a test" in stderr
    warnings = json.loads((tmp_path / "p.json").read_text())["warnings"]
    assert any("were used to train model E003" in warning for warning in warnings)


@pytest.mark.parametrize("name", ["E003-E123-level", "E003-level", "E123-level"])
def test_a_level_is_never_below_the_floor_of_its_unit(cli, tracks, example, tmp_path, name):
    """log2(1 + expression) is never below 0: the genes a level model's network puts below it are
    reported at 0, in predict's table and in evaluate's."""
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--model", name, "-o", tmp_path / "p.tsv")
    assert code == 0, err
    levels = pd.read_csv(tmp_path / "p.tsv", sep="\t")["level"]
    assert levels.min() == 0 and levels.gt(0).mean() > 0.5  # some genes floored, most not


def test_bed_tracks_name_chromosomes_as_the_tracks_do(cli, tracks, example, tmp_path):
    """A GTF of Ensembl names (1, 2, …) on UCSC-named tracks (chr1, …): the TSV keeps the GTF's
    names, the BED for genome browsers takes the tracks' (what the UCSC browser needs)."""
    with gzip.open(example["gtf"], "rt") as handle:
        text = handle.read()
    gtf = tmp_path / "ensembl.gtf"
    gtf.write_text("\n".join(line.removeprefix("chr") for line in text.splitlines()) + "\n")
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "-o", tmp_path / "p.tsv", "--bed")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t", dtype={"chrom": str})
    bed = pd.read_csv(tmp_path / "p.bed", sep="\t", header=None, skiprows=1)
    assert not table["chrom"].str.startswith("chr").any()
    assert bed[0].str.startswith("chr").all() and len(bed) == len(table)


@pytest.mark.slow
def test_models_is_a_table_on_a_terminal_and_tsv_when_piped(tmp_path):
    import os
    import pty

    parent, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    on_terminal = subprocess.run([sys.executable, "-m", "chromepredict", "models"], stdout=child, stderr=subprocess.PIPE,
                                 env=env, timeout=120)  # fmt: skip
    os.close(child)
    text = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        text += chunk
    os.close(parent)
    assert on_terminal.returncode == 0
    shown = text.decode("utf-8", errors="replace")
    assert "E003-E123" in shown and "\t" not in shown and any(c in shown for c in "┃│━─")
    piped = subprocess.run([sys.executable, "-m", "chromepredict", "models"], capture_output=True, text=True)
    assert piped.stdout.splitlines()[0].split("\t")[:2] == ["name", "target"]
