"""``chromepredict compare``: which genes change between two conditions and which marks drive the
change (pairs of samples of a samplesheet), or what-if knockouts of marks in one sample."""

from __future__ import annotations

from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import (
    CompareModelOption,
    OutputFolder,
    Samplesheet,
    Threshold,
    TrackOptions,
    pairs_option,
    text_option,
)
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

RUN = "compare"
_WHAT = "give --samplesheet S with --pair A:B (or --reference A), or tracks with --knockout MARK"
RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "model": FREE, "output": FREE, "threshold": FREE,
    "samplesheet": Rule(
        excludes=("tracks", "mark", "knockout"),
        message="--samplesheet names every track; compare its samples with --pair/--reference, or give one "
        "sample's tracks with --knockout",
    ),
    "knockout": Rule(
        excludes=("pair", "reference"),
        message="--pair and --reference compare the samples of a --samplesheet; give one",
    ),
    "pair": FREE, "reference": FREE,
}  # fmt: skip


@command(RULES, short_help="Which genes change between conditions, and why; or what-if knockouts.")
def compare(
    report: Report,
    inputs: TrackOptions,
    chosen: CompareModelOption,
    output: OutputFolder = "comparison",
    samplesheet: Samplesheet = None,
    pair: Annotated[list[str] | None, pairs_option("Samples A and B of --samplesheet: B compared with A (repeatable).")] = None,
    reference: Annotated[str | None, text_option("--reference", "A", "Compare every other sample of --samplesheet with A.")] = None,
    knockout: Annotated[
        list[str] | None,
        typer.Option(
            "--knockout", metavar="MARK[,MARK…]",
            help="With tracks: the sample against itself with each mark set to no signal (MARK+MARK: together).",
            show_default=False,
        ),
    ] = None,
    threshold: Threshold = None,
) -> None:  # fmt: skip
    """Which genes change between conditions and which marks drive it; or what-if mark knockouts.

    delta is B − A in the model's unit; contribution_<MARK> columns are the exact Shapley
    decomposition of delta over the marks (they add up to delta)."""
    if samplesheet is not None:
        run_pairs(report, chosen.model, samplesheet, inputs, pair or [], reference, output, threshold)
    elif knockout:
        run_knockouts(report, chosen.model, inputs.inputs(), knockout, output, threshold)
    else:
        raise UserError(_WHAT)
    report.info(f"wrote {output}/")


def run_pairs(report: Report, model_spec: str, sheet: str, inputs: TrackOptions, pairs: list[str],
              reference: str | None, outdir: str, threshold: float | None):  # fmt: skip
    """``compare --samplesheet``: one comparison per pair of samples, each sample read once."""
    from chromepredict import api
    from chromepredict.api.analysis import Read, check_pair, compared
    from chromepredict.io.samplesheet import parse_pairs, sheet_files
    from chromepredict.results import compare as changes
    from chromepredict.results.scoring import resolve_threshold
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    with api.reporting_to(report):
        model = api.load_model(model_spec, threads=inputs.cores)
        threshold = resolve_threshold(model.loaded, threshold, report)
        from chromepredict.io.samplesheet import read_samplesheet, sheet_gtf

        gtf = sheet_gtf(inputs.gtf)
        names = [s.name for s in read_samplesheet(sheet)]
        wanted = parse_pairs(pairs, reference, names, sheet)
        check_outputs([*sheet_files(sheet), gtf, *model.loaded.paths], folders=[("-o", outdir)])
        check_output_dir(outdir, RUN)
        with atomic_dir(
            outdir, RUN, report.warnings
        ) as tmp:  # the folder is locked from the start of the run
            samples = api.read_samplesheet(sheet, gtf=gtf, gene_type=inputs.gene_type,
                                           all_genes=inputs.all_genes, threads=inputs.cores)  # fmt: skip
            for first, second in wanted:
                check_pair(model, samples[first], samples[second])
            read = {
                name: Read(model, samples[name], report)
                for name in dict.fromkeys(n for p in wanted for n in p)
            }
            comparisons = [compared(model, read[a], read[b], threshold, report) for a, b in wanted]
            for comparison in comparisons:
                for warning in dict.fromkeys(comparison.warnings):
                    report.warn(f"{comparison.name}: {warning}")
            rows = []
            for comparison in comparisons:
                what = f"A = {comparison.first}, B = {comparison.second} (samples of {sheet})"
                changes.write(tmp, model.loaded, comparison, what, threshold)
                rows.append(changes.summary_row(comparison))
                top = rows[-1]["top_mark"]
                report.info(
                    f"{comparison.name}: {rows[-1]['up']} genes up, {rows[-1]['down']} down; "
                    + (f"most change from {top}" if top else "no change on any gene")
                )
            summary = changes.summary_table(rows, model.marks)
            summary.to_csv(tmp / "summary.tsv", sep="\t", index=False, na_rep="NA")
    return summary


def run_knockouts(report: Report, model_spec: str, inputs, knockouts: list[str], outdir: str,
                  threshold: float | None):  # fmt: skip
    """``compare --knockout``: the sample against itself with marks set to no signal."""
    from chromepredict import api
    from chromepredict.api.analysis import check_knockouts, knockout_groups
    from chromepredict.api.analysis import knockouts as knocked
    from chromepredict.models import gate
    from chromepredict.results import compare as changes
    from chromepredict.results.scoring import resolve_threshold
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    groups = knockout_groups(knockouts)
    with api.reporting_to(report):
        model = api.load_model(model_spec, threads=inputs.threads)
        threshold = resolve_threshold(model.loaded, threshold, report)
        check_knockouts(model, groups)
        check_outputs([*inputs.paths, *model.loaded.paths], folders=[("-o", outdir)])
        check_output_dir(outdir, RUN)
        with atomic_dir(
            outdir, RUN, report.warnings
        ) as tmp:  # the folder is locked from the start of the run
            data = gate.read(model.loaded, inputs, report)
            report.provenance(data.provenance)
            rows = []
            for comparison in knocked(model, data, groups, threshold):
                what = f"A = the sample, B = the sample with {'+'.join(comparison.compared)} knocked out (no signal)"
                changes.write(tmp, model.loaded, comparison, what, threshold)
                rows.append(changes.summary_row(comparison))
                report.info(f"{comparison.name}: {rows[-1]['up']} genes up, {rows[-1]['down']} down")
            summary = changes.summary_table(rows, model.marks)
            summary.to_csv(tmp / "summary.tsv", sep="\t", index=False, na_rep="NA")
    return summary
