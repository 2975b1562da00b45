"""``chromepredict compare``: which genes change between two conditions and which marks drive the
change (pairs of samples of a samplesheet), or what-if knockouts of marks in one sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.io.expression import units_mismatch
from chromepredict.io.features import FeatureSet, align
from chromepredict.io.labelling import read_expression_for
from chromepredict.io.sources import TrackInputs
from chromepredict.models import gate
from chromepredict.models.metrics import regression_metrics
from chromepredict.models.zoo import open_model
from chromepredict.results.compare import (
    EXPRESSED,
    Comparison,
    agreement,
    change_at_tss,
    compare_pair,
    knockout,
    mark_shares,
)
from chromepredict.results.scoring import resolve_threshold
from chromepredict.system.errors import UserError
from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs
from chromepredict.system.report import Report

RUN = "compare"


def parse_knockouts(knockouts: list[str]) -> list[tuple[str, ...]]:
    """``--knockout H3K4me3,H3K27me3`` → one knockout per mark; ``H3K4me3+H3K27me3`` → both at once."""
    from chromepredict.io.marks import canonical_mark

    out = []
    for value in knockouts:
        groups = [g.strip() for g in value.split(",") if g.strip()]
        if not groups:
            raise UserError(f"--knockout {value!r} names no mark; write e.g. --knockout H3K4me3")
        for group in groups:
            marks = []
            for name in group.split("+"):
                mark = canonical_mark(name)
                if mark is None:
                    raise UserError(
                        f"--knockout {value}: {name!r} is not a mark; write e.g. --knockout H3K4me3"
                    )
                marks.append(mark)
            out.append(tuple(dict.fromkeys(marks)))
    return list(dict.fromkeys(out))


def _header(model, comparison: Comparison, what: str, threshold: float) -> str:
    lines = [
        f"chromepredict {__version__} compare",
        f"model: {model.name} (target {model.card.target}, integrity sha256 {model.card.integrity[:16]}…)",
        what,
        f"delta = {model.target.column}({comparison.second}) − {model.target.column}({comparison.first}); "
        f"contribution_<MARK>: exact Shapley decomposition of delta over the marks compared "
        f"({', '.join(comparison.compared)}); they add up to delta",
        f"flip: up/down when the call changes (high: {model.target.call_rule(threshold, model.card)})",
        *(f"warning: {w}" for w in comparison.warnings),
    ]
    return "".join(f"# {line}\n" for line in lines)


#: With expression tables for both samples, how delta ranks the measured change (NA otherwise, and
#: for knockouts): :func:`~chromepredict.results.compare.agreement`.
MEASURED_COLUMNS = (
    "genes_measured", "spearman_measured", "genes_expressed", "spearman_expressed", "genes_2fold",
    "sign_auc_2fold", "genes_zero_change",
)  # fmt: skip


def summary_columns(marks, extra=()) -> list[str]:
    """summary.tsv's columns, in this order in every run of a model (README, ``compare``): one
    ``share_<MARK>`` per mark of the model and, last, two per mark the samples have and the model
    does not use (``extra``); a value that does not apply or is missing is NA."""
    return [
        "comparison", "genes", "up", "down", "median_abs_delta", "top_mark", *(f"share_{m}" for m in marks),
        *MEASURED_COLUMNS, "n_warnings", "warnings",
        *(f"extra_{m}_tss_spearman_{what}" for m in extra for what in ("measured", "delta")),
    ]  # fmt: skip


def summary_table(rows: list[dict], marks) -> pd.DataFrame:
    """The comparisons' summary rows in :func:`summary_columns` (counts as whole numbers)."""
    extra = sorted({key.split("_")[1] for row in rows for key in row if key.startswith("extra_")})
    table = pd.DataFrame(rows).reindex(columns=summary_columns(marks, extra))
    for column in ("genes", "up", "down", "genes_measured", "genes_expressed", "genes_2fold",
                   "genes_zero_change", "n_warnings"):  # fmt: skip
        table[column] = table[column].astype("Int64")
    return table


