"""``chromepredict demo``: predict the bundled Roadmap E003 example with the pretrained E003 model."""

from __future__ import annotations

from chromepredict.commands.predict import score_sample
from chromepredict.datasets import example_data
from chromepredict.expression import read_expression
from chromepredict.files import atomic_dir
from chromepredict.prediction import write_predictions
from chromepredict.report import Report
from chromepredict.sources import TrackInputs
from chromepredict.zoo import open_model


def run(report: Report, output: str) -> str:
    """Write OUTPUT/predictions.tsv and return the text to print."""
    example = example_data()
    model, _ = open_model("E003")
    inputs = TrackInputs([str(p) for p in example["tracks"]], [], str(example["gtf"]))
    scored = score_sample(model, inputs, report, 0.5, read_expression(example["expression"]))
    with atomic_dir(output) as tmp:
        write_predictions(scored.table, tmp / "predictions.tsv", scored.header)
    table = scored.table
    shown = table.sort_values("p_high", ascending=False).iloc[[0, 1, 2, -3, -2, -1]]
    agree = (table["call"] == table["label"]).mean()
    cv = model.card["metrics"]["cross_validated"]["E003"]
    return (
        f"Roadmap E003 (H1 cells): {len(table)} genes scored with model {model.name}\n\n"
        + shown[["gene_name", "chrom", "tss", "strand", "p_high", "call", "label"]].to_string(index=False)
        + f"\n\nROC AUC {scored.score:.3f}, calls agreeing with RNA-seq {agree:.0%}: on the model's own training "
        f"genes, so not a test; its cross-validated AUC on held-out genes is {cv:.3f}.\n"
        f"Predictions for all {len(table)} genes: {output}/predictions.tsv"
    )
