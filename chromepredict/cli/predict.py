"""``chromepredict predict``: score every gene with a pretrained or trained model (onnxruntime only),
for one sample's tracks or every sample of a samplesheet (in parallel processes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import ExpressionOptions, ModelOption, Samplesheet, Threshold, TrackOptions
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

if TYPE_CHECKING:
    import pandas as pd

    from chromepredict.io.annotation import GeneTable
    from chromepredict.io.samplesheet import Sample as SheetSample
    from chromepredict.io.sources import TrackInputs

_SHEET_NAMES_ALL = (
    "--samplesheet names every track and expression table; give no bigWigs, --mark or --expression"
)

RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "model": FREE, "expression_column": FREE, "threshold": FREE, "bed": FREE,
    "samplesheet": Rule(excludes=("tracks", "mark", "expression"), message=_SHEET_NAMES_ALL),
    "expression": FREE,
    "output": Rule(
        check=lambda v: "--samplesheet writes a folder; give it with -o OUTDIR"
        if v["samplesheet"] and v["output"] == "-" else None
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PredictRequest:
    """A checked ``predict``: one sample (``inputs``) or a ``samplesheet``, and where to write."""

    model: str
    output: str
    threshold: float | None
    bed: bool
    inputs: TrackInputs | None = None  # one sample's tracks
    expression: str | None = None
    expression_column: str | None = None
    samplesheet: str | None = None
    gtf: str | None = None
    gene_type: str | None = None
    threads: int = 1


@command(RULES, short_help="Score every gene with a pretrained or trained model (onnxruntime only).")
def predict(
    report: Report,
    inputs: TrackOptions,
    chosen: ModelOption,
    labels: ExpressionOptions,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="FILE|DIR",
            help="Output TSV (its JSON sidecar beside it), - for stdout (the default); with --samplesheet, a folder.",
        ),
    ] = "-",
    threshold: Threshold = None,
    bed: Annotated[
        bool,
        typer.Option(
            "--bed", help="Also write a BED9 track beside each predictions TSV (same name, .bed): TSS, "
            "score = p_high × 1000, red high / blue low.",
        ),
    ] = False,
    samplesheet: Samplesheet = None,
) -> None:  # fmt: skip
    """Score every gene with a pretrained or trained model (CPU, onnxruntime only).

    One sample's bigWigs, or every sample of --samplesheet (in parallel, -p at a time)."""
    request = PredictRequest(
        chosen.model, output, threshold, bed,
        inputs=None if samplesheet else inputs.inputs(),
        expression=labels.expression, expression_column=labels.expression_column,
        samplesheet=samplesheet, gtf=inputs.gtf, gene_type=inputs.genes, threads=inputs.cores,
    )  # fmt: skip
    if samplesheet is None:
        run(request, report)
    elif (run_samplesheet(request, report)["status"] == "failed").any():
        raise typer.Exit(1)


def bed_path(output: str) -> Path:
    """The BED9 track written beside a predictions file: same name, ``.bed``."""
    from chromepredict.system.files import beside, is_stream

    if output == "-" or is_stream(output):
        raise UserError(
            f"--bed writes beside the predictions file, but -o {output} is not a file; give -o FILE.tsv"
        )
    return beside(output, ".bed")


def run(request: PredictRequest, report: Report):
    """Predict one sample into ``-o`` (``-`` = stdout) with its JSON sidecar and, with ``--bed``, a
    BED9 track beside it."""
    from chromepredict import api
    from chromepredict.results.predictions import BED_TRACK, PREDICTIONS, write_bed, write_table
    from chromepredict.system.files import SIDECAR, check_outputs, delivered_together, sidecar_path

    inputs = request.inputs
    if inputs is None:
        raise ValueError("run predicts one sample's tracks")
    with api.reporting_to(report):
        model = api.load_model(request.model, threads=request.threads)
        output = request.output
        bed_file = bed_path(output) if request.bed else None
        check_outputs(
            [*inputs.paths, request.expression, *model.loaded.paths],
            files=[("-o", output, PREDICTIONS), ("its JSON sidecar", sidecar_path(output), SIDECAR),
                   ("--bed", bed_file, BED_TRACK)],
        )  # fmt: skip
        sample = api.Sample(inputs)
        scored = model.score(sample, threshold=request.threshold, expression=request.expression,
                             expression_column=request.expression_column)  # fmt: skip
    with delivered_together():  # the TSV, its sidecar and the BED track, or none
        write_table(scored.table, output, scored.about)
        if bed_file is not None:
            write_bed(scored.table, bed_file, model.loaded, scored.chroms)
    report.info(
        model.loaded.target.report.summary(scored.table, model.name)
        + ("" if output == "-" else f" → {output}")
    )
    return scored


@dataclass(frozen=True)
class SampleTask:
    """Everything one samplesheet sample's worker process needs (any start method works)."""

    model_path: Path
    sample: SheetSample
    gtf: str
    genes: GeneTable  # the GTF parsed once, for every worker
    gene_type: str | None
    folder: Path
    threshold: float | None
    bed: bool


@dataclass
class SampleResult:
    """What one sample's worker sends back: its summary row, its values per gene and its warnings."""

    row: dict
    values: pd.Series | None  # the sample's values per gene
    warnings: list[str]
    system_error: OSError | None = None  # what the system refused (a full disk): it stops the run


