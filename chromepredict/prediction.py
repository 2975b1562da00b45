"""Per-gene predictions table and its TSV (with a comment header naming the model)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.annotation import GENE_COLUMNS
from chromepredict.files import atomic_path

PREDICTION_COLUMNS = [*GENE_COLUMNS, "p_high", "call"]


def predictions_table(
    genes: pd.DataFrame, p_high: np.ndarray, threshold: float, labels: pd.Series | None = None
) -> pd.DataFrame:
    """gene_id, gene_name, chrom, tss, strand, p_high, call (high/low at ``threshold``) [, label].

    ``labels`` holds 1, 0 or NaN per gene; NaN becomes ``NA``.
    """
    table = genes[GENE_COLUMNS].copy()
    table["p_high"] = np.round(p_high.astype(float), 6)
    table["call"] = np.where(p_high >= threshold, "high", "low")
    if labels is not None:
        table["label"] = labels.map({1: "high", 0: "low"}).fillna("NA").to_numpy()
    return table


def write_predictions(table: pd.DataFrame, path: str | Path | None, header: list[str]) -> None:
    """TSV with ``# key: value`` header lines; to stdout when ``path`` is None, else atomically."""
    text = "".join(f"# {line}\n" for line in header) + table.to_csv(sep="\t", index=False)
    if path is None:
        sys.stdout.write(text)
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def header_lines(model, threshold: float) -> list[str]:
    card = model.card
    return [
        f"chromepredict {__version__}",
        f"model: {model.name} (architecture {card.get('architecture', '?')}, created {card.get('created', '?')}, "
        f"sha256 {card['onnx_sha256'][:16]}…)",
        f"window: TSS ± {model.spec.flank} bp, {model.spec.bin_size} bp bins, orientation {model.spec.orientation}; "
        f"transform {card['transform']['kind']}",
        f"call: high when p_high >= {threshold}",
    ]
