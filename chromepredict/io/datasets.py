"""DeepChrome CSV reading, the REMC folder layout, gene splits, the bundled example data."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import numpy as np
import pandas as pd

from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.io.features import FeatureSet, Provenance, WindowSpec
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.trackinfo import profile_windows
from chromepredict.system.errors import UserError, require_file

#: DeepChrome CSV: no header, 100 rows per gene; counts in CORE_MARKS order (alphabetical).
CSV_COLUMNS = ["GeneID", "BinID", *CORE_MARKS, "Label"]
ENSEMBL_PREFIX = "ENSG00000"
SPLITS = ("train", "valid", "test")
CSV_BIN_SIZE = 100  # the published CSVs hold 100 bp bins


def _full_gene_id(short: str) -> str:
    return ENSEMBL_PREFIX + short if short.isdigit() else short


def read_deepchrome_csv(path: str | Path) -> FeatureSet:
    """Read a DeepChrome CSV (GeneID,BinID,5 marks,Label; no header) into a FeatureSet with labels.

    Bins are in genomic order as published (``orientation="genomic"``); the gene table has the
    Ensembl id (``ENSG00000`` + GeneID) and no coordinates.
    """
    path = Path(path)
    require_file(path, "CSV file", "check the path")
    try:
        table = pd.read_csv(path, header=None, dtype={0: str}, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a DeepChrome CSV ({exc}); expected {','.join(CSV_COLUMNS)}") from None
    if table.shape[1] != len(CSV_COLUMNS) or not all(
        pd.api.types.is_numeric_dtype(table[c]) for c in table.columns[1:]
    ):
        raise UserError(
            f"{path}: not a DeepChrome CSV (want {len(CSV_COLUMNS)} columns "
            f"{','.join(CSV_COLUMNS)}, no header, numbers after GeneID)"
        )
    table.columns = CSV_COLUMNS
    gene_ids = pd.unique(table["GeneID"])
    n_genes = len(gene_ids)
    if len(table) % n_genes:
        raise UserError(f"{path}: genes have different numbers of bins; every gene needs the same bins")
    n_bins = len(table) // n_genes
    bins = table["BinID"].to_numpy().reshape(n_genes, n_bins)
    genes_col = table["GeneID"].to_numpy().reshape(n_genes, n_bins)
    if not (genes_col == genes_col[:, :1]).all() or not (bins == np.arange(1, n_bins + 1)).all():
        raise UserError(f"{path}: rows must be grouped by gene with BinID 1..{n_bins} in order")
    labels = table["Label"].to_numpy().reshape(n_genes, n_bins)
    if not (labels == labels[:, :1]).all() or not np.isin(labels, (0, 1)).all():
        raise UserError(f"{path}: Label must be 0 or 1 and the same on every row of a gene")
    features = table[list(CORE_MARKS)].to_numpy(np.float32).reshape(n_genes, n_bins, len(CORE_MARKS))
    full_ids = [_full_gene_id(g) for g in gene_ids]
    genes = pd.DataFrame(
        {"gene_id": full_ids, "gene_name": full_ids, "chrom": "", "tss": -1, "strand": "."},
        columns=GENE_COLUMNS,
    )
    features = np.ascontiguousarray(features.transpose(0, 2, 1))
    return FeatureSet(
        features=features,
        genes=genes,
        marks=CORE_MARKS,
        spec=WindowSpec(flank=n_bins * CSV_BIN_SIZE // 2, bin_size=CSV_BIN_SIZE, orientation="genomic"),
        labels=labels[:, 0].astype(np.int8),
        profiles=csv_profiles([features]),
        provenance=Provenance(source="csv", description=str(path), strands_known=False),
    )


def csv_profiles(arrays: list[np.ndarray]) -> dict:
    """Per-mark profiles of DeepChrome CSV windows: the files of one cell type are all its track holds."""
    pooled = np.concatenate(arrays)
    return {mark: profile_windows(pooled[:, m], CSV_BIN_SIZE) for m, mark in enumerate(CORE_MARKS)}


def find_cell_types(root: str | Path) -> dict[str, Path]:
    """Map cell-type id → ``ROOT/<EID>/classification`` for every such folder holding a train.csv."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: folder not found; give the folder holding <EID>/classification/")
    found = {
        folder.parent.name: folder
        for folder in sorted(root.glob("*/classification"))
        if any((folder / name).is_file() for name in ("train.csv", "train.csv.gz"))
    }
    if not found:
        raise UserError(f"{root}: no <EID>/classification/train.csv below it; check the --remc-root path")
    return found


