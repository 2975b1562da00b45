"""predict, models and demo through the real CLI; pretrained models replayed through onnxruntime."""

import gzip
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
            assert card.ensemble_members == 10 and "a blend of 5 networks trained on" in card.description
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
    np.testing.assert_allclose(model.predict(data), golden["expected"], atol=1e-6)


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
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# chromepredict") and any("model: E123" in line for line in lines[:5])
    assert any(line.startswith("# tracks: assembly hg19") for line in lines[:10])
    table = pd.read_csv(out, sep="\t", comment="#")
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
    assert any("level: predicted log2(1 + RPKM)" in line for line in out.read_text().splitlines()[:10])
    table = pd.read_csv(out, sep="\t", comment="#")
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
    assert "model: E003-E123" in result.stdout
    body = [line for line in result.stdout.splitlines() if not line.startswith("#")]
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
    assert any("were used to train model E003" in line for line in out.read_text().splitlines()[:20])
