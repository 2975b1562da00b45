"""``chromepredict benchmark``: the paper's comparison — CNN recipes against SVM, random forest and
linear baselines (or regressors, for ``--target level``) on the same split, test score per cell type."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from chromepredict.io.training_sets import TrainingSet
from chromepredict.models.metrics import roc_auc_ci
from chromepredict.models.targets import Target, get_target
from chromepredict.models.training import Settings
from chromepredict.system.errors import UserError
from chromepredict.system.extras import require_torch
from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs
from chromepredict.system.report import Report

__all__ = ["Settings", "run", "pivot"]


def _row(method: str, setting: str, truth: np.ndarray, scores: np.ndarray, target: Target) -> dict:
    """One method's test score (with a 95 % bootstrap interval for AUCs) and the number of test genes."""
    row = {
        "method": method,
        "test_score": target.score(truth, scores),
        "setting": setting,
        "n_test": len(truth),
    }
    if target.classifier:
        row["test_score_low"], row["test_score_high"] = roc_auc_ci(truth, scores)
    return row


def benchmark_set(training: TrainingSet, settings: Settings, architectures: tuple[str, ...]) -> list[dict]:
    """Test score of the CNN recipes and the baselines on one split."""
    from chromepredict.models.baselines import FLOORS, METHODS
    from chromepredict.models.training import TrainingArrays

    splits, target = training.splits, get_target(settings.target)
    test = splits["test"]
    truth = target.truth(test)
    arrays = {k: TrainingArrays.stack([v]) for k, v in splits.items()}
    rows = []
    for architecture in architectures:
        model = replace(settings, architecture=architecture).fit(arrays["train"], arrays["valid"])
        epochs = ",".join(map(str, model.best_epochs))
        rows.append(_row(f"CNN {architecture}", f"epochs {epochs}", truth, model.predict(test), target))
    methods = {**METHODS[target.baseline_family], **(FLOORS if "H3K4me3" in test.marks else {})}
    for method, run in methods.items():
        result = run(splits["train"], splits["valid"], test, settings.seed)
        rows.append(_row(method, result["setting"], truth, result["scores"], target))
    return rows


def run(
    report: Report,
    sets_of,
    output: str,
    settings: Settings,
    architectures: tuple[str, ...] = (),
    inputs: list | None = None,
) -> pd.DataFrame:
    """Write benchmark.tsv and benchmark.png into ``output``; returns the table. With no
    ``architectures``: both recipes for class, the default for other targets."""
    from chromepredict.models.training import RECIPES
    from chromepredict.results.plots import benchmark_bars

    require_torch("benchmark")
    settings = settings.check()
    target = get_target(settings.target)
    if target.paired:
        raise UserError(
            f"--target {target.name} learns from pairs of samples: benchmark compares methods on one "
            "sample's genes; use --target level, or train --target difference --pair A:B"
        )
    architectures = architectures or tuple(RECIPES if target.classifier else ("deepchrome",))
    for name in architectures:
        replace(settings, architecture=name).check()
    check_outputs(inputs or [], folders=[("-o", output)])
    check_output_dir(output, "benchmark")
    with atomic_dir(
        output, "benchmark", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        sets: dict[str, TrainingSet] = sets_of()
        rows = []
        with report.progress("cell types", len(sets)) as advance:
            for name, training in sets.items():
                report.info(f"{name}: split {training.split}")
                rows.extend(
                    {"cell_type": name, **row} for row in benchmark_set(training, settings, architectures)
                )
                advance(1)
        table = pd.DataFrame(rows)
        table.to_csv(tmp / "benchmark.tsv", sep="\t", index=False, float_format="%.4f")
        title = f"Test {target.metric_name}: DeepChrome vs baselines"
        benchmark_bars(table, tmp / "benchmark.png", title, target.metric_name, target.chance)
    return table


def pivot(table: pd.DataFrame) -> pd.DataFrame:
    """The test scores as methods × cell types, for the terminal."""
    return table.pivot(index="method", columns="cell_type", values="test_score").round(4).reset_index()
