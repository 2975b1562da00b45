"""``chromepredict predict``: score every gene with a pretrained or trained model (onnxruntime only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chromepredict.io.labelling import read_expression_for
from chromepredict.io.sources import TrackInputs
from chromepredict.models.zoo import open_model
from chromepredict.results.predictions import BED_TRACK, PREDICTIONS, write_bed, write_table
from chromepredict.results.samples import multiqc_table, summary_table
from chromepredict.results.scoring import Scored, resolve_threshold, score_sample
from chromepredict.system.errors import UserError
from chromepredict.system.files import (
    SIDECAR,
    beside,
    check_outputs,
    delivered_together,
    is_stream,
    sidecar_path,
)
from chromepredict.system.report import Report


def bed_path(output: str) -> Path:
    """The BED9 track written beside a predictions file: same name, ``.bed``."""
    if output == "-" or is_stream(output):
        raise UserError(
            f"--bed writes beside the predictions file, but -o {output} is not a file; give -o FILE.tsv"
        )
    return beside(output, ".bed")


def run(
    report: Report,
    model_spec: str,
    inputs: TrackInputs,
    output: str,
    threshold: float | None = None,
    expression: str | None = None,
    expression_column: str | None = None,
    bed: bool = False,
) -> Scored:
    """Predict one sample into ``output`` (``-`` = stdout) and, with ``bed``, a BED9 track beside it."""
    model = open_model(model_spec, report, inputs.threads)
    threshold = resolve_threshold(model, threshold, report)
    bed_file = bed_path(output) if bed else None
    check_outputs(
        [*inputs.paths, expression, *model.paths],
        files=[
            ("-o", output, PREDICTIONS),
            ("its JSON sidecar", sidecar_path(output), SIDECAR),
            ("--bed", bed_file, BED_TRACK),
        ],
    )
    values = read_expression_for(expression, expression_column, inputs.gtf) if expression else None
    scored = score_sample(model, inputs, report, threshold, values)
    with delivered_together():  # the TSV and the BED track, or neither
        write_table(scored.table, output, scored.about)
        if bed_file is not None:
            write_bed(scored.table, bed_file, model, scored.chroms)
    report.info(model.target.summary(scored.table, model.name) + ("" if output == "-" else f" → {output}"))
    return scored


@dataclass
class SampleResult:
    """What one sample's worker sends back: its summary row, its values per gene and its warnings."""

    row: dict
    values: pd.Series | None
    warnings: list[str]
    system_error: OSError | None = None  # what the system refused (a full disk): it stops the run


def _predict_sample(task: tuple) -> SampleResult:
    """Worker: predict one sample of a samplesheet into its folder (runs in its own process; gets
    everything it needs in ``task``, so any start method works)."""
    from chromepredict.models.onnx_io import load_model

    model_path, sample, gtf, genes, gene_type, folder, threshold, bed = task
    try:
        model = load_model(model_path)
        inputs = TrackInputs.from_sample(sample, gtf, gene_type, 1, genes)
        values = read_expression_for(sample.expression, None, gtf) if sample.expression else None
        scored = score_sample(model, inputs, Report.silent(), threshold, values)  # the parent warns
        folder.mkdir(parents=True, exist_ok=True)
        with delivered_together():
            write_table(scored.table, folder / "predictions.tsv", scored.about)
            if bed:
                write_bed(scored.table, folder / "predictions.bed", model, scored.chroms)
    except UserError as exc:
        return _failed(sample.name, str(exc))
    except OSError as exc:  # the system's (a full disk): the run stops, with the parent's one line
        return SampleResult({"sample": sample.name, "status": "failed", "error": str(exc)}, None, [], exc)
    except Exception as exc:  # a defect must not take the other samples down with it
        return _failed(sample.name, f"unexpected error {type(exc).__name__}: {exc}")
    target = model.target
    row = {"sample": sample.name, **scored.summary}
    values = scored.table.set_index("gene_id")[target.column].rename(sample.name)
    return SampleResult(row, values, scored.warnings)


def _failed(sample: str, error: str) -> SampleResult:
    return SampleResult({"sample": sample, "status": "failed", "error": " ".join(error.split())}, None, [])


def _run_samples(tasks: list[tuple], workers: int) -> Iterator[SampleResult]:
    """Results of :func:`_predict_sample` in the order of ``tasks``, ``workers`` processes at a time.

    A worker that dies (killed for memory, a crash in a library) breaks its pool: the samples it
    took down are run again one per process, so that only the one that kills its process fails."""
    from concurrent.futures.process import BrokenProcessPool

    from chromepredict.system.workers import process_pool

    results: dict[int, SampleResult] = {}
    with process_pool(workers) as pool:
        futures = [pool.submit(_predict_sample, task) for task in tasks]
        for i, future in enumerate(futures):
            try:
                results[i] = future.result()
            except BrokenProcessPool:
                with process_pool(1) as alone:  # rerun alone, so only the culprit fails
                    try:
                        results[i] = alone.submit(_predict_sample, tasks[i]).result()
                    except BrokenProcessPool:
                        results[i] = _failed(tasks[i][1].name, "its process died (out of memory?)")
            yield results[i]


def run_samplesheet(
    report: Report,
    model_spec: str,
    sheet: str,
    gtf: str | None,
    outdir: str,
    threshold: float | None,
    gene_type: str | None,
    threads: int,
    bed: bool,
) -> pd.DataFrame:
    """Predict every sample of a samplesheet in parallel processes into ``outdir``.

    Writes ``<sample>/predictions.tsv`` (as a single-sample run would), the genes × samples matrix
    ``p_high.tsv`` (``level.tsv`` for level models), ``summary.tsv``, ``summary_mqc.tsv`` and
    ``samples.png``. A failing sample is reported in the summary; the others still finish.
    """
    from chromepredict.io.annotation import read_genes
    from chromepredict.io.samplesheet import read_samplesheet, sheet_files
    from chromepredict.results.plots import sample_heatmap
    from chromepredict.system.files import atomic_dir, check_output_dir

    model = open_model(model_spec, report)
    threshold = resolve_threshold(model, threshold, report)
    if gtf is None:
        raise UserError("--gtf is required with --samplesheet; give the gene annotation (GTF)")
    samples = read_samplesheet(sheet)
    check_outputs([*sheet_files(sheet), gtf, *model.paths], folders=[("-o", outdir)])
    check_output_dir(outdir, "predict --samplesheet")
    genes = read_genes(gtf, gene_type)  # parsed once here (a bad GTF fails now) and sent to the workers
    workers = max(1, min(threads, len(samples)))
    report.info(f"{len(samples)} samples from {sheet}, {workers} at a time, model {model.name}")
    target = model.target
    results = []
    with atomic_dir(outdir, "predict --samplesheet", report.warnings) as tmp:
        tasks = [(model.path, s, gtf, genes, gene_type, tmp / s.name, threshold, bed) for s in samples]
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
                    score = row.get(target.score_column)
                    shown = f"; {target.score_column} {score:.4f}" if isinstance(score, float) else ""
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
                tmp / f"{target.column}.tsv", sep="\t", index=False, float_format="%.6f"
            )
            sample_heatmap(
                values, tmp / "samples.png", f"model {model.name}: {target.label} per gene and sample",
                label=target.label, value_range=target.value_range,
            )  # fmt: skip
    return summary
