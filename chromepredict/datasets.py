"""DeepChrome CSV read/write, the REMC folder layout, expression tables → labels, gene splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.annotation import GENE_COLUMNS
from chromepredict.errors import UserError
from chromepredict.features import FeatureSet, WindowSpec
from chromepredict.files import atomic_path
from chromepredict.marks import CORE_MARKS

#: DeepChrome CSV: no header, 100 rows per gene; counts in CORE_MARKS order (alphabetical).
CSV_COLUMNS = ["GeneID", "BinID", *CORE_MARKS, "Label"]
ENSEMBL_PREFIX = "ENSG00000"
SPLITS = ("train", "valid", "test")


def _full_gene_id(short: str) -> str:
    return ENSEMBL_PREFIX + short if short.isdigit() else short


def read_deepchrome_csv(path: str | Path) -> FeatureSet:
    """Read a DeepChrome CSV (GeneID,BinID,5 marks,Label; no header) into a FeatureSet with labels.

    Bins are in genomic order as published (``orientation="genomic"``); the gene table has the
    Ensembl id (``ENSG00000`` + GeneID) and no coordinates.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: CSV file not found; check the path")
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
    return FeatureSet(
        features=np.ascontiguousarray(features.transpose(0, 2, 1)),
        genes=genes,
        marks=CORE_MARKS,
        spec=WindowSpec(flank=n_bins * 50, bin_size=100, orientation="genomic"),
        labels=labels[:, 0].astype(np.int8),
    )


def write_deepchrome_csv(data: FeatureSet, path: str | Path) -> None:
    """Write a labelled FeatureSet in DeepChrome's CSV format (values rounded to integers)."""
    if data.labels is None:
        raise UserError(f"{path}: DeepChrome CSVs need labels; give --expression")
    if data.marks != CORE_MARKS:
        raise ValueError(f"marks must be {CORE_MARKS}, got {data.marks}")
    n_genes, n_marks, n_bins = data.features.shape
    short = [g.removeprefix(ENSEMBL_PREFIX) for g in data.genes["gene_id"]]
    table = pd.DataFrame(
        data.features.transpose(0, 2, 1).reshape(-1, n_marks).round().astype(np.int64),
        columns=list(CORE_MARKS),
    )
    table.insert(0, "BinID", np.tile(np.arange(1, n_bins + 1), n_genes))
    table.insert(0, "GeneID", np.repeat(short, n_bins))
    table["Label"] = np.repeat(data.labels.astype(np.int64), n_bins)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, header=False, index=False)


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
    return splits


@dataclass
class Expression:
    """Expression values per gene and the high/low labels derived from them."""

    values: pd.Series  # indexed by gene_id without version
    median: float

    @property
    def labels(self) -> pd.Series:
        """1 = high (value above the median over all genes in the table), 0 = low."""
        return (self.values > self.median).astype(np.int8)

    def labels_for(self, gene_ids: pd.Series) -> pd.Series:
        """1, 0, or NaN for genes without a value, aligned with ``gene_ids``."""
        return gene_ids.map(self.labels)

    def summary(self) -> str:
        n_high = int(self.labels.sum())
        return (
            f"{len(self.values)} genes, median {self.median:.4g}, "
            f"{n_high} high / {len(self.values) - n_high} low"
        )


_ID_COLUMNS = ("gene_id", "geneid", "gene", "id", "ensembl_gene_id", "ensembl_id", "name")


def read_expression(path: str | Path, value_column: str | None = None) -> Expression:
    """Read a TSV/CSV with a gene-id column and a numeric value column (RPKM, TPM or counts).

    The id column is the first named like gene_id/gene/id, else the first column; the value
    column is ``value_column`` or the first numeric column. Version suffixes are stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: expression table not found; check the --expression path")
    try:
        table = pd.read_csv(path, sep=None, engine="python", comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(
            f"{path}: cannot read the expression table ({exc}); give a TSV or CSV with a header"
        ) from None
    lower = {c.lower(): c for c in table.columns}
    id_col = next((lower[c] for c in _ID_COLUMNS if c in lower), table.columns[0])
    if value_column is not None:
        if value_column not in table.columns:
            raise UserError(
                f"{path}: no column {value_column!r}; columns are {', '.join(map(str, table.columns))}"
            )
        value_col = value_column
    else:
        numeric = [c for c in table.columns if c != id_col and pd.api.types.is_numeric_dtype(table[c])]
        if not numeric:
            raise UserError(
                f"{path}: no numeric expression column; give a header and one numeric column (e.g. rpkm)"
            )
        value_col = numeric[0]
    values = pd.to_numeric(table[value_col], errors="coerce")
    if values.isna().any():
        raise UserError(
            f"{path}: column {value_col!r} has non-numeric or missing values; fix or remove those rows"
        )
    ids = table[id_col].astype(str).str.replace(r"\.\d+$", "", regex=True)
    series = pd.Series(values.to_numpy(float), index=ids).groupby(level=0).mean()
    # the paper's rule: the median over every gene (row) of the table
    return Expression(values=series, median=float(values.median()))


def attach_labels(data: FeatureSet, expression: Expression) -> tuple[FeatureSet, int]:
    """Label the genes found in the expression table; returns the labelled subset and how many lacked a value."""
    labels = expression.labels_for(data.genes["gene_id"])
    known = labels.notna().to_numpy()
    labelled = data.subset(known)
    labelled.labels = labels[known].to_numpy(np.int8)
    return labelled, int((~known).sum())


def split_by_chromosome(genes: pd.DataFrame, seed: int, fractions=(0.7, 0.15, 0.15)) -> dict[str, np.ndarray]:
    """Split genes into train/valid/test by whole chromosomes, reproducibly with ``seed``.

    Whole chromosomes keep neighbouring genes (which share signal) out of both sides of a split.
    Falls back to a random gene split when there are too few chromosomes to fill every part.
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
            return {s: np.sort(np.array(p)) for s, p in parts.items()}
    order = rng.permutation(len(genes))
    cut1 = int(fractions[0] * len(genes))
    cut2 = cut1 + int(fractions[1] * len(genes))
    return {"train": np.sort(order[:cut1]), "valid": np.sort(order[cut1:cut2]), "test": np.sort(order[cut2:])}


def example_data() -> dict[str, Path]:
    """Paths of the bundled real example data (Roadmap E003, 371 genes): tracks, gtf, expression."""
    from importlib.resources import files

    folder = Path(str(files("chromepredict") / "data" / "example"))
    return {
        "tracks": sorted(folder.glob("E003-H3K*.bw")),
        "gtf": folder / "genes.gtf.gz",
        "expression": folder / "E003-expression.tsv.gz",
    }
