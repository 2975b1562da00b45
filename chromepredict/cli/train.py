"""``chromepredict train``: fit models on tracks + expression, a samplesheet (per sample, pooled, or
pairs for the difference target), a DeepChrome CSV folder or every REMC cell type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import (
    Architecture,
    CsvSourceOptions,
    ExpressionOptions,
    FitOptions,
    Samplesheet,
    TrackOptions,
    TransformName,
    WindowOptions,
    pairs_option,
    text_option,
)
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.report import Report


def _target_rule(values) -> str | None:
    """The target and the way samples are given must agree: pairs for the difference target only."""
    from chromepredict.models.targets import get_target

    target = str(values["target"].value)
    paired = get_target(target).fit.pairs
    if paired and not (values["pair"] and values["samplesheet"]):
        return f"--target {target} learns from pairs of samples: give --samplesheet S and --pair A:B"
    if paired and values["pooled"]:
        return (
            "--pooled is for one-sample targets; --target difference already learns from every --pair given"
        )
    if values["pair"] and not paired:
        return f"--pair is for --target difference (the change between two samples); --target {target} learns from one sample"
    return None


RULES = {
    "pooled": Rule(needs=("samplesheet",), message="--pooled pools the samples of a --samplesheet; give one"),
    "target": Rule(check=_target_rule),
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "expression": FREE, "expression_column": FREE, "csv_dir": FREE, "remc_root": FREE,
    "seed": FREE, "split_seed": FREE, "device": FREE, "flank": FREE, "bin_size": FREE, "orientation": FREE,
    "output": FREE, "architecture": FREE, "transform": FREE, "max_epochs": FREE, "members": FREE,
    "genome_build": FREE, "name": FREE, "pair": FREE,
    "samplesheet": Rule(
        excludes=("tracks", "mark", "csv_dir", "remc_root", "expression"),
        message="--samplesheet names every track and expression table; give no other data source",
    ),
}  # fmt: skip


@command(RULES, short_help="Train a model from tracks + expression, a samplesheet or CSV folders.")
def train(
    report: Report,
    inputs: TrackOptions,
    labels: ExpressionOptions,
    csvs: CsvSourceOptions,
    fitting: FitOptions,
    window: WindowOptions,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Output folder (one subfolder per cell type with --remc-root)."
        ),
    ] = "model",
    architecture: Annotated[
        Architecture,
        typer.Option(help="deepchrome: the default recipe (docs/benchmarks.md); deepchrome-2016: as published."),
    ] = Architecture.deepchrome,
    transform: Annotated[
        TransformName | None, typer.Option(help="Override the recipe's input transform.", show_default=False)
    ] = None,
    max_epochs: Annotated[
        int | None,
        typer.Option("--max-epochs", min=1, metavar="INT", help="Cap on epochs per network (default: the recipe's)."),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option("--members", min=1, metavar="INT", help="Networks in the seed ensemble (default: the recipe's, 5)."),
    ] = None,
    genome_build: Annotated[str | None, text_option("--genome-build", "NAME", "Recorded in the card (default: recognised from the tracks).")] = None,
    name: Annotated[str | None, text_option("--name", "TEXT", "Model name for the card (default: output folder name).")] = None,
    samplesheet: Samplesheet = None,
    pooled: Annotated[
        bool, typer.Option("--pooled", help="With --samplesheet: one model on all samples (cross-cell-type).")
    ] = False,
    pair: Annotated[list[str] | None, pairs_option("With --target difference: samples A and B of --samplesheet, the change from A to B (repeatable; pooled into one model).")] = None,
) -> None:  # fmt: skip
    """Train a model from tracks + expression, a samplesheet, a CSV folder, or every REMC cell type."""
    from chromepredict.models.training import Settings
    from chromepredict.system.extras import require_torch

    spec = window.spec()
    tracks = inputs.inputs() if inputs.given else None
    settings = Settings(
        architecture.value, fitting.target.value, fitting.seed, fitting.device.value,
        transform.value if transform else None, max_epochs, members,
    )  # fmt: skip
    require_torch("train")
    settings = settings.check()
    sources = [*(tracks.paths if tracks else []), labels.expression, csvs.csv_dir, csvs.remc_root]
    if samplesheet is not None:
        from chromepredict.io.samplesheet import sheet_files

        sources.extend([*sheet_files(samplesheet), inputs.gtf])

    def sets_of():
        from chromepredict.io import training_sets as sets
        from chromepredict.io.samplesheet import sheet_gtf

        if samplesheet is not None:
            if pair:
                reader = sets.SampleReader(sheet_gtf(inputs.gtf), inputs.genes, inputs.cores, spec, report)
                return sets.pair_training_sets(samplesheet, pair, reader, fitting.split_seed)
            return sets.samplesheet_training_sets(report, samplesheet, inputs.gtf, inputs.genes, inputs.cores,
                                                  fitting.split_seed, pooled, spec)  # fmt: skip
        return sets.training_sets(report, tracks, labels.expression, labels.expression_column, csvs.csv_dir,
                                  csvs.remc_root, fitting.split_seed, spec)  # fmt: skip

    run(report, sets_of, output, settings, name, genome_build, sources)


def run(report: Report, sets_of, output: str, settings, name: str | None, genome_build: str | None,
        inputs: list) -> list[dict]:  # fmt: skip
    """Train every training set ``sets_of()`` gives into ``output`` (one subfolder each when several).
    The folder is complete or absent: an interrupted run leaves nothing behind."""
    import pandas as pd

    from chromepredict.api.training import fit
    from chromepredict.models.targets import get_target
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    check_outputs(inputs, folders=[("-o", output)])
    check_output_dir(output, "train")
    with atomic_dir(
        output, "train", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        sets = sets_of()
        report.info(f"training on {settings.device}")
        target = get_target(settings.target)
        for key, training in sets.items():  # high/low by the table's median, or its levels
            provenance = training.data_provenance
            for caveat in provenance.level_caveats if target.levels else provenance.median_caveats:
                report.warn(f"{key}: {caveat}" if len(sets) > 1 else caveat)
        summary = []
        for key, training in sets.items():
            several = len(sets) > 1
            label = key if several else (name or Path(output).name)
            folder = tmp / key if several else tmp
            folder.mkdir(exist_ok=True)
            sizes = ", ".join(f"{k} {len(v.genes)}" for k, v in training.splits.items())
            report.info(f"{label}: {sizes} genes; split {training.split}")
            others = [f"{k}: " for k in sets if k != key]  # a sample's warnings are named with it
            warnings = [w for w in report.warnings if not w.startswith(tuple(others))]
            card = fit(training, label, settings, report, genome_build, warnings).write(folder)
            row = {"name": label}
            for split, values in card.metrics.held_out.items():
                row[f"{split}_{target.metric_key}"] = values[target.metric_key]
            summary.append(row)
            scores = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "name")
            report.info(f"{label}: {scores} → {Path(output) / key if several else output}")
        if len(sets) > 1:
            pd.DataFrame(summary).to_csv(tmp / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    return summary
