"""The jobs behind train, evaluate and benchmark: data in, fitted models and result files out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.datasets import split_by_chromosome
from chromepredict.errors import UserError
from chromepredict.evaluation import gene_table, metrics
from chromepredict.features import FeatureSet
from chromepredict.files import atomic_dir

SPLIT_NOTE = {
    "chromosome": "genes split by whole chromosome (70/15/15 %, seeded): neighbouring genes share signal, so no chromosome is on both sides",
    "csv": "train.csv / valid.csv / test.csv as given",
    "csv-valid-halves": "train.csv; valid.csv split in two halves (stratified, seeded): one for epoch selection, one as test",
}


def split_tracks(data: FeatureSet, seed: int) -> dict[str, FeatureSet]:
    """Train / valid / test FeatureSets from one labelled set, by chromosome."""
    return {name: data.subset(rows) for name, rows in split_by_chromosome(data.genes, seed).items()}


def split_valid_halves(splits: dict[str, FeatureSet], seed: int) -> dict[str, FeatureSet]:
    """When there is no test.csv: half of valid (stratified, seeded) becomes the test set."""
    if "test" in splits:
        return splits
    from sklearn.model_selection import train_test_split

    valid = splits["valid"]
    keep, test = train_test_split(
        np.arange(len(valid.labels)), test_size=0.5, stratify=valid.labels, random_state=seed
    )
    return {
        "train": splits["train"],
        "valid": valid.subset(np.sort(keep)),
        "test": valid.subset(np.sort(test)),
    }


def describe(splits: dict[str, FeatureSet]) -> dict:
    return {
        name: {"genes": int(len(part.labels)), "high": int(part.labels.sum())}
        for name, part in splits.items()
        if part is not None
    }


def train_model(
    splits: dict[str, FeatureSet],
    outdir: str | Path,
    name: str,
    architecture: str,
    seed: int,
    device: str,
    data_source: dict,
    transform: str | None = None,
    max_epochs: int | None = None,
    on_epoch: Callable | None = None,
    card_extra: dict | None = None,
) -> dict:
    """Fit on train/valid, score test if present, and write the model folder atomically.

    Writes model.onnx, model.card.json, model.pt, training_log.tsv, learning_curve.png and
    (with a test split) test_predictions.tsv. Returns the card.
    """
    import torch

    from chromepredict.onnx_io import base_card, export_onnx, write_card
    from chromepredict.plots import learning_curve
    from chromepredict.training import fit

    model = fit(splits["train"], splits["valid"], architecture, seed, device, max_epochs, on_epoch, transform)
    scores = {"valid": metrics(splits["valid"].labels, model.predict_proba(splits["valid"]))}
    test = splits.get("test")
    if test is not None:
        p_test = model.predict_proba(test)
        scores["test"] = metrics(test.labels, p_test)
    train = splits["train"]
    n_marks, n_bins = train.features.shape[1:]
    with atomic_dir(outdir) as tmp:
        export_onnx(model.net, n_marks, n_bins, tmp / "model.onnx")
        torch.save(
            {"state_dict": model.net.state_dict(), "n_marks": n_marks, "n_bins": n_bins}, tmp / "model.pt"
        )
        log = pd.DataFrame([asdict(e) for e in model.log])
        log.to_csv(tmp / "training_log.tsv", sep="\t", index=False, float_format="%.6f")
        learning_curve(
            model.log, tmp / "learning_curve.png", f"{name}: {architecture}, seed {seed}", model.best_epoch
        )
        if test is not None:
            gene_table(test.genes, p_test, test.labels).to_csv(
                tmp / "test_predictions.tsv", sep="\t", index=False
            )
        card = write_card(
            tmp / "model.onnx",
            base_card(
                name,
                train,
                model.transform,
                architecture=architecture,
                recipe=model.recipe_dict(),
                seed=seed,
                training_device=model.device,
                best_epoch=model.best_epoch,
                training_data={**data_source, "splits": describe(splits)},
                metrics=scores,
                **(card_extra or {}),
            ),
        )
    return card


def evaluate_model(model, data: FeatureSet, outdir: str | Path, source: str) -> dict:
    """Score labelled genes with a loaded ONNX model; write metrics.json, predictions.tsv and roc_curve.png."""
    from chromepredict.plots import roc_curve

    if data.labels is None or len(np.unique(data.labels)) < 2:
        raise UserError(f"{source}: evaluation needs genes of both classes (high and low)")
    p_high = model.predict_proba(data, source)
    result = {"model": model.name, "data": source, **metrics(data.labels, p_high)}
    with atomic_dir(outdir) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        gene_table(data.genes, p_high, data.labels).to_csv(tmp / "predictions.tsv", sep="\t", index=False)
        roc_curve(
            data.labels,
            p_high,
            tmp / "roc_curve.png",
            f"{model.name} on {Path(source).name}",
            result["roc_auc"],
        )
    return result


def benchmark_cell_type(
    splits: dict[str, FeatureSet], seed: int, device: str, architectures: tuple[str, ...]
) -> list[dict]:
    """Test AUC of the CNN recipes and the paper's baselines on one split."""
    from chromepredict.baselines import BASELINES
    from chromepredict.training import fit

    rows = []
    for architecture in architectures:
        model = fit(splits["train"], splits["valid"], architecture, seed, device)
        test_auc = metrics(splits["test"].labels, model.predict_proba(splits["test"]))["roc_auc"]
        rows.append(
            {
                "method": f"CNN {architecture}",
                "valid_auc": model.best_valid_auc,
                "test_auc": test_auc,
                "setting": f"epoch={model.best_epoch}",
            }
        )
    for method, run in BASELINES.items():
        rows.append({"method": method, **run(splits["train"], splits["valid"], splits["test"], seed)})
    return rows
