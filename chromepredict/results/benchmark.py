"""The paper's comparison on one split: CNN recipes against SVM, random forest and linear baselines
(or regressors, for level models), test score per method with 95 % bootstrap intervals for AUCs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet, Paired
from chromepredict.io.training_sets import TrainingSet
from chromepredict.models.targets import Target, get_target
from chromepredict.models.training import Settings


def _row(method: str, setting: str, truth: np.ndarray, scores: np.ndarray, target: Target) -> dict:
    """One method's test score (with a 95 % bootstrap interval for AUCs) and the number of test genes."""
    row = {
        "method": method,
        "test_score": target.score(truth, scores),
        "setting": setting,
        "n_test": len(truth),
    }
    interval = target.interval(truth, scores)
    if interval is not None:
        row["test_score_low"], row["test_score_high"] = interval
    return row


def _one_sample(splits: Mapping[str, FeatureSet | Paired]) -> dict[str, FeatureSet]:
    """The splits of one sample's genes: the methods compared learn from single windows, not pairs."""
    single = {name: data for name, data in splits.items() if isinstance(data, FeatureSet)}
    if len(single) != len(splits):
        raise ValueError("benchmark compares methods on one sample's genes, not on pairs of samples")
    return single


def benchmark_set(training: TrainingSet, settings: Settings, architectures: tuple[str, ...]) -> list[dict]:
    """Test score of the CNN recipes and the baselines on one split."""
    from chromepredict.models.baselines import FLOORS, METHODS
    from chromepredict.models.training import TrainingArrays

    splits, target = _one_sample(training.splits), get_target(settings.target)
    test = splits["test"]
    truth = target.truth(test)
    arrays = {k: TrainingArrays.stack([v]) for k, v in splits.items()}
    rows = []
    for architecture in architectures:
        model = replace(settings, architecture=architecture).fit(arrays["train"], arrays["valid"])
        epochs = ",".join(map(str, model.best_epochs))
        rows.append(_row(f"CNN {architecture}", f"epochs {epochs}", truth, model.predict(test), target))
    methods = {**METHODS[target.fit.baselines], **(FLOORS if "H3K4me3" in test.marks else {})}
    for method, run in methods.items():
        result = run(splits["train"], splits["valid"], test, settings.seed)
        rows.append(_row(method, result["setting"], truth, result["scores"], target))
    return rows


def pivot(table: pd.DataFrame) -> pd.DataFrame:
    """The test scores as methods × cell types, for the terminal."""
    return table.pivot(index="method", columns="cell_type", values="test_score").round(4).reset_index()


def write(table: pd.DataFrame, folder, target: Target) -> None:
    """``benchmark.tsv`` and ``benchmark.png`` (test score per method and cell type) into ``folder``."""
    from chromepredict.results.plots import benchmark_bars

    table.to_csv(folder / "benchmark.tsv", sep="\t", index=False, float_format="%.4f")
    title = f"Test {target.metric_name}: DeepChrome vs baselines"
    benchmark_bars(table, folder / "benchmark.png", title, target.metric_name, target.chance)
