"""Comparing two conditions, and what-if knockouts: per gene, the model's value in each condition,
their difference ``delta`` (B − A) and each mark's contribution to it.

The contributions are the exact Shapley decomposition of ``delta`` over the marks: the game is
"which marks take condition B's window" (every other mark keeps A's), its value the model's output
for the mixed window (a difference model's too: its g(B) − g(A) needs only g). With n marks the 2ⁿ mixes are
scored by onnxruntime — no gradients, no torch — and the contributions add up to ``delta`` exactly
(to float rounding), each the average effect of moving that mark from A's window to B's over all
orders of moving the marks. A mark both conditions leave out, or the same in both, contributes 0.

A knockout compares a sample with itself with marks set to their no-signal value: the window of
an empty track, transformed as any other (not the missing-mark mask: it asks "if the mark were
removed", not "if it had not been measured").
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.io.expression import looks_logged
from chromepredict.io.features import FeatureSet, align, pair_warnings
from chromepredict.models.metrics import regression_metrics
from chromepredict.models.protocols import ScoringModel
from chromepredict.models.targets import falling_spearman
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

#: Marks beyond which 2ⁿ mixes per gene get too many for an exact decomposition.
MAX_MARKS = 10


@dataclass
class Comparison:
    """Per gene: the value in A and in B, delta, its per-mark contributions and the calls."""

    name: str  # e.g. "E003_vs_E123" or "knockout_H3K4me3"
    first: str  # what A is called in the columns
    second: str
    table: pd.DataFrame
    marks: tuple[str, ...]  # the model's marks (one contribution column each)
    compared: tuple[str, ...]  # the marks that took part
    warnings: list[str]
    chroms: dict[str, str] = field(default_factory=dict)  # the GTF's chromosome names → the tracks'
    extra: dict = field(default_factory=dict)  # how delta ranks the measured change, unused marks' figures

    @property
    def contributions(self) -> np.ndarray:
        return self.table[[f"contribution_{m}" for m in self.marks]].to_numpy()


def track_chroms(table: pd.DataFrame, data: FeatureSet) -> dict[str, str]:
    """The GTF's chromosome names of ``table`` → the tracks' spelling (for genome browsers)."""
    from chromepredict.io.annotation import match_chroms

    chroms: dict[str, str] = {}
    for profile in data.profiles.values():
        chroms.update(match_chroms(table["chrom"].unique().tolist(), set(profile.chrom_sizes)))
    return chroms


def shapley(values: dict[tuple[bool, ...], np.ndarray], n: int) -> np.ndarray:
    """Exact Shapley values [genes, n] from the game's value for every subset (a tuple of n bools)."""
    first = next(iter(values.values()))
    out = np.zeros((len(first), n))
    for player in range(n):
        for subset, value in values.items():
            if subset[player]:
                continue
            size = sum(subset)
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            joined = tuple(True if i == player else s for i, s in enumerate(subset))
            out[:, player] += weight * (values[joined] - value)
    return out


def _mixed(first: np.ndarray, second: np.ndarray, subset: tuple[bool, ...], index: list[int]) -> np.ndarray:
    """``first``'s inputs with the marks at ``index[i]`` for which ``subset[i]`` taken from ``second``."""
    out = first.copy()
    for take, m in zip(subset, index, strict=True):
        if take:
            out[:, m] = second[:, m]
    return out


def mix_values(
    model: ScoringModel, xa: np.ndarray, xb: np.ndarray, mask: np.ndarray, index: list[int]
) -> dict:
    """The model's value for every mix of ``xa`` and ``xb`` (network inputs multiplied by ``mask``)
    in the marks at ``index``: subset (a tuple of bools over ``index``, True = from ``xb``) → values.

    Through the graph :meth:`~chromepredict.models.onnx_io.LoadedModel.mixer` derives from the
    model (the first layer once per gene, the rest once per mix); a graph it cannot derive from
    scores each mix through the whole network."""
    subsets = list(itertools.product((False, True), repeat=len(index)))
    mixer = model.mixer(tuple(index))
    if mixer is None:
        return {subset: model.score_inputs(_mixed(xa, xb, subset, index), mask) for subset in subsets}
    table = mixer(xa, xb, mask)
    return {subset: table[:, sum(1 << j for j, take in enumerate(subset) if take)] for subset in subsets}


