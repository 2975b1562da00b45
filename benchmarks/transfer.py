"""Transfer benchmark: how well does a model trained on one cell type's tracks of one pipeline score
another cell type's tracks of another pipeline?

    python -m benchmarks.transfer [--views-dir /tmp/chromepredict-views] [--folds 5] [--members 5]
                                  [--out docs/figures/transfer.tsv]

The pipeline views of the shared Roadmap tracks come from ``scripts/views.py`` (built on first
use). Genes are split into folds once (stratified, by gene); in each fold, models are trained on
the source cell type's training genes and score the *other* cell type's held-out genes (E003 → E123
and E123 → E003), so neither the genes nor the cell type were seen. For every target view:

- ``default``: the default recipe trained on every view of the source cell type;
- ``default, family held out``: the same recipe without any view of the target view's family
  (peaks, fold enrichment/p-values, coarse bins, …): the honest estimate for a pipeline that
  none of the views imitates;
- ``counts only``: the default recipe trained on the read counts alone (how the first shipped
  models were trained);
- ``floor``: H3K4me3 mean over TSS ± 1 kb, no training;
- ``same view``: the default recipe trained on that very view of the source cell type.

AUCs are computed on the pooled out-of-fold predictions (369 genes per cell type). Each model is
one network of the recipe (``--members``, default 1, to keep the run near an hour on 2 cores).

    python -m benchmarks.transfer --table docs/figures/transfer.tsv     # the docs' table of a saved run
    python -m benchmarks.transfer --ablation [--seeds 0 1]

measures the gain of each training choice instead: the recipe with one choice changed at a time,
trained on every view of one cell type and scored on the other's held-out genes, mean AUC over
views and both directions (and, per seed, the spread), with all five marks and with three
(H3K4me3, H3K36me3, H3K27me3: the cost of missing H3K4me1 and H3K9me3).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedKFold

import chromepredict.models.training as training
from chromepredict.io.expression import read_expression
from chromepredict.io.features import WindowSpec
from chromepredict.io.labelling import with_expression
from chromepredict.io.sources import from_tracks
from chromepredict.models.baselines import h3k4me3_at_tss
from chromepredict.models.metrics import roc_auc
from chromepredict.models.training import TrainingArrays, fit
from scripts.views import VIEWS, build_views, load_view

ROOT = Path(__file__).resolve().parents[1]

CELL_TYPES = ("E003", "E123")
THREE_MARKS = ("H3K4me3", "H3K36me3", "H3K27me3")
#: Views that imitate one kind of pipeline; a family is held out together.
FAMILIES = {
    "counts": ("counts100", "cpm", "subsample25", "subsample10"),
    "per-base coverage": ("coverage1bp",),
    "fold enrichment / p-value": ("fe-flat", "fe-local", "fe-local1k", "logp"),
    "peak signal": ("peaks-fe", "peaks-logp", "peaks-broad"),
    "coarse bins": ("bin1kb", "bin10kb", "smooth1kb"),
}


def family_of(view: str) -> str:
    return next(f for f, members in FAMILIES.items() if view in members)


def load_all(data: Path, views_dir: Path, views: list[str]) -> dict[tuple[str, str], object]:
    """(cell type, view) → labelled FeatureSet of the protein-coding genes of genes.gtf."""
    sets = {}
    for eid in CELL_TYPES:
        expression = read_expression(data / eid / "expression.tsv")
        for view in views:
            files = {m: str(p) for m, p in load_view(views_dir, eid, view).items()}
            features = from_tracks(files, data / "genes.gtf", WindowSpec())
            sets[eid, view] = with_expression(features, expression)
    return sets


def train(parts, rows, seed: int, members: int, max_epochs: int | None = None, target: str = "class"):
    """The default recipe on the ``rows`` genes of every part; 20 % of those genes select epochs."""
    rng = np.random.default_rng(seed)
    valid = np.zeros(len(rows), dtype=bool)
    valid[rng.permutation(len(rows))[: len(rows) // 5]] = True
    train_arrays = TrainingArrays.stack([p.subset(rows[~valid]) for p in parts])
    valid_arrays = TrainingArrays.stack([p.subset(rows[valid]) for p in parts])
    return fit(train_arrays, valid_arrays, "deepchrome", target, seed, "cpu", max_epochs, members=members)


#: One training choice changed at a time: name → (recipe fields changed from the current default,
#: views trained on, target). The current default picks each network's epoch by validation log
#: loss and has no scale jitter; both were measured here against the earlier choices (epochs by
#: validation AUC; scale jitter ±0.7), whose variants are listed as such.
BY_AUC = {"select_by": "score"}
EARLIER = {**BY_AUC, "scale_jitter": 0.7}
ABLATIONS = {
    "default recipe": ({}, "all", "class"),
    "epochs by validation AUC": (BY_AUC, "all", "class"),
    "epochs by validation AUC, no mark dropout": ({**BY_AUC, "mark_dropout": 0.0}, "all", "class"),
    "epochs by validation AUC, log1p instead of track-log1p": ({**BY_AUC, "transform": "log1p"}, "all", "class"),
    "epochs by validation AUC, log1p, no mark dropout": (
        {**BY_AUC, "transform": "log1p", "mark_dropout": 0.0}, "all", "class",
    ),
    "earlier default (epochs by validation AUC, scale jitter ±0.7)": (EARLIER, "all", "class"),
    "earlier default, read counts only (no views)": (EARLIER, "counts", "class"),
    "earlier default, no mark dropout": ({**EARLIER, "mark_dropout": 0.0}, "all", "class"),
    "earlier default, no auxiliary level loss": ({**EARLIER, "level_weight": 0.0}, "all", "class"),
    "earlier default, published network head (625-125)": (
        {**EARLIER, "network": "deepchrome", "mark_dropout": 0.0}, "all", "class",
    ),
    "earlier default, level regression ranked": (EARLIER, "all", "level"),
}  # fmt: skip


def ablation(sets, views: list[str], folds: int, seeds: list[int], changes: list[str]) -> pd.DataFrame:
    """Mean held-out AUC over views and directions for each recipe change, one network per model."""
    from dataclasses import replace

    base = training.RECIPES["deepchrome"]
    rows = []
    for name in changes:
        change, which, target = ABLATIONS[name]
        training.RECIPES["deepchrome"] = replace(base, **change)
        train_views = ["counts100"] if which == "counts" else views
        for seed in seeds:
            started = time.time()
            table = run(sets, views, folds, 1, seed, None, train_views=train_views, target=target, full=False)
            mean = table[table["method"] == "default"]["auc"].mean()
            three = table[table["method"] == "default, 3 marks"]["auc"].mean()
            rows.append({"change": name, "seed": seed, "mean_auc": mean, "mean_auc_3_marks": three})
            print(
                f"{name}, seed {seed}: {mean:.4f}, 3 marks {three:.4f} ({time.time() - started:.0f} s)",
                flush=True,
            )
        training.RECIPES["deepchrome"] = base
    return pd.DataFrame(rows)


def run(
    sets,
    views: list[str],
    folds: int,
    members: int,
    seed: int,
    max_epochs: int | None,
    train_views: list[str] | None = None,
    target: str = "class",
    full: bool = True,
) -> pd.DataFrame:
    """Out-of-fold AUC per source → target, view and method (``full``: every method; else the
    recipe trained on ``train_views`` alone, as "default")."""
    genes = sets[CELL_TYPES[0], views[0]].genes["gene_id"].to_numpy()
    labels = sets[CELL_TYPES[0], views[0]].labels
    for key, part in sets.items():
        assert (part.genes["gene_id"].to_numpy() == genes).all(), key
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    families = sorted({family_of(v) for v in views})
    predictions: dict[tuple, np.ndarray] = {}
    for fold, (train_rows, test_rows) in enumerate(splitter.split(genes, labels)):
        for source in CELL_TYPES:
            target_type = next(c for c in CELL_TYPES if c != source)
            started = time.time()
            training_views = train_views or views
            models = {
                "default": train(
                    [sets[source, v] for v in training_views], train_rows, seed, members, max_epochs, target
                )
            }
            for family in families if full else []:
                keep = [v for v in views if family_of(v) != family]
                models[f"held out: {family}"] = train(
                    [sets[source, v] for v in keep], train_rows, seed, members, max_epochs
                )
            if full and "counts100" in views:
                models["counts only"] = train(
                    [sets[source, "counts100"]], train_rows, seed, members, max_epochs
                )
            for view in views:
                test = sets[target_type, view].subset(test_rows)
                if not full:  # the ablation also scores three marks (no H3K4me1, H3K9me3)
                    present = np.array([m in THREE_MARKS for m in test.marks])
                    predictions.setdefault(
                        (source, target_type, view, "default, 3 marks"), np.full(len(genes), np.nan)
                    )[test_rows] = models["default"].predict(test, present)
                own = (
                    {"same view": train([sets[source, view]], train_rows, seed, members, max_epochs)}
                    if full
                    else {}
                )
                for name, model in {**models, **own}.items():
                    if name.startswith("held out") and name != f"held out: {family_of(view)}":
                        continue
                    label = "default, family held out" if name.startswith("held out") else name
                    predictions.setdefault((source, target_type, view, label), np.full(len(genes), np.nan))[
                        test_rows
                    ] = model.predict(test)
                predictions.setdefault((source, target_type, view, "floor"), np.full(len(genes), np.nan))[
                    test_rows
                ] = h3k4me3_at_tss(test)
            if full:
                print(
                    f"fold {fold + 1}/{folds} {source}→{target_type}: {time.time() - started:.0f} s",
                    flush=True,
                )
    rows = []
    for (source, target, view, method), scores in predictions.items():
        truth = sets[target, view].labels
        rows.append(
            {
                "source": source,
                "target": target,
                "view": view,
                "family": family_of(view),
                "method": method,
                "auc": roc_auc(truth, scores),
            }
        )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The docs' table: per view, each direction's default / floor / same-view AUC, and the means."""
    wide = table.pivot_table(index=["family", "view"], columns=["source", "method"], values="auc")
    rows = []
    for (family, view), row in wide.iterrows():
        cells = [family, view]
        for source in CELL_TYPES:
            cells += [f"{row[source, m]:.3f}" for m in ("default", "floor", "same view")]
        mean = {m: np.mean([row[s, m] for s in CELL_TYPES]) for m in ("default", "floor")}
        cells.append(f"{mean['default'] - mean['floor']:+.3f}")
        rows.append(cells)
    means = table.groupby(["source", "method"])["auc"].mean()
    last = ["**mean**", ""]
    for source in CELL_TYPES:
        last += [f"**{means[source, m]:.3f}**" for m in ("default", "floor", "same view")]
    overall = table.groupby("method")["auc"].mean()
    last.append(f"**{overall['default'] - overall['floor']:+.3f}**")
    rows.append(last)
    directions = [f"{s}→{next(c for c in CELL_TYPES if c != s)}" for s in CELL_TYPES]
    head = ["family", "view"] + [f"{d}: {m}" for d in directions for m in ("default", "floor", "same view")]
    head.append("default − floor (mean)")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    summary = table.groupby("method")["auc"].agg(["mean", "min"]).round(4)
    return "\n".join(lines) + "\n\nmean and worst AUC over views and directions:\n" + summary.to_string()


