"""Comparing samples, knocking marks out and evaluating a model: tables a notebook can work with,
made by the same functions the command line writes from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from chromepredict.api.models import Model
from chromepredict.api.reporting import run_report
from chromepredict.api.samples import Sample
from chromepredict.io.expression import Expression, units_mismatch
from chromepredict.io.features import FeatureSet, Paired
from chromepredict.io.labelling import read_expression_for
from chromepredict.io.marks import canonical_mark
from chromepredict.io.sources import from_csv
from chromepredict.io.training_sets import labelled_pairs
from chromepredict.models import gate
from chromepredict.results import compare as changes
from chromepredict.results.evaluation import Evaluation
from chromepredict.results.evaluation import evaluate as _evaluate
from chromepredict.results.scoring import resolve_threshold
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report


class Read:
    """A sample read for a model (through the gate), with the tracks of marks the model ignores and
    the sample's expression table: what a comparison of it needs, read once."""

    def __init__(self, model: Model, sample: Sample, report: Report):
        inputs = sample.inputs
        self.name = sample.name
        self.data: FeatureSet = gate.read(model.loaded, inputs, report, sample.name)
        others = [m for m in inputs.files if m not in model.marks]
        self.unused = inputs.read(model.window, others, report) if others else None
        self.expression: Expression | None = (
            read_expression_for(sample.expression, None, sample.gtf) if sample.expression else None
        )


def distinct_names(samples: Sequence[Sample]) -> None:
    """Refuse two different samples under one name (their tables and results are keyed by it)."""
    named: dict[str, Sample] = {}
    for sample in samples:
        if named.setdefault(sample.name, sample) is not sample:
            raise UserError(
                f"two different samples are named {sample.name}; name them apart "
                "(read_sample(..., name=...), or one samplesheet row per sample)"
            )


def check_pair(model: Model, first: Sample, second: Sample) -> None:
    """Refuse, before reading, two samples under one name or that share no mark of the model."""
    distinct_names([first, second])
    shared = [m for m in model.marks if m in first.tracks and m in second.tracks]
    if not shared:
        raise UserError(
            f"--pair {first.name}:{second.name}: the samples share no mark of model {model.name} "
            f"({first.name}: {', '.join(first.tracks)}; {second.name}: {', '.join(second.tracks)}); "
            "give both samples a track of the same mark"
        )


def compared(model: Model, first: Read, second: Read, threshold: float, report: Report) -> changes.Comparison:
    """The comparison of two read samples: values, delta, contributions, and — with both samples'
    expression — how delta ranks the measured change; the marks the model ignores get one number
    each on what they might add. ``comparison.summary`` holds those figures."""
    comparison = changes.compare_pair(
        model.loaded, first.data, second.data, (first.name, second.name), threshold
    )
    extra: dict = {}
    if first.expression is not None and second.expression is not None:
        tables = {first.name: first.expression, second.name: second.expression}
        extra = changes.measured(model.loaded, comparison, tables, report)
        mismatch = units_mismatch(first.expression, second.expression)
        if mismatch:
            comparison.warnings.append(mismatch)
    sets = [first.data, second.data]
    if first.unused is not None and second.unused is not None:
        extra.update(changes.extra_marks(model.loaded, comparison, first.unused, second.unused, report))
        sets += [first.unused, second.unused]
    comparison.warnings.extend(w for s in sets for w in s.provenance.warnings)
    comparison.extra = extra
    return comparison


def _table(comparison: changes.Comparison, model: Model, threshold: float) -> pd.DataFrame:
    table = comparison.table.copy()
    row = {**changes.summary_row(comparison), **comparison.extra}
    table.attrs.update(
        name=comparison.name, model=model.name, summary=row, warnings=list(dict.fromkeys(comparison.warnings))
    )
    return table


