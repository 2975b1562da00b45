"""train / evaluate / benchmark through the real CLI on small real data (toy CSVs, Roadmap E003)."""

import gzip
import json
import shutil

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from conftest import DATA

from chromepredict.datasets import read_deepchrome_csv
from chromepredict.model import DeepChrome
from chromepredict.training import resolve_device
from chromepredict.transform import InputTransform

TOY = DATA / "toy"


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory):
    """One small model trained through the CLI, shared by the tests that only read it."""
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = tmp_path_factory.mktemp("toy") / "model"
    result = CliRunner().invoke(
        app, ["train", "--csv-dir", str(TOY), "-o", str(out), "--max-epochs", "4", "--seed", "3"]
    )
    assert result.exit_code == 0, result.stderr
    return out


def test_train_writes_the_model_folder(toy_model):
    names = {p.name for p in toy_model.iterdir()}
    assert {
        "model.onnx",
        "model.card.json",
        "model.pt",
        "training_log.tsv",
        "learning_curve.png",
        "test_predictions.tsv",
    } <= names
    card = json.loads((toy_model / "model.card.json").read_text())
    assert card["inputs"]["marks"] == ["H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"]
    assert card["inputs"]["orientation"] == "genomic" and card["inputs"]["n_bins"] == 100
    assert card["transform"]["kind"] == "sample-log1p" and len(card["transform"]["log_mean"]) == 5
    assert card["architecture"] == "deepchrome" and card["seed"] == 3
    assert card["training_device"] == resolve_device("auto")
    assert card["training_data"]["splits"]["train"]["genes"] == 10
    assert 1 <= card["best_epoch"] <= 4
    assert 0 <= card["metrics"]["valid"]["roc_auc"] <= 1
    assert "torch" in card["library_versions"]
    log = pd.read_csv(toy_model / "training_log.tsv", sep="\t")
    assert list(log.columns) == ["epoch", "loss", "train_auc", "valid_auc"]
    assert list(log["epoch"]) == list(range(1, len(log) + 1))


def test_onnx_matches_torch_on_real_inputs(toy_model):
    card = json.loads((toy_model / "model.card.json").read_text())
    saved = torch.load(toy_model / "model.pt")
    net = DeepChrome(saved["n_marks"], saved["n_bins"])
    net.load_state_dict(saved["state_dict"])
    net.eval()
    data = read_deepchrome_csv(DATA / "roadmap_E003" / "valid.csv.gz")
    inputs = InputTransform.from_dict(card["transform"]).apply(data.features)
    with torch.no_grad():
        expected = net.probabilities(torch.from_numpy(inputs)).numpy()
    session = ort.InferenceSession(str(toy_model / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"features": inputs})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_same_seed_same_model(tmp_path, cli):
    aucs = []
    for run in ("a", "b"):
        code, _, stderr = cli(
            "train", "--csv-dir", TOY, "-o", tmp_path / run, "--max-epochs", "3", "--seed", "7"
        )
        assert code == 0, stderr
        aucs.append(pd.read_csv(tmp_path / run / "training_log.tsv", sep="\t"))
    pd.testing.assert_frame_equal(aucs[0], aucs[1])
    assert (tmp_path / "a" / "model.onnx").read_bytes() == (tmp_path / "b" / "model.onnx").read_bytes()


def test_train_from_tracks(tmp_path, cli, tracks, example):
    out = tmp_path / "m"
    code, _, stderr = cli(
        "train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
        "-o", out, "--max-epochs", "3", "--genome-build", "hg19",
    )  # fmt: skip
    assert code == 0, stderr
    card = json.loads((out / "model.card.json").read_text())
    assert card["genome_build"] == "hg19" and card["inputs"]["orientation"] == "5to3"
    assert "chromosome" in card["training_data"]["split"]
    splits = card["training_data"]["splits"]
    assert sum(s["genes"] for s in splits.values()) == 369


def test_remc_root_trains_every_cell_type(tmp_path, cli):
    root = tmp_path / "remc"
    for eid in ("E003", "E004"):
        shutil.copytree(TOY, root / eid / "classification")
    code, _, stderr = cli("train", "--remc-root", root, "-o", tmp_path / "models", "--max-epochs", "2")
    assert code == 0, stderr
    summary = pd.read_csv(tmp_path / "models" / "summary.tsv", sep="\t")
    assert list(summary["cell_type"]) == ["E003", "E004"]
    assert (tmp_path / "models" / "E004" / "model.onnx").is_file()


def test_evaluate_csv(tmp_path, cli, toy_model):
    code, stdout, stderr = cli(
        "evaluate", "--model", toy_model, "--csv", TOY / "test.csv", "-o", tmp_path / "ev"
    )
    assert code == 0, stderr
    assert "ROC AUC" in stdout
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["n_genes"] == 9 and 0 <= result["roc_auc"] <= 1
    table = pd.read_csv(tmp_path / "ev" / "predictions.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "p_high", "label"] and table["p_high"].between(0, 1).all()
    assert (tmp_path / "ev" / "roc_curve.png").stat().st_size > 1000


@pytest.mark.slow
def test_benchmark_on_roadmap_csvs(tmp_path, cli):
    folder = tmp_path / "E003"
    folder.mkdir()
    for split in ("train", "valid"):
        with gzip.open(DATA / "roadmap_E003" / f"{split}.csv.gz", "rb") as packed:
            (folder / f"{split}.csv").write_bytes(packed.read())
    code, stdout, stderr = cli(
        "benchmark", "--csv-dir", folder, "-o", tmp_path / "bench", "--architecture", "deepchrome"
    )
    assert code == 0, stderr
    table = pd.read_csv(tmp_path / "bench" / "benchmark.tsv", sep="\t")
    assert set(table["method"]) == {
        "CNN deepchrome", "SVM (best bin)", "SVM (bin average)", "Random forest (best bins)", "Logistic regression"
    }  # fmt: skip
    assert table["test_auc"].between(0.6, 1.0).all()  # real signal: every method beats chance clearly
    assert (tmp_path / "bench" / "benchmark.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "-o", "x"], "exactly one data source"),
        (["train", "--csv-dir", str(TOY), "--architecture", "resnet"], "--architecture 'resnet' is unknown"),
        (["train", "--csv-dir", str(TOY), "--device", "tpu"], "--device 'tpu' is unknown"),
        (["train", "--csv-dir", str(TOY), "--transform", "zscore"], "--transform 'zscore' is unknown"),
        (["evaluate", "--model", "nope.onnx", "--csv", str(TOY / "test.csv")], "model file not found"),
    ],
)
def test_training_errors(tmp_path, cli, args, message):
    code, _, stderr = cli(*args)
    assert code == 2 and message in stderr


def test_device_auto_is_cpu_without_gpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        from chromepredict.errors import UserError

        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda")
