"""Rebuild the pretrained models in chromepredict/pretrained/ from the shared Roadmap data.

    python scripts/build_pretrained.py --data ../shared/data/roadmap [--out chromepredict/pretrained] [--seed 0]

For each model (E003, E123, and E003-E123 trained on both cell types): protein-coding genes of
genes.gtf, windows TSS ± 5 kb oriented 5′→3′, labels by the median rule of each cell type's
expression table. The number of epochs is chosen by 5-fold cross-validation (inside each fold 20 %
of the training genes, stratified, pick the epoch by validation AUC); the cross-validated test AUC
is recorded in the card; the final model is trained on all genes for the median chosen epoch count.
Deterministic with its seed. Each model folder gets model.onnx, model.card.json,
training_genes.tsv and golden.npz (16 genes' raw input and the expected P(high)).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from chromepredict.annotation import read_tss
from chromepredict.datasets import attach_labels, read_expression
from chromepredict.evaluation import roc_auc
from chromepredict.features import FeatureSet, WindowSpec
from chromepredict.marks import CORE_MARKS
from chromepredict.onnx_io import base_card, export_onnx, load_model, write_card
from chromepredict.signal import extract
from chromepredict.training import fit
from chromepredict.transform import InputTransform

MODELS = {"E003": ("E003",), "E123": ("E123",), "E003-E123": ("E003", "E123")}
CELL_TYPES = {"E003": "H1 embryonic stem cells", "E123": "K562 (chronic myelogenous leukaemia)"}
LICENCE = (
    "Roadmap Epigenomics data (NIH Roadmap data-use policy: public, cite Kundaje et al. 2015); read counts "
    "from QData/DeepDiffChrome (Apache-2.0); TSS windows and RPKM from DEIB-GECO/ShallowChrome (MIT)"
)


def load_cell_type(root: Path, eid: str) -> FeatureSet:
    genes = read_tss(root / "genes.gtf")
    data, _ = extract(genes, {m: str(root / eid / f"{m}.bw") for m in CORE_MARKS}, WindowSpec())
    labelled, _ = attach_labels(data, read_expression(root / eid / "expression.tsv"))
    labelled.genes["cell_type"] = eid
    return labelled


def pool(parts: list[FeatureSet]) -> FeatureSet:
    """Stack cell types, each rescaled to the pooled per-mark means (as sample-log1p does per sample)."""
    if len(parts) == 1:
        return parts[0]
    reference = InputTransform("sample-log1p").fit(np.concatenate([p.features for p in parts]))
    return FeatureSet(
        features=np.concatenate([reference.rescale(p.features) for p in parts]),
        genes=pd.concat([p.genes for p in parts], ignore_index=True),
        marks=parts[0].marks,
        spec=parts[0].spec,
        labels=np.concatenate([p.labels for p in parts]),
    )


def cross_validate(parts: list[FeatureSet], seed: int, folds: int = 5) -> tuple[list[int], dict]:
    """Chosen epochs per fold and the mean held-out AUC (per cell type); a gene's rows share a fold."""
    data = pool(parts)
    groups = data.genes["gene_id"].to_numpy()
    by_type = {part.genes["cell_type"][0]: part for part in parts}
    epochs, aucs = [], {eid: [] for eid in by_type}
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for inner, test in splitter.split(groups, data.labels, groups):
        train, valid = train_test_split(inner, test_size=0.2, stratify=data.labels[inner], random_state=seed)
        model = fit(data.subset(np.sort(train)), data.subset(np.sort(valid)), "deepchrome", seed)
        epochs.append(model.best_epoch)
        held_out = set(groups[test])  # a gene's rows in every cell type share its fold
        for eid, part in by_type.items():
            # score each cell type's held-out genes as a user would: its own sample, its own scaling
            own = part.subset(part.genes["gene_id"].isin(held_out).to_numpy())
            aucs[eid].append(roc_auc(own.labels, model.predict_proba(own)))
    return epochs, {f"cv_roc_auc_{eid}": float(np.mean(v)) for eid, v in aucs.items()} | {
        "cv_folds": folds,
        "cv_roc_auc_per_fold": {eid: [round(a, 4) for a in v] for eid, v in aucs.items()},
    }


def build(name: str, eids: tuple[str, ...], root: Path, out: Path, seed: int) -> dict:
    parts = [load_cell_type(root, eid) for eid in eids]
    epochs, cv = cross_validate(parts, seed)
    n_epochs = int(np.median(epochs))
    data = pool(parts)
    model = fit(data, None, "deepchrome", seed, device="cpu", max_epochs=n_epochs)
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    export_onnx(model.net, len(CORE_MARKS), data.spec.n_bins, folder / "model.onnx")
    genes = data.genes.assign(label=np.where(data.labels == 1, "high", "low"))
    genes[["cell_type", "gene_id", "gene_name", "label"]].to_csv(
        folder / "training_genes.tsv", sep="\t", index=False
    )
    card = write_card(
        folder / "model.onnx",
        base_card(
            name,
            data,
            model.transform,
            description=f"DeepChrome trained on Roadmap {' + '.join(f'{e} ({CELL_TYPES[e]})' for e in eids)}",
            cell_types=list(eids),
            architecture="deepchrome",
            recipe=model.recipe_dict(),
            seed=seed,
            training_device="cpu",
            epochs=n_epochs,
            genome_build="hg19",
            training_data={
                "genes": int(len(data.labels)),
                "high": int(data.labels.sum()),
                "gene_set": "protein-coding genes of the DeepChrome subset (genes.gtf), listed in training_genes.tsv",
                "labels": "RNA-seq RPKM above the cell type's median over 19,802 genes",
                "source": "shared Roadmap data: bigWig read counts per 100 bp, GENCODE hg19 TSS",
                "licence": LICENCE,
            },
            metrics={**cv, "cv_chosen_epochs": epochs},
            licence="model: MIT; training data: " + LICENCE,
        ),
    )
    loaded = load_model(folder / "model.onnx")
    golden = parts[0].subset(np.arange(16))
    np.savez(folder / "golden.npz", features=golden.features, p_high=loaded.predict_proba(golden))
    return card


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/roadmap"))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "chromepredict" / "pretrained"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, eids in MODELS.items():
        card = build(name, eids, args.data, args.out, args.seed)
        cv = {k: round(v, 4) for k, v in card["metrics"].items() if k.startswith("cv_roc_auc_E")}
        print(
            f"{name}: epochs {card['epochs']} (per fold {card['metrics']['cv_chosen_epochs']}), {cv}",
            flush=True,
        )


if __name__ == "__main__":
    main()