def _write(folder, model, comparison: Comparison, what: str, threshold: float) -> dict:
    from chromepredict.results.plots import comparison_figure

    name = comparison.name
    table = comparison.table
    (folder / f"{name}.tsv").write_text(
        _header(model, comparison, what, threshold) + table.to_csv(sep="\t", index=False)
    )
    ordered = table.sort_values(["chrom", "tss"], kind="stable")
    bedgraph = pd.DataFrame(
        {
            "chrom": ordered["chrom"],
            "start": ordered["tss"] - 1,
            "end": ordered["tss"],
            "delta": ordered["delta"],
        }
    )
    track = f'track type=bedGraph name="{name}" description="chromepredict {model.name}: delta at each TSS"\n'
    (folder / f"{name}.bedgraph").write_text(track + bedgraph.to_csv(sep="\t", index=False, header=False))
    shares = mark_shares(comparison)
    comparison_figure(table, comparison.first, comparison.second, model.target, shares,
                      folder / f"{name}.png", f"{model.name}: {name}")  # fmt: skip
    flips = table["flip"].value_counts()
    row = {
        "comparison": name,
        "genes": len(table),
        "up": int(flips.get("up", 0)),
        "down": int(flips.get("down", 0)),
        "median_abs_delta": round(
            float(np.median(np.abs(table["delta"]))) if len(table) else float("nan"), 6
        ),
        "top_mark": shares.idxmax() if shares.sum() > 0 else None,
    }
    for mark, share in shares.items():
        row[f"share_{mark}"] = round(float(share), 4)
    warnings = list(dict.fromkeys(comparison.warnings))
    row["n_warnings"] = len(warnings)
    row["warnings"] = " | ".join(" ".join(w.split()) for w in warnings) or None
    return row


def _measured(model, comparison: Comparison, expressions: dict, report: Report) -> dict:
    """With both samples' expression values: the measured change of log2(1 + expression) per gene,
    and how delta ranks it (:func:`agreement`: Spearman over all genes and over the expressed ones,
    sign AUC on 2-fold changes, genes tied at zero; flagged when the genes include the model's
    training genes). Tables of 0/1 labels, or too few matched genes, give no column and a warning
    that says why."""
    first, second = (expressions[name] for name in (comparison.first, comparison.second))
    labels = [e.source for e in (first, second) if e.is_labels]
    if labels:
        comparison.warnings.append(
            f"{', '.join(labels)} holds 0/1 labels, not expression values: no measured change to compare delta with"
        )
        return {}
    matched = [e.match(comparison.table) for e in (first, second)]
    for expression, match in zip((first, second), matched, strict=True):
        for note in [*expression.notes, *match.notes]:
            report.info(f"{comparison.name}: {note}")
        comparison.warnings.extend(match.warnings)
    measured = (matched[1].levels - matched[0].levels).to_numpy()
    known = np.isfinite(measured)
    if known.sum() < 3:
        comparison.warnings.append(
            f"only {int(known.sum())} genes have a value in both {first.source} and {second.source}: "
            "no Spearman with the measured change (use expression tables of the GTF's annotation)"
        )
        return {}
    comparison.table["measured_delta"] = np.round(measured, 6)
    delta = comparison.table["delta"].to_numpy()
    flat = [
        what
        for what, values in (("measured change", measured), ("delta", delta))
        if np.ptp(values[known]) == 0
    ]
    if flat:
        comparison.warnings.append(
            f"the {' and the '.join(flat)} {'is' if len(flat) == 1 else 'are'} the same for every gene (identical "
            f"samples or expression tables?): no Spearman of delta with the measured change"
        )
        return {"genes_measured": int(known.sum())}
    stats = agreement(
        delta,
        matched[0].levels.to_numpy(float),
        matched[1].levels.to_numpy(float),
    )
    note = ""
    seen = model.training_genes(comparison.table)[known]
    if seen.any():
        note = f" ({int(seen.sum())} of them training genes of model {model.name}: not a test)"
        comparison.warnings.append(
            f"{int(seen.sum())} genes with measured expression were used to train model {model.name}: the Spearman on them is not a test"
        )
    report.info(
        f"{comparison.name}: Spearman of delta with the measured change {stats['spearman_measured']:.4f} on "
        f"{stats['genes_measured']} genes{note}, {stats['spearman_expressed']:.4f} on the "
        f"{stats['genes_expressed']} expressed in either sample (> {EXPRESSED:g} in the tables' unit); "
        f"sign AUC {stats['sign_auc_2fold']:.4f} on the {stats['genes_2fold']} genes changing at least 2-fold; "
        f"{stats['genes_zero_change']} genes tied at zero measured change"
    )
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in stats.items()}


