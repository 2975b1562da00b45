"""``chromepredict train``: fit models on tracks + expression, a CSV folder or every REMC cell type."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import gate
from chromepredict.card import TARGETS
from chromepredict.errors import UserError
from chromepredict.evaluation import gene_table, metrics, regression_metrics
from chromepredict.features import FeatureSet
from chromepredict.files import atomic_dir, check_output_dir
from chromepredict.report import Report
from chromepredict.sources import TrainingSet


def require_torch(command: str) -> None:
    """Say up front, in one line, when the ``train`` extra is missing."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise UserError(f"{command} needs torch and onnx: pip install 'chromepredict[train]'") from None


@dataclass(frozen=True)
class Settings:
    """How ``train`` fits: the recipe by name and the choices that override it."""

    architecture: str = "deepchrome"
    target: str = "class"
    seed: int = 0
    device: str = "auto"
    transform: str | None = None
    max_epochs: int | None = None
    members: int | None = None

    def check(self) -> Settings:
        """Fail fast on an unknown recipe, target or device; returns the settings with the device resolved."""
        from chromepredict.training import get_recipe, resolve_device

        get_recipe(self.architecture)
        if self.target not in TARGETS:
            raise UserError(f"--target {self.target!r} is unknown; use class or level")
        return replace(self, device=resolve_device(self.device))

    def fit(self, train, valid, on_epoch=None):
        from chromepredict.training import fit

        return fit(
            train, valid, self.architecture, self.target, self.seed, self.device, self.max_epochs,
            on_epoch=on_epoch, transform=self.transform, members=self.members,
        )  # fmt: skip


def evaluate_split(target: str, truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Metrics of one split: ROC/PR AUC and accuracy (class) or Spearman, Pearson, R² (level)."""
    return metrics(truth, predicted) if target == "class" else regression_metrics(truth, predicted)


def subset_scores(model, data: FeatureSet, name: str) -> dict[str, dict[str, float]]:
    """Score of ``data`` with every non-empty subset of the marks hidden from the network but those."""
    from chromepredict.training import score

    truth = data.labels if model.target == "class" else data.levels
    scores = {}
    for size in range(1, len(data.marks) + 1):
        for subset in itertools.combinations(data.marks, size):
            present = np.array([m in subset for m in data.marks])
            scores[gate.subset_key(subset)] = {
                name: round(score(model.target, truth, model.predict(data, present)), 4)
            }
    return scores


def model_card(
    model, splits: dict[str, FeatureSet], training: TrainingSet, name: str, scores: dict, extra: dict
) -> dict:
    """Everything the card says besides the sealing: inputs, recipe, data, metrics, training profile."""
    from chromepredict.onnx_io import input_card

    train = splits["train"]
    used = pd.concat([splits[s].genes["gene_id"] for s in ("train", "valid") if s in splits])
    return {
        "name": name,
        **input_card(train, model.transform, model.target, model.ensemble.members[0].masked),
        "architecture": model.architecture,
        "recipe": model.recipe_dict(),
        "ensemble_members": len(model.best_epochs),
        "best_epochs": model.best_epochs,
        "training_device": model.trained_on,
        "genome_build": extra.get("genome_build") or train.provenance.assembly,
        "training_profile": gate.training_profile([train], model.transform),
        "training_data": {
            "source": training.description,
            "split": training.split,
            "labels": train.provenance.labels_from,
            "splits": {k: {"genes": len(v.genes)} for k, v in splits.items()},
            "gene_ids": sorted(used.unique().tolist()),
        },
        "metrics": scores,
        **(
            {
                "level_scale": {"mean": model.ensemble.level_mean, "sd": model.ensemble.level_sd},
                "level_units": train.provenance.units or "expression",
            }
            if model.target == "level"
            else {}
        ),
        **{k: v for k, v in extra.items() if k != "genome_build" and v is not None},
    }


def train_one(
    training: TrainingSet, folder: Path, name: str, settings: Settings, report: Report, extra: dict
) -> dict:
    """Fit one model on a training set and write its folder; returns the card."""
    import torch

    from chromepredict.onnx_io import export_onnx, write_card
    from chromepredict.plots import learning_curve
    from chromepredict.training import TrainingArrays, get_recipe

    splits, target = training.splits, settings.target
    arrays = {k: TrainingArrays.stack([v]) for k, v in splits.items()}
    recipe = get_recipe(settings.architecture)
    epochs = (settings.max_epochs or recipe.max_epochs) * (settings.members or recipe.members)
    with report.progress(f"{name}: epochs", epochs) as advance:
        model = settings.fit(
            arrays["train"],
            arrays["valid"],
            lambda entry: advance(1, f"{name}: network {entry.member}, valid {entry.valid_score:.3f}"),
        )
    truth = {k: (v.labels if target == "class" else v.levels) for k, v in splits.items()}
    predicted = {k: model.predict(v) for k, v in splits.items() if k != "train"}
    scores = {k: evaluate_split(target, truth[k], predicted[k]) for k in predicted}
    held_out = "test" if "test" in splits else "valid"
    if model.ensemble.members[0].masked:
        scores["subsets"] = subset_scores(model, splits[held_out], held_out)
    card = model_card(model, splits, training, name, scores, extra)
    n_marks, n_bins = splits["train"].features.shape[1:]
    export_onnx(model.ensemble, n_marks, n_bins, folder / "model.onnx")
    torch.save({"state_dict": model.ensemble.state_dict(), "card": card["inputs"]}, folder / "model.pt")
    pd.DataFrame([asdict(e) for e in model.log]).to_csv(
        folder / "training_log.tsv", sep="\t", index=False, float_format="%.6f"
    )
    metric = "ROC AUC" if target == "class" else "Spearman"
    learning_curve(
        model.log,
        folder / "learning_curve.png",
        f"{name}: {settings.architecture}, seed {settings.seed}",
        model.best_epochs,
        metric,
    )
    if "test" in splits:
        table = gene_table(splits["test"].genes, predicted["test"], truth["test"], target)
        table.to_csv(folder / "test_predictions.tsv", sep="\t", index=False)
    return write_card(folder / "model.onnx", card)


def run(
    report: Report, sets_of, output: str, settings: Settings, name: str | None, extra: dict
) -> list[dict]:
    """Train every training set ``sets_of()`` gives into ``output`` (one subfolder each when several).

    The output folder is complete or absent: an interrupted run leaves nothing behind.
    """
    require_torch("train")
    settings = settings.check()
    check_output_dir(output)
    sets: dict[str, TrainingSet] = sets_of()
    report.info(f"training on {settings.device}")
    summary = []
    with atomic_dir(output) as tmp:
        for key, training in sets.items():
            several = len(sets) > 1
            label = key if several else (name or Path(output).name)
            folder = tmp / key if several else tmp
            folder.mkdir(exist_ok=True)
            sizes = ", ".join(f"{k} {len(v.genes)}" for k, v in training.splits.items())
            report.info(f"{label}: {sizes} genes; split {training.split}")
            card = train_one(training, folder, label, settings, report, extra)
            metric = "roc_auc" if settings.target == "class" else "spearman"
            row = {
                "name": label,
                **{
                    f"{split}_{metric}": card["metrics"][split][metric]
                    for split in ("valid", "test")
                    if split in card["metrics"]
                },
            }
            summary.append(row)
            scores = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "name")
            report.info(f"{label}: {scores} → {Path(output) / key if several else output}")
        if len(sets) > 1:
            pd.DataFrame(summary).to_csv(tmp / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    return summary
