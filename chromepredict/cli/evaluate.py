"""``chromepredict evaluate``: a model's accuracy on labelled genes. Genes the model was trained on
are flagged; whenever there are any, the held-out figure leads (stdout, metrics.json, the plot)."""

from __future__ import annotations

from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import (
    Csv,
    ExpressionOptions,
    OutputFolder,
    RequiredModelOption,
    Samplesheet,
    TrackOptions,
    pairs_option,
)
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.report import Report

_PAIRS = "a change is evaluated on --samplesheet S with --pair A:B (and no other data source)"

RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "model": FREE, "expression_column": FREE, "output": FREE,
    "samplesheet": Rule(needs=("pair",), excludes=("tracks", "mark", "csv", "expression"), message=_PAIRS),
    "pair": Rule(needs=("samplesheet",), excludes=("tracks", "mark", "csv", "expression"), message=_PAIRS),
    "csv": FREE, "expression": FREE,
}  # fmt: skip


@command(RULES, short_help="A model's accuracy on genes with known expression (or on pairs).")
def evaluate(
    report: Report,
    inputs: TrackOptions,
    chosen: RequiredModelOption,
    labels: ExpressionOptions,
    csv: Csv = None,
    output: OutputFolder = "evaluation",
    samplesheet: Samplesheet = None,
    pair: Annotated[list[str] | None, pairs_option("Samples A and B of --samplesheet (difference models): B against A (repeatable; pooled).")] = None,
) -> None:  # fmt: skip
    """A model's ROC/PR AUC (class), Spearman/Pearson/R² (level) on genes with known expression, or
    the Spearman of the change (difference models, on pairs of samples of --samplesheet)."""
    from chromepredict import api
    from chromepredict.api.analysis import require_pairs, require_single
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    with api.reporting_to(report):
        if samplesheet is not None:
            from chromepredict.io.samplesheet import parse_pairs, sheet_files

            model = api.load_model(chosen.model, threads=inputs.cores)
            require_pairs(model)  # said before any sample is read
            check_outputs(
                [*sheet_files(samplesheet), inputs.gtf, *model.loaded.paths], folders=[("-o", output)]
            )
            check_output_dir(output, "evaluate")
            with atomic_dir(output, "evaluate", report.warnings) as tmp:  # locked from the run's start
                samples = api.read_samplesheet(samplesheet, gtf=inputs.gtf, gene_type=inputs.gene_type,
                                               all_genes=inputs.all_genes, threads=inputs.cores)  # fmt: skip
                wanted = parse_pairs(pair or [], None, list(samples), samplesheet)
                found = api.evaluate_pairs(model, [(samples[a], samples[b]) for a, b in wanted])
                found.write(tmp)
        else:
            tracks = inputs.inputs() if inputs.given else None
            model = api.load_model(chosen.model)
            require_single(model)
            sources = [
                *(tracks.paths if tracks else []),
                csv,
                inputs.gtf,
                labels.expression,
                *model.loaded.paths,
            ]
            check_outputs(sources, folders=[("-o", output)])
            check_output_dir(output, "evaluate")
            with atomic_dir(output, "evaluate", report.warnings) as tmp:  # locked from the run's start
                sample = api.Sample(tracks) if tracks is not None else None
                found = api.evaluate(model, sample, expression=labels.expression,
                                     expression_column=labels.expression_column, csv=csv, gtf=inputs.gtf)  # fmt: skip
                found.write(tmp)
    typer.echo(found.headline)
