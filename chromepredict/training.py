"""Fit loop: recipes, seeds, device choice, early stopping on validation AUC."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from chromepredict.errors import UserError
from chromepredict.evaluation import roc_auc
from chromepredict.features import FeatureSet
from chromepredict.transform import InputTransform


@dataclass(frozen=True)
class Recipe:
    """How a network is trained: input transform, optimiser and stopping rule."""

    transform: str
    optimizer: str
    lr: float
    batch_size: int
    weight_decay: float
    max_epochs: int
    patience: int


#: ``deepchrome-2016`` is the published recipe; ``deepchrome`` (the default) the same network
#: trained as measured best in docs/benchmarks.md.
RECIPES = {
    "deepchrome": Recipe("sample-log1p", "adam", 1e-3, 32, 1e-4, max_epochs=100, patience=15),
    "deepchrome-2016": Recipe("raw", "sgd", 1e-3, 1, 0.0, max_epochs=50, patience=50),
}


def get_recipe(architecture: str) -> Recipe:
    """The recipe named by ``--architecture``; an unknown name is a UserError."""
    if architecture not in RECIPES:
        raise UserError(f"--architecture {architecture!r} is unknown; use one of {', '.join(RECIPES)}")
    return RECIPES[architecture]


def resolve_device(device: str) -> str:
    """``auto`` → CUDA when available, else CPU; asking for CUDA without one is a UserError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise UserError(f"--device {device!r} is unknown; use auto, cpu or cuda")
    return device


def seed_everything(seed: int) -> None:
    """Same seed, same device → same model."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True  # CPU kernels used here are deterministic already
    torch.backends.cudnn.benchmark = False


@dataclass
class EpochLog:
    epoch: int
    loss: float
    train_auc: float
    valid_auc: float


@dataclass
class TrainedModel:
    """A fitted network with its transform, recipe and the per-epoch log."""

    net: object  # torch.nn.Module, kept untyped so this module imports without torch
    transform: InputTransform
    architecture: str
    recipe: Recipe
    log: list[EpochLog]
    best_epoch: int
    device: str  # where predict_proba runs (the fitted network is moved to the CPU)
    trained_on: str

    @property
    def best_valid_auc(self) -> float:  # NaN when trained without validation genes
        return self.log[self.best_epoch - 1].valid_auc

    def predict_proba(self, data: FeatureSet, batch_size: int = 1024) -> np.ndarray:
        """P(high) per gene with dropout off, in torch."""
        return network_proba(self.net, self.transform.apply(data.features), self.device, batch_size)

    def recipe_dict(self) -> dict:
        return asdict(self.recipe)


def network_proba(net, inputs, device: str = "cpu", batch_size: int = 1024) -> np.ndarray:
    """P(high) for already transformed inputs (array or tensor, on any device)."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.as_tensor(inputs[start : start + batch_size]).to(device)
            out.append(net.probabilities(batch)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def fit(
    train: FeatureSet,
    valid: FeatureSet | None,
    architecture: str = "deepchrome",
    seed: int = 0,
    device: str = "auto",
    max_epochs: int | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    transform: str | None = None,
) -> TrainedModel:
    """Train one network; keep the epoch with the best validation AUC (early stopping with patience).

    ``transform`` overrides the recipe's input transform. Without ``valid``, trains exactly
    ``max_epochs`` epochs and keeps the last (for a final model whose epoch count was chosen by
    cross-validation).
    """
    import torch

    from chromepredict.model import DeepChrome

    recipe = get_recipe(architecture)
    if valid is None and max_epochs is None:
        raise ValueError("without validation genes, give max_epochs")
    for name, part in (("training", train), ("validation", valid)):
        if part is None:
            continue
        if part.labels is None or len(np.unique(part.labels)) < 2:
            raise UserError(
                f"the {name} genes need both high and low labels; give more genes or another split"
            )
    device = resolve_device(device)
    seed_everything(seed)
    transform = InputTransform(transform or recipe.transform).fit(train.features)
    x_train = torch.from_numpy(transform.apply(train.features)).to(device)
    y_train = torch.from_numpy(train.labels.astype(np.int64)).to(device)
    x_valid = None if valid is None else transform.apply(valid.features)
    n_marks, n_bins = train.features.shape[1:]
    net = DeepChrome(n_marks, n_bins).to(device)
    if recipe.optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    log: list[EpochLog] = []
    best_state, best_auc, best_epoch = None, -1.0, 0
    for epoch in range(1, (max_epochs or recipe.max_epochs) + 1):
        net.train()
        order = torch.randperm(len(x_train), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(order), recipe.batch_size):
            idx = order[start : start + recipe.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(net(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        train_auc = roc_auc(train.labels, network_proba(net, x_train, device))
        valid_auc = (
            float("nan") if valid is None else roc_auc(valid.labels, network_proba(net, x_valid, device))
        )
        log.append(EpochLog(epoch, total / len(order), train_auc, valid_auc))
        if on_epoch is not None:
            on_epoch(log[-1])
        if valid is None or valid_auc > best_auc:
            best_state, best_auc, best_epoch = copy.deepcopy(net.state_dict()), valid_auc, epoch
        elif epoch - best_epoch >= recipe.patience:
            break
    net.load_state_dict(best_state)
    net.eval()
    return TrainedModel(net.cpu(), transform, architecture, recipe, log, best_epoch, "cpu", device)
