"""The network's share of predict: ``LoadedModel.predict`` of one model graph against another.

    python -m benchmarks.network_speed --old /tmp/chromepredict-old-models/E003-E123 [--new E003-E123]
                                       [--genes 20000] [--repeats 5] [--batches 512 2048 8192]

Both models are scored on the same genes: golden.npz's 16 genes of the new model (real signal)
tiled to ``--genes``, each copy with its tracks scaled by a random factor per gene and mark, so
that no two genes are alike. ``predict`` (transform + onnxruntime, in batches) is timed for every
model × threads (1, 2: batches scored at once) × batch size, interleaved, and the median of ``--repeats`` runs is
printed with its ratio to the old graph at the same threads and batch size. Before timing, the
outputs are checked: identical (bit for bit) whatever the threads and batch size for each graph,
and the largest |old − new| is printed. ``--old`` is e.g. a copy of a model folder from before the
mask channels were folded into a bias (``git show <commit>:chromepredict/pretrained/E003-E123/...``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np
import pandas as pd

from chromepredict import DEFAULT_MODEL
from chromepredict.io.features import FeatureSet
from chromepredict.io.trackinfo import TrackProfile
from chromepredict.models.zoo import open_model
from chromepredict.system.report import Report


def genes_like_golden(model, n_genes: int, seed: int = 0) -> FeatureSet:
    golden = np.load(model.path.parent / "golden.npz")
    rng = np.random.default_rng(seed)
    rows = np.resize(np.arange(len(golden["features"])), n_genes)
    jitter = rng.lognormal(0.0, 0.5, size=(n_genes, len(model.marks), 1)).astype(np.float32)
    features = golden["features"][rows] * jitter
    genes = pd.DataFrame(
        {"gene_id": [f"g{i}" for i in range(n_genes)], "gene_name": "", "chrom": "", "tss": 0, "strand": "+"}
    )
    profiles = {m: TrackProfile(scale=float(s)) for m, s in zip(model.marks, golden["scales"], strict=True)}
    return FeatureSet(features, genes, model.marks, model.spec, profiles=profiles)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--old", required=True, help="model (folder, .onnx or pretrained name) to compare with"
    )
    parser.add_argument("--new", default=DEFAULT_MODEL)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="*", default=[512, 2048, 8192])
    args = parser.parse_args()

    models = {
        (which, threads): open_model(path, Report.silent(), threads)
        for which, path in (("old", args.old), ("new", args.new))
        for threads in (1, 2)
    }
    data = genes_like_golden(models["new", 1], args.genes)
    configs = list(itertools.product(("old", "new"), (1, 2), args.batches))

    outputs = {(w, t, b): models[w, t].predict(data, batch_size=b) for w, t, b in configs}
    for which in ("old", "new"):
        first = outputs[which, 1, args.batches[0]]
        same = all(np.array_equal(first, outputs[c]) for c in configs if c[0] == which)
        print(f"{which}: {models[which, 1].path}; outputs identical across threads and batch sizes: {same}")
    difference = np.abs(outputs["old", 1, args.batches[0]] - outputs["new", 1, args.batches[0]]).max()
    print(f"max |old − new| over {args.genes:,} genes: {difference:.2e}")

    times = {c: [] for c in configs}
    for _ in range(args.repeats):
        for which, threads, batch in configs:
            start = time.perf_counter()
            models[which, threads].predict(data, batch_size=batch)
            times[which, threads, batch].append(time.perf_counter() - start)
    median = {c: float(np.median(t)) for c, t in times.items()}
    print(
        f"\nLoadedModel.predict, {args.genes:,} genes, median of {args.repeats} "
        f"({os.cpu_count()} cores; seconds, genes/s, old / new)"
    )
    for threads, batch in itertools.product((1, 2), args.batches):
        old, new = median["old", threads, batch], median["new", threads, batch]
        print(
            f"{threads} thread{'s' * (threads > 1)}, batch {batch:5d}:  old {old:6.3f} s  new {new:6.3f} s "
            f"({args.genes / new:8,.0f} genes/s)  ×{old / new:.2f}"
        )
    for which in ("old", "new"):
        for threads in (1, 2):
            best = min(args.batches, key=lambda b, w=which, t=threads: median[w, t, b])
            print(f"fastest batch size, {which}, {threads} thread{'s' * (threads > 1)}: {best}")


if __name__ == "__main__":
    main()
