"""``chromepredict train``: fit models on tracks + expression, a samplesheet, a CSV folder or every
REMC cell type."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet
from chromepredict.io.training_sets import TrainingSet
from chromepredict.models import gate
from chromepredict.models.card import Metrics, TrainingData, build_card, write_card
from chromepredict.models.metrics import gene_table
from chromepredict.models.targets import get_target
from chromepredict.models.training import Settings
from chromepredict.system.extras import require_torch
from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs
from chromepredict.system.report import Report


def subset_scores(model, data: FeatureSet, name: str) -> dict[str, dict[str, float]]:
    """Score of ``data`` with every non-empty subset of the marks hidden from the network but those."""
    truth = model.target.truth(data)
    scores = {}
    for size in range(1, len(data.marks) + 1):
        for subset in itertools.combinations(data.marks, size):
            present = np.array([m in subset for m in data.marks])
            scores[gate.subset_key(subset)] = {
                name: round(model.target.score(truth, model.predict(data, present)), 4)
            }
    return scores


def train_one(
    training: TrainingSet,
    folder: Path,
    name: str,
    settings: Settings,
    report: Report,
    genome_build: str | None,
    warnings: list[str] | None = None,
):
    """Fit one model on a training set and write its folder; returns the card, which records
    ``warnings`` (what the run warned about this set's data)."""
    import torch

    from chromepredict.models.onnx_io import export_onnx
    from chromepredict.models.training import get_recipe, training_arrays
    from chromepredict.results.plots import learning_curve

    splits, target = training.splits, get_target(settings.target)
    arrays = {k: training_arrays(v) for k, v in splits.items()}
    recipe = get_recipe(settings.architecture)
    epochs = (settings.max_epochs or recipe.max_epochs) * (settings.members or recipe.members)
    with report.progress(f"{name}: epochs", epochs) as advance:
        model = settings.fit(
            arrays["train"],
            arrays["valid"],
            lambda entry: advance(1, f"{name}: network {entry.member}, valid {entry.valid_score:.3f}"),
        )
    truth = {k: target.truth(v) for k, v in splits.items()}
    predicted = {k: model.predict(v) for k, v in splits.items() if k != "train"}
    held_out = "test" if "test" in splits else "valid"
    subsets = subset_scores(model, splits[held_out], held_out) if model.ensemble.members[0].masked else {}
    train = splits["train"]
    used = pd.concat([splits[s].genes for s in ("train", "valid") if s in splits])
    card = build_card(
        model,
        train,
        name=name,
        training_profile=gate.training_profile([train], model.transform),
        training_data=TrainingData(
            source=training.description,
            gene_ids=tuple(sorted(used["gene_id"].unique().tolist())),
            gene_names=tuple(sorted(used["gene_name"].astype(str).unique().tolist())),
            labels=train.provenance.labels_from,
            split=training.split,
            splits={k: {"genes": len(v.genes)} for k, v in splits.items()},
            warnings=tuple(warnings or ()),
        ),
        metrics=Metrics(
            held_out={k: target.metrics(truth[k], predicted[k]) for k in predicted}, subsets=subsets
        ),
        genome_builds=[genome_build or train.provenance.assembly],
        level_units=train.provenance.units,
        pairs=training.pairs,
        seed=settings.seed,
    )
    n_marks, n_bins = train.features.shape[1:]
    export_onnx(model.ensemble, n_marks, n_bins, folder / "model.onnx")
    torch.save({"state_dict": model.ensemble.state_dict(), "card": asdict(card.inputs)}, folder / "model.pt")
    pd.DataFrame([asdict(e) for e in model.log]).to_csv(
        folder / "training_log.tsv", sep="\t", index=False, float_format="%.6f"
    )
    learning_curve(
        model.log, folder / "learning_curve.png", f"{name}: {settings.architecture}, seed {settings.seed}",
        model.best_epochs, target.metric_name, model.recipe.select_by,
    )  # fmt: skip
    if "test" in splits:
        table = gene_table(splits["test"].genes, predicted["test"], truth["test"], target)
        table.to_csv(folder / "test_predictions.tsv", sep="\t", index=False)
    return write_card(folder / "model.onnx", card)


def run(
    report: Report,
    sets_of,
    output: str,
    settings: Settings,
    name: str | None,
    genome_build: str | None = None,
    inputs: list | None = None,
) -> list[dict]:
    """Train every training set ``sets_of()`` gives into ``output`` (one subfolder each when several).

    The output folder is complete or absent: an interrupted run leaves nothing behind; it may not
    hold or be any of ``inputs``.
    """
    require_torch("train")
    settings = settings.check()
    check_outputs(inputs or [], folders=[("-o", output)])
    check_output_dir(output, "train")
    with atomic_dir(
        output, "train", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        sets: dict[str, TrainingSet] = sets_of()
        report.info(f"training on {settings.device}")
        target = get_target(settings.target)
        summary = []
        for key, training in sets.items():
            several = len(sets) > 1
            label = key if several else (name or Path(output).name)
            folder = tmp / key if several else tmp
            folder.mkdir(exist_ok=True)
            sizes = ", ".join(f"{k} {len(v.genes)}" for k, v in training.splits.items())
            report.info(f"{label}: {sizes} genes; split {training.split}")
            others = [f"{k}: " for k in sets if k != key]  # a sample's warnings are named with it
            warnings = [w for w in report.warnings if not w.startswith(tuple(others))]
            card = train_one(training, folder, label, settings, report, genome_build, warnings)
            row = {"name": label}
            for split, values in card.metrics.held_out.items():
                row[f"{split}_{target.metric_key}"] = values[target.metric_key]
            summary.append(row)
            scores = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "name")
            report.info(f"{label}: {scores} → {Path(output) / key if several else output}")
        if len(sets) > 1:
            pd.DataFrame(summary).to_csv(tmp / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    return summary
