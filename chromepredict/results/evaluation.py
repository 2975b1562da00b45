"""A model's accuracy on labelled genes: the metrics on every gene and on those the model was not
trained on (which lead whenever there are training genes among them), the per-gene table, and the
target's figure (ROC curve or level scatter)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet, Paired
from chromepredict.models.metrics import gene_table
from chromepredict.models.protocols import ScoringModel
from chromepredict.models.targets import Target
from chromepredict.system.report import Report

#: The metrics' names in words, in the order the headline gives them.
METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "spearman": "Spearman",
    "pearson": "Pearson",
    "r2": "R²",
}


@dataclass
class Evaluation:
    """What :func:`evaluate` found: ``metrics`` (what ``metrics.json`` holds), the per-gene
    ``table`` (prediction, truth, ``used_in_training``) and what the figure needs."""

    metrics: dict
    table: pd.DataFrame
    truth: np.ndarray
    predicted: np.ndarray
    seen: np.ndarray
    target: Target
    title: str
    units: str

    @property
    def headline(self) -> str:
        """The line ``evaluate`` prints: the held-out figure when training genes were scored."""
        result = self.metrics
        scores = result[result["headline"]]
        line = ", ".join(f"{name} {scores[key]:.4f}" for key, name in METRIC_NAMES.items() if key in scores)
        if result["headline"] == "held_out":
            return (
                f"{result['model']} on the {scores['genes']} genes it was not trained on: {line} "
                f"({result['training_genes']} training genes left out; {METRIC_NAMES[result['metric']]} on all "
                f"{result['genes']}: {result['all_genes'][result['metric']]:.4f})"
            )
        return f"{result['model']} on {result['genes']} genes: {line}"

    def write(self, folder: Path) -> None:
        """``metrics.json``, ``predictions.tsv`` and the target's figure into ``folder``."""
        from chromepredict.results.plots import evaluation_figure

        (folder / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n")
        self.table.to_csv(folder / "predictions.tsv", sep="\t", index=False)
        evaluation_figure(self.target.report, self.truth, self.predicted, self.seen, folder, self.title, self.metrics,
                          units=self.units)  # fmt: skip


def evaluate(
    model: ScoringModel, data: FeatureSet | Paired, source: str, report: Report, sample: str | None = None
) -> Evaluation:
    """Metrics of ``model`` on labelled ``data`` (admitted by the gate; a Paired set for a
    difference model) on all genes and on those the model was not trained on (which lead); the
    caveat, when training genes are among them, is a warning on ``report``. ``sample`` names the
    input in the figure's title (else ``source``, the labels' file)."""
    target = model.target
    truth = target.truth(data)
    target.check_truth(truth, "evaluation")
    predicted = model.predict(data)
    seen = model.training_genes(data.genes)
    result: dict[str, Any] = {
        "model": model.name,
        "data": str(source),
        "metric": target.metric_key,
        "genes": int(len(seen)),
    }
    if seen.any():
        held = ~seen
        if held.sum() > 2:
            result["held_out"] = {"genes": int(held.sum()), **target.metrics(truth[held], predicted[held])}
        result["training_genes"] = int(seen.sum())
        result["caveat"] = (
            f"{seen.sum()} of {len(seen)} genes were used to train model {model.name}: metrics on them are not a "
            + (
                "test; the held-out genes' figure leads"
                if held.sum() > 2
                else "test, and too few others are left for one"
            )
        )
        report.warn(result["caveat"])
    caveat = target.log_caveat(data)
    if caveat:
        report.warn(caveat)
    contrary = target.against(truth, predicted)
    if contrary:
        report.warn(f"{source}: {contrary}")
    result["all_genes"] = target.metrics(truth, predicted)
    result["headline"] = "held_out" if "held_out" in result else "all_genes"
    result["warnings"] = list(report.warnings)  # a pipeline reads files, not stderr
    table = gene_table(data.genes, predicted, truth, target).assign(
        used_in_training=np.where(seen, "true", "false")
    )
    title = f"{model.name} on {sample or Path(source).name}"
    return Evaluation(result, table, truth, predicted, seen, target, title, model.card.level_units_or_default)
