"""Fit loop: recipes, seeds, device choice, seed ensembles, early stopping on the validation score.

A model is an ensemble of networks that differ only in their seed, averaged inside one ONNX
graph, so that no single seed decides a call. Inputs are transformed in torch from the raw
windows and each track's scale, which lets training hide marks (mark dropout: the network learns
to score any subset of its marks) and, as an option measured in docs/benchmarks.md and not used
by default, jitter the scales.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace

import numpy as np

from chromepredict.card import TARGETS
from chromepredict.errors import UserError
from chromepredict.evaluation import roc_auc
from chromepredict.features import FeatureSet
from chromepredict.transform import InputTransform


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: network, input transform, optimiser, stopping rule, ensemble."""

    network: str  # "masked" (any subset of marks) or "deepchrome" (as published)
    transform: str
    optimizer: str
    lr: float
    batch_size: int
    weight_decay: float
    max_epochs: int
    patience: int
    members: int = 1  # networks averaged, seeds seed·100 + k
    mark_dropout: float = 0.0  # chance that a training window sees only a random subset of its marks
    scale_jitter: float = 0.0  # scales multiplied by exp(U(−j, j)) per window and mark in training
    hidden: int = 64
    dropout: float = 0.5
    level_weight: float = 0.0  # class models: weight of the auxiliary level regression in the loss
    # each network's epoch: lowest validation log "loss" or best "score" (AUC); level networks
    # always take their best "score" (Spearman), which measured better for them than the squared error
    select_by: str = "score"


#: ``deepchrome-2016`` is the published recipe; ``deepchrome`` (the default) the one measured best
#: in docs/benchmarks.md.
RECIPES = {
    "deepchrome": Recipe(
        "masked", "track-log1p", "adam", 1e-3, 32, 1e-4, max_epochs=60, patience=10,
        members=5, mark_dropout=0.3, level_weight=1.0, select_by="loss",
    ),
    "deepchrome-2016": Recipe("deepchrome", "raw", "sgd", 1e-3, 1, 0.0, max_epochs=50, patience=50),
}  # fmt: skip


def get_recipe(architecture: str) -> Recipe:
    """The recipe named by ``--architecture``; an unknown name is a UserError."""
    if architecture not in RECIPES:
        raise UserError(f"--architecture {architecture!r} is unknown; use one of {', '.join(RECIPES)}")
    return RECIPES[architecture]


def resolve_device(device: str) -> str:
    """``auto`` → CUDA when available, else CPU; asking for CUDA without one is a UserError."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {device!r} is unknown; use auto, cpu or cuda")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available; use --device cpu or auto")
    return device


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread inside the block: the same seed gives the same bytes, and the same model
    the same predictions, whatever the machine's core count (and these small networks barely slow)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    """Same seed, same device, same thread count → same model."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@dataclass
class TrainingArrays:
    """Raw windows with each window's track scales and targets, pooled from one or more feature sets."""

    features: np.ndarray  # [genes, marks, bins], raw signal
    scales: np.ndarray  # [genes, marks]
    labels: np.ndarray | None
    levels: np.ndarray | None

    @classmethod
    def stack(cls, parts: list[FeatureSet]) -> TrainingArrays:
        marks = parts[0].marks
        if any(p.marks != marks for p in parts):
            raise ValueError("pooled feature sets must share their marks")
        return cls(
            features=np.concatenate([p.features for p in parts]),
            scales=np.concatenate([np.broadcast_to(p.scales, (len(p.genes), len(marks))) for p in parts]),
            labels=None if parts[0].labels is None else np.concatenate([p.labels for p in parts]),
            levels=None if parts[0].levels is None else np.concatenate([p.levels for p in parts]),
        )

    def target(self, kind: str) -> np.ndarray:
        values = self.labels if kind == "class" else self.levels
        if values is None:
            raise UserError("training needs expression values for every gene; give --expression")
        return values


def _loss(kind: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    """Validation loss: log loss of P(high) (class) or mean squared error (level, standardised)."""
    if kind == "class":
        p = np.clip(predicted, 1e-6, 1 - 1e-6)
        return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))
    return float(np.mean((predicted - truth) ** 2))


