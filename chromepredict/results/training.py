"""One model trained on one training set (:func:`fit_set`): the fitted ensemble, its card, its
training log and test predictions — written as a model folder by :meth:`Trained.write`
(``model.onnx`` + ``model.card.json``, ``model.pt``, ``training_log.tsv``, ``learning_curve.png``,
``test_predictions.tsv``)."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet, Paired
from chromepredict.io.training_sets import TrainingSet
from chromepredict.models import gate
from chromepredict.models.card import Metrics, ModelCard, TrainingData, build_card, write_card
from chromepredict.models.metrics import gene_table
from chromepredict.models.targets import get_target
from chromepredict.models.training import Settings, TrainedModel
from chromepredict.system.report import Report


def subset_scores(model: TrainedModel, data: FeatureSet | Paired, name: str) -> dict[str, dict[str, float]]:
    """Score of ``data`` with every non-empty subset of the marks hidden from the network but those."""
    truth = model.target.truth(data)
    scores = {}
    for size in range(1, len(data.marks) + 1):
        for subset in itertools.combinations(data.marks, size):
            present = np.array([m in subset for m in data.marks])
            scores[gate.subset_key(subset)] = {
                name: round(model.target.score(truth, model.predict(data, present)), 4)
            }
    return scores


@dataclass
class Trained:
    """A fitted model with its (unsealed) card, the run's settings and its test predictions."""

    model: TrainedModel
    card: ModelCard
    settings: Settings
    test: pd.DataFrame | None  # the test genes' predictions and truth, when there was a test split
    shape: tuple[int, int]  # marks, bins of the network's input

    def write(self, folder: Path) -> ModelCard:
        """The model folder: ``model.onnx`` with its sealed card, ``model.pt`` (torch weights), the
        training log and learning curve, and the test predictions; returns the sealed card."""
        import torch

        from chromepredict.models.onnx_io import export_onnx
        from chromepredict.results.plots import learning_curve

        model, settings = self.model, self.settings
        export_onnx(model.ensemble, *self.shape, folder / "model.onnx")
        torch.save(
            {"state_dict": model.ensemble.state_dict(), "card": asdict(self.card.inputs)}, folder / "model.pt"
        )
        pd.DataFrame([asdict(e) for e in model.log]).to_csv(
            folder / "training_log.tsv", sep="\t", index=False, float_format="%.6f"
        )
        learning_curve(
            model.log, folder / "learning_curve.png", f"{self.card.name}: {settings.architecture}, seed {settings.seed}",
            model.best_epochs, model.target.metric_name, model.recipe.select_by,
        )  # fmt: skip
        if self.test is not None:
            self.test.to_csv(folder / "test_predictions.tsv", sep="\t", index=False)
        return write_card(folder / "model.onnx", self.card)


def fit_set(
    training: TrainingSet,
    name: str,
    settings: Settings,
    report: Report,
    genome_build: str | None = None,
    warnings: list[str] | None = None,
) -> Trained:
    """Fit one model on a training set; its card records ``warnings`` (what the run warned about this
    set's data) and the held-out scores, per split and per subset of marks."""
    from chromepredict.models.training import get_recipe, training_arrays

    splits, target = training.splits, get_target(settings.target)
    caveat = target.log_caveat(splits["train"])
    if caveat:  # named by the set, so that only this set's card keeps it
        report.warn(f"{name}: {caveat}")
        warnings = [*(warnings or []), f"{name}: {caveat}"]
    arrays = {k: training_arrays(v) for k, v in splits.items()}
    recipe = get_recipe(settings.architecture)
    epochs = (settings.max_epochs or recipe.max_epochs) * (settings.members or recipe.members)
    with report.progress(f"{name}: epochs", epochs) as advance:
        model = settings.fit(
            arrays["train"],
            arrays["valid"],
            lambda entry: advance(1, f"{name}: network {entry.member}, valid {entry.valid_score:.3f}"),
        )
    truth = {k: target.truth(v) for k, v in splits.items()}
    predicted = {k: model.predict(v) for k, v in splits.items() if k != "train"}
    held_out = "test" if "test" in splits else "valid"
    subsets = subset_scores(model, splits[held_out], held_out) if model.ensemble.members[0].masked else {}
    train = splits["train"]
    used = pd.concat([splits[s].genes for s in ("train", "valid") if s in splits])
    card = build_card(
        model,
        train,
        name=name,
        training_profile=gate.training_profile([train], model.transform),
        training_data=TrainingData(
            source=training.description,
            gene_ids=tuple(sorted(used["gene_id"].unique().tolist())),
            gene_names=tuple(sorted(used["gene_name"].astype(str).unique().tolist())),
            labels=train.provenance.labels_from,
            split=training.split,
            splits={k: {"genes": len(v.genes)} for k, v in splits.items()},
            warnings=tuple(warnings or ()),
        ),
        metrics=Metrics(
            held_out={k: target.metrics(truth[k], predicted[k]) for k in predicted}, subsets=subsets
        ),
        genome_builds=[genome_build or train.provenance.assembly],
        level_units=train.provenance.units,
        pairs=training.pairs,
        seed=settings.seed,
    )
    test = (
        gene_table(splits["test"].genes, predicted["test"], truth["test"], target)
        if "test" in splits
        else None
    )
    return Trained(model, card, settings, test, tuple(train.features.shape[1:]))
