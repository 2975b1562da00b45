"""Per-gene predictions: the table, its TSV with a JSON sidecar saying how it was made, and BED9."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.io.expression import Matched
from chromepredict.io.features import FeatureSet
from chromepredict.models.protocols import ScoringModel
from chromepredict.models.targets import Report
from chromepredict.system.files import (
    OutputKind,
    atomic_path,
    delivered_together,
    sidecar_path,
    write_sidecar,
)

BED_COLOURS = {"high": "215,48,39", "low": "69,117,180"}


def predictions_table(
    genes: pd.DataFrame,
    values: np.ndarray,
    report: Report,
    threshold: float = 0.5,
    matched: Matched | None = None,
) -> pd.DataFrame:
    """gene_id, gene_name, chrom, tss, strand and the target's columns (p_high + call, or level).

    ``matched`` (an expression table matched to the genes) adds the measured column (``label``:
    high/low/NA, or ``measured_level``: log2(1 + value), NA when the table has none).
    """
    table = genes[GENE_COLUMNS].copy().reset_index(drop=True)
    for column, data in report.table_columns(values, threshold, matched).items():
        table[column] = data
    return table


def about(model: ScoringModel, data: FeatureSet, threshold: float | None = None) -> dict:
    """How a table of predictions was made, for its JSON sidecar: chromepredict's version, the model
    (and its integrity hash), window, transform, the marks used, the tracks' assembly and signal
    kinds, what the value columns mean and every warning."""
    card = model.card
    spec = model.spec
    return {
        "chromepredict": __version__,
        "model": {
            "name": model.name, "target": card.target, "architecture": card.architecture,
            "networks": card.ensemble_members, "created": card.created or None, "integrity_sha256": card.integrity,
        },
        "window": {"flank_bp": spec.flank, "bin_size_bp": spec.bin_size, "orientation": spec.orientation},
        "transform": card.transform.kind,
        "marks_used": list(data.marks),
        "model_marks": list(model.marks),
        "tracks": {
            "assembly": data.provenance.assembly,
            "signal": {m: {"kind": p.kind, "resolution_bp": p.resolution} for m, p in data.profiles.items()},
        },
        "values": model.target.report.header(threshold, card.level_units_or_default),
        "warnings": list(data.provenance.warnings),
    }  # fmt: skip


#: What a re-run may replace: an earlier predictions table (its header row; before 0.4 its first
#: line was ``# chromepredict VERSION``).
PREDICTIONS = OutputKind(
    "predictions table", first_line=r"# chromepredict \S+|gene_id\tgene_name\tchrom\ttss\tstrand(\t.*)?"
)
#: ... and an earlier BED track of predictions.
BED_TRACK = OutputKind("BED track", first_line=r'track name="chromepredict .*')


def write_table(table: pd.DataFrame, path: str | Path, how: dict, kind: OutputKind = PREDICTIONS) -> None:
    """A table as plain TSV — one header row, then data, so that pandas' ``read_csv(sep="\\t")``, R's
    ``read.delim`` and spreadsheets open it as it is — to ``path`` (``-`` = stdout; a name ending
    ``.gz`` gets gzip), and ``how`` it was made as JSON beside it (:func:`sidecar_path`), delivered
    together, whole or not at all."""
    text = table.to_csv(sep="\t", index=False, na_rep="NA")
    sidecar = sidecar_path(path)
    with delivered_together():
        with atomic_path(path, kind) as tmp:
            if str(path).endswith(".gz"):
                tmp.write_bytes(gzip.compress(text.encode(), mtime=0))
            else:
                tmp.write_text(text)
        if sidecar is not None:
            write_sidecar(sidecar, {**how, "table": Path(path).name})


def write_bed(
    table: pd.DataFrame, path: str | Path, model: ScoringModel, chroms: dict[str, str] | None = None
) -> None:
    """BED9 for genome browsers: the TSS (1 bp) of each gene, scored and coloured by the model's
    target (class: p_high × 1000, red high / blue low; level: the level's percentile on the
    training levels' normal scale), on the chromosomes named as the tracks name them (``chroms``:
    the GTF's name → the tracks', so that ``1`` is written ``chr1`` for the UCSC browser when the
    tracks say ``chr1``). A gene's line depends on its own prediction only."""
    tss = table["tss"].to_numpy()
    score, high, what = model.target.report.bed(table, model.card.level_scale)
    bed = pd.DataFrame(
        {
            "chrom": table["chrom"].map(lambda c: (chroms or {}).get(c, c)),
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