def _extra_marks(
    model, comparison: Comparison, first: FeatureSet, second: FeatureSet, report: Report
) -> dict:
    """For each mark both samples have and the model does not use, one number on what a model
    trained with it might add: the Spearman of its change at the TSS (:func:`change_at_tss`) with the
    measured change, on the genes with measured expression, or else with the model's delta."""
    row = {}
    table = comparison.table
    first, second, _ = align(first, second, (comparison.first, comparison.second))
    index = pd.Index(first.genes["gene_id"]).get_indexer(table["gene_id"])
    for mark in (m for m in first.marks if m in second.marks):
        change = np.where(index >= 0, change_at_tss(first, second, mark)[index], np.nan)
        where = f"{mark} (which model {model.name} does not use): Spearman of its change at the TSS (log signal, ± 1 kb)"
        with_delta = np.isfinite(change)
        row[f"extra_{mark}_tss_spearman_delta"] = round(
            regression_metrics(table["delta"].to_numpy()[with_delta], change[with_delta])["spearman"], 4
        )
        if "measured_delta" in table:
            measured = table["measured_delta"].to_numpy()
            both = np.isfinite(change) & np.isfinite(measured)
            rho = regression_metrics(measured[both], change[both])["spearman"]
            own = regression_metrics(measured[both], table["delta"].to_numpy()[both])["spearman"]
            seen = model.training_genes(table)[both].any()
            row[f"extra_{mark}_tss_spearman_measured"] = round(rho, 4)
            report.info(
                f"{comparison.name}: {where} with the measured change {rho:.4f} on {int(both.sum())} genes, "
                f"the model's delta {own:.4f}{' (on its training genes: not a test)' if seen else ''}; "
                f"a difference model trained with {mark} (chromepredict train --target difference) may add to it"
            )
        else:
            report.info(
                f"{comparison.name}: {where} with the model's delta {row[f'extra_{mark}_tss_spearman_delta']:.4f} "
                f"on {int(with_delta.sum())} genes (no expression tables: how much it might add is not measured)"
            )
    return row


def _check_pairs(wanted: list[tuple[str, str]], samples: dict, model) -> None:
    """Refuse, before reading, a pair whose samples share no mark of the model."""
    for first, second in wanted:
        shared = [m for m in model.marks if m in samples[first].tracks and m in samples[second].tracks]
        if not shared:
            raise UserError(
                f"--pair {first}:{second}: the samples share no mark of model {model.name} "
                f"({first}: {', '.join(samples[first].tracks)}; {second}: {', '.join(samples[second].tracks)}); "
                "give both samples a track of the same mark"
            )


