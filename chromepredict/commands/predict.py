"""``chromepredict predict``: score every gene with a pretrained or trained model (onnxruntime only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chromepredict import gate
from chromepredict.evaluation import regression_metrics, roc_auc
from chromepredict.files import check_output_file, delivered_together
from chromepredict.prediction import header_lines, predictions_table, write_bed, write_predictions
from chromepredict.report import Report
from chromepredict.sources import TrackInputs, genes_of, read_expression_for
from chromepredict.zoo import open_model


@dataclass
class Scored:
    """One sample's predictions with what the output header and summaries need."""

    table: pd.DataFrame
    header: list[str]
    warnings: list[str]
    score: float | None  # AUC (class) or Spearman (level) against the expression table, if given


def score_sample(
    model, inputs: TrackInputs, report: Report, threshold: float = 0.5, expression=None
) -> Scored:
    """Read one sample's tracks through the gate and score its genes."""
    data = gate.admit(model, inputs.read_for(model, report), str(inputs.gtf))
    report.provenance(data.provenance)
    values = model.predict(data)
    matched = None if expression is None else expression.match(data.genes)
    table = predictions_table(data.genes, values, model.target, threshold, matched)
    score = None
    if matched is not None:
        for note in expression.notes + matched.notes:
            report.info(note)
        known = matched.values.notna().to_numpy()
        seen = model.trained_on(data.genes) & known
        if seen.any():
            caveat = (
                f"{seen.sum()} of the {known.sum()} genes with a value in {expression.source} were used to "
                f"train model {model.name}: its score on them is not a test (chromepredict evaluate "
                "also gives it on the other genes)"
            )
            data.provenance.warnings.append(caveat)
            report.warn(caveat)
        if model.target == "class":
            score = roc_auc(matched.labels[known].astype(int), values[known])
            report.info(
                f"ROC AUC {score:.4f} on the {known.sum()} genes with a value in {expression.source} ({(~known).sum()} without)"
            )
        else:
            stats = regression_metrics(matched.levels[known], values[known])
            score = stats["spearman"]
            report.info(
                f"Spearman {stats['spearman']:.4f}, Pearson {stats['pearson']:.4f} on the {known.sum()} genes "
                f"with a value in {expression.source} ({(~known).sum()} without)"
            )
    return Scored(table, header_lines(model, data, threshold), list(data.provenance.warnings), score)


def run(
    report: Report,
    model_spec: str,
    inputs: TrackInputs,
    output: str,
    threshold: float = 0.5,
    expression: str | None = None,
    expression_column: str | None = None,
    bed: str | None = None,
) -> Scored:
    """Predict one sample into ``output`` (``-`` = stdout) and optionally a BED9 track."""
    model, note = open_model(model_spec, inputs.threads)
    if note:
        report.warn(note)
    for target in (output, bed):
        if target is not None:
            check_output_file(target)
    values = read_expression_for(expression, expression_column, inputs.gtf) if expression else None
    scored = score_sample(model, inputs, report, threshold, values)
    with delivered_together():  # the TSV and the BED track, or neither
        write_predictions(scored.table, output, scored.header)
        if bed is not None:
            write_bed(scored.table, bed, model)
    summary = f"{len(scored.table)} genes scored with model {model.name}"
    if model.target == "class":
        n_high = int((scored.table["call"] == "high").sum())
        summary += f": {n_high} high, {len(scored.table) - n_high} low"
    else:
        summary += f": median predicted level {np.median(scored.table['level']):.3g}"
    report.info(summary + ("" if output == "-" else f" → {output}"))
    return scored


@dataclass
class SampleResult:
    """What one sample's worker sends back: its summary row, its values per gene and its warnings."""

    row: dict
    values: pd.Series | None
    warnings: list[str]


def _predict_sample(task: tuple) -> SampleResult:
    """Worker: predict one sample of a samplesheet into its folder (runs in its own process)."""
    from chromepredict.errors import UserError
    from chromepredict.onnx_io import load_model

    model_path, sample, gtf, gene_type, folder, threshold, bed = task
    row = {"sample": sample.name, "status": "ok"}
    try:
        model = load_model(model_path)
        inputs = TrackInputs([], [f"{m}={p}" for m, p in sample.tracks.items()], gtf, gene_type, 1)
        values = read_expression_for(sample.expression, None, gtf) if sample.expression else None
        scored = score_sample(model, inputs, Report.silent(), threshold, values)  # the parent warns
        folder.mkdir(parents=True, exist_ok=True)
        with delivered_together():
            write_predictions(scored.table, folder / "predictions.tsv", scored.header)
            if bed:
                write_bed(scored.table, folder / "predictions.bed", model)
    except UserError as exc:
        return _failed(sample.name, str(exc))
    except Exception as exc:  # a defect or a full disk must not take the other samples down with it
        return _failed(sample.name, f"unexpected error {type(exc).__name__}: {exc}")
    table = scored.table
    column = "p_high" if model.target == "class" else "level"
    row.update(genes=len(table), warnings=len(scored.warnings))
    if model.target == "class":
        row.update(high=int((table["call"] == "high").sum()), low=int((table["call"] == "low").sum()))
    if scored.score is not None:
        row["auc" if model.target == "class" else "spearman"] = round(scored.score, 4)
    values = table.set_index("gene_id")[column].rename(sample.name)
    return SampleResult(row, values, scored.warnings)


