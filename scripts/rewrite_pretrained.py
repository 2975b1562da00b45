"""Rewrite the shipped models in the current card format and graph form, with the same weights
and the same outputs (no retraining; ``scripts/build_pretrained.py`` retrains them).

    python -m scripts.rewrite_pretrained [--models E003 ...] [--dry-run]

For each model in chromepredict/pretrained/: read its card (any readable format) and rebuild the
trained ensemble in torch from its model.onnx (``explain.torch_network``: it reads unfolded and
folded graphs), export it with ``onnx_io.export_onnx`` (which folds the mask channels into a
per-gene bias, see ``model.FoldedChrome``), and check that the new graph's outputs equal the
current graph's to 1e-6 (absolute) on golden.npz and on 2,000 random genes, for every one of the 31
mark subsets, and that ``LoadedModel.predict`` still replays golden.npz's expected values to 1e-6.
Only then model.onnx is replaced and the card written in the current format and sealed, keeping its
``created`` date and library versions (the weights are the trained ones); a card that lists its
training genes by id only gets their names too, from the bundled GTF of those genes. golden.npz is left as it
is (its expected values come from the model as trained), and the package's record of the shipped
sha256s (chromepredict/models/checksums.py) is rewritten. A rerun writes byte-identical files.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd

from chromepredict.io.annotation import read_genes
from chromepredict.io.datasets import example_data
from chromepredict.io.features import FeatureSet
from chromepredict.io.trackinfo import TrackProfile
from chromepredict.models.card import ModelCard, write_card
from chromepredict.models.onnx_io import LoadedModel, export_onnx, load_model
from chromepredict.results.explain import torch_network
from chromepredict.system.files import atomic_path
from scripts.build_pretrained import write_checksums

ROOT = Path(__file__).resolve().parents[1]

PRETRAINED = ROOT / "chromepredict" / "pretrained"
TOLERANCE = 1e-6
RANDOM_GENES = 2000


def session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def subset_masks(n_marks: int) -> np.ndarray:
    """Every non-empty subset of the marks as a presence mask, [2**n − 1, marks]."""
    rows = [m for m in itertools.product((0.0, 1.0), repeat=n_marks) if any(m)]
    return np.array(rows, dtype=np.float32)


def max_difference(old: ort.InferenceSession, new: ort.InferenceSession, inputs: np.ndarray) -> float:
    """Largest |old − new| over all outputs, genes and mark subsets (absent marks zero, as predict feeds them)."""
    worst = 0.0
    for present in subset_masks(inputs.shape[1]):
        mask = np.tile(present, (len(inputs), 1))
        feed = {"features": inputs * present[None, :, None], "mask": mask}
        worst = max(worst, float(np.abs(old.run(None, feed)[0] - new.run(None, feed)[0]).max()))
    return worst


def golden_set(model: LoadedModel, golden) -> FeatureSet:
    n = len(golden["features"])
    genes = pd.DataFrame(
        {"gene_id": [f"g{i}" for i in range(n)], "gene_name": "", "chrom": "", "tss": 0, "strand": "+"}
    )
    profiles = {m: TrackProfile(scale=float(s)) for m, s in zip(model.marks, golden["scales"], strict=True)}
    return FeatureSet(golden["features"], genes, model.marks, model.spec, profiles=profiles)


def rewrite(folder: Path, dry_run: bool) -> None:
    path = folder / "model.onnx"
    model = load_model(path)  # verifies the card and its integrity
    old_bytes = path.read_bytes()
    ensemble = torch_network(model)  # the trained (unfolded) form, checked against onnxruntime
    n_marks, n_bins = len(model.marks), model.spec.n_bins
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(ensemble, n_marks, n_bins, Path(tmp) / "model.onnx")
        new_bytes = (Path(tmp) / "model.onnx").read_bytes()
    old, new = session(old_bytes), session(new_bytes)

    golden = np.load(folder / "golden.npz")
    data = golden_set(model, golden)
    golden_inputs, _ = model.inputs(data)
    random_inputs = np.random.default_rng(0).normal(size=(RANDOM_GENES, n_marks, n_bins)).astype(np.float32)
    replay = LoadedModel(path, model.card, new, new_bytes).predict(data)
    differences = {
        "golden, 31 subsets": max_difference(old, new, golden_inputs),
        f"{RANDOM_GENES} random genes, 31 subsets": max_difference(old, new, random_inputs),
        "golden.npz expected (predict)": float(np.abs(replay - model.target.floor(golden["expected"])).max()),
    }
    summary = ", ".join(f"{k}: {v:.1e}" for k, v in differences.items())
    if max(differences.values()) > TOLERANCE:
        raise SystemExit(f"{folder.name}: the folded graph differs by more than {TOLERANCE} ({summary})")
    same = new_bytes == old_bytes
    print(
        f"{folder.name}: max |new − current| {summary}; graph {'unchanged' if same else 'rewritten'}",
        flush=True,
    )
    if dry_run:
        return
    with atomic_path(path) as tmp:
        tmp.write_bytes(new_bytes)
    write_card(path, with_gene_names(model.card), created=model.card.created)
    load_model(path)  # the pair verifies


def with_gene_names(card: ModelCard) -> ModelCard:
    """A card of a shipped model with its training genes' names (cards before 0.4 list ids only),
    from the bundled GTF of those genes."""
    if card.training_data.gene_names:
        return card
    genes = read_genes(example_data()["gtf"], None).genes.set_index("gene_id")["gene_name"]
    names = tuple(sorted({str(genes[g]) for g in card.training_data.gene_ids if g in genes.index}))
    return replace(card, training_data=replace(card.training_data, gene_names=names))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", nargs="*", default=sorted(p.parent.name for p in PRETRAINED.glob("*/model.onnx"))
    )
    parser.add_argument("--dry-run", action="store_true", help="verify only; write nothing")
    args = parser.parse_args()
    for name in args.models:
        rewrite(PRETRAINED / name, args.dry_run)
    if not args.dry_run:
        write_checksums(PRETRAINED)


if __name__ == "__main__":
    main()
