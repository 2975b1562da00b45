"""train / evaluate / benchmark through the real CLI on small real data (toy CSVs, Roadmap E003)."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from conftest import DATA

from chromepredict.io.datasets import read_deepchrome_csv
from chromepredict.models.card import read_card
from chromepredict.models.training import build_ensemble, resolve_device
from chromepredict.models.transform import InputTransform

TOY = DATA / "toy"
ROADMAP = DATA / "roadmap_E003"


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    """A model trained through the CLI on the published E003 CSVs (genomic windows), shared by the
    tests that only read it."""
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = tmp_path_factory.mktemp("csv") / "model"
    result = CliRunner().invoke(
        app, ["train", "--csv-dir", str(ROADMAP), "-o", str(out), "--max-epochs", "8", "--seed", "3"]
    )
    assert result.exit_code == 0, result.stderr
    return out


def test_train_writes_the_model_folder(csv_model):
    names = {p.name for p in csv_model.iterdir()}
    assert names == {
        "model.onnx",
        "model.card.json",
        "model.pt",
        "training_log.tsv",
        "learning_curve.png",
        "chromepredict-run.json",
    }  # fmt: skip  (no test.csv here, so no test_predictions.tsv)
    card, _ = read_card(csv_model / "model.onnx")
    assert card.inputs.marks == ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
    assert card.inputs.orientation == "genomic" and card.inputs.n_bins == 100
    assert card.transform.kind == "track-log1p" and len(card.transform.log_mean) == 5
    assert card.architecture == "deepchrome" and card.ensemble_members == len(card.best_epochs) == 5
    assert card.training_data.splits["train"]["genes"] == 185
    assert card.training_data.split == "train.csv / valid.csv / test.csv as given"
    assert len(card.training_data.gene_ids) == 185 + 186
    assert card.metrics.held_out["valid"]["roc_auc"] > 0.75  # real signal: H3K4me3 alone gives 0.8 here
    log = pd.read_csv(csv_model / "training_log.tsv", sep="\t")
    assert list(log.columns) == ["member", "epoch", "loss", "train_score", "valid_score", "valid_loss"]
    assert sorted(log["member"].unique()) == [1, 2, 3, 4, 5]
    # each network keeps the epoch of its lowest validation log loss (the first, on ties)
    per_member = log.loc[log.groupby("member")["valid_loss"].idxmin(), "epoch"].tolist()
    assert per_member == list(card.best_epochs)
    assert log["valid_loss"].between(0.1, 1.5).all()  # log loss of real P(high): below chance's 0.69 at best


def test_onnx_matches_torch_on_real_inputs(csv_model):
    card, _ = read_card(csv_model / "model.onnx")
    ensemble = build_ensemble(card)
    ensemble.load_state_dict(torch.load(csv_model / "model.pt")["state_dict"])
    ensemble.eval()
    data = read_deepchrome_csv(ROADMAP / "valid.csv.gz")
    inputs = InputTransform.from_card(card.transform).apply(data.features, data.scales)
    mask = np.ones((len(inputs), 5), np.float32)
    with torch.no_grad():
        expected = ensemble(torch.from_numpy(inputs), torch.from_numpy(mask)).numpy()
    session = ort.InferenceSession(str(csv_model / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"features": inputs, "mask": mask})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _train_in_subprocess(out, threads: int, seed: int = 7):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    code = f"import torch; torch.set_num_threads({threads}); from chromepredict.cli import main; main()"
    args = [
        sys.executable,
        "-c",
        code,
        "train",
        "--csv-dir",
        str(TOY),
        "-o",
        str(out),
        "--max-epochs",
        "3",
        "--seed",
        str(seed),
    ]
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_thread_count(tmp_path):
    _train_in_subprocess(tmp_path / "one", threads=1)
    _train_in_subprocess(tmp_path / "two", threads=2)
    assert (tmp_path / "one" / "model.onnx").read_bytes() == (tmp_path / "two" / "model.onnx").read_bytes()
    logs = [pd.read_csv(tmp_path / n / "training_log.tsv", sep="\t") for n in ("one", "two")]
    pd.testing.assert_frame_equal(*logs)


@pytest.mark.slow
def test_train_from_tracks_records_the_split(tmp_path, cli, tracks, example):
    out = tmp_path / "m"
    code, _, stderr = cli(
        "train",
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "-o",
        out,
        "--max-epochs",
        "2",
    )
    assert code == 0, stderr
    card, _ = read_card(out / "model.onnx")
    assert card.genome_builds == ("hg19",)  # recognised from the tracks' chromosome sizes
    assert card.training_data.split.startswith("by whole chromosome (split seed 0): validation chr")
    splits = card.training_data.splits
    assert sum(s["genes"] for s in splits.values()) == 369
    test = pd.read_csv(out / "test_predictions.tsv", sep="\t")
    assert len(test) == splits["test"]["genes"]


@pytest.mark.slow
def test_extra_marks_are_trained_on_and_recorded(tmp_path, cli, tracks, example):
    extra = tmp_path / "sample.H3K27ac.bw"
    shutil.copy(tracks[3], extra)
    out = tmp_path / "m"
    code, _, stderr = cli(
        "train", *tracks, "--mark", f"H3K27ac={extra}", "--gtf", example["gtf"], "--expression", example["expression"],
        "-o", out, "--max-epochs", "1",
    )  # fmt: skip
    assert code == 0, stderr
    card, _ = read_card(out / "model.onnx")
    assert card.inputs.marks == ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3", "H3K27ac")
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", out, "-o", tmp_path / "p.tsv"
    )
    assert code == 2 and "trained with H3K27ac, which is not given" in stderr  # an extra mark is required
    assert not (tmp_path / "p.tsv").exists()
    three = [t for t in tracks if any(m in t for m in ("H3K4me3", "H3K36me3", "H3K27me3"))]
    code, _, stderr = cli(
        "predict", *three, "--mark", f"H3K27ac={extra}", "--gtf", example["gtf"], "--model", out,
        "-o", tmp_path / "p.tsv",
    )  # fmt: skip
    assert code == 0 and "warning: scoring from 4 of 6 marks" in stderr and "no H3K4me1, H3K9me3" in stderr


@pytest.mark.slow
def test_remc_root_trains_every_cell_type(tmp_path, cli):
    root = tmp_path / "remc"
    for eid in ("E003", "E004"):
        shutil.copytree(TOY, root / eid / "classification")
    code, _, stderr = cli("train", "--remc-root", root, "-o", tmp_path / "models", "--max-epochs", "2")
    assert code == 0, stderr
    summary = pd.read_csv(tmp_path / "models" / "summary.tsv", sep="\t")
    assert list(summary["name"]) == ["E003", "E004"]
    assert (tmp_path / "models" / "E004" / "model.onnx").is_file()


def test_evaluate_csv_metrics_match_an_independent_computation(tmp_path, cli, csv_model):
    from sklearn.metrics import average_precision_score, roc_auc_score

    code, stdout, stderr = cli(
        "evaluate", "--model", csv_model, "--csv", TOY / "test.csv", "-o", tmp_path / "ev"
    )
    assert code == 0, stderr
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "ev" / "predictions.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "p_high", "label", "used_in_training"]
    labels = read_deepchrome_csv(TOY / "test.csv").labels
    scores = result["all_genes"]
    assert (table["label"].to_numpy() == np.where(labels == 1, "high", "low")).all() and scores[
        "n_genes"
    ] == 9
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(labels, table["p_high"]), abs=1e-6)
    assert scores["pr_auc"] == pytest.approx(average_precision_score(labels, table["p_high"]), abs=1e-6)
    assert "caveat" not in result  # the toy genes are not the model's training genes


@pytest.mark.slow
def test_level_target_beats_h3k4me3(tmp_path, cli, tracks, example):
    """--target level on the shared E003 tracks, three splits (split seeds 0-2) pooling their held-out
    test chromosomes: Spearman with measured RPKM beats log H3K4me3 at the TSS (± 1 kb) by ≥ 0.03."""
    from scipy.stats import spearmanr

    from chromepredict.io.features import WindowSpec
    from chromepredict.io.marks import assign_marks
    from chromepredict.io.sources import from_tracks

    held_out = []
    for split_seed in range(3):
        out = tmp_path / f"level{split_seed}"
        code, _, stderr = cli(
            "train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
            "--target", "level", "-o", out, "--split-seed", split_seed,
        )  # fmt: skip
        assert code == 0, stderr
        card, _ = read_card(out / "model.onnx")
        assert (
            card.target == "level"
            and card.level_units == "rpkm"
            and "spearman" in card.metrics.held_out["test"]
            and card.recipe.select_by == "score"  # level networks keep their best-Spearman epoch
        )
        held_out.append(pd.read_csv(out / "test_predictions.tsv", sep="\t"))
    test = pd.concat(held_out).groupby("gene_id").mean()
    assert len(test) >= 120
    data = from_tracks(assign_marks(tracks, []), example["gtf"], WindowSpec())
    h3k4me3 = pd.Series(data.features[:, 3, 40:60].mean(axis=1), index=data.genes["gene_id"]).loc[test.index]
    model_rho = spearmanr(test["level"], test["measured_level"]).statistic
    floor_rho = spearmanr(np.log1p(h3k4me3), test["measured_level"]).statistic
    assert model_rho >= floor_rho + 0.03, (model_rho, floor_rho)

    # evaluate on a level model: Spearman, Pearson and R² as scipy and scikit-learn compute them
    from scipy.stats import pearsonr
    from sklearn.metrics import r2_score

    code, stdout, stderr = cli(
        "evaluate", "--model", tmp_path / "level0", *tracks, "--gtf", example["gtf"],
        "--expression", example["expression"], "-o", tmp_path / "ev",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "ev" / "predictions.tsv", sep="\t")
    truth, predicted = table["measured_level"], table["level"]
    everything = result["all_genes"]
    assert everything["spearman"] == pytest.approx(spearmanr(truth, predicted).statistic, abs=1e-4)
    assert everything["pearson"] == pytest.approx(pearsonr(truth, predicted).statistic, abs=1e-4)
    assert everything["r2"] == pytest.approx(r2_score(truth, predicted), abs=1e-4)
    # the model was trained on most of these genes: the figure on the others leads, and is printed first
    held = ~table["used_in_training"]
    assert result["headline"] == "held_out" and result["held_out"]["genes"] == held.sum()
    expected = spearmanr(truth[held], predicted[held]).statistic
    assert result["held_out"]["spearman"] == pytest.approx(expected, abs=1e-4)
    assert stdout.startswith(
        f"level0 on the {held.sum()} genes it was not trained on: Spearman {expected:.4f}"
    )
    assert (tmp_path / "ev" / "level_scatter.png").stat().st_size > 5000


@pytest.mark.slow
def test_two_seeds_agree(tmp_path, cli, tracks, example):
    """Two seeds of train: ≥ 95 % identical calls over all genes and |ΔAUC| ≤ 0.01 on the test split."""
    from sklearn.metrics import roc_auc_score

    calls, aucs = [], []
    for seed in (0, 1):
        out = tmp_path / f"s{seed}"
        code, _, stderr = cli(
            "train",
            *tracks,
            "--gtf",
            example["gtf"],
            "--expression",
            example["expression"],
            "-o",
            out,
            "--seed",
            seed,
        )
        assert code == 0, stderr
        test = pd.read_csv(out / "test_predictions.tsv", sep="\t")
        aucs.append(roc_auc_score(test["label"] == "high", test["p_high"]))
        code, _, stderr = cli(
            "predict", *tracks, "--gtf", example["gtf"], "--model", out, "-o", tmp_path / f"p{seed}.tsv"
        )
        assert code == 0, stderr
        calls.append(pd.read_csv(tmp_path / f"p{seed}.tsv", sep="\t", comment="#")["call"])
    assert (calls[0] == calls[1]).mean() >= 0.95
    assert abs(aucs[0] - aucs[1]) <= 0.01


@pytest.mark.slow
def test_benchmark_on_roadmap_csvs(tmp_path, cli):
    folder = tmp_path / "E003"
    folder.mkdir()
    for split in ("train", "valid"):
        with gzip.open(ROADMAP / f"{split}.csv.gz", "rb") as packed:
            (folder / f"{split}.csv").write_bytes(packed.read())
    code, stdout, stderr = cli(
        "benchmark", "--csv-dir", folder, "-o", tmp_path / "bench", "--architecture", "deepchrome"
    )
    assert code == 0, stderr
    table = pd.read_csv(tmp_path / "bench" / "benchmark.tsv", sep="\t")
    assert set(table["method"]) == {
        "CNN deepchrome", "SVM (best bin)", "SVM (bin average)", "Random forest (best bins)", "Logistic regression",
        "H3K4me3 at the TSS (no training)",
    }  # fmt: skip
    assert table["test_score"].between(0.6, 1.0).all()  # real signal: every method beats chance clearly
    assert (table["n_test"] == 93).all()  # half of valid.csv
    assert (table["test_score_low"] < table["test_score"]).all() and (
        table["test_score"] < table["test_score_high"]
    ).all()
    assert (tmp_path / "bench" / "benchmark.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "-o", "x"], "exactly one data source"),
        (["train", "--csv-dir", str(TOY), "--architecture", "resnet"], "'resnet' is not one of 'deepchrome'"),
        (["train", "--csv-dir", str(TOY), "--device", "tpu"], "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
        (["train", "--csv-dir", str(TOY), "--transform", "zscore"], "'zscore' is not one of 'raw'"),
        (["train", "--csv-dir", str(TOY), "--target", "rank"], "'rank' is not one of 'class', 'level'"),
        (["train", "--csv-dir", str(TOY), "--pooled"], "--pooled pools the samples of a --samplesheet"),
        (["evaluate", "--model", "nope.onnx", "--csv", str(TOY / "test.csv")], "model file not found"),
    ],
)
def test_training_errors(tmp_path, cli, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = cli(*args)
    assert code == 2 and message in stderr


@pytest.mark.parametrize(
    "has_cuda, device, expected",
    [(False, "auto", "cpu"), (True, "auto", "cuda"), (True, "cpu", "cpu"), (True, "cuda", "cuda")],
)
def test_device_choice(monkeypatch, has_cuda, device, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_cuda)
    assert resolve_device(device) == expected


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    from chromepredict.system.errors import UserError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="no CUDA device"):
        resolve_device("cuda")


def example_pair():
    """The bundled example's E003 and E123 windows, labelled with their expression."""
    from chromepredict.io.datasets import example_data
    from chromepredict.io.expression import read_expression
    from chromepredict.io.labelling import with_expression
    from chromepredict.io.sources import from_tracks

    def cell(eid):
        data = example_data(eid)
        marks = {p.name.split("-")[1].split(".")[0]: str(p) for p in data["tracks"]}
        return with_expression(from_tracks(marks, data["gtf"]), read_expression(data["expression"]))

    return cell("E003"), cell("E123")


