"""``chromepredict benchmark``: the paper's comparison — CNN recipes against SVM, random forest and
linear baselines (or regressors, for ``--target level``) on the same split, test score per cell type."""

from __future__ import annotations

import pandas as pd

from chromepredict.commands.train import evaluate_split, require_torch
from chromepredict.evaluation import roc_auc_ci
from chromepredict.files import atomic_dir, check_output_dir
from chromepredict.report import Report
from chromepredict.sources import TrainingSet


def benchmark_set(
    training: TrainingSet, target: str, seed: int, device: str, architectures: tuple[str, ...]
) -> list[dict]:
    """Test score of the CNN recipes and the baselines on one split, with a 95 % CI for AUCs."""
    from chromepredict.baselines import BASELINES, REGRESSORS
    from chromepredict.training import TrainingArrays, fit

    splits = training.splits
    test = splits["test"]
    truth = test.labels if target == "class" else test.levels
    metric = "auc" if target == "class" else "spearman"
    rows = []
    for architecture in architectures:
        arrays = {k: TrainingArrays.stack([v]) for k, v in splits.items()}
        model = fit(arrays["train"], arrays["valid"], architecture, target, seed, device)
        scores = evaluate_split(target, truth, model.predict(test))
        rows.append({"method": f"CNN {architecture}", f"test_{metric}": scores["roc_auc" if target == "class" else "spearman"],
                     "setting": f"epochs {','.join(map(str, model.best_epochs))}", "_scores": model.predict(test)})  # fmt: skip
    baselines = BASELINES if target == "class" else REGRESSORS
    for method, run in baselines.items():
        result = run(splits["train"], splits["valid"], test, seed)
        rows.append({"method": method, f"test_{metric}": result[f"test_{'auc' if target == 'class' else 'spearman'}"],
                     "setting": result["setting"], "_scores": result.get("scores")})  # fmt: skip
    for row in rows:
        scores = row.pop("_scores")
        row["n_test"] = len(truth)
        if target == "class" and scores is not None:
            row["test_auc_low"], row["test_auc_high"] = roc_auc_ci(truth, scores)
    return rows


def run(
    report: Report, sets_of, output: str, target: str, seed: int, device: str, architectures: tuple[str, ...]
) -> pd.DataFrame:
    """Write benchmark.tsv and benchmark.png into ``output``."""
    from chromepredict.plots import benchmark_bars
    from chromepredict.training import get_recipe, resolve_device

    require_torch("benchmark")
    for name in architectures:
        get_recipe(name)
    check_output_dir(output)
    device = resolve_device(device)
    sets: dict[str, TrainingSet] = sets_of()
    rows = []
    with report.progress("cell types", len(sets)) as advance:
        for name, training in sets.items():
            report.info(f"{name}: split {training.split}")
            rows.extend(
                {"cell_type": name, **row}
                for row in benchmark_set(training, target, seed, device, architectures)
            )
            advance(1)
    table = pd.DataFrame(rows)
    metric = "test_auc" if target == "class" else "test_spearman"
    with atomic_dir(output) as tmp:
        table.to_csv(tmp / "benchmark.tsv", sep="\t", index=False, float_format="%.4f")
        benchmark_bars(table.rename(columns={metric: "test_auc"}), tmp / "benchmark.png",
                       f"Test {'ROC AUC' if target == 'class' else 'Spearman'}: DeepChrome vs baselines")  # fmt: skip
    return table