def read_csv_dir(folder: str | Path) -> dict[str, FeatureSet]:
    """Read ``train.csv``, ``valid.csv`` (and ``test.csv`` if present; each may be gzipped) from one folder."""
    folder = Path(folder)
    splits = {}
    for split in SPLITS:
        found = [
            folder / f"{split}{ext}" for ext in (".csv", ".csv.gz") if (folder / f"{split}{ext}").is_file()
        ]
        if found:
            splits[split] = read_deepchrome_csv(found[0])
    if "train" not in splits or "valid" not in splits:
        raise UserError(f"{folder}: needs train.csv and valid.csv (test.csv optional; .csv.gz also read)")
    profiles = csv_profiles([part.features for part in splits.values()])
    for part in splits.values():
        part.profiles = profiles
    return splits


def split_valid_halves(splits: dict[str, FeatureSet], seed: int) -> dict[str, FeatureSet]:
    """When there is no test.csv: half of valid (stratified, seeded) becomes the test set."""
    from sklearn.model_selection import train_test_split

    valid = splits["valid"]
    keep, test = train_test_split(
        np.arange(len(valid.genes)), test_size=0.5, stratify=valid.labels, random_state=seed
    )
    return {
        "train": splits["train"],
        "valid": valid.subset(np.sort(keep)),
        "test": valid.subset(np.sort(test)),
    }


def split_by_chromosome(
    genes: pd.DataFrame, seed: int = 0, fractions=(0.7, 0.15, 0.15)
) -> tuple[dict[str, np.ndarray], str]:
    """Split genes into train/valid/test by whole chromosomes, reproducibly with ``seed``.

    Whole chromosomes keep neighbouring genes (which share signal) out of both sides of a split.
    Falls back to a random gene split when there are too few chromosomes to fill every part.
    Returns the row indices per part and a one-line description of the split actually used.
    """
    rng = np.random.default_rng(seed)
    chroms = genes["chrom"].to_numpy()
    unique = np.unique(chroms)
    parts: dict[str, list[int]] = {s: [] for s in SPLITS}
    if len(unique) >= 3 and (chroms != "").all():
        order = rng.permutation(unique)
        counts = {c: int((chroms == c).sum()) for c in order}
        targets = np.array(fractions) * len(genes)
        filled = dict.fromkeys(SPLITS, 0)
        # valid and test take chromosomes until full; train takes the rest
        for chrom in order:
            for name, target in zip(SPLITS[1:], targets[1:], strict=False):
                if filled[name] < target:
                    break
            else:
                name = "train"
            filled[name] += counts[chrom]
            parts[name].extend(np.flatnonzero(chroms == chrom).tolist())
        if all(parts.values()):
            held = {name: sorted(set(chroms[parts[name]])) for name in SPLITS[1:]}
            return {s: np.sort(np.array(p)) for s, p in parts.items()}, (
                f"by whole chromosome (split seed {seed}): validation {', '.join(held['valid'])}; "
                f"test {', '.join(held['test'])}"
            )
    order = rng.permutation(len(genes))
    cut1 = int(fractions[0] * len(genes))
    cut2 = cut1 + int(fractions[1] * len(genes))
    reason = "the genes have no chromosomes" if (chroms == "").any() else f"only {len(unique)} chromosome(s)"
    return {
        "train": np.sort(order[:cut1]),
        "valid": np.sort(order[cut1:cut2]),
        "test": np.sort(order[cut2:]),
    }, (
        f"random genes (split seed {seed}), not by chromosome: {reason}; neighbouring genes may share signal across parts"
    )


class ExampleData(TypedDict):
    """The bundled example data of one cell type (:func:`example_data`)."""

    tracks: list[Path]
    gtf: Path
    expression: Path


def example_data(cell_type: str = "E003") -> ExampleData:
    """Paths of the bundled real example data of one cell type (Roadmap E003, H1 cells, or E123,
    K562: 371 genes, 369 protein-coding): ``tracks`` (its five bigWigs), ``gtf`` and ``expression``
    (its RNA-seq RPKM table).

    >>> h1 = cp.example_data("E003")                                  # doctest: +SKIP
    >>> sample = cp.read_sample(h1["tracks"], gtf=h1["gtf"])          # doctest: +SKIP
    """
    from importlib.resources import files

    if cell_type not in ("E003", "E123"):
        raise UserError(f"example data {cell_type!r}: the bundled example has E003 and E123")

    folder = Path(str(files("chromepredict") / "data" / "example"))
    return {
        "tracks": sorted(folder.glob(f"{cell_type}-H3K*.bw")),
        "gtf": folder / "genes.gtf.gz",
        "expression": folder / f"{cell_type}-expression.tsv.gz",
    }