def _predict_sample(task: SampleTask) -> SampleResult:
    """Worker: predict one sample of a samplesheet into its folder (its own process)."""
    from chromepredict import api
    from chromepredict.io.sources import TrackInputs
    from chromepredict.models.onnx_io import load_model
    from chromepredict.results.predictions import write_bed, write_table
    from chromepredict.system.files import delivered_together

    sample = task.sample
    try:
        with api.reporting_to(Report.silent()):  # the parent says the warnings
            model = api.Model(load_model(task.model_path))
            inputs = TrackInputs.from_sample(sample, task.gtf, task.gene_type, 1, task.genes)
            scored = model.score(api.Sample(inputs, sample.name, sample.expression), threshold=task.threshold)
        task.folder.mkdir(parents=True, exist_ok=True)
        with delivered_together():
            write_table(scored.table, task.folder / "predictions.tsv", scored.about)
            if task.bed:
                write_bed(scored.table, task.folder / "predictions.bed", model.loaded, scored.chroms)
    except UserError as exc:
        return _failed(sample.name, str(exc))
    except OSError as exc:  # the system's (a full disk): the run stops, with the parent's one line
        return SampleResult({"sample": sample.name, "status": "failed", "error": str(exc)}, None, [], exc)
    except Exception as exc:  # a defect must not take the other samples down with it
        return _failed(sample.name, f"unexpected error {type(exc).__name__}: {exc}")
    values = scored.table.set_index("gene_id")[model.loaded.target.report.column].rename(sample.name)
    return SampleResult({"sample": sample.name, **scored.summary}, values, scored.warnings)


def _failed(sample: str, error: str) -> SampleResult:
    return SampleResult({"sample": sample, "status": "failed", "error": " ".join(error.split())}, None, [])


def _run_samples(tasks: list[SampleTask], workers: int) -> Iterator[SampleResult]:
    """Results of :func:`_predict_sample` in the order of ``tasks``, ``workers`` processes at a time.

    A worker that dies (killed for memory, a crash in a library) breaks its pool: the samples it
    took down are run again one per process, so that only the one that kills its process fails."""
    from concurrent.futures.process import BrokenProcessPool

    from chromepredict.system.workers import process_pool

    with process_pool(workers) as pool:
        futures = [pool.submit(_predict_sample, task) for task in tasks]
        for task, future in zip(tasks, futures, strict=True):
            try:
                result = future.result()
            except BrokenProcessPool:
                with process_pool(1) as alone:  # rerun alone, so only the culprit fails
                    try:
                        result = alone.submit(_predict_sample, task).result()
                    except BrokenProcessPool:
                        result = _failed(task.sample.name, "its process died (out of memory?)")
            yield result


def run_samplesheet(request: PredictRequest, report: Report):
    """Predict every sample of a samplesheet in parallel processes into the folder ``-o``:
    ``<sample>/predictions.tsv`` (as a single-sample run would, with its sidecar), the genes ×
    samples matrix ``p_high.tsv`` (``level.tsv``), ``summary.tsv``, ``summary_mqc.tsv`` and
    ``samples.png``. A failing sample is reported in the summary; the others still finish."""
    import pandas as pd

    from chromepredict import api
    from chromepredict.io.annotation import read_genes
    from chromepredict.io.samplesheet import read_samplesheet, sheet_files, sheet_gtf
    from chromepredict.results.plots import sample_heatmap
    from chromepredict.results.samples import multiqc_table, summary_table
    from chromepredict.results.scoring import resolve_threshold
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    sheet, outdir, gtf = request.samplesheet, request.output, request.gtf
    with api.reporting_to(report):
        model = api.load_model(request.model)
    threshold = resolve_threshold(model.loaded, request.threshold, report)
    if sheet is None:
        raise ValueError("run_samplesheet predicts a samplesheet's samples")
    gtf = sheet_gtf(gtf)
    samples = read_samplesheet(sheet)
    check_outputs([*sheet_files(sheet), gtf, *model.loaded.paths], folders=[("-o", outdir)])
    check_output_dir(outdir, "predict --samplesheet")
    workers = max(1, min(request.threads, len(samples)))
    report.info(f"{len(samples)} samples from {sheet}, {workers} at a time, model {model.name}")
    target = model.loaded.target
    results = []
    with atomic_dir(outdir, "predict --samplesheet", report.warnings) as tmp:
        genes = read_genes(gtf, request.gene_type)  # parsed once (a bad GTF fails now), sent to the workers
        tasks = [SampleTask(model.path, s, gtf, genes, request.gene_type, tmp / s.name, threshold, request.bed)
                 for s in samples]  # fmt: skip
        with report.progress("samples", len(samples)) as advance:
            for result in _run_samples(tasks, workers):
                if result.system_error is not None:
                    raise result.system_error
                for warning in result.warnings:
                    report.warn(f"{result.row['sample']}: {warning}")
                row = result.row
                if row["status"] == "failed":
                    report.error(f"{row['sample']}: {row['error']}")
                else:
                    score = row.get(target.report.score_column)
                    shown = f"; {target.report.score_column} {score:.4f}" if isinstance(score, float) else ""
                    report.info(f"{row['sample']}: {row['genes']} genes{shown}")
                results.append(result)
                advance(1)
        summary = summary_table([r.row for r in results])
        summary.to_csv(tmp / "summary.tsv", sep="\t", index=False, na_rep="NA")
        (tmp / "summary_mqc.tsv").write_text(multiqc_table(summary))
        matrix = [r.values for r in results if r.values is not None]
        if matrix:
            values = pd.concat(matrix, axis=1)
            values.reset_index().to_csv(
                tmp / f"{target.report.column}.tsv", sep="\t", index=False, float_format="%.6f"
            )
            sample_heatmap(
                values, tmp / "samples.png", f"model {model.name}: {target.report.label} per gene and sample",
                label=target.report.label, value_range=target.report.value_range,
            )  # fmt: skip
    return summary
