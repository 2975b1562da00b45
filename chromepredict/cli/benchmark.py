"""``chromepredict benchmark``: the paper's comparison — CNN recipes against SVM, random forest and
linear baselines (or regressors, for ``--target level``) on the same split, test score per cell type."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from chromepredict.cli.app import command, show_table
from chromepredict.cli.options import (
    Architecture,
    CsvSourceOptions,
    ExpressionOptions,
    FitOptions,
    OutputFolder,
    TrackOptions,
    TsvFlag,
)
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.report import Report


def _target_rule(values) -> str | None:
    """benchmark compares methods on one sample's genes: not for a target learnt from pairs."""
    from chromepredict.models.targets import get_target

    target = str(values["target"].value)
    if get_target(target).fit.pairs:
        return (
            f"--target {target} learns from pairs of samples: benchmark compares methods on one sample's "
            f"genes; use --target level, or train --target {target} --pair A:B"
        )
    return None


RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "expression": FREE, "expression_column": FREE, "csv_dir": FREE, "remc_root": FREE,
    "target": Rule(check=_target_rule),
    "seed": FREE, "split_seed": FREE, "device": FREE, "output": FREE, "architecture": FREE, "tsv": FREE,
}  # fmt: skip


@command(RULES, short_help="The paper's comparison: CNN vs SVM, random forest and linear baselines.")
def benchmark(
    report: Report,
    inputs: TrackOptions,
    labels: ExpressionOptions,
    csvs: CsvSourceOptions,
    fitting: FitOptions,
    output: OutputFolder = "benchmark",
    architecture: Annotated[
        list[Architecture] | None,
        typer.Option(
            metavar="NAME", show_default=False,
            help="CNN recipe(s) to include, deepchrome or deepchrome-2016 (repeatable; default: both for class, "
            "deepchrome for level).",
        ),
    ] = None,
    tsv: TsvFlag = False,
) -> None:  # fmt: skip
    """The paper's comparison: CNN vs SVM, random forest and linear baselines, test score per cell type."""
    import pandas as pd

    from chromepredict.io.training_sets import training_sets
    from chromepredict.models.targets import get_target
    from chromepredict.models.training import RECIPES, Settings
    from chromepredict.results import benchmark as compared
    from chromepredict.system.extras import require_torch
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    tracks = inputs.inputs() if inputs.given else None
    require_torch("benchmark")
    settings = Settings(target=fitting.target.value, seed=fitting.seed, device=fitting.device.value).check()
    target = get_target(settings.target)
    recipes = tuple(a.value for a in architecture or ()) or tuple(
        name for name, recipe in RECIPES.items() if recipe.network in target.fit.networks
    )
    for recipe in recipes:
        replace(settings, architecture=recipe).check()
    sources = [*(tracks.paths if tracks else []), labels.expression, csvs.csv_dir, csvs.remc_root]
    check_outputs(sources, folders=[("-o", output)])
    check_output_dir(output, "benchmark")
    with atomic_dir(
        output, "benchmark", report.warnings
    ) as tmp:  # the folder is locked from the start of the run
        sets = training_sets(report, tracks, labels.expression, labels.expression_column, csvs.csv_dir,
                             csvs.remc_root, fitting.split_seed, need_test=True)  # fmt: skip
        rows: list[dict] = []
        with report.progress("cell types", len(sets)) as advance:
            for name, training in sets.items():
                report.info(f"{name}: split {training.split}")
                rows.extend(
                    {"cell_type": name, **row} for row in compared.benchmark_set(training, settings, recipes)
                )
                advance(1)
        table = pd.DataFrame(rows)
        compared.write(table, tmp, target)
    show_table(compared.pivot(table), tsv)
