"""Does a model keep its accuracy when the signal's scale changes? The shared E003 tracks as they are,
multiplied by 0.36 (per-base coverage of 36 bp reads instead of reads per 100 bp bin) and by 10
(a 10× deeper library), and turned into something fold-enrichment-like
(FE = (x + 1) / (λ + 1) per bin, λ = a control's local background: the mark's mean times a
log-normal per-window factor, as MACS2 divides by an input library's local λ).

Two views, both for the `log1p` and the default `sample-log1p` transform:
- 5-fold cross-validation on E003 (train on 4/5 of the genes as the counts are, test on the held-out
  fifth under each scale): held-out AUC;
- the pretrained E123 model (K562: never trained on E003) predicting E003 under each scale.

    python benchmarks/signal_scale.py [--data ../shared/data/roadmap]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import pandas as pd
from roadmap import add_data_argument, load_cell_type
from sklearn.model_selection import StratifiedKFold, train_test_split

from chromepredict.evaluation import roc_auc
from chromepredict.features import FeatureSet
from chromepredict.training import fit
from chromepredict.zoo import open_model


def fold_enrichment_like(x: np.ndarray) -> np.ndarray:
    """(signal + 1) / (control λ + 1), the control's local λ = the mark's mean × a per-window factor
    (log-normal, sd 0.25: copy-number and mappability variation of an input library)."""
    background = x.mean(axis=(0, 2), keepdims=True)
    local = background * np.random.default_rng(0).lognormal(0.0, 0.25, size=(x.shape[0], x.shape[1], 1))
    return ((x + 1) / (local + 1)).astype(np.float32)


SCALES = {
    "as is (read counts)": lambda x: x,
    "× 0.36 (coverage, 36 bp reads)": lambda x: x * 0.36,
    "× 10 (deeper library)": lambda x: x * 10,
    "fold-enrichment-like": fold_enrichment_like,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_data_argument(parser)
    args = parser.parse_args()
    data = load_cell_type(args.data, "E003")

    def scaled(part: FeatureSet, name: str) -> FeatureSet:
        return replace(part, features=SCALES[name](part.features))

    rows = []
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(data.labels, data.labels)
    for inner, test in folds:
        train, valid = train_test_split(inner, test_size=0.2, stratify=data.labels[inner], random_state=0)
        train, valid, test = (data.subset(np.sort(i)) for i in (train, valid, test))
        for transform in ("log1p", "sample-log1p", "sample-quantile"):
            model = fit(train, valid, "deepchrome", seed=0, transform=transform)
            for name in SCALES:
                rows.append(
                    (
                        "5-fold CV on E003",
                        transform,
                        name,
                        roc_auc(test.labels, model.predict_proba(scaled(test, name))),
                    )
                )
    pretrained = open_model("E123")
    for name in SCALES:
        rows.append(
            (
                "pretrained E123 model on E003",
                pretrained.transform.kind,
                name,
                roc_auc(data.labels, pretrained.predict_proba(scaled(data, name))),
            )
        )
    table = pd.DataFrame(rows, columns=["evaluation", "transform", "signal", "auc"])
    summary = table.groupby(["evaluation", "transform", "signal"], sort=False)["auc"].mean().unstack("signal")
    print(summary.round(4).to_markdown())


if __name__ == "__main__":
    main()
