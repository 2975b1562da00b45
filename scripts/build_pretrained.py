"""Rebuild the pretrained models in chromepredict/pretrained/ from the shared Roadmap data.

    python -m scripts.build_pretrained [--data ../shared/data/roadmap] [--views-dir /tmp/chromepredict-views]
                                       [--out chromepredict/pretrained] [--models E003-E123 ...]

Every model is trained on *views* of the shared tracks that imitate other pipelines (read counts,
CPM, shallower libraries, per-base coverage, MACS3 fold enrichment and p-values, MACS3 peak calls
painted with their signal, 1-kb and 10-kb bins, smoothing; ``scripts/views.py`` builds them with
MACS3), so that it holds up on the tracks users have. Protein-coding genes of genes.gtf, windows
TSS ± 5 kb oriented 5′→3′, labels by the median rule of each cell type's expression table (class
models) or log2(1 + RPKM) (level models); the default recipe (a seed ensemble of mask-aware
networks trained with mark dropout and scale jitter).

The number of epochs is chosen by 5-fold cross-validation over genes (a gene's windows in every
view and cell type share its fold; inside each fold 20 % of the training genes pick each network's
epoch by validation log loss); the card records the held-out score per cell type, per view and per
subset of marks. The final model is trained on all genes for the median chosen epoch count.
A model may be a *blend* (the difference model): one model per component (the views it trains
on and how many networks it contributes), each with its own epochs chosen so, their networks
averaged in one ensemble (``chromepredict.models.training.blend``: a component's weight is its share
of the networks); the cross-validated scores are the blend's.
Deterministic with its seed. Each model folder gets model.onnx, model.card.json and golden.npz
(16 genes' raw input, scales and expected output, replayed by the tests).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from chromepredict.io.expression import read_expression
from chromepredict.io.features import Paired, WindowSpec
from chromepredict.io.labelling import with_expression
from chromepredict.io.sources import from_tracks
from chromepredict.models import gate
from chromepredict.models.card import Metrics, TrainingData, build_card, write_card
from chromepredict.models.onnx_io import export_onnx, load_model
from chromepredict.models.targets import get_target
from chromepredict.models.training import PairArrays, TrainingArrays, blend, fit, get_recipe
from scripts.views import VIEWS, build_views, load_view

ROOT = Path(__file__).resolve().parents[1]

MODELS = {
    "E003": {"cell_types": ("E003",), "target": "class"},
    "E123": {"cell_types": ("E123",), "target": "class"},
    "E003-E123": {"cell_types": ("E003", "E123"), "target": "class"},
    "E003-E123-level": {"cell_types": ("E003", "E123"), "target": "level"},
    "E003-level": {"cell_types": ("E003",), "target": "level"},
    "E123-level": {"cell_types": ("E123",), "target": "level"},
    # the change from E003 to E123: one ensemble of 3 networks trained on the read counts and 2 on
    # every view (None): alone, the views model ranked the change on read counts worse and the counts
    # model on peak and fold-enrichment tracks; 5 networks in all, the cost of one model in compare
    # (docs/benchmarks.md, benchmarks/compare.py --views)
    "E003-E123-difference": {
        "cell_types": ("E003", "E123"),
        "target": "difference",
        "blend": ((("counts100",), 3), (None, 2)),  # (views, networks) per component
    },
}
CELL_TYPES = {"E003": "H1 embryonic stem cells", "E123": "K562 (chronic myelogenous leukaemia)"}
REFERENCE_VIEW = "counts100"  # the tracks as shared: the view the cross-validated score is quoted on
LICENCE = (
    "Roadmap Epigenomics data (NIH Roadmap data-use policy: public, cite Kundaje et al. 2015); read counts "
    "from QData/DeepDiffChrome (Apache-2.0); TSS windows and RPKM from DEIB-GECO/ShallowChrome (MIT)"
)
FOLDS = 5
WHAT = {
    "class": "high/low expression",
    "level": "expression level, log2(1 + RPKM)",
    "difference": "change of expression from the first cell type to the second, log2(1 + RPKM)",
}
LABELS = {
    "class": "RNA-seq RPKM above the cell type's median over 19,802 genes",
    "level": "log2(1 + RNA-seq RPKM)",
    "difference": "log2(1 + RNA-seq RPKM) in each cell type and its change",
}


@functools.cache
def load(
    data: Path, views_dir: Path, eid: str, views: tuple[str, ...], spec: WindowSpec = WindowSpec()
) -> dict:
    """view → labelled FeatureSet of one cell type in windows ``spec`` (read once per run, shared by
    its models)."""
    expression = read_expression(data / eid / "expression.tsv")
    out = {}
    for view in views:
        files = {m: str(p) for m, p in load_view(views_dir, eid, view).items()}
        out[view] = with_expression(from_tracks(files, data / "genes.gtf", spec), expression)
    return out


def truth_of(part, target: str) -> np.ndarray:
    return get_target(target).truth(part)


def score(target: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    return get_target(target).score(truth, predicted)


def stack(parts: list, rows: np.ndarray):
    """The ``rows`` genes of every part (feature sets, or paired ones for the difference target)."""
    if isinstance(parts[0], Paired):
        return PairArrays.stack([(p.first.subset(rows), p.second.subset(rows)) for p in parts])
    return TrainingArrays.stack([p.subset(rows) for p in parts])


#: What one model of a blend trains on: its views, and how many networks it contributes.
Component = tuple[tuple[str, ...], int]


def fit_rows(
    parts: list,
    rows: np.ndarray,
    target: str,
    seed: int,
    max_epochs: int | None,
    validate: bool,
    networks: int,
):
    """The default recipe with ``networks`` networks on the ``rows`` genes of every part (20 % of them
    pick epochs if ``validate``)."""
    valid = np.zeros(len(rows), dtype=bool)
    if validate:
        valid[np.random.default_rng(seed).permutation(len(rows))[: len(rows) // 5]] = True
    held = stack(parts, rows[valid]) if validate else None
    return fit(
        stack(parts, rows[~valid]), held, "deepchrome", target, seed, "cpu", max_epochs, members=networks
    )


def parts_of(sets: dict, views: tuple[str, ...]) -> list:
    """The given views of every cell type (or pair)."""
    return [sets[key][view] for key in sets for view in views]


def fit_components(
    sets: dict, components: list[Component], rows, target: str, seed: int, epochs: list | None
):
    """One model per component (its networks trained on its views of every cell type), blended into
    one when there are several (expressed in the last one's transform); ``epochs`` per component for
    a final model, else chosen on 20 % of the rows. Returns (the model, the components' models)."""
    models = [
        fit_rows(parts_of(sets, views), rows, target, seed, epochs and epochs[i], epochs is None, networks)
        for i, (views, networks) in enumerate(components)
    ]
    return (models[0] if len(models) == 1 else blend(models, base=models[-1])), models


def cross_validate(sets: dict, target: str, seed: int, components: list[Component]) -> tuple[list, dict]:
    """Chosen epochs (per component) and held-out scores per cell type, view and (on the reference
    view) mark subset."""
    first = next(iter(sets.values()))[REFERENCE_VIEW]
    n = len(first.genes)
    # folds balanced on the labels (class) or on the genes' own median level (level) or change (difference)
    truth = truth_of(first, target)
    strata = get_target(target).fit.strata(truth)
    out_of_fold = {(eid, view): np.full(n, np.nan) for eid, views in sets.items() for view in views}
    subsets = {}
    epochs = [[] for _ in components]
    splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for fold, (train_rows, test_rows) in enumerate(splitter.split(np.arange(n), strata)):
        started = time.time()
        model, models = fit_components(sets, components, train_rows, target, seed, None)
        for chosen, component in zip(epochs, models, strict=True):
            chosen.extend(component.best_epochs)
        for (eid, view), predicted in out_of_fold.items():
            predicted[test_rows] = model.predict(sets[eid][view].subset(test_rows))
        for eid, views in sets.items():
            held = views[REFERENCE_VIEW].subset(test_rows)
            marks = held.marks
            for size in range(1, len(marks) + 1):
                for subset in _subsets(marks, size):
                    present = np.array([m in subset for m in marks])
                    key = (eid, gate.subset_key(subset))
                    subsets.setdefault(key, np.full(n, np.nan))[test_rows] = model.predict(held, present)
        print(
            f"  fold {fold + 1}/{FOLDS}: epochs {model.best_epochs}, {time.time() - started:.0f} s",
            flush=True,
        )
    per_view = {
        view: {
            eid: round(score(target, truth_of(sets[eid][view], target), p), 4)
            for (eid, v), p in out_of_fold.items()
            if v == view
        }
        for view in next(iter(sets.values()))
    }
    subset_scores = {}
    for (eid, key), predicted in subsets.items():
        subset_scores.setdefault(key, {})[eid] = round(
            score(target, truth_of(sets[eid][REFERENCE_VIEW], target), predicted), 4
        )
    metrics = Metrics(
        cross_validated={eid: per_view[REFERENCE_VIEW][eid] for eid in sets},
        per_view=per_view,
        subsets=subset_scores,
        cv_folds=FOLDS,
        cv_note="5-fold cross-validation over genes; scores of the pooled held-out predictions",
        cv_chosen_epochs=tuple(e for chosen in epochs for e in chosen),
    )
    return epochs, metrics


def _subsets(marks, size):
    import itertools

    return itertools.combinations(marks, size)


def build(
    name: str,
    spec: dict,
    data: Path,
    views_dir: Path,
    views: list[str],
    out: Path,
    seed: int,
    created: str | None,
):
    target, eids = spec["target"], spec["cell_types"]
    views = list(spec.get("views", views))
    default = get_recipe("deepchrome").members
    components = [
        (tuple(views) if names is None else names, networks or default)
        for names, networks in spec.get("blend", [(None, None)])
    ]
    sets = {eid: load(data, views_dir, eid, tuple(views)) for eid in eids}
    if get_target(target).fit.pairs:  # one "condition": the change from the first cell type to the second
        pair = "_vs_".join(eids)
        sets = {pair: {v: Paired(sets[eids[0]][v], sets[eids[1]][v]) for v in views}}
    genes = [part.genes["gene_id"].tolist() for views_of in sets.values() for part in views_of.values()]
    assert all(g == genes[0] for g in genes), "every cell type and view must list the same genes in one order"
    epochs, metrics = cross_validate(sets, target, seed, components)
    n_epochs = [max(1, int(np.median(chosen))) for chosen in epochs]
    parts = [part for part_views in sets.values() for part in part_views.values()]
    rows = np.arange(len(parts[0].genes))
    model, _ = fit_components(sets, components, rows, target, seed, n_epochs)
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reference = parts[0]
    export_onnx(model.ensemble, len(reference.marks), reference.spec.n_bins, folder / "model.onnx")
    what = WHAT[target]
    card = build_card(
        model,
        reference,
        name=name,
        training_profile=gate.training_profile(parts, model.transform),
        training_data=TrainingData(
            source="shared Roadmap data: bigWig read counts per 100 bp, GENCODE hg19 TSS; views made with scripts/views.py (MACS3)",
            gene_ids=tuple(sorted(reference.genes["gene_id"].tolist())),
            gene_names=tuple(sorted(reference.genes["gene_name"].astype(str).unique().tolist())),
            labels=LABELS[target],
            views={v: VIEWS[v].description for v in views},
            licence=LICENCE,
        ),
        metrics=metrics,
        genome_builds=("hg19", "hg38"),  # windows are TSS-relative: hg38 tracks take the same model
        level_units="RPKM",
        pairs=(tuple(eids),) if get_target(target).fit.pairs else (),
        description=f"DeepChrome-style {what}, Roadmap {' + '.join(f'{e} ({CELL_TYPES[e]})' for e in eids)}, "
        + trained_on(components),
        cell_types=eids,
        seed=seed,
        licence="model: MIT; training data: " + LICENCE,
    )
    card = write_card(folder / "model.onnx", card, created=created)
    loaded = load_model(folder / "model.onnx")
    golden = (reference.first if isinstance(reference, Paired) else reference).subset(np.arange(16))
    np.savez(
        folder / "golden.npz", features=golden.features, scales=golden.scales, expected=loaded.predict(golden)
    )
    return card


def trained_on(components: list[Component]) -> str:
    """The card's words for what the networks were trained on."""

    def views(names: tuple[str, ...]) -> str:
        if len(names) == 1:
            return f"1 pipeline view of the tracks ({names[0]})"
        return f"{len(names)} pipeline views of the tracks"

    if len(components) == 1:
        return f"trained on {views(components[0][0])}"
    return "a blend of " + " and ".join(f"{n} networks trained on {views(c)}" for c, n in components)


def write_checksums(out: Path) -> None:
    """Record the sha256 of every shipped model and card in the package (chromepredict.models.zoo checks them)."""
    from chromepredict.models.card import sha256_bytes

    lines = [
        '"""sha256 of every shipped pretrained model and card (written by scripts/build_pretrained.py)."""',
        "",
        "CHECKSUMS = {",
    ]
    for folder in sorted(p.parent for p in out.glob("*/model.onnx")):
        onnx = sha256_bytes((folder / "model.onnx").read_bytes())
        card = sha256_bytes((folder / "model.card.json").read_bytes())
        lines.extend(
            [f'    "{folder.name}": {{', f'        "onnx": "{onnx}",', f'        "card": "{card}",', "    },"]
        )
    lines.append("}")
    (ROOT / "chromepredict" / "models" / "checksums.py").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "roadmap")
    parser.add_argument("--views-dir", type=Path, default=Path("/tmp/chromepredict-views"))
    parser.add_argument("--views", nargs="*", default=list(VIEWS))
    parser.add_argument("--out", type=Path, default=ROOT / "chromepredict" / "pretrained")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--created", help="Date recorded on the cards (default: today), for byte-identical rebuilds"
    )
    args = parser.parse_args()
    eids = sorted({e for name in args.models for e in MODELS[name]["cell_types"]})
    build_views(args.data, args.views_dir, eids, args.views)
    for name in args.models:
        started = time.time()
        print(f"{name}:", flush=True)
        card = build(
            name, MODELS[name], args.data, args.views_dir, args.views, args.out, args.seed, args.created
        )
        print(f"{name}: {card.metrics.cross_validated}, {time.time() - started:.0f} s", flush=True)
    if args.out.resolve() == (ROOT / "chromepredict" / "pretrained").resolve():
        write_checksums(args.out)


if __name__ == "__main__":
    main()
