"""``chromepredict demo``: predict the bundled Roadmap E003 example with the pretrained E003 model, or
export the example data with a samplesheet (``--export``) for the README's worked example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import text_option
from chromepredict.cli.rules import FREE
from chromepredict.io.datasets import example_data
from chromepredict.io.marks import mark_from_filename
from chromepredict.system.report import Report

RULES = {"output": FREE, "export": FREE}


@command(RULES, short_help="Predict on the bundled example data (Roadmap E003, 369 genes).")
def demo(
    report: Report,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="DIR", help="Folder for the demo's outputs.")
    ] = "chromepredict-demo",
    export: Annotated[str | None, text_option("--export", "DIR", "Instead, copy the example data and a samples.csv into this folder.")] = None,
) -> None:  # fmt: skip
    """Predict on the bundled real example data (Roadmap E003, 369 genes) with the pretrained E003
    model; or, with --export, copy the example data (E003 and E123) and a samplesheet."""
    typer.echo(export_example(export) if export else run(report, output))


def run(report: Report, output: str) -> str:
    """Write OUTPUT/predictions.tsv (and its sidecar) and return the text to print."""
    from chromepredict import api
    from chromepredict.results.predictions import write_table
    from chromepredict.system.files import atomic_dir

    example = example_data()
    with api.reporting_to(report):
        model = api.load_model("E003")
        sample = api.read_sample(
            example["tracks"], gtf=example["gtf"], expression=example["expression"], threads=1
        )
        with atomic_dir(
            output, "demo", report.warnings
        ) as tmp:  # the folder is locked from the start of the run
            scored = model.score(sample, threshold=0.5)
            write_table(scored.table, tmp / "predictions.tsv", scored.about)
    table = scored.table
    shown = table.sort_values("p_high", ascending=False).iloc[[0, 1, 2, -3, -2, -1]]
    agree = (table["call"] == table["label"]).mean()
    cv = model.card.metrics.cross_validated["E003"]
    return (
        f"Roadmap E003 (H1 cells): {len(table)} genes scored with model {model.name}\n\n"
        + shown[["gene_name", "chrom", "tss", "strand", "p_high", "call", "label"]].to_string(index=False)
        + f"\n\nROC AUC {scored.score:.3f}, calls agreeing with RNA-seq {agree:.0%}: on the model's own training "
        f"genes, so not a test; its cross-validated AUC on held-out genes is {cv:.3f}.\n"
        f"Predictions for all {len(table)} genes: {output}/predictions.tsv"
    )


ALL_MARKS = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
#: The exported samplesheet's samples: (cell type, marks, with its expression table).
EXPORT_SAMPLES = {
    "E003": ("E003", ALL_MARKS, True),
    "E003_three_marks": ("E003", ("H3K27me3", "H3K36me3", "H3K4me3"), False),
    "E123": ("E123", ALL_MARKS, True),
}


def _copy(source: Path, dest: Path) -> None:
    """Copy a bundled file; a failure (a full disk) names the file being written, not the source."""
    import shutil

    try:
        shutil.copyfile(source, dest)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(dest)) from None


def export_example(folder: str) -> str:
    """Copy the bundled tracks, GTF and expression tables into ``folder`` with ``samples.csv``
    (E003 with all five marks and its expression, E003 with three marks, E123 with all five marks
    and its expression); returns what to print."""
    from chromepredict.system.files import atomic_dir

    with atomic_dir(folder, "demo --export") as tmp:
        rows = ["sample,mark,bigwig,expression"]
        for sample, (cell_type, marks, with_expression) in EXPORT_SAMPLES.items():
            example = example_data(cell_type)
            names = {}
            for path in example["tracks"]:
                _copy(path, tmp / path.name)
                names[mark_from_filename(path.name)] = path.name
            for file in (example["gtf"], example["expression"]):
                _copy(file, tmp / file.name)
            for i, mark in enumerate(marks):
                table = example["expression"].name if with_expression and i == 0 else ""
                rows.append(f"{sample},{mark},{names[mark]},{table}")
        (tmp / "samples.csv").write_text("\n".join(rows) + "\n")
    return (
        f"example data (Roadmap E003 and E123, 369 genes) and samples.csv written to {folder}/; try:\n"
        f"  chromepredict predict --samplesheet {folder}/samples.csv --gtf {folder}/genes.gtf.gz -o results --bed\n"
        f"  chromepredict compare --samplesheet {folder}/samples.csv --gtf {folder}/genes.gtf.gz --pair E003:E123 -o changes"
    )
