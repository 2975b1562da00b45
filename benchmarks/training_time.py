"""Training time on CPU per cell type: the shared Roadmap E003 split (185 / 186 genes) and a
synthetic set of the paper's size (6,601 train / 6,601 valid genes, drawn from the real E003 genes
with Poisson resampling of their counts, so labels stay learnable). Per epoch and to convergence
(early stopping), for the default and the published recipe, and the projection for 56 cell types.

    python benchmarks/training_time.py [--data ../shared/data/roadmap]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from roadmap import add_data_argument

from chromepredict.datasets import read_csv_dir
from chromepredict.features import FeatureSet
from chromepredict.training import fit


def paper_sized(data: FeatureSet, n: int, seed: int) -> FeatureSet:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(data.labels), n)
    picked = data.subset(rows)
    picked.features = rng.poisson(picked.features).astype(np.float32)
    return picked


def timed_fit(train, valid, architecture, max_epochs=None):
    start = time.perf_counter()
    model = fit(train, valid, architecture, seed=0, device="cpu", max_epochs=max_epochs)
    seconds = time.perf_counter() - start
    return model, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_data_argument(parser)
    args = parser.parse_args()
    splits = read_csv_dir(args.data / "E003")
    big_train = paper_sized(splits["train"], 6601, 1)
    big_valid = paper_sized(splits["valid"], 6601, 2)
    fit(splits["train"], splits["valid"], max_epochs=1)  # warm-up: imports, allocator
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print("| data | recipe | epochs run (best) | s / epoch | s to convergence | 56 cell types |")
    print("| --- | --- | --- | --- | --- | --- |")
    cases = [
        ("Roadmap E003 (185/186 genes)", splits["train"], splits["valid"], "deepchrome", None),
        ("Roadmap E003 (185/186 genes)", splits["train"], splits["valid"], "deepchrome-2016", None),
        ("synthetic 6,601/6,601 genes", big_train, big_valid, "deepchrome", None),
        ("synthetic 6,601/6,601 genes", big_train, big_valid, "deepchrome-2016", 3),
    ]
    for name, train, valid, architecture, cap in cases:
        model, seconds = timed_fit(train, valid, architecture, cap)
        per_epoch = seconds / len(model.log)
        note = f" (capped at {cap} epochs; the recipe allows 50)" if cap else ""
        total = seconds if not cap else per_epoch * 50
        print(
            f"| {name} | {architecture} | {len(model.log)} ({model.best_epoch}){note} | {per_epoch:.2f} | "
            f"{seconds:.1f}{' (50 epochs: ' + f'{total:.0f})' if cap else ''} | {56 * total / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
