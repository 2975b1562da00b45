"""``chromepredict benchmark``: the paper's comparison — CNN recipes against SVM, random forest and
linear baselines (or regressors, for ``--target level``) on the same split, test score per cell type."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from chromepredict.commands.train import Settings, require_torch
from chromepredict.evaluation import roc_auc_ci
from chromepredict.files import atomic_dir, check_output_dir
from chromepredict.report import Report
from chromepredict.sources import TrainingSet
from chromepredict.training import score


def _row(method: str, setting: str, truth: np.ndarray, scores: np.ndarray, target: str) -> dict:
    """One method's test score (with a 95 % bootstrap interval for AUCs) and the number of test genes."""
    row = {
        "method": method,
        "test_score": score(target, truth, scores),
        "setting": setting,
        "n_test": len(truth),
    }
    if target == "class":
        row["test_auc_low"], row["test_auc_high"] = roc_auc_ci(truth, scores)
    return row


def benchmark_set(training: TrainingSet, settings: Settings, architectures: tuple[str, ...]) -> list[dict]:
    """Test score of the CNN recipes and the baselines on one split."""
    from chromepredict.baselines import BASELINES, FLOORS, REGRESSORS
    from chromepredict.training import TrainingArrays

    splits, target = training.splits, settings.target
    test = splits["test"]
    truth = test.labels if target == "class" else test.levels
    arrays = {k: TrainingArrays.stack([v]) for k, v in splits.items()}
    rows = []
    for architecture in architectures:
        model = replace(settings, architecture=architecture).fit(arrays["train"], arrays["valid"])
        epochs = ",".join(map(str, model.best_epochs))
        rows.append(_row(f"CNN {architecture}", f"epochs {epochs}", truth, model.predict(test), target))
    methods = {
        **(BASELINES if target == "class" else REGRESSORS),
        **(FLOORS if "H3K4me3" in test.marks else {}),
    }
    for method, run in methods.items():
        result = run(splits["train"], splits["valid"], test, settings.seed)
        rows.append(_row(method, result["setting"], truth, result["scores"], target))
    return rows


def run(
    report: Report, sets_of, output: str, settings: Settings, architectures: tuple[str, ...]
) -> pd.DataFrame:
    """Write benchmark.tsv and benchmark.png into ``output``; returns the table."""
    from chromepredict.plots import benchmark_bars

    require_torch("benchmark")
    settings = settings.check()
    for name in architectures:
        replace(settings, architecture=name).check()
    check_output_dir(output)
    sets: dict[str, TrainingSet] = sets_of()
    rows = []
    with report.progress("cell types", len(sets)) as advance:
        for name, training in sets.items():
            report.info(f"{name}: split {training.split}")
            rows.extend(
                {"cell_type": name, **row} for row in benchmark_set(training, settings, architectures)
            )
            advance(1)
    metric = "test_auc" if settings.target == "class" else "test_spearman"
    table = pd.DataFrame(rows).rename(columns={"test_score": metric})
    with atomic_dir(output) as tmp:
        table.to_csv(tmp / "benchmark.tsv", sep="\t", index=False, float_format="%.4f")
        name = "ROC AUC" if settings.target == "class" else "Spearman"
        title = f"Test {name}: DeepChrome vs baselines"
        benchmark_bars(table.rename(columns={metric: "test_auc"}), tmp / "benchmark.png", title, name)
    return table