def score(kind: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    """The validation score: ROC AUC (class) or Spearman correlation (level)."""
    if kind == "class":
        return roc_auc(truth, predicted)
    from scipy.stats import spearmanr

    return float(spearmanr(truth, predicted).statistic) if len(truth) > 2 else float("nan")


@dataclass
class EpochLog:
    member: int
    epoch: int
    loss: float
    train_score: float
    valid_score: float
    valid_loss: float = float("nan")


@dataclass
class TrainedModel:
    """A fitted ensemble with its transform, recipe and per-member epoch logs."""

    ensemble: object  # chromepredict.model.Ensemble (torch), untyped so this imports without torch
    transform: InputTransform
    architecture: str
    recipe: Recipe
    target: str
    log: list[EpochLog]
    best_epochs: list[int]
    trained_on: str

    def predict(
        self, data: FeatureSet, present: np.ndarray | None = None, batch_size: int = 2048
    ) -> np.ndarray:
        """P(high) or level per gene in torch on the CPU; ``present`` (bool per mark) hides the others."""
        import torch

        x = torch.from_numpy(self.transform.apply(data.features, data.scales))
        mask = (
            torch.ones(x.shape[:2])
            if present is None
            else torch.from_numpy(np.tile(present, (len(x), 1)).astype(np.float32))
        )
        self.ensemble.eval()
        out = []
        with torch.no_grad(), one_torch_thread():
            for start in range(0, len(x), batch_size):
                result = self.ensemble(x[start : start + batch_size], mask[start : start + batch_size])
                out.append((result[:, 1] if self.target == "class" else result[:, 0]).numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def recipe_dict(self) -> dict:
        return asdict(self.recipe)


def _network(recipe: Recipe, n_marks: int, n_bins: int, target: str):
    from chromepredict.model import DeepChrome, MaskedChrome

    if recipe.network == "deepchrome":
        if target != "class":
            raise UserError(
                "--architecture deepchrome-2016 is a classifier; use --architecture deepchrome for --target level"
            )
        return DeepChrome(n_marks, n_bins)
    aux = target == "class" and recipe.level_weight > 0
    return MaskedChrome(
        n_marks, n_bins, hidden=recipe.hidden, dropout=recipe.dropout, target=target, aux_level=aux
    )


def subset_masks(shape: tuple[int, int], chance: float, generator=None):
    """Presence masks [windows, marks]: with probability ``chance`` a window keeps a random proper
    subset of its marks, of a size drawn uniformly from 1 to marks − 1 (so that every subset size,
    down to single marks, is trained as often); otherwise all marks."""
    import torch

    n, marks = shape
    size = torch.randint(1, marks, (n,), generator=generator)  # marks kept, when hiding
    rank = torch.rand(n, marks, generator=generator).argsort(dim=1).argsort(dim=1)  # a random order
    hiding = torch.rand(n, generator=generator) < chance
    return torch.where(hiding[:, None], rank < size[:, None], torch.ones(n, marks, dtype=torch.bool)).float()


class _Inputs:
    """The transform in torch, with scale jitter and mark dropout for training batches."""

    def __init__(self, arrays: TrainingArrays, transform: InputTransform, device: str):
        import torch

        self.torch = torch
        self.x = torch.from_numpy(np.clip(arrays.features, 0, None).astype(np.float32)).to(device)
        self.s = torch.from_numpy(arrays.scales.astype(np.float32)).to(device)
        self.kind = transform.kind
        if self.kind != "raw":
            self.mean = torch.tensor(transform.log_mean, dtype=torch.float32, device=device)[None, :, None]
            self.sd = torch.tensor(transform.log_sd, dtype=torch.float32, device=device)[None, :, None]

    def batch(self, idx, generator=None, recipe: Recipe | None = None):
        torch = self.torch
        x, s = self.x[idx], self.s[idx]
        mask = torch.ones(x.shape[:2], device=x.device)
        if self.kind == "raw":
            return x, mask
        if recipe is not None and recipe.scale_jitter:
            jitter = (torch.rand(s.shape, generator=generator) * 2 - 1) * recipe.scale_jitter
            s = s * torch.exp(jitter.to(x.device))
        logged = torch.log1p(x / s[:, :, None]) if self.kind == "track-log1p" else torch.log1p(x)
        inputs = (logged - self.mean) / self.sd
        if recipe is not None and recipe.mark_dropout:
            mask = subset_masks(mask.shape, recipe.mark_dropout, generator).to(x.device)
        return inputs, mask


def _predict(
    net, inputs: _Inputs, target: str, rows: np.ndarray | None = None, batch_size: int = 4096
) -> np.ndarray:
    """The network's output for ``rows`` (default: all) of ``inputs``, no augmentation."""
    import torch

    rows = np.arange(len(inputs.x)) if rows is None else rows
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            x, mask = inputs.batch(torch.from_numpy(rows[start : start + batch_size]))
            result = net(x, mask)
            out.append(
                (torch.softmax(result[:, :2], 1)[:, 1] if target == "class" else result[:, 0]).cpu().numpy()
            )
    return np.concatenate(out)


def fit(
    train: TrainingArrays,
    valid: TrainingArrays | None,
    architecture: str = "deepchrome",
    target: str = "class",
    seed: int = 0,
    device: str = "auto",
    max_epochs: int | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    transform: str | None = None,
    members: int | None = None,
) -> TrainedModel:
    """Train the recipe's ensemble; each member keeps its epoch with the best validation criterion
    (class models: the recipe's ``select_by``, lowest log loss or highest AUC; level: Spearman).

    Without ``valid``, each member trains exactly ``max_epochs`` epochs (a final model whose epoch
    count was chosen by cross-validation). ``transform`` and ``members`` override the recipe's.
    """

    recipe = get_recipe(architecture)
    recipe = replace(
        recipe,
        transform=transform or recipe.transform,
        members=members or recipe.members,
        max_epochs=max_epochs or recipe.max_epochs,
        select_by="score" if target == "level" else recipe.select_by,
    )  # the card records the recipe as run
    if target not in TARGETS:
        raise UserError(f"--target {target!r} is unknown; use class or level")
    if valid is None and max_epochs is None:
        raise ValueError("without validation genes, give max_epochs")
    y_train = train.target(target)
    y_valid = None if valid is None else valid.target(target)
    for name, values in (("training", y_train), ("validation", y_valid)):
        if values is not None and target == "class" and len(np.unique(values)) < 2:
            raise UserError(
                f"the {name} genes need both high and low labels; give more genes or another split"
            )
    device = resolve_device(device)
    with one_torch_thread():
        return _fit(train, valid, architecture, recipe, target, seed, device, on_epoch)


def _fit(train, valid, architecture, recipe, target, seed, device, on_epoch) -> TrainedModel:
    """:func:`fit` once its arguments are checked."""
    import torch

    from chromepredict.model import Ensemble

    y_train = train.target(target)
    y_valid = None if valid is None else valid.target(target)
    fitted = InputTransform(recipe.transform).fit([(train.features, train.scales)])
    inputs = _Inputs(train, fitted, device)
    valid_inputs = None if valid is None else _Inputs(valid, fitted, device)
    y = torch.from_numpy(y_train.astype(np.int64 if target == "class" else np.float32)).to(device)
    levels = train.levels if target == "level" else (train.levels if recipe.level_weight > 0 else None)
    level_mean, level_sd = (
        (0.0, 1.0) if levels is None else (float(levels.mean()), float(levels.std() or 1.0))
    )
    z_level = (
        None
        if levels is None
        else torch.from_numpy(((levels - level_mean) / level_sd).astype(np.float32)).to(device)
    )
    loss_fn = torch.nn.CrossEntropyLoss() if target == "class" else torch.nn.MSELoss()
    n_marks, n_bins = train.features.shape[1:]
    # the training score each epoch is taken on at most 2,000 windows (a fixed, seeded sample)
    monitor = np.sort(np.random.default_rng(seed).permutation(len(y_train))[:2000])
    nets, log, best_epochs = [], [], []
    for member in range(recipe.members):
        member_seed = seed * 100 + member
        seed_everything(member_seed)
        net = _network(recipe, n_marks, n_bins, target).to(device)
        optimizer_type = torch.optim.Adam if recipe.optimizer == "adam" else torch.optim.SGD
        optimizer = optimizer_type(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        generator = torch.Generator().manual_seed(member_seed)
        best_state, best_score, best_epoch = None, -np.inf, 0
        for epoch in range(1, recipe.max_epochs + 1):
            net.train()
            order = torch.randperm(len(y), generator=generator)
            total = 0.0
            for start in range(0, len(order), recipe.batch_size):
                idx = order[start : start + recipe.batch_size].to(device)
                x, mask = inputs.batch(idx, generator, recipe)
                output = net(x, mask)
                if target == "level":
                    loss = loss_fn(output[:, 0], z_level[idx])
                else:
                    loss = loss_fn(output[:, :2], y[idx])
                    if z_level is not None and output.shape[1] == 3:
                        loss = loss + recipe.level_weight * torch.nn.functional.mse_loss(
                            output[:, 2], z_level[idx]
                        )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            train_score = score(target, y_train[monitor], _predict(net, inputs, target, monitor))
            valid_score, valid_loss = np.nan, np.nan
            if valid is not None:
                predicted = _predict(net, valid_inputs, target)
                valid_score = score(target, y_valid, predicted)
                truth = y_valid if target == "class" else (y_valid - level_mean) / level_sd  # standardised
                valid_loss = _loss(target, truth, predicted)
            criterion = -valid_loss if recipe.select_by == "loss" else valid_score
            log.append(EpochLog(member + 1, epoch, total / len(order), train_score, valid_score, valid_loss))
            if on_epoch is not None:
                on_epoch(log[-1])
            if valid is None or criterion > best_score:
                best_state, best_score, best_epoch = copy.deepcopy(net.state_dict()), criterion, epoch
            elif epoch - best_epoch >= recipe.patience:
                break
        net.load_state_dict(best_state)
        nets.append(net.cpu().eval())
        best_epochs.append(best_epoch)
    ensemble = Ensemble(nets, target, *((level_mean, level_sd) if target == "level" else (0.0, 1.0))).eval()
    return TrainedModel(ensemble, fitted, architecture, recipe, target, log, best_epochs, device)


def build_ensemble(card: dict, n_marks: int, n_bins: int):
    """An untrained ensemble shaped as a card describes (recipe, members, target, level scale)."""
    from chromepredict.model import Ensemble

    recipe = Recipe(**card["recipe"])
    members = [_network(recipe, n_marks, n_bins, card["target"]) for _ in range(card["ensemble_members"])]
    scale = card.get("level_scale", {})
    return Ensemble(members, card["target"], scale.get("mean", 0.0), scale.get("sd", 1.0))
