"""Choose the default training recipe by measurement: repeated 5-fold cross-validation on the shared
Roadmap genes (E003, E123; 371 genes each, features extracted from the bigWigs, labels by the median
rule). Inside each fold, 20 % of the training genes (stratified) are held out for early stopping and
for tuning the logistic regression's C.

    python benchmarks/recipes.py [--data ../shared/data/roadmap] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from roadmap import add_data_argument, load_cell_type
from sklearn.model_selection import StratifiedKFold, train_test_split

from chromepredict.baselines import logistic
from chromepredict.evaluation import roc_auc
from chromepredict.training import fit

VARIANTS = {
    # name: (orientation, architecture, transform, seeds)
    "deepchrome-2016 (raw, SGD, batch 1)": ("genomic", "deepchrome-2016", None, 1),
    "Adam + log1p, genomic": ("genomic", "deepchrome", "log1p", 1),
    "Adam + log1p, 5to3": ("5to3", "deepchrome", "log1p", 1),
    "Adam + sample-log1p, 5to3": ("5to3", "deepchrome", "sample-log1p", 1),
    "Adam + sample-log1p, 5to3, 5 seeds": ("5to3", "deepchrome", "sample-log1p", 5),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for eid in ("E003", "E123"):
        data = {o: load_cell_type(args.data, eid, o, gene_type=None) for o in ("genomic", "5to3")}
        labels = data["genomic"].labels
        for repeat in range(args.repeats):
            folds = StratifiedKFold(5, shuffle=True, random_state=repeat).split(labels, labels)
            for fold, (inner, test) in enumerate(folds):
                train, valid = train_test_split(
                    inner, test_size=0.2, stratify=labels[inner], random_state=repeat
                )
                part = {o: [d.subset(np.sort(i)) for i in (train, valid, test)] for o, d in data.items()}
                result = logistic(*part["genomic"])
                rows.append((eid, repeat, fold, "Logistic regression (log1p)", result["test_auc"], 0.0))
                for name, (orientation, architecture, transform, seeds) in VARIANTS.items():
                    tr, va, te = part[orientation]
                    start = time.perf_counter()
                    p = np.mean(
                        [
                            fit(tr, va, architecture, seed=s, transform=transform).predict_proba(te)
                            for s in range(seeds)
                        ],
                        axis=0,
                    )
                    rows.append((eid, repeat, fold, name, roc_auc(te.labels, p), time.perf_counter() - start))
                print(eid, repeat, fold, flush=True)
    table = pd.DataFrame(rows, columns=["cell_type", "repeat", "fold", "method", "test_auc", "seconds"])
    summary = table.groupby(["method", "cell_type"])["test_auc"].mean().unstack()
    summary["mean"] = summary.mean(axis=1)
    summary["fit_seconds"] = table.groupby("method")["seconds"].mean()
    print(summary.sort_values("mean").round(4).to_markdown())


if __name__ == "__main__":
    main()