def decompose(
    model: ScoringModel, first: FeatureSet, second: FeatureSet, marks: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value in ``first``, value in ``second``, contributions [genes, model marks]) for genes in the
    same order in both sets, moving each of ``marks`` from the first window to the second.

    Both inputs share one mask: a mark counts as measured for a gene only where it is in both."""
    xa, xb, mask = model.paired_inputs(first, second)
    index = [model.marks.index(m) for m in marks]
    if len(index) > MAX_MARKS:
        raise UserError(
            f"comparing {len(index)} marks at once is too many for an exact decomposition (at most {MAX_MARKS})"
        )
    values = mix_values(model, xa, xb, mask, index)
    contributions = np.zeros((len(xa), len(model.marks)))
    contributions[:, index] = shapley(values, len(index))
    none, every = tuple([False] * len(index)), tuple([True] * len(index))
    return values[none], values[every], contributions


def _table(
    genes: pd.DataFrame, model: ScoringModel, names: tuple[str, str], a: np.ndarray, b: np.ndarray,
    contributions: np.ndarray, threshold: float,
) -> pd.DataFrame:  # fmt: skip
    report = model.target.report
    column = report.column
    table = genes[GENE_COLUMNS].reset_index(drop=True).copy()
    table[f"{column}_{names[0]}"] = np.round(a, 6)
    table[f"{column}_{names[1]}"] = np.round(b, 6)
    table["delta"] = np.round(b - a, 6)
    scale = model.card.level_scale
    calls_a, calls_b = report.calls(a, threshold, scale), report.calls(b, threshold, scale)
    table[f"call_{names[0]}"], table[f"call_{names[1]}"] = calls_a, calls_b
    # "none" rather than an empty field: a spreadsheet, R and pandas read it as a word, not as missing
    table["flip"] = np.where(calls_a == calls_b, "none", np.where(calls_b == "high", "up", "down"))
    for m, mark in enumerate(model.marks):
        table[f"contribution_{mark}"] = np.round(contributions[:, m], 6)
    order = np.lexsort((-np.abs(table["delta"].to_numpy()), table["flip"].eq("none").to_numpy()))
    return table.iloc[order].reset_index(drop=True)  # genes that flip first, then by |delta|


def compare_pair(
    model: ScoringModel, first: FeatureSet, second: FeatureSet, names: tuple[str, str], threshold: float = 0.5
) -> Comparison:
    """Compare two samples' features (each admitted by the gate) on the marks they share."""
    a, b, warnings = align(first, second, names)
    warnings.extend(pair_warnings(a, b, names))
    shared = tuple(m for m in model.marks if m in a.marks and m in b.marks)
    only = sorted((set(a.marks) | set(b.marks)) - set(shared))
    if not shared:
        raise UserError(f"{names[0]} and {names[1]} share no mark of model {model.name}: nothing to compare")
    if only:
        warnings.append(
            f"{names[0]} and {names[1]} differ in their marks ({', '.join(only)} in one only): compared on the "
            f"marks they share ({', '.join(shared)})"
        )
        a, b = (
            a.select_marks(tuple(m for m in a.marks if m in shared)),
            b.select_marks(tuple(m for m in b.marks if m in shared)),
        )
    if a.provenance.assembly and b.provenance.assembly and a.provenance.assembly != b.provenance.assembly:
        raise UserError(
            f"{names[0]} is {a.provenance.assembly} and {names[1]} is {b.provenance.assembly}: compare samples of one genome build"
        )
    va, vb, contributions = decompose(model, a, b, shared)
    table = _table(a.genes, model, names, va, vb, contributions, threshold)
    return Comparison(f"{names[0]}_vs_{names[1]}", names[0], names[1], table, model.marks, shared, warnings,
                      track_chroms(table, a))  # fmt: skip