def run_pairs(
    report: Report,
    model_spec: str,
    sheet: str,
    gtf: str | None,
    gene_type: str | None,
    threads: int,
    pairs: list[str],
    reference: str | None,
    outdir: str,
    threshold: float | None,
) -> pd.DataFrame:
    """``compare --samplesheet``: one comparison per pair of samples."""
    from chromepredict.io.annotation import read_genes
    from chromepredict.io.samplesheet import parse_pairs, read_samplesheet, sheet_files

    model = open_model(model_spec, report, threads)
    threshold = resolve_threshold(model, threshold, report)
    if gtf is None:
        raise UserError("--gtf is required with --samplesheet; give the gene annotation (GTF)")
    samples = {s.name: s for s in read_samplesheet(sheet)}
    wanted = parse_pairs(pairs, reference, list(samples), sheet)
    _check_pairs(wanted, samples, model)
    check_outputs([*sheet_files(sheet), gtf, *model.paths], folders=[("-o", outdir)])
    check_output_dir(outdir, RUN)
    with atomic_dir(outdir, RUN, report.warnings) as tmp:  # the folder is locked from the start of the run
        genes = read_genes(gtf, gene_type)
        data, unused, expression = {}, {}, {}
        for name in dict.fromkeys(n for pair in wanted for n in pair):
            sample = samples[name]
            inputs = TrackInputs.from_sample(sample, gtf, gene_type, threads, genes)
            data[name] = gate.read(model, inputs, report, name)
            others = [m for m in inputs.files if m not in model.marks]
            if others:  # tracks of marks the model ignores: read for what they might add (_extra_marks)
                unused[name] = inputs.read(model.spec, others, report)
            if sample.expression:
                expression[name] = read_expression_for(sample.expression, None, gtf)
        comparisons = []
        for first, second in wanted:
            comparison = compare_pair(model, data[first], data[second], (first, second), threshold)
            extra = {}
            if first in expression and second in expression:
                extra = _measured(model, comparison, expression, report)
                mismatch = units_mismatch(expression[first], expression[second])
                if mismatch:
                    comparison.warnings.append(mismatch)
            sets = [data[first], data[second]]
            if first in unused and second in unused:
                extra.update(_extra_marks(model, comparison, unused[first], unused[second], report))
                sets += [unused[first], unused[second]]
            for warning in [w for s in sets for w in s.provenance.warnings]:
                comparison.warnings.append(warning)
            comparisons.append((comparison, extra))
        for comparison, _ in comparisons:
            for warning in dict.fromkeys(comparison.warnings):
                report.warn(f"{comparison.name}: {warning}")
        rows = []
        for comparison, extra in comparisons:
            what = f"A = {comparison.first}, B = {comparison.second} (samples of {sheet})"
            rows.append({**_write(tmp, model, comparison, what, threshold), **extra})
            top = rows[-1]["top_mark"]
            report.info(
                f"{comparison.name}: {rows[-1]['up']} genes up, {rows[-1]['down']} down; "
                + (f"most change from {top}" if top else "no change on any gene")
            )
        summary = summary_table(rows, model.marks)
        summary.to_csv(tmp / "summary.tsv", sep="\t", index=False, na_rep="NA")
    return summary


def run_knockouts(
    report: Report,
    model_spec: str,
    inputs: TrackInputs,
    knockouts: list[str],
    outdir: str,
    threshold: float | None,
) -> pd.DataFrame:
    """``compare --knockout``: the sample against itself with marks set to no signal."""
    groups = parse_knockouts(knockouts)
    model = open_model(model_spec, report, inputs.threads)
    threshold = resolve_threshold(model, threshold, report)
    for group in groups:
        lacking = [m for m in group if m not in model.marks]
        if lacking:
            raise UserError(
                f"--knockout {'+'.join(group)}: {', '.join(lacking)} is not a mark of model {model.name} ({', '.join(model.marks)})"
            )
    check_outputs([*inputs.paths, *model.paths], folders=[("-o", outdir)])
    check_output_dir(outdir, RUN)
    with atomic_dir(outdir, RUN, report.warnings) as tmp:  # the folder is locked from the start of the run
        data = gate.read(model, inputs, report)
        report.provenance(data.provenance)
        comparisons = [knockout(model, data, group, threshold) for group in groups]
        rows = []
        for comparison in comparisons:
            comparison.warnings.extend(data.provenance.warnings)
            what = (
                f"A = the sample, B = the sample with {'+'.join(comparison.compared)} knocked out (no signal)"
            )
            rows.append(_write(tmp, model, comparison, what, threshold))
            report.info(f"{comparison.name}: {rows[-1]['up']} genes up, {rows[-1]['down']} down")
        summary = summary_table(rows, model.marks)
        summary.to_csv(tmp / "summary.tsv", sep="\t", index=False, na_rep="NA")
    return summary