def main() -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "roadmap")
    parser.add_argument("--views-dir", type=Path, default=Path("/tmp/chromepredict-views"))
    parser.add_argument("--views", nargs="*", default=list(VIEWS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--members", type=int, default=1, help="networks per model (the shipped recipe has 5)"
    )
    parser.add_argument("--ablation", action="store_true", help="measure the gain of each training choice")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1], help="seeds of the ablation")
    parser.add_argument("--changes", nargs="*", default=list(ABLATIONS), choices=list(ABLATIONS), metavar="CHANGE",
                        help="the ablation's recipe changes (default: all)")  # fmt: skip
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None, help="print the docs' table of a saved --out TSV")
    args = parser.parse_args()
    if args.table:
        print(markdown(pd.read_csv(args.table, sep="\t")))
        return
    build_views(args.data, args.views_dir, list(CELL_TYPES), args.views)
    sets = load_all(args.data, args.views_dir, args.views)
    if args.ablation:
        table = ablation(sets, args.views, args.folds, args.seeds, args.changes)
        if args.out:
            table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
        summary = table.groupby("change", sort=False)[["mean_auc", "mean_auc_3_marks"]].mean()
        if "default recipe" in summary.index:
            summary["gain"] = summary["mean_auc"] - summary.loc["default recipe", "mean_auc"]
        summary["3 marks − 5 marks"] = summary["mean_auc_3_marks"] - summary["mean_auc"]
        print(summary.round(4).to_string())
        return
    table = run(sets, args.views, args.folds, args.members, args.seed, args.max_epochs)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
    print(markdown(table))


if __name__ == "__main__":
    main()