def knocked_out(data: FeatureSet, marks: tuple[str, ...]) -> FeatureSet:
    """The same windows with ``marks`` set to no signal (still measured: the empty window's value)."""
    features = data.features.copy()
    for mark in marks:
        features[:, data.marks.index(mark)] = 0.0
    return replace(data, features=features)


def knockout(
    model: ScoringModel, data: FeatureSet, marks: tuple[str, ...], threshold: float = 0.5
) -> Comparison:
    """The sample against itself with ``marks`` knocked out."""
    missing = [m for m in marks if m not in data.marks]
    if missing:
        lacking = [m for m in missing if m not in model.marks]
        raise UserError(
            f"--knockout {'+'.join(marks)}: {', '.join(lacking)} is not a mark of model {model.name}"
            if lacking
            else f"--knockout {'+'.join(marks)}: no track of {', '.join(missing)} is given; add it (--mark {missing[0]}=PATH)"
        )
    name = "+".join(marks)
    va, vb, contributions = decompose(model, data, knocked_out(data, marks), marks)
    table = _table(data.genes, model, ("sample", "knockout"), va, vb, contributions, threshold)
    return Comparison(
        f"knockout_{name}", "sample", "knockout", table, model.marks, marks, [], track_chroms(table, data)
    )


def mark_shares(comparison: Comparison) -> pd.Series:
    """Each mark's share of the change: its |contribution| summed over genes ÷ the total."""
    return shares_of(comparison.table, comparison.marks)


def shares_of(table: pd.DataFrame, marks) -> pd.Series:
    """:func:`mark_shares` of a comparison's table."""
    magnitude = np.abs(table[[f"contribution_{m}" for m in marks]].to_numpy()).sum(axis=0)
    total = magnitude.sum() or 1.0
    return pd.Series(magnitude / total, index=list(marks))


#: A gene is expressed in a sample when its expression table gives it more than this, in the
#: table's own unit (RPKM, TPM, …): log2(1 + value) > 1.
EXPRESSED = 1.0


