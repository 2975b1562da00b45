"""Expression level from the shared tracks: does ``train --target level`` beat log H3K4me3 at the TSS?

    python -m benchmarks.level [--data ../shared/data/roadmap] [--repeats 3] [--folds 5]

For E003 and E123 (the shared read-count bigWigs + genes.gtf + expression.tsv, read through the
normal input path), repeated stratified k-fold cross-validation over the 369 genes. In each fold:

- ``CNN level (train --target level)``: the default recipe with the level target (5 networks), on
  the training genes, 20 % of them picking each network's epoch, as ``chromepredict train`` does;
- ``Ridge regression`` and ``Random forest regression``: the ``benchmark`` command's regressors,
  tuned on the same 20 %;
- ``H3K4me3 at the TSS (no training)``: log1p of H3K4me3's mean over TSS ± 1 kb.

Spearman correlation with log2(1 + RPKM) of the pooled held-out predictions, per repeat; the table
gives the mean over repeats and the range, and each method's difference to the floor.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import StratifiedKFold

from benchmarks.roadmap import add_data_argument, load_cell_type
from chromepredict.models.baselines import FLOORS, REGRESSORS, h3k4me3_at_tss
from chromepredict.models.training import TrainingArrays, fit

CELL_TYPES = ("E003", "E123")
FLOOR = next(iter(FLOORS))  # "H3K4me3 at the TSS (no training)"
CNN = "CNN level (train --target level)"


def cross_validate(data, folds: int, seed: int) -> dict[str, np.ndarray]:
    """Pooled held-out predictions of every method, one k-fold split (seeded)."""
    predictions = {name: np.full(len(data.genes), np.nan) for name in (CNN, *REGRESSORS, FLOOR)}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for fold, (train_rows, test_rows) in enumerate(splitter.split(data.genes, data.labels)):
        rng = np.random.default_rng(seed * 100 + fold)
        picks = rng.permutation(len(train_rows))
        valid_rows, fit_rows = (
            train_rows[picks[: len(train_rows) // 5]],
            train_rows[picks[len(train_rows) // 5 :]],
        )
        train, valid, test = data.subset(fit_rows), data.subset(valid_rows), data.subset(test_rows)
        model = fit(
            TrainingArrays.stack([train]), TrainingArrays.stack([valid]), "deepchrome", "level", seed, "cpu"
        )
        predictions[CNN][test_rows] = model.predict(test)
        for name, regressor in REGRESSORS.items():
            predictions[name][test_rows] = regressor(train, valid, test, seed)["scores"]
        predictions[FLOOR][test_rows] = h3k4me3_at_tss(test)
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for eid in CELL_TYPES:
        data = load_cell_type(args.data, eid)
        for repeat in range(args.repeats):
            started = time.time()
            for name, scores in cross_validate(data, args.folds, repeat).items():
                rho = float(spearmanr(data.levels, scores).statistic)
                rows.append({"cell_type": eid, "repeat": repeat, "method": name, "spearman": rho})
            print(f"{eid} repeat {repeat}: {time.time() - started:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    floor_of = table[table["method"] == FLOOR].set_index(["cell_type", "repeat"])["spearman"]
    table["vs_floor"] = table["spearman"] - table.set_index(["cell_type", "repeat"]).index.map(floor_of)
    summary = table.groupby(["method", "cell_type"]).agg(
        spearman=("spearman", "mean"),
        low=("spearman", "min"),
        high=("spearman", "max"),
        vs_floor=("vs_floor", "mean"),
        vs_floor_min=("vs_floor", "min"),
    )
    print(table.to_csv(sep="\t", index=False))
    print(summary.round(4).to_markdown())


if __name__ == "__main__":
    main()
