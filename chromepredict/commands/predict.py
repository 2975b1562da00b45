"""``chromepredict predict``: score every gene with a pretrained or trained model (onnxruntime only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from chromepredict import gate
from chromepredict.evaluation import regression_metrics, roc_auc
from chromepredict.files import check_output_file
from chromepredict.prediction import header_lines, predictions_table, write_bed, write_predictions
from chromepredict.report import Report
from chromepredict.sources import TrackInputs, read_expression_for
from chromepredict.zoo import open_model


@dataclass
class Scored:
    """One sample's predictions with what the output header and summaries need."""

    table: pd.DataFrame
    header: list[str]
    warnings: list[str]
    score: float | None  # AUC (class) or Spearman (level) against the expression table, if given


def score_sample(
    model, inputs: TrackInputs, report: Report, threshold: float = 0.5, expression=None
) -> Scored:
    """Read one sample's tracks through the gate and score its genes."""
    files = inputs.files()
    used, notes = gate.choose_marks(model, list(files), "tracks")
    for note in notes:
        report.info(note)
    data = inputs.read({m: files[m] for m in used}, model.spec, report)
    data = gate.admit(model, data, str(inputs.gtf))
    report.provenance(data.provenance)
    values = model.predict(data)
    matched = None if expression is None else expression.match(data.genes)
    table = predictions_table(data.genes, values, model.target, threshold, matched)
    score = None
    if matched is not None:
        for note in expression.notes + matched.notes:
            report.info(note)
        known = matched.values.notna().to_numpy()
        if model.target == "class":
            score = roc_auc(matched.labels[known].astype(int), values[known])
            report.info(
                f"ROC AUC {score:.4f} on the {known.sum()} genes with a value in {expression.source} ({(~known).sum()} without)"
            )
        else:
            stats = regression_metrics(matched.levels[known], values[known])
            score = stats["spearman"]
            report.info(
                f"Spearman {stats['spearman']:.4f}, Pearson {stats['pearson']:.4f} on the {known.sum()} genes "
                f"with a value in {expression.source} ({(~known).sum()} without)"
            )
    return Scored(table, header_lines(model, data, threshold), list(data.provenance.warnings), score)


def run(
    report: Report,
    model_spec: str,
    inputs: TrackInputs,
    output: str,
    threshold: float = 0.5,
    expression: str | None = None,
    expression_column: str | None = None,
    bed: str | None = None,
) -> Scored:
    """Predict one sample into ``output`` (``-`` = stdout) and optionally a BED9 track."""
    model, note = open_model(model_spec)
    if note:
        report.info(note)
    for target in (output, bed):
        if target is not None:
            check_output_file(target)
    values = read_expression_for(expression, expression_column, inputs.gtf) if expression else None
    scored = score_sample(model, inputs, report, threshold, values)
    write_predictions(scored.table, output, scored.header)
    if bed is not None:
        write_bed(scored.table, bed, model.name)
    summary = f"{len(scored.table)} genes scored with model {model.name}"
    if model.target == "class":
        n_high = int((scored.table["call"] == "high").sum())
        summary += f": {n_high} high, {len(scored.table) - n_high} low"
    else:
        summary += f": median predicted level {np.median(scored.table['level']):.3g}"
    report.info(summary + ("" if output == "-" else f" → {output}"))
    return scored
