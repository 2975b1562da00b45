"""predict, models and demo through the real CLI; pretrained models replayed through onnxruntime."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from chromepredict.errors import UserError
from chromepredict.features import FeatureSet, WindowSpec
from chromepredict.marks import CORE_MARKS
from chromepredict.prediction import PREDICTION_COLUMNS
from chromepredict.zoo import available, open_model, pretrained_dir

NAMES = ["E003", "E003-E123", "E123"]


def test_pretrained_models_are_shipped_with_cards():
    cards = available()
    assert sorted(cards) == NAMES
    for name, card in cards.items():
        assert card["inputs"]["marks"] == list(CORE_MARKS)
        assert (card["inputs"]["flank"], card["inputs"]["bin_size"], card["inputs"]["orientation"]) == (
            5000,
            100,
            "5to3",
        )
        assert card["genome_build"] == "hg19" and card["transform"]["kind"] == "sample-log1p"
        assert 0.5 < card["metrics"][f"cv_roc_auc_{card['cell_types'][0]}"] <= 1
        assert "Roadmap" in card["training_data"]["licence"]
        assert (pretrained_dir() / name / "model.onnx").stat().st_size < 4_000_000


@pytest.mark.parametrize("name", NAMES)
def test_golden_pairs_replay(name):
    golden = np.load(pretrained_dir() / name / "golden.npz")
    model = open_model(name)
    n = len(golden["features"])
    genes = pd.DataFrame(
        {"gene_id": [f"g{i}" for i in range(n)], "gene_name": "", "chrom": "", "tss": 0, "strand": "+"}
    )
    data = FeatureSet(golden["features"], genes, CORE_MARKS, WindowSpec())
    np.testing.assert_allclose(model.predict_proba(data), golden["p_high"], atol=1e-6)


def test_sha256_mismatch_is_rejected(tmp_path, cli, tracks, example):
    folder = tmp_path / "tampered"
    shutil.copytree(pretrained_dir() / "E003", folder)
    onnx = folder / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    with pytest.raises(UserError, match="sha256 differs"):
        open_model(str(folder))
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", onnx, "-o", tmp_path / "p.tsv"
    )
    assert code == 2 and "sha256 differs" in stderr
    assert not (tmp_path / "p.tsv").exists()


def test_unknown_model_name_lists_available(cli, tracks, example):
    code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--model", "E999")
    assert code == 2
    assert "unknown model 'E999'" in stderr and "E003, E003-E123, E123" in stderr


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
    table = pd.read_csv(out, sep="\t", comment="#")
    assert list(table.columns) == [*PREDICTION_COLUMNS, "label"]
    assert len(table) == 369 and table["p_high"].between(0, 1).all()
    assert ((table["p_high"] >= 0.4) == (table["call"] == "high")).all()
    assert "ROC AUC" in stderr
    # E123 (K562) model on E003 (H1) tracks: another cell type, still clearly informative
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(table["label"] == "high", table["p_high"]) > 0.75


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
    assert rows[0][:3] == ["name", "cell_types", "marks"]
    assert [r[0] for r in rows[1:]] == NAMES


def test_demo(cli, tmp_path):
    code, stdout, stderr = cli("demo", "-o", tmp_path / "demo")
    assert code == 0, stderr
    assert "not a test" in stdout and "cross-validated AUC" in stdout
    table = pd.read_csv(tmp_path / "demo" / "predictions.tsv", sep="\t", comment="#")
    assert len(table) == 369


def test_card_sha_matches_file():
    from chromepredict.onnx_io import sha256

    for name in NAMES:
        card = json.loads((pretrained_dir() / name / "model.card.json").read_text())
        assert card["onnx_sha256"] == sha256(pretrained_dir() / name / "model.onnx")


def test_evaluate_pretrained_on_tracks(cli, tracks, example, tmp_path):
    code, stdout, stderr = cli(
        "evaluate", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
        "--model", "E123", "-o", tmp_path / "ev",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["n_genes"] == 369 and result["roc_auc"] > 0.75
    assert "E123 on 369 genes" in stdout
