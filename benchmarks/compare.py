"""Which genes change expression between two conditions? The methods behind ``chromepredict compare``
and ``train --target difference``, measured on the shared pair E003 (H1) / E123 (K562).

    python -m benchmarks.compare [--repeats 3] [--folds 5] [--members 5] [--methods ...] [--out compare.tsv]
    python -m benchmarks.compare --knockout          # what-if knockouts with the default compare model
    python -m benchmarks.compare --views [--views-dir /tmp/chromepredict-views] [--out views.tsv]
    python -m benchmarks.compare --table views.tsv   # the per-view table of a saved --views run

The 369 genes are split into ``--folds`` groups of whole chromosomes (a seeded random order of the
chromosomes, each put into the smallest group so far; one split per repeat, seeds 0, 1, …). In each
fold, methods are trained on the other folds' genes and predict delta = level(B) − level(A),
level = log2(1 + RPKM), of the held-out genes, in both directions (E003 → E123 and E123 → E003;
every method here is antisymmetric, so the second direction is the first negated). Reported:
Spearman of the pooled held-out predictions with the measured delta (mean and range over repeats),
and the mean and sd of the per-fold Spearman.

Methods: the Δ log H3K4me3 at the TSS floor; Δ of the pretrained E003-E123-level model and Δ P(high)
of E003-E123, and the pretrained difference model E003-E123-difference (all three trained on these
369 genes: optimistic, listed for reference); Δ of level models of the default recipe trained
inside the folds on both cell types' training genes; ridge regression on 1-kb pooled differences of
the transformed signal (alpha by inner chromosome-grouped CV); the difference target of the package
(``train --target difference``: g(B) − g(A), each condition's level as a second task), with five
marks and scored from three.

``--views`` (issue 28): the same folds on the 15 pipeline views of the tracks (``scripts/views.py``):
the floor, the pretrained difference model, difference models of ``--members`` networks trained in
the folds on the read counts (``counts100``) and on all views, and two blends of them
(:func:`chromepredict.models.training.blend`): all the networks of each (5 + 5), and the blend
``scripts/build_pretrained.py`` ships (its networks per component, 3 + 2 today), each scored on
every view's held-out genes; the table gives each view's pooled Spearman and the means per group
of views. The networks of a model are trained independently, each from its own seed (network i is
the same whatever the number of networks: ``tests/test_training.py``), so a blend of fewer networks
takes each model's first ones: one training per fold and component serves every column.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.roadmap import DEFAULT_DATA, load_cell_type
from chromepredict.io.features import Paired
from chromepredict.models.baselines import h3k4me3_at_tss
from chromepredict.models.metrics import regression_metrics
from chromepredict.models.training import PairArrays, TrainedModel, TrainingArrays, blend, fit
from chromepredict.models.transform import InputTransform
from chromepredict.system.report import Report
from scripts.build_pretrained import MODELS

PAIR = ("E003", "E123")
THREE_MARKS = ("H3K4me3", "H3K36me3", "H3K27me3")


def spearman(truth, predicted) -> float:
    return regression_metrics(truth, predicted)["spearman"]


def chromosome_folds(genes: pd.DataFrame, k: int, seed: int) -> np.ndarray:
    """Fold number per gene: whole chromosomes, in a seeded random order, each to the smallest fold."""
    counts = genes["chrom"].value_counts()
    order = np.random.default_rng(seed).permutation(sorted(counts.index))
    sizes, fold_of = np.zeros(k, int), {}
    for chrom in order:
        f = int(np.argmin(sizes))
        fold_of[chrom] = f
        sizes[f] += counts[chrom]
    return genes["chrom"].map(fold_of).to_numpy()


def _inner_split(rows: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """20 % of the training genes pick each network's epoch (as build_pretrained.py does)."""
    picks = np.random.default_rng(seed).permutation(len(rows))
    return rows[picks[len(rows) // 5 :]], rows[picks[: len(rows) // 5]]


# ---------------------------------------------------------------- methods: (A, B, train, test, seed, args) → Δ


def floor(A, B, train, test, seed, args):
    return h3k4me3_at_tss(B.subset(test)) - h3k4me3_at_tss(A.subset(test))


def pretrained(name: str):
    cache: dict = {}

    def method(A, B, train, test, seed, args):
        from chromepredict.models.zoo import open_model

        if not cache:
            model = open_model(name, Report.silent())
            cache["values"] = (model.predict(A), model.predict(B))
        a, b = cache["values"]
        return b[test] - a[test]

    return method


def level_in_folds(A, B, train, test, seed, args):
    """Δ of a level model of the default recipe trained on both cell types' training genes."""
    fit_rows, valid = _inner_split(train, seed)
    model = fit(
        TrainingArrays.stack([A.subset(fit_rows), B.subset(fit_rows)]),
        TrainingArrays.stack([A.subset(valid), B.subset(valid)]),
        "deepchrome", "level", seed, "cpu", members=args.members,
    )  # fmt: skip
    return model.predict(B.subset(test)) - model.predict(A.subset(test))


def ridge(A, B, train, test, seed, args, pool: int = 10):
    """Ridge on 1-kb pooled differences of track-log1p signal; alpha by inner chromosome-grouped CV."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    transform = InputTransform("track-log1p").fit(
        [(A.features[train], A.scales), (B.features[train], B.scales)]
    )

    def features(rows):
        a, b = (transform.apply(d.features[rows], d.scales).astype(np.float64) for d in (A, B))
        pooled = (b - a).reshape(len(rows), a.shape[1], -1, pool).mean(axis=3)
        return pooled.reshape(len(rows), -1)

    x, y = features(train), (B.levels - A.levels)[train]
    groups = A.genes["chrom"].to_numpy()[train]
    alphas, scores = np.logspace(-1, 4, 11), []
    for alpha in alphas:
        held = np.zeros(len(train))
        for fit_idx, val_idx in GroupKFold(4).split(x, groups=groups):
            held[val_idx] = (
                make_pipeline(StandardScaler(), Ridge(alpha=alpha))
                .fit(x[fit_idx], y[fit_idx])
                .predict(x[val_idx])
            )
        scores.append(spearman(y, held))
    model = make_pipeline(StandardScaler(), Ridge(alpha=alphas[int(np.argmax(scores))])).fit(x, y)
    return model.predict(features(test))


def difference(present=None):
    """The package's difference target in the folds; ``present`` scores with those marks only."""

    def method(A, B, train, test, seed, args):
        fit_rows, valid = _inner_split(train, seed)
        pair = Paired(A, B)
        model = fit(
            PairArrays.stack([(A.subset(fit_rows), B.subset(fit_rows))]),
            PairArrays.stack([(A.subset(valid), B.subset(valid))]),
            "deepchrome", "difference", seed, "cpu", members=args.members,
        )  # fmt: skip
        mask = None if present is None else np.array([m in present for m in A.marks])
        return model.predict(pair.subset(test), mask)

    return method


METHODS = {
    "floor: Δ log H3K4me3 at TSS ± 1 kb": floor,
    "Δ pretrained E003-E123-level (trained on these genes)": pretrained("E003-E123-level"),
    "Δ P(high) pretrained E003-E123 (trained on these genes)": pretrained("E003-E123"),
    "pretrained E003-E123-difference (trained on these genes)": pretrained("E003-E123-difference"),
    "Δ level model in the folds (default recipe)": level_in_folds,
    "ridge, 1-kb Δ track-log1p": ridge,
    "difference model in the folds (train --target difference)": difference(),
    f"difference model in the folds, scored from {', '.join(THREE_MARKS)}": difference(THREE_MARKS),
}


def run(A, B, methods: list[str], folds: int, repeat: int, args) -> pd.DataFrame:
    """Per method and fold: held-out predictions (long table, both directions)."""
    fold_of = chromosome_folds(A.genes, folds, repeat)
    delta = B.levels - A.levels
    rows = []
    for name in methods:
        started = time.time()
        for fold in range(folds):
            test, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
            forward = METHODS[name](A, B, train, test, repeat * 10 + fold, args)
            for direction, sign in ((f"{PAIR[0]}→{PAIR[1]}", 1), (f"{PAIR[1]}→{PAIR[0]}", -1)):
                rows.append(pd.DataFrame({
                    "method": name, "repeat": repeat, "fold": fold, "direction": direction,
                    "gene_id": A.genes["gene_id"].to_numpy()[test],
                    "predicted": sign * forward, "measured": sign * delta[test],
                }))  # fmt: skip
        print(f"repeat {repeat} {name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def summarise(long: pd.DataFrame) -> pd.DataFrame:
    """Pooled held-out Spearman per method (mean and range over repeats) and the per-fold spread."""

    def rho(g):
        return spearman(g["measured"], g["predicted"])

    keys = ["method", "direction", "repeat"]
    pooled = long.groupby(keys, sort=False).apply(rho, include_groups=False)
    per_fold = long.groupby([*keys, "fold"], sort=False).apply(rho, include_groups=False)
    table = pd.DataFrame({"pooled": pooled}).reset_index()
    per_repeat = table.groupby(["method", "repeat"], sort=False)["pooled"].mean()
    summary = pd.DataFrame(index=table["method"].unique())
    summary["pooled Spearman"] = per_repeat.groupby("method", sort=False).mean()
    summary["min–max over repeats"] = per_repeat.groupby("method", sort=False).agg(
        lambda s: f"{s.min():.3f}–{s.max():.3f}"
    )
    fold_stats = per_fold.groupby("method", sort=False)
    summary["per-fold mean"] = fold_stats.mean()
    summary["per-fold sd"] = fold_stats.std()
    return summary.round(3)


# ---------------------------------------------------------------- every pipeline view (issue 28)


def _fit_pairs(sets: dict, train_views: tuple[str, ...], train, seed, args):
    """The difference target in the folds on ``train_views`` of the training genes (20 % of them,
    in every view, pick each network's epoch, as build_pretrained.py does)."""
    fit_rows, valid = _inner_split(train, seed)

    def arrays(rows):
        return PairArrays.stack([(sets[v][0].subset(rows), sets[v][1].subset(rows)) for v in train_views])

    return fit(arrays(fit_rows), arrays(valid), "deepchrome", "difference", seed, "cpu", members=args.members)


#: Difference models trained in the folds, by the views they learn from (``all``: every view loaded).
COMPONENTS = {"counts": ("counts100",), "views": "all"}
#: The shipped difference model's networks per component (scripts/build_pretrained.py).
SHIPPED = {
    {COMPONENTS["counts"]: "counts", None: "views"}[views]: networks
    for views, networks in MODELS["E003-E123-difference"]["blend"]
}


def first_networks(model: TrainedModel, n: int) -> TrainedModel:
    """The model of ``model``'s first ``n`` networks: the model :func:`fit` trains with ``n`` members
    (each network is trained from its own seed, whatever the number of members)."""
    from chromepredict.models.networks import Ensemble

    if n > len(model.ensemble.members):
        raise ValueError(f"the model has {len(model.ensemble.members)} networks, not {n}")
    ensemble = Ensemble(
        model.ensemble.members[:n], model.target, model.ensemble.level_mean, model.ensemble.level_sd
    )
    return replace(
        model,
        ensemble=ensemble.eval(),
        recipe=replace(model.recipe, members=n),
        log=[entry for entry in model.log if entry.member <= n],
        best_epochs=model.best_epochs[:n],
    )


def _component(name: str):
    def method(sets, train, test, seed, args, fitted):
        return fitted(name)

    return method


def _blend(networks: dict[str, int] | None):
    """The blend of the components' first ``networks`` networks (None: all of them), expressed in the
    all-views model's transform, as build_pretrained.py builds it."""

    def method(sets, train, test, seed, args, fitted):
        models = [fitted(name) for name in COMPONENTS]
        if networks is not None:
            models = [first_networks(m, networks[name]) for name, m in zip(COMPONENTS, models, strict=True)]
        return blend(models, base=models[-1])

    return method


def _pretrained_on_views(sets, train, test, seed, args, fitted):
    from chromepredict.models.zoo import open_model

    return open_model("E003-E123-difference", Report.silent())


def _floor_on_views(sets, train, test, seed, args, fitted):
    return None


VIEW_METHODS = {
    "floor: Δ log H3K4me3 at TSS ± 1 kb": _floor_on_views,
    "pretrained E003-E123-difference as shipped (trained on these genes)": _pretrained_on_views,
    "difference model in the folds, trained on counts100 (the default before issue 28)": _component("counts"),
    "difference model in the folds, trained on all views": _component("views"),
    "blend: counts100 model + all-views model, all their networks (5 + 5 by default)": _blend(None),
    "blend as shipped: the first {counts} + {views} networks of those models".format(**SHIPPED): _blend(
        SHIPPED
    ),
}


def run_views(sets: dict, methods: list[str], folds: int, repeat: int, args) -> pd.DataFrame:
    """Per method, fold and view: held-out predicted and measured change (E003 → E123; every method is
    antisymmetric, so the other direction has the same Spearman)."""
    first = next(iter(sets.values()))[0]
    fold_of = chromosome_folds(first.genes, folds, repeat)
    rows = []
    for fold in range(folds):
        started = time.time()
        test, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        seed = repeat * 10 + fold
        cache: dict = {}

        def fitted(component, train=train, seed=seed, cache=cache):
            if component not in cache:
                views = COMPONENTS[component]
                cache[component] = _fit_pairs(
                    sets, tuple(sets) if views == "all" else views, train, seed, args
                )
            return cache[component]

        for name in methods:
            model = VIEW_METHODS[name](sets, train, test, seed, args, fitted)
            for view, (a, b) in sets.items():
                a, b = a.subset(test), b.subset(test)
                predicted = (
                    h3k4me3_at_tss(b) - h3k4me3_at_tss(a) if model is None else model.predict(Paired(a, b))
                )
                rows.append(pd.DataFrame({
                    "method": name, "repeat": repeat, "fold": fold, "view": view,
                    "gene_id": a.genes["gene_id"].to_numpy(), "predicted": predicted, "measured": b.levels - a.levels,
                }))  # fmt: skip
        print(
            f"repeat {repeat} fold {fold + 1}/{folds}: {time.time() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return pd.concat(rows, ignore_index=True)


#: The view groups of issue 28's goal (the families of benchmarks/transfer.py).
GROUPS = {
    "read counts": ("counts100", "cpm", "subsample25", "subsample10"),
    "fold enrichment / p-value": ("fe-flat", "fe-local", "fe-local1k", "logp"),
    "peak signal": ("peaks-fe", "peaks-logp", "peaks-broad"),
    "coverage and coarse bins": ("coverage1bp", "bin1kb", "bin10kb", "smooth1kb"),
}


def summarise_views(long: pd.DataFrame) -> str:
    """Per view (rows) and method (columns): the pooled held-out Spearman, mean over repeats; then
    each group's mean, the mean of the peak-signal and fold-enrichment views, and the mean of all."""

    def rho(g):
        return spearman(g["measured"], g["predicted"])

    pooled = long.groupby(["method", "view", "repeat"], sort=False).apply(rho, include_groups=False)
    spread = pooled.groupby(["method", "view"], sort=False).agg(["mean", "min", "max"])
    wide = spread["mean"].unstack("method")
    methods = list(dict.fromkeys(long["method"]))
    views = [v for group in GROUPS.values() for v in group if v in wide.index]
    wide = wide.loc[views, methods]
    short = {m: f"({i + 1})" for i, m in enumerate(methods)}
    lines = ["| group | view | " + " | ".join(short.values()) + " |", "|" + " --- |" * (len(methods) + 2)]
    for group, members in GROUPS.items():
        for view in members:
            if view in wide.index:
                lines.append(f"| {group} | {view} | " + " | ".join(f"{x:.3f}" for x in wide.loc[view]) + " |")
    means = {f"mean, {g}": [v for v in m if v in wide.index] for g, m in GROUPS.items()}
    means["**mean, peak signal + fold enrichment / p-value**"] = [
        v for g in ("peak signal", "fold enrichment / p-value") for v in GROUPS[g] if v in wide.index
    ]
    means["**mean, all views**"] = views
    for label, members in means.items():
        if members:
            lines.append(f"| {label} | | " + " | ".join(f"{x:.3f}" for x in wide.loc[members].mean()) + " |")
    repeats = long["repeat"].nunique()
    lines.append("")
    lines += [f"{code} {method}" for method, code in short.items()]
    if repeats > 1:
        ranges = (spread["max"] - spread["min"]).groupby("method", sort=False).max()
        lines.append(
            f"\n{repeats} repeats; widest min–max range of a view's Spearman over repeats, per method: "
            + ", ".join(f"{short[m]} {ranges[m]:.3f}" for m in methods)
        )
    return "\n".join(lines)


def knockouts(A, B) -> pd.DataFrame:
    """Each mark knocked out (``compare --knockout``) with the default compare model: the mean effect
    on all genes and on the top decile of H3K27me3 at the TSS (± 1 kb)."""
    from chromepredict import DEFAULT_COMPARE_MODEL
    from chromepredict.models.zoo import open_model
    from chromepredict.results.compare import knockout

    model = open_model(DEFAULT_COMPARE_MODEL, Report.silent())
    rows = []
    for eid, data in zip(PAIR, (A, B), strict=True):
        centre, half = data.spec.n_bins // 2, 1000 // data.spec.bin_size
        k27 = data.features[:, data.marks.index("H3K27me3"), centre - half : centre + half].mean(axis=1)
        top = k27 >= np.quantile(k27, 0.9)
        for mark in model.marks:
            delta = (
                knockout(model, data, (mark,)).table.set_index("gene_id").loc[data.genes["gene_id"], "delta"]
            )
            for genes, pick in (("all genes", slice(None)), ("top decile of H3K27me3 at the TSS", top)):
                effect = delta.to_numpy()[pick]
                rows.append({"model": model.name, "cell type": eid, "knocked out": mark, "genes": genes,
                             "n": len(effect), "mean delta": round(effect.mean(), 3),
                             "share up": round((effect > 0).mean(), 3)})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=5, help="networks per model trained in the folds")
    parser.add_argument(
        "--methods", nargs="*", default=None, help="substrings of method names (default: all)"
    )
    parser.add_argument("--out", type=Path, default=None, help="long TSV of the held-out predictions")
    parser.add_argument("--knockout", action="store_true", help="the knockout summary instead")
    parser.add_argument("--views", action="store_true", help="every pipeline view (scripts/views.py)")
    parser.add_argument("--views-dir", type=Path, default=Path("/tmp/chromepredict-views"))
    parser.add_argument(
        "--table", type=Path, default=None, help="print the table of a saved --views --out TSV"
    )
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    if args.table:
        print(summarise_views(pd.read_csv(args.table, sep="\t")))
        return
    if args.views and args.members < max(SHIPPED.values()):
        parser.error(f"--views: the shipped blend takes {max(SHIPPED.values())} networks of a model")
    if args.views:
        from benchmarks.transfer import load_all
        from scripts.views import VIEWS, build_views

        build_views(args.data, args.views_dir, list(PAIR), list(VIEWS))
        loaded = load_all(args.data, args.views_dir, list(VIEWS))
        sets = {view: (loaded[PAIR[0], view], loaded[PAIR[1], view]) for view in VIEWS}
        methods = [m for m in VIEW_METHODS if args.methods is None or any(s in m for s in args.methods)]
        parts = []
        for r in range(args.repeats):
            parts.append(run_views(sets, methods, args.folds, r, args))
            long = pd.concat(parts, ignore_index=True)
            if args.out:  # after every repeat: a long run's finished repeats are kept
                long.to_csv(args.out, sep="\t", index=False, float_format="%.6g")
        print(f"{args.folds} chromosome-grouped folds × {args.repeats} repeats, {len(long['gene_id'].unique())} genes, "
              f"pair {PAIR[0]} → {PAIR[1]}; pooled held-out Spearman per view")  # fmt: skip
        print(summarise_views(long))
        return
    A, B = (load_cell_type(args.data, eid) for eid in PAIR)
    if args.knockout:
        print(knockouts(A, B).to_markdown(index=False))
        return
    methods = [m for m in METHODS if args.methods is None or any(s in m for s in args.methods)]
    long = pd.concat(
        [run(A, B, methods, args.folds, r, args) for r in range(args.repeats)], ignore_index=True
    )
    if args.out:
        long.to_csv(args.out, sep="\t", index=False, float_format="%.6g")
    print(
        f"{args.folds} chromosome-grouped folds × {args.repeats} repeats, {len(A.genes)} genes, pair {PAIR[0]}/{PAIR[1]}"
    )
    print(summarise(long).to_markdown())


if __name__ == "__main__":
    main()