def compare(
    model: Model, first: Sample, second: Sample, *, threshold: float | None = None, strict: bool = False
) -> pd.DataFrame:
    """Which genes change from ``first`` to ``second`` and which marks drive it: per gene the model's
    value in each (``level_A``/``level_B`` or ``p_high_…``), ``delta`` (second − first), the calls and
    ``flip``, one ``contribution_<MARK>`` per mark — the exact Shapley decomposition of delta, which
    adds up to it — and, when both samples have expression tables, ``measured_delta``. Genes that
    flip come first. ``table.attrs["summary"]`` holds the comparison's figures (genes up and down,
    each mark's share, the Spearman of delta with the measured change…), ``attrs["warnings"]`` its
    warnings. Any class, level or difference model works (default of ``chromepredict compare``:
    ``E003-E123-difference``).

    >>> table = cp.compare(cp.load_model("E003-E123-difference"), samples["E003"], samples["E123"])  # doctest: +SKIP
    """
    report = run_report(strict)
    threshold = resolve_threshold(model.loaded, threshold, report)
    check_pair(model, first, second)
    comparison = compared(model, Read(model, first, report), Read(model, second, report), threshold, report)
    for warning in dict.fromkeys(comparison.warnings):
        report.warn(f"{comparison.name}: {warning}")
    return _table(comparison, model, threshold)


def knockout_groups(values: Iterable[str]) -> list[tuple[str, ...]]:
    """Knockouts as the command line writes them: ``"H3K4me3,H3K27me3"`` → one per mark,
    ``"H3K4me3+H3K27me3"`` → both at once."""
    out = []
    for value in values:
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


def check_knockouts(model: Model, groups: Sequence[tuple[str, ...]]) -> None:
    for group in groups:
        lacking = [m for m in group if m not in model.marks]
        if lacking:
            raise UserError(
                f"--knockout {'+'.join(group)}: {', '.join(lacking)} is not a mark of model {model.name} ({', '.join(model.marks)})"
            )


def knockouts(model: Model, data: FeatureSet, groups: Sequence[tuple[str, ...]], threshold: float) -> list:
    """One knockout comparison per group of marks, of a sample read for the model."""
    found = [changes.knockout(model.loaded, data, group, threshold) for group in groups]
    for comparison in found:
        comparison.warnings.extend(data.provenance.warnings)
        comparison.extra = {}
    return found


