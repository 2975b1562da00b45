"""Per-gene predictions: the table, its TSV (with a comment header saying how it was made) and BED9."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.annotation import GENE_COLUMNS
from chromepredict.files import atomic_path

PREDICTION_COLUMNS = [*GENE_COLUMNS, "p_high", "call"]
LEVEL_COLUMNS = [*GENE_COLUMNS, "level"]
BED_COLOURS = {"high": "215,48,39", "low": "69,117,180"}


def predictions_table(
    genes: pd.DataFrame,
    values: np.ndarray,
    target: str = "class",
    threshold: float = 0.5,
    matched=None,
) -> pd.DataFrame:
    """gene_id, gene_name, chrom, tss, strand and p_high + call (class models) or level (level models).

    ``matched`` (an expression table matched to the genes) adds ``label`` (high/low/NA) or
    ``measured_level`` (log2(1 + value), NA when the table has none).
    """
    table = genes[GENE_COLUMNS].copy().reset_index(drop=True)
    if target == "class":
        table["p_high"] = np.round(values.astype(float), 6)
        table["call"] = np.where(values >= threshold, "high", "low")
        if matched is not None:
            table["label"] = matched.labels.map({1: "high", 0: "low"}).fillna("NA").to_numpy()
    else:
        table["level"] = np.round(values.astype(float), 6)
        if matched is not None:
            table["measured_level"] = np.round(matched.levels.to_numpy(float), 6)
    return table


def header_lines(model, data, threshold: float | None = None) -> list[str]:
    """What a reader of the TSV needs to know: version, model, window, marks, tracks, warnings."""
    card = model.card
    lines = [
        f"chromepredict {__version__}",
        f"model: {model.name} (target {card['target']}, architecture {card.get('architecture', '?')}, "
        f"{card.get('ensemble_members', 1)} network(s), created {card.get('created', '?')}, "
        f"integrity sha256 {card['integrity'][:16]}…)",
        f"window: TSS ± {model.spec.flank} bp, {model.spec.bin_size} bp bins, orientation {model.spec.orientation}; "
        f"transform {card['transform']['kind']}",
        f"marks used: {', '.join(data.marks)}"
        + ("" if len(data.marks) == len(model.marks) else f" of {', '.join(model.marks)}"),
    ]
    if data.profiles:
        kinds = ", ".join(f"{m} {p.kind} ({p.resolution} bp)" for m, p in data.profiles.items())
        lines.append(f"tracks: assembly {data.provenance.assembly or 'not recognised'}; signal {kinds}")
    if card["target"] == "class":
        lines.append(f"call: high when p_high >= {threshold}")
    else:
        lines.append(
            f"level: predicted log2(1 + {card.get('level_units', 'expression')}) of the training table"
        )
    lines.extend(f"warning: {w}" for w in data.provenance.warnings)
    return lines


def write_predictions(table: pd.DataFrame, path: str | Path, header: list[str]) -> None:
    """TSV with ``# …`` header lines to ``path`` (``-`` = stdout), delivered whole."""
    text = "".join(f"# {line}\n" for line in header) + table.to_csv(sep="\t", index=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bed(table: pd.DataFrame, path: str | Path, model) -> None:
    """BED9 for genome browsers: the TSS (1 bp) of each gene. Class models: score = p_high × 1000,
    red (high) / blue (low). Level models: score = 1000 × the normal CDF of the level on the
    training levels' scale (the card's ``level_scale``), red at or above the training mean. Either
    way a gene's line depends on its own prediction only, never on the other genes of the run."""
    from scipy.stats import norm

    tss = table["tss"].to_numpy()
    if "p_high" in table:
        score, high, what = table["p_high"] * 1000, table["call"] == "high", "P(high expression) × 1000"
    else:
        scale = model.card.get("level_scale", {})
        mean, sd = float(scale.get("mean", 0.0)), float(scale.get("sd", 1.0)) or 1.0
        score = norm.cdf((table["level"] - mean) / sd) * 1000
        high = table["level"] >= mean
        what = f"predicted level as a training-level percentile × 1000 (red: ≥ training mean {mean:.2f})"
    bed = pd.DataFrame(
        {
            "chrom": table["chrom"],
            "start": tss - 1,
            "end": tss,
            "name": table["gene_name"],
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
    with atomic_path(path) as tmp:
        tmp.write_text(track + bed.to_csv(sep="\t", index=False, header=False))