@pytest.mark.slow
def test_a_blend_scores_exactly_as_its_models_together(tmp_path):
    """Two difference models trained under different input standardisations (read counts, and the
    same windows pooled to 1 kb and scaled ×7), blended into one ensemble of their three networks:
    its value is the networks' average of the models' own values, for every subset of marks, in
    torch and through ONNX in onnxruntime."""
    from chromepredict.io.features import Paired
    from chromepredict.models.onnx_io import export_onnx
    from chromepredict.models.training import PairArrays, blend, fit

    first, second = example_pair()

    def coarse(data):
        pooled = data.features.reshape(*data.features.shape[:2], 10, 10).mean(axis=3)
        return replace(data, features=np.repeat(pooled * 7, 10, axis=2))

    rows, other = np.arange(300), np.arange(60, 369)
    counts = fit(PairArrays.stack([(first.subset(rows), second.subset(rows))]), None, target="difference",
                 device="cpu", max_epochs=1, members=2)  # fmt: skip
    views = fit(PairArrays.stack([(coarse(first).subset(other), coarse(second).subset(other))]), None,
                target="difference", device="cpu", max_epochs=1, members=1, seed=1)  # fmt: skip
    assert not np.allclose(counts.transform.log_mean, views.transform.log_mean)
    assert counts.ensemble.level_mean != views.ensemble.level_mean  # other genes: another level scale
    assert counts.ensemble.level_sd != views.ensemble.level_sd
    both = blend([counts, views], base=views)
    assert len(both.ensemble.members) == 3 and both.best_epochs == [1, 1, 1]
    held = Paired(first, second)
    for present in (None, np.array([True, False, True, True, False])):
        for data in (held.first, held.second, held):
            expected = (2 * counts.predict(data, present) + views.predict(data, present)) / 3
            np.testing.assert_allclose(both.predict(data, present), expected, atol=1e-4)
    export_onnx(both.ensemble, 5, 100, tmp_path / "blend.onnx")
    session = ort.InferenceSession(str(tmp_path / "blend.onnx"), providers=["CPUExecutionProvider"])
    x = both.transform.apply(held.first.features, held.first.scales)
    mask = np.ones(x.shape[:2], dtype=np.float32)
    mask[:, 1] = 0
    x[:, 1] = 0
    (out,) = session.run(None, {"features": x, "mask": mask})
    present = np.array([True, False, True, True, True])
    expected = (2 * counts.predict(held.first, present) + views.predict(held.first, present)) / 3
    np.testing.assert_allclose(out[:, 0], expected, atol=1e-4)


