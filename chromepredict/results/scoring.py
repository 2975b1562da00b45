"""Scoring one sample: its tracks through the gate, the model's values per gene, the predictions
table with its header, and — with an expression table — the agreement with measured expression.
Shared by ``predict`` (one sample or a samplesheet's), ``demo`` and ``compare``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chromepredict.io.annotation import match_chroms
from chromepredict.io.expression import Expression, Matched, looks_logged
from chromepredict.io.features import FeatureSet
from chromepredict.io.labelling import median_caveat
from chromepredict.io.sources import TrackInputs
from chromepredict.models import gate
from chromepredict.models.protocols import ScoringModel
from chromepredict.results.predictions import about, predictions_table
from chromepredict.results.samples import summary_row
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report


@dataclass
class Scored:
    """One sample's predictions with what the output header and summaries need."""

    table: pd.DataFrame
    about: dict  # how the table was made (its JSON sidecar)
    warnings: list[str]
    score: float | None  # AUC (class) or Spearman (level) against the expression table, if given
    score_note: str | None = None  # why there is no score, when an expression table was given
    chroms: dict[str, str] = field(default_factory=dict)  # the GTF's chromosome names → the tracks' (BED)

    @property
    def summary(self) -> dict:
        """The sample's summary row (:func:`~chromepredict.results.samples.summary_row`), also in its sidecar."""
        return self.about["summary"]


#: p_high at or above this is called high, unless --threshold says otherwise.
DEFAULT_THRESHOLD = 0.5


def resolve_threshold(model: ScoringModel, threshold: float | None, report: Report) -> float:
    """The threshold of class calls: ``threshold`` if given, else :data:`DEFAULT_THRESHOLD`; a note
    when it was given for a model without classes (level and difference models call high at the
    training levels' mean, whatever the threshold)."""
    if threshold is None:
        return DEFAULT_THRESHOLD
    rule = model.target.report.own_call_rule(threshold, model.card.level_scale)
    if rule is not None:
        report.info(
            f"--threshold {threshold} is for class models; model {model.name} predicts a {model.target.name} "
            f"(high: {rule}): ignored"
        )
    return threshold


def agreement(
    model: ScoringModel, data: FeatureSet, values: np.ndarray, expression: Expression, matched: Matched,
    report: Report,
) -> tuple[float | None, str | None]:  # fmt: skip
    """AUC or Spearman of the predictions against the expression table's genes (status lines on
    ``report``); warnings, added to the data's provenance, for genes the model was trained on and
    for every reason there is no score."""
    for note in expression.notes + matched.notes:
        report.info(note)
    data.provenance.warnings.extend(matched.warnings)
    caveat = None if model.target.levels else median_caveat(expression, data.provenance, matched)
    if caveat:  # high/low by the table's median
        data.provenance.warnings.append(caveat)
    known = matched.values.notna().to_numpy()
    if not known.any():
        reason = (
            f"no gene has a value in {expression.source} (e.g. {', '.join(data.genes['gene_id'].head(2))} in "
            "the GTF): no score; use an expression table of the same annotation"
        )
        data.provenance.warnings.append(reason)
        return None, reason
    seen = model.training_genes(data.genes) & known
    if seen.any():
        caveat = (
            f"{seen.sum()} of the {known.sum()} genes with a value in {expression.source} were used to "
            f"train model {model.name}: its score on them is not a test (chromepredict evaluate "
            "also gives it on the other genes)"
        )
        data.provenance.warnings.append(caveat)
    target = model.target.window
    truth = target.measured(matched, expression)
    if truth is None:
        reason = f"{expression.source} holds 0/1 labels, not expression levels: no {target.metric_name}"
        data.provenance.warnings.append(reason)
        return None, reason
    problem = target.unscorable(truth[known])
    if problem:
        reason = f"the genes with a value in {expression.source} {problem}: no {target.metric_name}"
        data.provenance.warnings.append(reason)
        return None, reason
    logged = looks_logged(expression) if target.levels else None
    if logged:
        data.provenance.warnings.append(logged)
    score = target.score(truth[known], values[known])
    contrary = target.against(truth[known], values[known])
    if contrary:
        data.provenance.warnings.append(f"{expression.source}: {contrary}")
    report.info(
        f"{target.metric_name} {score:.4f} on the {known.sum()} genes with a value in {expression.source} "
        f"({(~known).sum()} without)"
    )
    return score, None


def score_sample(
    model: ScoringModel, inputs: TrackInputs, report: Report, threshold: float = 0.5,
    expression: Expression | None = None,
) -> Scored:  # fmt: skip
    """Read one sample's tracks through the gate and score its genes."""
    data = gate.read(model, inputs, report)
    matched = None if expression is None else expression.match(data.genes)
    score, note = (None, None)
    values = model.predict(data)
    if not np.isfinite(values).all():
        raise UserError(
            f"model {model.name} gave non-finite values for {int((~np.isfinite(values)).sum())} genes; "
            "the model file is damaged: restore or retrain it"
        )
    for line in data.provenance.notes:
        report.info(line)
    if expression is not None and matched is not None:
        score, note = agreement(model, data, values, expression, matched, report)
    for warning in data.provenance.warnings:
        report.warn(warning)
    table = predictions_table(data.genes, values, model.target.report, threshold, matched)
    chroms = {}
    for profile in data.profiles.values():  # the tracks' spelling, for genome browsers
        chroms.update(match_chroms(table["chrom"].unique().tolist(), set(profile.chrom_sizes)))
    warnings = list(data.provenance.warnings)
    summary = summary_row(table, model.target.report, score, note, warnings)
    how = {**about(model, data, threshold), "summary": summary}
    return Scored(table, how, warnings, score, note, chroms)