def knockout(
    model: Model,
    sample: Sample,
    marks: str | Sequence[str],
    *,
    threshold: float | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """What if ``marks`` were removed: ``sample`` against itself with them set to their no-signal
    value (the window of an empty track — not the missing-mark mask), as :func:`compare` tables
    (``delta`` = knockout − sample, contributions add up to it). ``marks``: one mark, several knocked
    out together (a list, or ``"H3K4me3+H3K27me3"``).

    >>> table = cp.knockout(model, sample, "H3K4me3")   # doctest: +SKIP
    """
    report = run_report(strict)
    threshold = resolve_threshold(model.loaded, threshold, report)
    group = knockout_groups(["+".join([marks] if isinstance(marks, str) else marks)])
    check_knockouts(model, group)
    data = gate.read(model.loaded, sample.inputs, report)
    report.provenance(data.provenance)
    (comparison,) = knockouts(model, data, group, threshold)
    return _table(comparison, model, threshold)


def plot_comparison(table: pd.DataFrame, model: Model):
    """The figure ``compare`` writes beside a table of :func:`compare` or :func:`knockout`: delta
    against the mean of the two values, genes that flip labelled, and each mark's share of the
    change (a :class:`matplotlib.figure.Figure`)."""
    from chromepredict.results.plots import build_comparison

    first, second = (c.removeprefix(f"{model.loaded.target.report.column}_") for c in table.columns[5:7])
    shares = changes.shares_of(table, model.marks)
    return build_comparison(
        table,
        first,
        second,
        model.loaded.target.report,
        shares,
        f"{model.name}: {table.attrs.get('name', '')}",
    )


def labelled(
    model: Model,
    sample: Sample | None,
    report: Report,
    *,
    expression: str | Path | None = None,
    expression_column: str | None = None,
    csv: str | Path | None = None,
    gtf: str | Path | None = None,
) -> tuple[FeatureSet, str]:
    """The genes to score with their truth, through the gate: a sample's tracks with an expression
    table, or a DeepChrome CSV (with the GTF of its genes for a 5′→3′ model)."""
    if csv is not None and sample is None:
        data = gate.admit(model.loaded, from_csv(str(csv), str(gtf) if gtf else None), str(csv))
        source = str(csv)
    elif sample is not None and csv is None:
        table = expression if expression is not None else sample.expression
        if table is None:
            raise UserError(
                "--expression is required with bigWig tracks (in Python, expression=); give a table of "
                "gene ids and TPM/RPKM/counts"
            )
        values = read_expression_for(str(table), expression_column, sample.gtf)
        data = gate.read(model.loaded, sample.inputs, report, str(table), values)
        card = model.loaded.card
        caveat = model.loaded.target.units_caveat(values, card.level_scale, card.level_units_or_default)
        if caveat:
            data.provenance.warnings.append(caveat)
        source = str(table)
    else:
        raise UserError("give either bigWig tracks with --gtf/--expression, or --csv")
    model.loaded.target.truth(data)  # a CSV holds labels only: a level model says what it needs
    report.provenance(data.provenance)
    return data, source


def require_single(model: Model) -> None:
    """Refuse a difference model where one sample is scored."""
    if model.loaded.target.fit.pairs:
        raise UserError(
            f"model {model.name} predicts the change between two samples: evaluate it with --samplesheet S --pair A:B"
        )


def require_pairs(model: Model) -> None:
    """Refuse a one-sample model where pairs are scored."""
    if not model.loaded.target.fit.pairs:
        raise UserError(
            f"--pair: model {model.name} predicts one sample's {model.target}, not a change between two; "
            "evaluate it per sample (without --pair) or give a difference model"
        )


def evaluate(
    model: Model,
    sample: Sample | None = None,
    *,
    expression: str | Path | None = None,
    expression_column: str | None = None,
    csv: str | Path | None = None,
    gtf: str | Path | None = None,
    strict: bool = False,
) -> Evaluation:
    """A model's accuracy on genes with known expression: ``sample`` (its tracks) with an expression
    table (here or on the sample), or a DeepChrome ``csv``. Returns an :class:`Evaluation`:
    ``.metrics`` (ROC/PR AUC and accuracy, or Spearman/Pearson/R²/MAE, on all genes and — leading —
    on those the model was not trained on), ``.table`` (per gene), ``.headline``; ``.write(folder)``
    writes what ``chromepredict evaluate`` writes. A difference model is evaluated on pairs:
    :func:`evaluate_pairs`.

    >>> cp.evaluate(model, sample).headline   # doctest: +SKIP
    """
    report = run_report(strict)
    require_single(model)
    data, source = labelled(model, sample, report, expression=expression, expression_column=expression_column,
                            csv=csv, gtf=gtf)  # fmt: skip
    return _evaluate(model.loaded, data, source, report, sample.name if sample is not None else None)


def paired(model: Model, pairs: Sequence[tuple[Sample, Sample]], report: Report) -> tuple[Paired, str]:
    """The genes both samples of each pair hold, labelled with both expression tables, each read
    for the model through the gate (several pairs pooled, in order), and the pairs' names."""
    if not pairs:
        raise UserError("give the samples to compare: --pair A:B (repeatable; in Python, pairs=[(a, b)])")
    distinct_names([s for pair in pairs for s in pair])
    samples = {s.name: s for pair in pairs for s in pair}
    wanted = [(a.name, b.name) for a, b in pairs]
    tables = {name: sample.expression for name, sample in samples.items()}
    gtf = next(iter(samples.values())).gtf

    def read(name: str) -> FeatureSet:
        return gate.read(model.loaded, samples[name].inputs, report, name)

    data = labelled_pairs(report, wanted, tables, gtf, read, "the samplesheet")
    return data, ", ".join(f"{a}_vs_{b}" for a, b in wanted)


def evaluate_pairs(
    model: Model, pairs: Sequence[tuple[Sample, Sample]], *, strict: bool = False
) -> Evaluation:
    """A difference model on pairs of samples with expression tables: its predicted change against
    the measured change of log2(1 + expression) (pooled over the pairs): Spearman, Pearson, R² and
    the AUC of the change's sign on genes changing at least 2-fold.

    >>> cp.evaluate_pairs(cp.load_model("E003-E123-difference"), [(samples["E003"], samples["E123"])])  # doctest: +SKIP
    """
    report = run_report(strict)
    require_pairs(model)
    data, names = paired(model, pairs, report)
    return _evaluate(model.loaded, data, names, report, names)