@pytest.mark.parametrize("target", ["difference", "level"])
@pytest.mark.slow
def test_network_i_of_an_ensemble_is_the_same_whatever_the_number_of_networks(target):
    """Each network trains from its own seed and keeps its own epoch: the first two networks of a
    three-network ensemble are those of a two-network one, weight for weight (what lets
    benchmarks/compare.py --views score blends of fewer networks from one training); another seed
    gives other networks."""
    from chromepredict.models.training import PairArrays, TrainingArrays, fit

    first, second = example_pair()
    rows, valid = np.arange(300), np.arange(300, 369)
    if target == "difference":
        train_set = PairArrays.stack([(first.subset(rows), second.subset(rows))])
        valid_set = PairArrays.stack([(first.subset(valid), second.subset(valid))])
    else:
        train_set = TrainingArrays.stack([first.subset(rows), second.subset(rows)])
        valid_set = TrainingArrays.stack([first.subset(valid), second.subset(valid)])

    def trained(members, seed=0):
        return fit(
            train_set, valid_set, target=target, seed=seed, device="cpu", max_epochs=3, members=members
        )

    two, three, other = trained(2), trained(3), trained(2, seed=1)
    assert three.best_epochs[:2] == two.best_epochs
    for a, b, c in zip(two.ensemble.members, three.ensemble.members, other.ensemble.members):
        for name, weight in a.state_dict().items():
            assert torch.equal(weight, b.state_dict()[name]), name
        assert not torch.equal(a.conv.weight, c.conv.weight)
    assert [e.valid_score for e in three.log if e.member <= 2] == [e.valid_score for e in two.log]
