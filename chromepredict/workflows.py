"""The jobs behind train, evaluate and benchmark: data in, fitted models and result files out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.datasets import ENSEMBL_PREFIX, split_by_chromosome
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


def csv_training_sets(csv_dir: Path | None, remc_root: Path | None, seed: int, need_test: bool) -> dict:
    """{cell type: (splits, source)} from one DeepChrome CSV folder or every cell type of a REMC root.

    With ``need_test`` and no test.csv, half of valid.csv becomes the test set.
    """
    from chromepredict.datasets import find_cell_types, read_csv_dir

    folders = {csv_dir.name: csv_dir} if csv_dir is not None else find_cell_types(remc_root)
    sets = {}
    for cell_type, folder in folders.items():
        splits = read_csv_dir(folder)
        kind = "csv-valid-halves" if need_test and "test" not in splits else "csv"
        if kind == "csv-valid-halves":
            splits = split_valid_halves(splits, seed)
        sets[cell_type] = (
            splits,
            {"source": "deepchrome-csv", "folder": str(folder), "split": SPLIT_NOTE[kind]},
        )
    return sets


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
                training_device=model.trained_on,
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


def explain_model(
    model,
    outdir: str | Path,
    data: FeatureSet | None = None,
    genes: list[str] | None = None,
    restarts: int = 5,
    seed: int = 0,
    lam: float = 0.009,
    steps: int = 1000,
    lr: float = 0.1,
) -> dict:
    """Class maps always; bin influence with ``data``; attributions for ``genes`` of ``data``.

    Writes TSVs and PNGs into ``outdir`` atomically; returns a summary (flagged marks per class).
    """
    from chromepredict import explain, plots

    net = explain.torch_network(model)
    marks, spec = model.marks, model.spec
    n_marks, n_bins = len(marks), spec.n_bins
    result = explain.class_maps(net, n_marks, n_bins, marks, lam, steps, lr, restarts, seed)
    mean_maps, counts, flagged, stability = (
        result.mean_maps,
        result.active_bins(),
        result.flagged(),
        result.flag_stability(),
    )
    c_idx, m_idx, b_idx = np.meshgrid(np.arange(2), np.arange(n_marks), np.arange(n_bins), indexing="ij")
    classes, mark_names = np.array(explain.CLASSES), np.array(marks)
    summary = {
        "model": model.name,
        "lambda": lam,
        "steps": steps,
        "restarts": restarts,
        "seed": seed,
        "classes": {},
    }
    with atomic_dir(outdir) as tmp:
        pd.DataFrame(
            {
                "class": classes[c_idx.ravel()],
                "mark": mark_names[m_idx.ravel()],
                "bin": b_idx.ravel() + 1,
                "value": mean_maps.ravel(),
            }
        ).to_csv(tmp / "class_maps.tsv", sep="\t", index=False, float_format="%.6g")
        c2, m2 = np.meshgrid(np.arange(2), np.arange(n_marks), indexing="ij")
        pd.DataFrame(
            {
                "class": classes[c2.ravel()],
                "mark": mark_names[m2.ravel()],
                "active_bins": counts.ravel(),
                "above_mean": np.where(flagged.ravel(), "true", "false"),
            }
        ).to_csv(tmp / "active_bins.tsv", sep="\t", index=False)
        pd.DataFrame(
            {
                "class": classes[c2.ravel()],
                "mark": mark_names[m2.ravel()],
                "flagged_in_restarts": stability.ravel(),
            }
        ).to_csv(tmp / "flag_stability.tsv", sep="\t", index=False, float_format="%.3f")
        pd.DataFrame(
            {
                "class": np.repeat(classes, restarts),
                "restart": np.tile(np.arange(1, restarts + 1), 2),
                "probability": result.probability.ravel(),
            }
        ).to_csv(tmp / "class_map_restarts.tsv", sep="\t", index=False, float_format="%.6f")
        for c, name in enumerate(explain.CLASSES):
            plots.class_map_figure(
                mean_maps[c],
                counts[c],
                flagged[c],
                marks,
                name,
                spec,
                tmp / f"class_map_{name}.png",
                model.name,
            )
            summary["classes"][name] = {
                "flagged_marks": [m for m, f in zip(marks, flagged[c], strict=True) if f],
                "min_probability": float(result.probability[c].min()),
            }
        if data is not None:
            inputs = model.inputs(data)
            influence = explain.bin_influence(net, inputs)
            positions = explain.bin_positions(n_bins, spec.bin_size, spec.flank)
            trend = explain.smooth(influence)
            pd.DataFrame(
                {
                    "first_bin": np.arange(1, len(influence) + 1),
                    "last_bin": np.arange(1, len(influence) + 1) + n_bins - len(influence),
                    "centre_bp": positions,
                    "influence": influence,
                    "trend": trend,
                }
            ).to_csv(tmp / "bin_influence.tsv", sep="\t", index=False, float_format="%.6g")
            plots.bin_influence_figure(
                positions, influence, trend, tmp / "bin_influence.png", model.name, len(inputs)
            )
            summary["bin_influence_peak_bp"] = float(positions[int(np.argmax(trend))])
            if genes:
                _attributions(tmp, model, net, data, inputs, genes)
    return summary


def _attributions(tmp: Path, model, net, data: FeatureSet, inputs: np.ndarray, genes: list[str]) -> None:
    from chromepredict import explain, plots
    from chromepredict.training import network_proba

    index = {}
    for column in ("gene_id", "gene_name"):  # ids first; names and DeepChrome's short ids as aliases
        for i, key in enumerate(data.genes[column]):
            index.setdefault(key, i)
            index.setdefault(key.removeprefix(ENSEMBL_PREFIX), i)
    missing = [g for g in genes if g not in index]
    if missing:
        raise UserError(
            f"--genes: {', '.join(missing[:5])} not among the {len(index)} genes of the input; use gene_id or gene_name"
        )
    rows = [index[g] for g in genes]
    baseline = explain.no_signal_baseline(model.transform, *inputs.shape[1:])
    attribution = explain.integrated_gradients(net, inputs[rows], baseline)
    p_high = network_proba(net, inputs[rows])
    n_marks, n_bins = inputs.shape[1:]
    frames = []
    for k, row in enumerate(rows):
        gene = data.genes.iloc[row]
        frames.append(
            pd.DataFrame(
                {
                    "gene_id": gene["gene_id"],
                    "gene_name": gene["gene_name"],
                    "mark": np.repeat(model.marks, n_bins),
                    "bin": np.tile(np.arange(1, n_bins + 1), n_marks),
                    "signal": data.features[row].ravel(),
                    "attribution": attribution[k].ravel(),
                }
            )
        )
        label = (
            f"{gene['gene_name']} ({gene['gene_id']})"
            if gene["gene_name"] != gene["gene_id"]
            else gene["gene_id"]
        )
        plots.attribution_figure(
            label,
            data.features[row],
            attribution[k],
            model.marks,
            model.spec,
            tmp / f"attribution_{gene['gene_id']}.png",
            model.name,
            float(p_high[k]),
        )
    pd.concat(frames).to_csv(tmp / "attributions.tsv", sep="\t", index=False, float_format="%.6g")
