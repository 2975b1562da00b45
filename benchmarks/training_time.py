"""Training time on CPU per cell type: the shared Roadmap E003 split (train.csv / valid.csv, 185 / 186
genes, levels from expression.tsv) and a synthetic set of the paper's size (6,601 train / 6,601
valid genes, drawn from the real E003 genes with Poisson resampling of their counts, so labels stay
learnable). Per epoch and to convergence (early stopping), for the default recipe (an ensemble of
5 networks, trained one after the other on one torch thread) and the published one, and the
projection for the 56 REMC cell types.

    python -m benchmarks.training_time [--data ../shared/data/roadmap] [--cap-2016 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from benchmarks.roadmap import add_data_argument
from chromepredict.io.datasets import read_csv_dir
from chromepredict.io.expression import read_expression
from chromepredict.io.features import FeatureSet
from chromepredict.io.labelling import with_expression
from chromepredict.models.training import TrainingArrays, fit, get_recipe


def paper_sized(data: FeatureSet, n: int, seed: int) -> FeatureSet:
    """``n`` genes drawn with replacement, their counts resampled (Poisson); labels and levels kept."""
    rng = np.random.default_rng(seed)
    picked = data.subset(rng.integers(0, len(data.labels), n))
    picked.features = rng.poisson(picked.features).astype(np.float32)
    return picked


def timed_fit(train: FeatureSet, valid: FeatureSet, architecture: str, max_epochs: int | None = None):
    arrays = TrainingArrays.stack([train]), TrainingArrays.stack([valid])
    start = time.perf_counter()
    model = fit(*arrays, architecture, "class", 0, "cpu", max_epochs)
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_data_argument(parser)
    parser.add_argument(
        "--cap-2016",
        type=int,
        default=3,
        help="epochs of deepchrome-2016 on the paper-sized set (its 50 are extrapolated)",
    )
    args = parser.parse_args()
    expression = read_expression(args.data / "E003" / "expression.tsv")
    splits = {k: with_expression(v, expression) for k, v in read_csv_dir(args.data / "E003").items()}
    big_train = paper_sized(splits["train"], 6601, 1)
    big_valid = paper_sized(splits["valid"], 6601, 2)
    fit(
        *(TrainingArrays.stack([splits[k]]) for k in ("train", "valid")), "deepchrome", "class", 0, "cpu", 1
    )  # warm-up
    print(f"torch {torch.__version__} (training pins 1 thread), {os.cpu_count()} cores, CPU")
    print(
        "| data | recipe | networks | epochs run per network (best) | s / epoch (all networks) | "
        "s to convergence | 56 cell types |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    small = f"Roadmap E003 ({len(splits['train'].genes)}/{len(splits['valid'].genes)} genes)"
    cases = [
        (small, splits["train"], splits["valid"], "deepchrome", None),
        (small, splits["train"], splits["valid"], "deepchrome-2016", None),
        ("synthetic 6,601/6,601 genes", big_train, big_valid, "deepchrome", None),
        ("synthetic 6,601/6,601 genes", big_train, big_valid, "deepchrome-2016", args.cap_2016),
    ]
    for name, train, valid, architecture, cap in cases:
        model, seconds = timed_fit(train, valid, architecture, cap)
        members = len(model.best_epochs)
        runs = [sum(1 for e in model.log if e.member == k + 1) for k in range(members)]
        per_epoch = seconds / sum(runs) * members  # one epoch of every network of the ensemble
        epochs = ", ".join(f"{r} ({b})" for r, b in zip(runs, model.best_epochs, strict=True))
        if cap:
            full = per_epoch * get_recipe(architecture).max_epochs
            note = f" (capped at {cap}; the recipe runs {get_recipe(architecture).max_epochs})"
            total = f"{seconds:.1f} ({get_recipe(architecture).max_epochs} epochs: {full:.0f})"
        else:
            full, note, total = seconds, "", f"{seconds:.1f}"
        print(
            f"| {name} | {architecture} | {members} | {epochs}{note} | {per_epoch:.2f} | {total} | "
            f"{56 * full / 60:.1f} min |",
            flush=True,
        )


if __name__ == "__main__":
    main()
