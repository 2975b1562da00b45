"""Training a model of your own on samples with expression tables (needs torch)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from chromepredict.api.models import Model
from chromepredict.api.reporting import run_report
from chromepredict.api.samples import Sample
from chromepredict.io.features import WindowSpec
from chromepredict.io.training_sets import TrainingSet, pairs_training_set, sample_training_sets
from chromepredict.models.onnx_io import load_model
from chromepredict.models.targets import get_target
from chromepredict.models.training import Settings
from chromepredict.results.training import Trained, fit_set
from chromepredict.system.errors import UserError
from chromepredict.system.extras import require_torch
from chromepredict.system.files import atomic_dir, check_output_dir
from chromepredict.system.report import Report


class TrainedModel(Model):
    """A model just trained: scores samples like any :class:`Model` (from its ONNX export, as it will
    be saved) and is written with :meth:`save`. ``trained.card`` holds its held-out scores."""

    def __init__(self, trained: Trained):
        self.trained = trained
        self._folder = tempfile.TemporaryDirectory(prefix="chromepredict-model-")
        trained.write(Path(self._folder.name))
        super().__init__(load_model(Path(self._folder.name) / "model.onnx"))

    def save(self, folder: str | Path) -> Path:
        """The model's folder, as ``chromepredict train -o FOLDER`` writes it (``model.onnx`` with its
        card, ``model.pt``, the training log and learning curve, the test predictions): usable by
        :func:`load_model` and ``chromepredict predict --model FOLDER``."""
        check_output_dir(folder, "train")
        with atomic_dir(folder, "train", list(self.card.training_data.warnings)) as tmp:
            for file in Path(self._folder.name).iterdir():
                shutil.copy2(file, tmp / file.name)
        return Path(folder)


def fit(training: TrainingSet, name: str, settings: Settings, report: Report, genome_build: str | None = None,
        warnings: list[str] | None = None) -> Trained:  # fmt: skip
    """One model on one training set: what ``chromepredict train`` fits for each of its sets."""
    return fit_set(training, name, settings, report, genome_build, warnings)


def train(
    samples: Sample | Sequence[Sample] | None = None,
    *,
    target: str = "class",
    pairs: Sequence[tuple[Sample, Sample]] | None = None,
    name: str = "model",
    architecture: str = "deepchrome",
    seed: int = 0,
    split_seed: int = 0,
    device: str = "auto",
    transform: str | None = None,
    max_epochs: int | None = None,
    members: int | None = None,
    window: WindowSpec = WindowSpec(),
    genome_build: str | None = None,
    strict: bool = False,
) -> TrainedModel:
    """Train a model on samples with expression tables (needs torch: ``pip install
    'chromepredict[train]'``), split 70/15/15 % by whole chromosome.

    ``samples``: one :class:`Sample` (its ``expression`` set), or several — pooled into one
    cross-sample model. ``target``: ``class`` (high/low by the median rule), ``level``
    (log2(1 + expression)) or ``difference`` (the change between the two samples of each of
    ``pairs``). The recipe, seeds, device (``auto``: CUDA when present) and window are those of
    ``chromepredict train``. Returns a :class:`TrainedModel`: score samples with ``.predict``,
    write it with ``.save(folder)``.

    >>> trained = cp.train(sample, target="level", max_epochs=20)   # doctest: +SKIP
    >>> trained.card.metrics.held_out["test"]                        # doctest: +SKIP
    >>> trained.save("my_model")                                     # doctest: +SKIP
    """
    require_torch("train")
    report = run_report(strict)
    kind = get_target(target)
    settings = Settings(architecture, target, seed, device, transform, max_epochs, members).check()
    if kind.fit.pairs:
        if not pairs or samples is not None:
            raise UserError(
                f"target {target!r} learns from pairs of samples: give pairs=[(A, B), …] and no samples"
            )
        everyone = {s.name: s for pair in pairs for s in pair}
        gtf = next(iter(everyone.values())).gtf

        def read(sample_name: str):
            from chromepredict.io.training_sets import fully_measured

            return fully_measured(everyone[sample_name].inputs.read(window, report=report))

        tables = {n: s.expression for n, s in everyone.items()}
        sets = pairs_training_set(
            report, [(a.name, b.name) for a, b in pairs], tables, gtf, read, split_seed, "pairs"
        )
    else:
        if pairs:
            raise UserError(
                f"pairs are for target 'difference' (a change between two samples); {target!r} learns from one"
            )
        if samples is None:
            raise UserError("give the samples to train on (with their expression tables)")
        group = [samples] if isinstance(samples, Sample) else list(samples)
        entries = {s.name: (s.inputs, s.expression) for s in group}
        sets = sample_training_sets(report, entries, split_seed, len(group) > 1, window, "the samples")
    (training,) = sets.values()
    provenance = training.data_provenance  # high/low by the table's median, or its levels
    for caveat in provenance.level_caveats if kind.levels else provenance.median_caveats:
        report.warn(caveat)
    report.info(f"training on {settings.device}")
    return TrainedModel(fit(training, name, settings, report, genome_build, list(report.warnings)))
