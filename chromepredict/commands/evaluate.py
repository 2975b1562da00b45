"""``chromepredict evaluate``: a model's accuracy on labelled genes, with a caveat for its own training genes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chromepredict import gate
from chromepredict.commands.train import evaluate_split
from chromepredict.errors import UserError
from chromepredict.evaluation import gene_table
from chromepredict.files import atomic_dir, check_output_dir
from chromepredict.report import Report
from chromepredict.sources import TrackInputs, from_csv, read_expression_for, with_expression
from chromepredict.zoo import open_model


def labelled_input(
    report: Report,
    model,
    inputs: TrackInputs | None,
    csv: str | None,
    gtf: str | None,
    expression,
    expression_column,
):
    """The genes to score with their truth, through the gate: tracks + expression, or a CSV (+ GTF)."""
    if (csv is None) == (inputs is None):
        raise UserError("give either bigWig tracks with --gtf/--expression, or --csv")
    if csv is not None:
        if model.target == "level":
            raise UserError(
                f"{csv}: DeepChrome CSVs hold high/low labels only; a level model needs tracks and --expression"
            )
        data = from_csv(csv, gtf)
        source = csv
    else:
        if expression is None:
            raise UserError(
                "--expression is required with bigWig tracks; give a table of gene ids and TPM/RPKM/counts"
            )
        values = read_expression_for(expression, expression_column, inputs.gtf)
        data = with_expression(inputs.read_for(model, report), values)
        source = expression
    data = gate.admit(model, data, source)
    report.provenance(data.provenance)
    return data, source


def run(
    report: Report, model_spec: str, inputs, csv, gtf, expression, expression_column, output: str
) -> dict:
    """Write metrics.json, predictions.tsv and roc_curve.png (class) or level_scatter.png (level)."""
    from chromepredict.plots import level_scatter, roc_curve

    model, note = open_model(model_spec)
    if note:
        report.warn(note)
    check_output_dir(output)
    data, source = labelled_input(report, model, inputs, csv, gtf, expression, expression_column)
    truth = data.labels if model.target == "class" else data.levels
    if model.target == "class" and len(np.unique(truth)) < 2:
        raise UserError(f"{source}: evaluation needs genes of both classes (high and low)")
    predicted = model.predict(data)
    seen = model.trained_on(data.genes)
    result = {"model": model.name, "data": str(source), **evaluate_split(model.target, truth, predicted)}
    caveat = None
    if seen.any():
        caveat = (
            f"{seen.sum()} of {len(seen)} genes were used to train model {model.name}: metrics on them "
            "are not a test"
        )
        result["training_genes"] = int(seen.sum())
        result["caveat"] = caveat
        if (~seen).sum() > 2:
            result["held_out_genes_only"] = evaluate_split(model.target, truth[~seen], predicted[~seen])
    with atomic_dir(output) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
        gene_table(data.genes, predicted, truth, model.target).assign(used_in_training=seen).to_csv(
            tmp / "predictions.tsv", sep="\t", index=False
        )
        title = f"{model.name} on {Path(source).name}"
        if model.target == "class":
            roc_curve(truth, predicted, tmp / "roc_curve.png", title, result["roc_auc"], note=caveat)
        else:
            level_scatter(
                truth,
                predicted,
                tmp / "level_scatter.png",
                title,
                result,
                note=caveat,
                units=model.card.get("level_units", "expression"),
            )
    if caveat:
        report.warn(caveat)
    return result