def _failed(sample: str, error: str) -> SampleResult:
    return SampleResult({"sample": sample, "status": "failed", "error": " ".join(error.split())}, None, [])


def _run_samples(tasks: list[tuple], workers: int) -> Iterator[SampleResult]:
    """Results of :func:`_predict_sample` in the order of ``tasks``, ``workers`` processes at a time.

    A worker that dies (killed for memory, a crash in a library) breaks its pool: the samples it
    took down are run again one per process, so that only the one that kills its process fails."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    results: dict[int, SampleResult] = {}
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_predict_sample, task) for task in tasks]
        for i, future in enumerate(futures):
            try:
                results[i] = future.result()
            except BrokenProcessPool:
                with ProcessPoolExecutor(1) as alone:  # rerun alone, so only the culprit fails
                    try:
                        results[i] = alone.submit(_predict_sample, tasks[i]).result()
                    except BrokenProcessPool:
                        results[i] = _failed(tasks[i][1].name, "its process died (out of memory?)")
            yield results[i]


def multiqc_table(summary: pd.DataFrame) -> str:
    """MultiQC custom content (``*_mqc.tsv``): the summary as a general-stats-like table."""
    header = [
        "# id: 'chromepredict'",
        "# section_name: 'chromepredict'",
        "# description: 'Genes scored per sample by chromepredict (high/low calls, warnings, agreement with RNA-seq).'",
        "# format: 'tsv'",
        "# plot_type: 'table'",
    ]
    columns = [
        c for c in ("sample", "status", "genes", "high", "low", "warnings", "auc", "spearman") if c in summary
    ]
    return "\n".join(header) + "\n" + summary[columns].to_csv(sep="\t", index=False)


def run_samplesheet(
    report: Report,
    model_spec: str,
    sheet: str,
    gtf: str | None,
    outdir: str,
    threshold: float,
    gene_type: str | None,
    threads: int,
    bed: bool,
) -> pd.DataFrame:
    """Predict every sample of a samplesheet in parallel processes into ``outdir``.

    Writes ``<sample>/predictions.tsv`` (as a single-sample run would), the genes × samples matrix
    ``p_high.tsv`` (``level.tsv`` for level models), ``summary.tsv``, ``summary_mqc.tsv`` and
    ``samples.png``. A failing sample is reported in the summary; the others still finish.
    """
    from chromepredict.errors import UserError
    from chromepredict.files import atomic_dir, check_output_dir
    from chromepredict.plots import sample_heatmap
    from chromepredict.samplesheet import read_samplesheet

    model, note = open_model(model_spec)
    if note:
        report.warn(note)
    if gtf is None:
        raise UserError("--gtf is required with --samplesheet; give the gene annotation (GTF)")
    check_output_dir(outdir)
    samples = read_samplesheet(sheet)
    genes_of(gtf, gene_type)  # parsed once here (a bad GTF fails now); the workers inherit the parse
    workers = max(1, min(threads, len(samples)))
    report.info(f"{len(samples)} samples from {sheet}, {workers} at a time, model {model.name}")
    results = []
    with atomic_dir(outdir) as tmp:
        tasks = [(model.path, s, gtf, gene_type, tmp / s.name, threshold, bed) for s in samples]
        with report.progress("samples", len(samples)) as advance:
            for result in _run_samples(tasks, workers):
                for warning in result.warnings:
                    report.warn(f"{result.row['sample']}: {warning}")
                row = result.row
                if row["status"] != "ok":
                    report.error(f"{row['sample']}: {row['error']}")
                else:
                    score = next((f"; {k} {row[k]:.4f}" for k in ("auc", "spearman") if k in row), "")
                    report.info(f"{row['sample']}: {row['genes']} genes{score}")
                results.append(result)
                advance(1)
        summary = pd.DataFrame([r.row for r in results]).convert_dtypes()
        summary.to_csv(tmp / "summary.tsv", sep="\t", index=False)
        (tmp / "summary_mqc.tsv").write_text(multiqc_table(summary))
        matrix = [r.values for r in results if r.values is not None]
        if matrix:
            values = pd.concat(matrix, axis=1)
            name = "p_high" if model.target == "class" else "level"
            values.reset_index().to_csv(tmp / f"{name}.tsv", sep="\t", index=False, float_format="%.6f")
            label = "P(high)" if model.target == "class" else "predicted log2(1 + expression)"
            sample_heatmap(
                values, tmp / "samples.png", f"{model.name}: {label} of the most variable genes", label=label
            )
    return summary
