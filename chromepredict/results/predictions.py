"""Per-gene predictions: the table, its TSV (with a comment header saying how it was made) and BED9."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.system.files import OutputKind, atomic_path

BED_COLOURS = {"high": "215,48,39", "low": "69,117,180"}


def predictions_table(
    genes: pd.DataFrame, values: np.ndarray, target, threshold: float = 0.5, matched=None
) -> pd.DataFrame:
    """gene_id, gene_name, chrom, tss, strand and the target's columns (p_high + call, or level).

    ``matched`` (an expression table matched to the genes) adds the measured column (``label``:
    high/low/NA, or ``measured_level``: log2(1 + value), NA when the table has none).
    """
    table = genes[GENE_COLUMNS].copy().reset_index(drop=True)
    for column, data in target.table_columns(values, threshold, matched).items():
        table[column] = data
    return table


def header_lines(model, data, threshold: float | None = None) -> list[str]:
    """What a reader of the TSV needs to know: version, model, window, marks, tracks, warnings."""
    card = model.card
    lines = [
        f"chromepredict {__version__}",
        f"model: {model.name} (target {card.target}, architecture {card.architecture}, "
        f"{card.ensemble_members} network(s), created {card.created or '?'}, "
        f"integrity sha256 {card.integrity[:16]}…)",
        f"window: TSS ± {model.spec.flank} bp, {model.spec.bin_size} bp bins, orientation {model.spec.orientation}; "
        f"transform {card.transform.kind}",
        f"marks used: {', '.join(data.marks)}"
        + ("" if len(data.marks) == len(model.marks) else f" of {', '.join(model.marks)}"),
    ]
    if data.profiles:
        kinds = ", ".join(f"{m} {p.kind} ({p.resolution} bp)" for m, p in data.profiles.items())
        lines.append(f"tracks: assembly {data.provenance.assembly or 'not recognised'}; signal {kinds}")
    lines.append(model.target.header(threshold, card))
    lines.extend(f"warning: {w}" for w in data.provenance.warnings)
    return lines


#: What a re-run may replace: an earlier predictions table (its first line ``# chromepredict VERSION``).
PREDICTIONS = OutputKind("predictions table", first_line=r"# chromepredict \S+")
#: ... and an earlier BED track of predictions.
BED_TRACK = OutputKind("BED track", first_line=r'track name="chromepredict .*')


def write_predictions(table: pd.DataFrame, path: str | Path, header: list[str]) -> None:
    """TSV with ``# …`` header lines to ``path`` (``-`` = stdout; a name ending ``.gz`` gets
    gzip), delivered whole."""
    text = "".join(f"# {line}\n" for line in header) + table.to_csv(sep="\t", index=False)
    with atomic_path(path, PREDICTIONS) as tmp:
        if str(path).endswith(".gz"):
            tmp.write_bytes(gzip.compress(text.encode(), mtime=0))
        else:
            tmp.write_text(text)


def write_bed(table: pd.DataFrame, path: str | Path, model) -> None:
    """BED9 for genome browsers: the TSS (1 bp) of each gene, scored and coloured by the model's
    target (class: p_high × 1000, red high / blue low; level: the level's percentile on the
    training levels' normal scale). A gene's line depends on its own prediction only."""
    tss = table["tss"].to_numpy()
    score, high, what = model.target.bed(table, model.card)
    bed = pd.DataFrame(
        {
            "chrom": table["chrom"],
            "start": tss - 1,
            "end": tss,
            # browsers split BED lines on whitespace and take names of at most 255 characters
            "name": table["gene_name"].astype(str).str.replace(r"\s+", "_", regex=True).str.slice(0, 255),
            "score": np.clip(np.round(score), 0, 1000).astype(int),
            "strand": table["strand"],
            "thick_start": tss - 1,
            "thick_end": tss,
            "rgb": np.where(high, BED_COLOURS["high"], BED_COLOURS["low"]),
        }
    ).sort_values(["chrom", "start"], kind="stable")
    track = (
        f'track name="chromepredict {model.name}" description="{what}, red high / blue low" itemRgb="On"\n'
    )
    with atomic_path(path, BED_TRACK) as tmp:
        tmp.write_text(track + bed.to_csv(sep="\t", index=False, header=False))