def agreement(delta: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    """How ``delta`` ranks the measured change of log2(1 + expression) from the levels ``first`` to
    ``second`` (NaN where a table has no value): the Spearman over every gene with both values and
    over the genes expressed in either sample (> :data:`EXPRESSED`), the AUC of delta's sign on the
    genes that change at least 2-fold (|Δ log2| ≥ 1), and the genes tied at zero measured change
    (e.g. unexpressed in both), which any ranking of the change must place arbitrarily."""
    from chromepredict.models.metrics import regression_metrics, roc_auc
    from chromepredict.models.targets import CHANGE

    measured = second - first
    known = np.isfinite(measured)
    expressed = known & (np.fmax(first, second) > np.log2(1.0 + EXPRESSED))
    changed = known & (np.abs(measured) >= CHANGE)
    return {
        "spearman_measured": regression_metrics(measured[known], delta[known])["spearman"],
        "genes_measured": int(known.sum()),
        "spearman_expressed": regression_metrics(measured[expressed], delta[expressed])["spearman"],
        "genes_expressed": int(expressed.sum()),
        "sign_auc_2fold": roc_auc((measured[changed] > 0).astype(int), delta[changed])
        if changed.any()
        else float("nan"),
        "genes_2fold": int(changed.sum()),
        "genes_zero_change": int((measured[known] == 0).sum()),
    }


def change_at_tss(first: FeatureSet, second: FeatureSet, mark: str, flank: int = 1000) -> np.ndarray:
    """Per gene (the same genes in both sets), the change of one mark's signal at the TSS: log(1 +
    mean over TSS ± ``flank`` ÷ the track's typical value) in ``second`` minus in ``first`` — the
    single-mark measure of a change, on the scale the models read tracks in; NaN where a track holds
    no data on the gene's chromosome."""

    def at_tss(data: FeatureSet) -> np.ndarray:
        m = data.marks.index(mark)
        centre, half = data.spec.n_bins // 2, max(1, flank // data.spec.bin_size)
        signal = np.clip(data.features[:, m, centre - half : centre + half], 0, None).mean(axis=1)
        value = np.log1p(signal / data.scales[..., m])
        return np.where(data.measured[:, m], value, np.nan)  # no data on the gene's chromosome

    return at_tss(second) - at_tss(first)


# --------------------------------------------------------------------------- reports


def about(model: ScoringModel, comparison: Comparison, what: str, threshold: float) -> dict:
    """How a comparison's table was made, for its JSON sidecar."""
    column = model.target.report.column
    return {
        "chromepredict": __version__,
        "command": "compare",
        "model": {"name": model.name, "target": model.card.target, "integrity_sha256": model.card.integrity},
        "compared": what,
        "delta": f"{column}({comparison.second}) − {column}({comparison.first})",
        "contributions": f"contribution_<MARK>: exact Shapley decomposition of delta over the marks compared "
        f"({', '.join(comparison.compared)}); they add up to delta",
        "flip": f"up/down when the call changes (high: {model.target.report.call_rule(threshold, model.card.level_scale)})",
        "warnings": list(dict.fromkeys(comparison.warnings)),
    }


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


def summary_row(comparison: Comparison) -> dict:
    """The comparison's row of ``summary.tsv``: genes up and down, the typical change, each mark's
    share of it and the warnings (:func:`summary_columns` adds the measured columns)."""
    table = comparison.table
    shares = mark_shares(comparison)
    flips = table["flip"].value_counts()
    row = {
        "comparison": comparison.name,
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
    return {**row, **comparison.extra}


def write(folder: Path, model: ScoringModel, comparison: Comparison, what: str, threshold: float) -> None:
    """``NAME.tsv`` (one header row, then data) with its JSON sidecar ``NAME.json``, ``NAME.bedgraph``
    (delta at each TSS, chromosomes named as the tracks name them) and ``NAME.png``."""
    from chromepredict.results.plots import comparison_figure
    from chromepredict.results.predictions import write_table

    name, table = comparison.name, comparison.table
    write_table(table, folder / f"{name}.tsv", about(model, comparison, what, threshold))
    ordered = table.sort_values(["chrom", "tss"], kind="stable")
    bedgraph = pd.DataFrame(
        {
            "chrom": ordered["chrom"].map(lambda c: comparison.chroms.get(c, c)),
            "start": ordered["tss"] - 1,
            "end": ordered["tss"],
            "delta": ordered["delta"],
        }
    )
    track = f'track type=bedGraph name="{name}" description="chromepredict {model.name}: delta at each TSS"\n'
    (folder / f"{name}.bedgraph").write_text(track + bedgraph.to_csv(sep="\t", index=False, header=False))
    comparison_figure(table, comparison.first, comparison.second, model.target.report, mark_shares(comparison),
                      folder / f"{name}.png", f"{model.name}: {name}")  # fmt: skip


def measured(model: ScoringModel, comparison: Comparison, expressions: dict, report: Report) -> dict:
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
        logged = looks_logged(expression)
        comparison.warnings.extend([*match.warnings, *([logged] if logged else [])])
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
    falling = falling_spearman(measured[known], delta[known])
    if falling is not None:
        comparison.warnings.append(
            f"Spearman {falling:.2f} of delta with the measured change: delta falls where expression rises "
            f"from {comparison.first} to {comparison.second} — are the two samples' expression tables swapped? "
            "check which table each sample names"
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


def extra_marks(
    model: ScoringModel, comparison: Comparison, first: FeatureSet, second: FeatureSet, report: Report
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
