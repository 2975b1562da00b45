"""The compatibility gate between an input and a model, checked from the model's card.

Tracks cross it in one call, :func:`read`: :func:`choose_marks` decides, before any track is read,
which marks the model uses, which it ignores and whether it can score the subset given; the
tracks of those marks are read in the model's window; :func:`admit` then checks the features
(window, orientation, strands, assembly, and tracks unlike the training data). Features that are
read whole (a DeepChrome CSV) go through :func:`admit` alone.
Hard mismatches are a UserError; a result that is probably wrong is a warning on the input's
provenance, which the CLI always prints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chromepredict.io.assembly import SPECIES, canonical_build
from chromepredict.io.expression import Expression
from chromepredict.io.features import FeatureSet, Paired
from chromepredict.io.labelling import with_expression
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.sources import TrackInputs
from chromepredict.models.card import MarkRange
from chromepredict.models.protocols import ScoringModel
from chromepredict.models.transform import InputTransform
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

SUBSET_SEPARATOR = "+"


def subset_key(marks) -> str:
    """The card's key for a subset of marks (in the model's order)."""
    return SUBSET_SEPARATOR.join(marks)


def choose_marks(model: ScoringModel, available: list[str], source: str) -> tuple[list[str], list[str]]:
    """(the model's marks present in ``available``, in card order; notes for the user).

    Missing marks are an error for a model that needs all of them, and a mark beyond the five core
    ones that a model was trained on (e.g. ``H3K27ac``) is always required: the user chose to train
    on it. Otherwise a model that scores subsets of its core marks gets a warning from :func:`admit`.
    """
    used = [m for m in model.marks if m in available]
    missing = [m for m in model.marks if m not in available]
    required = [m for m in missing if m not in CORE_MARKS]
    if required:
        raise UserError(
            f"{source}: model {model.name} was trained with {', '.join(required)}, which is not given; "
            f"add its track (--mark {required[0]}=PATH), or use a model trained without it"
        )
    extra = [m for m in available if m not in model.marks]
    notes = []
    if extra:
        notes.append(f"model {model.name} does not use {', '.join(extra)}: ignored")
    if not used:
        raise UserError(
            f"{source}: none of model {model.name}'s marks ({', '.join(model.marks)}) is given; "
            "add their tracks or train a model on the marks you have (chromepredict train)"
        )
    if missing and not model.mark_subsets:
        raise UserError(
            f"{source}: model {model.name} needs {', '.join(model.marks)}; missing {', '.join(missing)}: "
            "add the track(s) (--mark MARK=PATH), or train a model on the marks you have (chromepredict train)"
        )
    return used, notes


def subset_quality(model: ScoringModel, used: list[str]) -> str:
    """The card's cross-validated score for this subset of marks and for all of them, as a phrase."""
    subsets = model.card.metrics.subsets
    scores, full = subsets.get(subset_key(used)), subsets.get(subset_key(model.marks))
    if not scores:
        return "no cross-validated score for this subset on the card"
    metric = model.target.metric_name
    text = f"held-out {metric} for this subset: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
    if full:
        text += " (all marks: " + ", ".join(f"{k} {v:.3f}" for k, v in full.items()) + ")"
    return text


def read(
    model: ScoringModel,
    inputs: TrackInputs,
    report: Report,
    source: str | None = None,
    expression: Expression | None = None,
) -> FeatureSet:
    """Tracks to a model, in one crossing: the model's marks among ``inputs`` (a note on ``report``
    for those it does not use), read in its window, labelled with ``expression`` when given (the
    genes with a value), then admitted (:func:`admit`); ``source`` names the input in errors
    (default: the GTF)."""
    used, notes = choose_marks(model, list(inputs.files), source or "tracks")
    for note in notes:
        report.info(note)
    data = inputs.read(model.spec, used, report)
    if expression is not None:
        data = with_expression(data, expression)
        if not model.target.levels:  # high/low by the table's median
            data.provenance.warnings.extend(data.provenance.median_caveats)
    return _admitted(model, data, source or str(inputs.gtf), used)


def admit(model: ScoringModel, data: FeatureSet, source: str) -> FeatureSet:
    """Features read whole (a DeepChrome CSV) as the model needs them: marks in card order, window
    checked, windows oriented."""
    used, _ = choose_marks(model, list(data.marks), source)
    return _admitted(model, data, source, used)


def _admitted(model: ScoringModel, data: FeatureSet, source: str, used: list[str]) -> FeatureSet:
    data = data.select_marks(tuple(used))
    if len(used) < len(model.marks):
        missing = [m for m in model.marks if m not in used]
        data.provenance.warnings.append(
            f"scoring from {len(used)} of {len(model.marks)} marks ({', '.join(used)}; no {', '.join(missing)}); "
            + subset_quality(model, used)
        )
    want, have = model.spec, data.spec
    if (want.flank, want.bin_size, want.n_bins) != (have.flank, have.bin_size, have.n_bins):
        raise UserError(
            f"{source}: windows of TSS ± {have.flank} bp in {have.bin_size} bp bins ({have.n_bins} bins), but "
            f"model {model.name} was trained on TSS ± {want.flank} bp in {want.bin_size} bp bins ({want.n_bins} bins); "
            "use a model trained on this window"
        )
    if data.present is not None and not model.mark_subsets:
        whole = np.all(data.present, axis=1)
        data.provenance.warnings.append(
            f"{int((~whole).sum())} genes left out: model {model.name} needs every mark, and some tracks hold "
            "no data on their chromosomes"
        )
        data = data.subset(whole)
    if want.orientation != have.orientation:
        if not data.provenance.strands_known:
            raise UserError(
                f"{source}: windows are in genomic order with no strand, but model {model.name} reads them "
                "5′→3′; give the GTF the genes come from (--gtf) so minus-strand windows can be reversed"
            )
        data = data.reoriented(want.orientation)
    _check_assembly(model, data)
    _check_signal(model, data)
    return data


def _check_assembly(model: ScoringModel, data: FeatureSet) -> None:
    assembly = data.provenance.assembly
    builds = {build for b in model.card.genome_builds if (build := canonical_build(b)) is not None}
    if assembly is None or not builds or assembly in builds:
        return
    same_species = {SPECIES[b] for b in builds} == {SPECIES[assembly]}
    reason = (
        "windows are TSS-relative, so this only matters if the GTF is of another build"
        if same_species
        else "another species: predictions may be off"
    )
    data.provenance.warnings.append(
        f"tracks are {assembly} but model {model.name} was trained on {', '.join(sorted(builds))} tracks ({reason})"
    )


#: The window checks (empty bins, typical window signal) run on at least this many genes' windows;
#: with fewer, a typical window is not a property of the track, and only its profile is compared.
WINDOW_CHECK_GENES = 100


def _check_signal(model: ScoringModel, data: FeatureSet) -> None:
    """Warn, naming the marks, when tracks look unlike everything the model was trained on."""
    seen = model.card.training_profile
    transform = model.transform.select([model.marks.index(m) for m in data.marks])
    differences = []
    for m, mark in enumerate(data.marks):
        profile, trained = data.profiles.get(mark), seen.get(mark)
        if profile is None or not trained:
            continue
        what = []
        if profile.kind not in trained.kinds:
            what.append(f"a {profile.kind} track (trained on {', '.join(trained.kinds)})")
        low, high = trained.resolution
        if profile.resolution > 2 * high or 2 * profile.resolution < low:
            what.append(f"{profile.resolution} bp resolution (trained on {low}–{high} bp)")
        measured = data.measured[:, m]
        if measured.sum() >= WINDOW_CHECK_GENES:  # a typical window needs many genes' windows
            empty = float((data.features[measured, m] == 0).mean())
            if empty > trained.empty_bins[1] + 0.1:
                what.append(f"{empty:.0%} empty bins (trained on at most {trained.empty_bins[1]:.0%})")
            levels = transform.window_levels(data.features[:, [m]], data.scales[..., [m]])
            level = float(np.median(levels[measured]))
            q_low, q_high = trained.window_mean
            if not q_low <= level <= q_high:
                what.append(
                    f"typical window signal {level:.3g} outside the training range {q_low:.3g}–{q_high:.3g}"
                )
        if what:
            differences.append(f"{mark}: {', '.join(what)}")
    if differences:
        data.provenance.warnings.append(
            f"tracks unlike model {model.name}'s training data ({'; '.join(differences)}); predictions may "
            "be off: with an expression table for these tracks, train a model on them (chromepredict train)"
        )


def training_profile(parts: Sequence[FeatureSet | Paired], transform: InputTransform) -> dict[str, MarkRange]:
    """What training saw, per mark, for the card (compared by :func:`_check_signal` at prediction):
    signal kinds, resolution range, the range of per-track empty-bin shares and of the median
    window signal after the transform's log (with a margin of half a unit)."""
    samples = [sample for part in parts for sample in part.samples()]  # a pooled set: each of its samples
    profile = {}
    for m, mark in enumerate(samples[0].marks):
        kinds: set[str] = set()
        resolutions: list[int] = []
        empty: list[float] = []
        level: list[float] = []
        for sample in samples:
            track = sample.profiles.get(mark)
            if track is not None:
                kinds.add(track.kind)
                resolutions.append(track.resolution)
            empty.append(float((sample.features[:, m] == 0).mean()))
            logged = transform.logged(sample.features[:, [m]], sample.scales[..., [m]])
            level.append(float(np.median(logged.mean(axis=(1, 2)))))
        profile[mark] = MarkRange(
            kinds=tuple(sorted(kinds)),
            resolution=(min(resolutions, default=0), max(resolutions, default=0)),
            empty_bins=(round(min(empty), 4), round(max(empty), 4)),
            window_mean=(round(min(level) - 0.5, 4), round(max(level) + 0.5, 4)),
        )
    return profile
