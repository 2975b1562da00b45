"""``chromepredict evaluate``: a model's accuracy on labelled genes. Genes the model was trained on
are flagged; whenever there are any, the held-out figure leads (stdout, metrics.json, the plot)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chromepredict.io.labelling import read_expression_for
from chromepredict.io.marks import sample_name
from chromepredict.io.sources import TrackInputs, from_csv
from chromepredict.models import gate
from chromepredict.models.metrics import gene_table
from chromepredict.models.zoo import open_model
from chromepredict.system.errors import UserError
from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs
from chromepredict.system.report import Report


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
        data = gate.admit(model, from_csv(csv, gtf), csv)
        source = csv
    else:
        if expression is None:
            raise UserError(
                "--expression is required with bigWig tracks; give a table of gene ids and TPM/RPKM/counts"
            )
        values = read_expression_for(expression, expression_column, inputs.gtf)
        data = gate.read(model, inputs, report, expression, values)
        source = expression
    model.target.truth(data)  # a CSV holds labels only: a level model says what it needs
    report.provenance(data.provenance)
    return data, source


def run(
    report: Report, model_spec: str, inputs, csv, gtf, expression, expression_column, output: str
) -> dict:
    """Write metrics.json, predictions.tsv and the target's plot (ROC curve or level scatter)."""
    model = open_model(model_spec, report)
    if model.target.paired:
        raise UserError(
            f"model {model.name} predicts the change between two samples: evaluate it with --samplesheet S --pair A:B"
        )
    check_outputs(
        [*(inputs.paths if inputs else []), csv, gtf, expression, *model.paths], folders=[("-o", output)]
    )
    check_output_dir(output, "evaluate")
    with atomic_dir(
        output, "evaluate", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        data, source = labelled_input(report, model, inputs, csv, gtf, expression, expression_column)
        sample = sample_name(inputs.files.values()) if inputs is not None else None
        return _evaluate(report, model, data, str(source), tmp, sample)


@dataclass
class _ModelReader:
    """Reads one samplesheet sample's tracks for a model, through the gate (``labelled_pairs``
    reports what it found)."""

    model: object
    gtf: str
    gene_type: str | None
    threads: int
    report: Report

    def __call__(self, sample, genes):
        inputs = TrackInputs.from_sample(sample, self.gtf, self.gene_type, self.threads, genes)
        return gate.read(self.model, inputs, self.report, sample.name)


def run_pairs(
    report: Report, model_spec: str, sheet: str, gtf: str | None, gene_type: str | None, threads: int,
    pairs: list[str], output: str,
) -> dict:  # fmt: skip
    """A difference model on pairs of samples with expression: the predicted against the measured
    change of log2(1 + expression) (pooled over the pairs)."""
    from chromepredict.io.samplesheet import sheet_files
    from chromepredict.io.training_sets import labelled_pairs

    model = open_model(model_spec, report, threads)
    if not model.target.paired:
        raise UserError(
            f"--pair: model {model.name} predicts one sample's {model.target.name}, not a change between two; "
            "evaluate it per sample (without --pair) or give a difference model"
        )
    check_outputs([*sheet_files(sheet), gtf, *model.paths], folders=[("-o", output)])
    check_output_dir(output, "evaluate")
    with atomic_dir(
        output, "evaluate", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        data, wanted = labelled_pairs(
            report, sheet, gtf, pairs, _ModelReader(model, gtf, gene_type, threads, report)
        )
        pairs = ", ".join(f"{a}_vs_{b}" for a, b in wanted)
        return _evaluate(report, model, data, pairs, tmp, pairs)


def _evaluate(report: Report, model, data, source: str, tmp: Path, sample: str | None = None) -> dict:
    """Metrics on all genes and on those the model was not trained on (which lead), and the files
    (into the run's folder ``tmp``); ``sample`` names the input in the figure's title."""
    from chromepredict.results.plots import evaluation_figure

    target = model.target
    truth = target.truth(data)
    target.check_truth(truth, "evaluation")
    predicted = model.predict(data)
    seen = model.training_genes(data.genes)
    result = {"model": model.name, "data": str(source), "metric": target.metric_key, "genes": int(len(seen))}
    if seen.any():
        held = ~seen
        if held.sum() > 2:
            result["held_out"] = {"genes": int(held.sum()), **target.metrics(truth[held], predicted[held])}
        result["training_genes"] = int(seen.sum())
        result["caveat"] = (
            f"{seen.sum()} of {len(seen)} genes were used to train model {model.name}: metrics on them are not a "
            + (
                "test; the held-out genes' figure leads"
                if held.sum() > 2
                else "test, and too few others are left for one"
            )
        )
        report.warn(result["caveat"])
    result["all_genes"] = target.metrics(truth, predicted)
    result["headline"] = "held_out" if "held_out" in result else "all_genes"
    result["warnings"] = list(report.warnings)  # a pipeline reads files, not stderr
    (tmp / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    gene_table(data.genes, predicted, truth, target).assign(
        used_in_training=np.where(seen, "true", "false")
    ).to_csv(tmp / "predictions.tsv", sep="\t", index=False)
    evaluation_figure(target, truth, predicted, seen, tmp, f"{model.name} on {sample or Path(source).name}", result,
                      units=model.card.level_units_or_default)  # fmt: skip
    return result


METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "spearman": "Spearman",
    "pearson": "Pearson",
    "r2": "R²",
}


def headline(result: dict) -> str:
    """The line ``evaluate`` prints: the held-out figure when training genes were scored."""
    scores = result[result["headline"]]
    line = ", ".join(f"{name} {scores[key]:.4f}" for key, name in METRIC_NAMES.items() if key in scores)
    if result["headline"] == "held_out":
        return (
            f"{result['model']} on the {scores['genes']} genes it was not trained on: {line} "
            f"({result['training_genes']} training genes left out; {METRIC_NAMES[result['metric']]} on all "
            f"{result['genes']}: {result['all_genes'][result['metric']]:.4f})"
        )
    return f"{result['model']} on {result['genes']} genes: {line}"
