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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from chromepredict.io.features import FeatureSet, Paired
from chromepredict.models.card import Recipe
from chromepredict.models.targets import Target, get_target
from chromepredict.models.transform import InputTransform
from chromepredict.system.errors import UserError

if TYPE_CHECKING:
    from torch import nn

    from chromepredict.models.networks import Ensemble

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
def one_torch_thread(threads: int = 1) -> Iterator[None]:
    """torch on ``threads`` threads (default one) inside the block: on one thread the same seed gives
    the same bytes, and the same model the same predictions, whatever the machine's core count;
    these small networks barely slow down, and never spin-wait beside other work."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_torch(seed: int) -> None:
    """Same seed, same device, same thread count → same model (torch's initialisation; every other
    draw comes from a seeded generator)."""
    import torch

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

    ensemble: Ensemble  # (torch) imported for type checking only: this module imports without torch
    transform: InputTransform
    architecture: str
    recipe: Recipe
    target: Target
    log: list[EpochLog]
    best_epochs: list[int]
    device: str  # where it was trained

    def predict(self, data, present: np.ndarray | None = None, batch_size: int = 2048) -> np.ndarray:
        """P(high) or level per gene in torch on the CPU; ``present`` (bool per mark) hides the others.
        For :class:`~chromepredict.io.features.Paired` genes, the change from the first to the second."""
        import torch

        if isinstance(data, Paired):
            return self.predict(data.second, present, batch_size) - self.predict(
                data.first, present, batch_size
            )
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
                out.append(self.target.floor(self.target.value(result).numpy()))
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def _network(recipe: Recipe, n_marks: int, n_bins: int, target: Target) -> nn.Module:
    from chromepredict.models.networks import DeepChrome, MaskedChrome

    if recipe.network not in target.fit.networks:
        raise UserError(
            f"--architecture deepchrome-2016 is a classifier; use --architecture deepchrome for --target {target.name}"
        )
    if recipe.network == "deepchrome":
        return DeepChrome(n_marks, n_bins)
    outputs = target.outputs(recipe.level_weight > 0)
    return MaskedChrome(n_marks, n_bins, hidden=recipe.hidden, dropout=recipe.dropout, outputs=outputs)


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
    net, inputs: _Inputs, target: Target, rows: np.ndarray | None = None, batch_size: int = 4096
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
            out.append(target.fit.network_value(result).cpu().numpy())
    return np.concatenate(out)


def fit(
    train,
    valid,
    architecture: str = "deepchrome",
    target: str = "class",
    seed: int = 0,
    device: str = "auto",
    max_epochs: int | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
    transform: str | None = None,
    members: int | None = None,
) -> TrainedModel:
    """Train the recipe's ensemble on :class:`TrainingArrays` (or, for the difference target,
    :class:`PairArrays`); each member keeps its epoch with the best validation criterion (the
    target's rule: class models the recipe's ``select_by``, lowest log loss or highest AUC; level and
    difference models the best Spearman).

    Without ``valid``, each member trains exactly ``max_epochs`` epochs (a final model whose epoch
    count was chosen by cross-validation). ``transform`` and ``members`` override the recipe's.
    """
    kind = get_target(target)
    recipe = get_recipe(architecture)
    recipe = replace(
        recipe,
        transform=transform or recipe.transform,
        members=members or recipe.members,
        max_epochs=max_epochs or recipe.max_epochs,
        select_by=kind.fit.select_by(recipe.select_by),
    )  # the card records the recipe as run
    if valid is None and max_epochs is None:
        raise ValueError("without validation genes, give max_epochs")
    pairs = isinstance(train, PairArrays)
    if pairs != kind.fit.pairs:
        raise UserError(
            f"--target {kind.name} learns from "
            + ("one sample at a time" if pairs else "pairs of samples: give --samplesheet with --pair A:B")
        )
    for name, arrays in (("training", train), ("validation", valid)):
        if arrays is not None:
            kind.check_truth(kind.truth(arrays), name)
    device = resolve_device(device)
    with one_torch_thread():
        problem = (_Pairs if pairs else _Windows)(train, valid, recipe, kind, seed, device)
        return _fit(problem, architecture, recipe, kind, seed, device, on_epoch)


class _Windows:
    """One window per example (class and level targets): batches, losses and scores."""

    def __init__(
        self, train: TrainingArrays, valid: TrainingArrays | None, recipe: Recipe, target: Target, seed: int,
        device: str,
    ):  # fmt: skip
        import torch

        self.target, self.recipe = target, recipe
        self.y_train = target.truth(train)
        self.transform = InputTransform(recipe.transform).fit([(train.features, train.scales)])
        self.inputs = _Inputs(train, self.transform, device)
        #: the validation genes' truth and inputs (None: no validation genes)
        self.valid = None if valid is None else (target.truth(valid), _Inputs(valid, self.transform, device))
        levels = target.fit.scale_levels(self.y_train, train.levels, recipe.level_weight)
        self.scale = (0.0, 1.0) if levels is None else (float(levels.mean()), float(levels.std() or 1.0))
        self.y = torch.from_numpy(target.fit.encode(self.y_train, *self.scale)).to(device)
        aux = target.fit.aux_levels(train.levels, recipe.level_weight)
        self.z_level = (
            None
            if aux is None
            else torch.from_numpy(((aux - self.scale[0]) / self.scale[1]).astype(np.float32)).to(device)
        )
        self.n = len(self.y)
        self.shape = _shape(train)
        # the training score each epoch is taken on at most 2,000 windows (a fixed, seeded sample)
        self.monitor = np.sort(np.random.default_rng(seed).permutation(self.n)[:2000])

    def loss(self, net, idx, generator):
        x, mask = self.inputs.batch(idx, generator, self.recipe)
        z_level = None if self.z_level is None else self.z_level[idx]
        return self.target.fit.loss(net(x, mask), self.y[idx], z_level, self.recipe.level_weight)

    def train_score(self, net) -> float:
        return self.target.score(
            self.y_train[self.monitor], _predict(net, self.inputs, self.target, self.monitor)
        )

    def validate(self, net: nn.Module) -> tuple[float, float]:
        """The score and loss on the validation genes (NaN without them)."""
        if self.valid is None:
            return np.nan, np.nan
        truth, inputs = self.valid
        predicted = _predict(net, inputs, self.target)
        return self.target.score(truth, predicted), self.target.fit.validation_loss(
            truth, predicted, *self.scale
        )


def _shape(arrays: TrainingArrays) -> tuple[int, int]:
    """(marks, bins) of the windows."""
    _, marks, bins = arrays.features.shape
    return marks, bins


def training_arrays(data: FeatureSet | Paired) -> TrainingArrays | PairArrays:
    """What :func:`fit` takes for a feature set, or for paired feature sets (the difference target)."""
    if isinstance(data, Paired):
        return PairArrays.stack([(data.first, data.second)])
    return TrainingArrays.stack([data])


@dataclass
class PairArrays:
    """The same genes in two conditions (the difference target's examples)."""

    first: TrainingArrays
    second: TrainingArrays

    @classmethod
    def stack(cls, parts: list[tuple[FeatureSet, FeatureSet]]) -> PairArrays:
        return cls(TrainingArrays.stack([a for a, _ in parts]), TrainingArrays.stack([b for _, b in parts]))


class _Pairs:
    """Pairs of windows (the difference target): a network g scores each window, g(B) − g(A) is
    trained on the change of level and, with the recipe's ``level_weight``, g on each level."""

    def __init__(
        self,
        train: PairArrays,
        valid: PairArrays | None,
        recipe: Recipe,
        target: Target,
        seed: int,
        device: str,
    ):
        import torch

        self.target, self.recipe = target, recipe
        self.y_train = target.truth(train)
        both = [(p.features, p.scales) for p in (train.first, train.second)]
        self.transform = InputTransform(recipe.transform).fit(both)
        self.first, self.second = (_Inputs(p, self.transform, device) for p in (train.first, train.second))
        #: the validation pairs' change and inputs (None: no validation genes)
        self.valid = (
            None
            if valid is None
            else (
                target.truth(valid),
                (_Inputs(valid.first, self.transform, device), _Inputs(valid.second, self.transform, device)),
            )
        )
        level_first, level_second = train.first.levels, train.second.levels
        assert (
            level_first is not None and level_second is not None
        )  # the truth, a change of levels, needs them
        levels = np.concatenate([level_first, level_second])
        # levels enter in the change's unit: g(B) − g(A) ≈ Δ / sd(Δ), g ≈ (level − mean) / sd(Δ)
        self.scale = (float(levels.mean()), float(self.y_train.std() or 1.0))
        mean, sd = self.scale

        def tensor(values):
            return torch.from_numpy(values.astype(np.float32)).to(device)

        self.z = tensor(self.y_train / sd)
        self.z_first, self.z_second = (tensor((levels - mean) / sd) for levels in (level_first, level_second))
        self.n = len(self.y_train)
        self.shape = _shape(train.first)
        self.monitor = np.sort(np.random.default_rng(seed).permutation(self.n)[:2000])

    def loss(self, net, idx, generator):
        xa, mask = self.first.batch(idx, generator, self.recipe)  # one mask for both windows of a gene
        xb, _ = self.second.batch(idx)
        ga, gb = net(xa, mask)[:, 0], net(xb, mask)[:, 0]
        return self.target.fit.pair_loss(
            ga, gb, self.z[idx], self.z_first[idx], self.z_second[idx], self.recipe.level_weight
        )

    def _delta(self, net, inputs, rows=None) -> np.ndarray:
        return _predict(net, inputs[1], self.target, rows) - _predict(net, inputs[0], self.target, rows)

    def train_score(self, net) -> float:
        predicted = self._delta(net, (self.first, self.second), self.monitor)
        return self.target.score(self.y_train[self.monitor], predicted)

    def validate(self, net: nn.Module) -> tuple[float, float]:
        """The score and loss on the validation pairs (NaN without them)."""
        if self.valid is None:
            return np.nan, np.nan
        truth, inputs = self.valid
        predicted = self._delta(net, inputs)  # in units of sd(Δ), as the loss takes it
        return self.target.score(truth, predicted), self.target.fit.validation_loss(
            truth, predicted, 0.0, self.scale[1]
        )


def _fit(
    problem: _Windows | _Pairs, architecture: str, recipe: Recipe, target: Target, seed: int, device: str,
    on_epoch: Callable[[EpochLog], None] | None,
) -> TrainedModel:  # fmt: skip
    """:func:`fit`'s member loop, the same for every kind of example."""
    import torch

    from chromepredict.models.networks import Ensemble

    nets: list[nn.Module] = []
    log: list[EpochLog] = []
    best_epochs: list[int] = []
    for member in range(recipe.members):
        member_seed = seed * 100 + member
        seed_torch(member_seed)
        net = _network(recipe, *problem.shape, target).to(device)
        optimizer_type = torch.optim.Adam if recipe.optimizer == "adam" else torch.optim.SGD
        optimizer = optimizer_type(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        generator = torch.Generator().manual_seed(member_seed)
        best_state, best_score, best_epoch = None, -np.inf, 0
        for epoch in range(1, recipe.max_epochs + 1):
            net.train()
            order = torch.randperm(problem.n, generator=generator)
            total = 0.0
            for start in range(0, len(order), recipe.batch_size):
                idx = order[start : start + recipe.batch_size].to(device)
                loss = problem.loss(net, idx, generator)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            train_score = problem.train_score(net)
            valid_score, valid_loss = problem.validate(net)
            criterion = -valid_loss if recipe.select_by == "loss" else valid_score
            log.append(EpochLog(member + 1, epoch, total / len(order), train_score, valid_score, valid_loss))
            if on_epoch is not None:
                on_epoch(log[-1])
            if problem.valid is None or criterion > best_score:
                best_state, best_score, best_epoch = copy.deepcopy(net.state_dict()), criterion, epoch
            elif epoch - best_epoch >= recipe.patience:
                break
        assert best_state is not None  # kept at the first epoch, unless every validation score is NaN
        net.load_state_dict(best_state)
        nets.append(net.cpu().eval())
        best_epochs.append(best_epoch)
    scale = target.fit.level_scale(*problem.scale) or (0.0, 1.0)
    ensemble = Ensemble(nets, target, *scale).eval()
    return TrainedModel(ensemble, problem.transform, architecture, recipe, target, log, best_epochs, device)


def blend(models: list[TrainedModel], base: TrainedModel) -> TrainedModel:
    """One model that averages the networks of ``models`` (each trained on its own data, under its
    own input standardisation and level scale), expressed in ``base``'s transform and scale: each
    network is :func:`~chromepredict.models.networks.rebased` so that it gives, on ``base``'s inputs,
    exactly what it gave on its own. Every network weighs the same, so a model's weight in the blend
    is its share of the networks. A single-window network like any other (``compare``'s
    decomposition holds); mask-aware networks of level-scaled targets (level, difference) only."""
    import torch

    from chromepredict.models.networks import Ensemble, MaskedChrome, rebased

    target = base.target
    if target.fit.level_scale(base.ensemble.level_mean, base.ensemble.level_sd) is None or any(
        m.target != target or m.transform.kind != base.transform.kind for m in models
    ):
        raise ValueError("a blend needs models of one level-scaled target and one kind of transform")
    to_mean, to_sd = np.array(base.transform.log_mean), np.array(base.transform.log_sd)
    members: list[MaskedChrome] = []
    log: list[EpochLog] = []
    best_epochs: list[int] = []
    for model in models:
        mean, sd = np.array(model.transform.log_mean), np.array(model.transform.log_sd)
        # own input (l − mean) / sd = scale · (l − to_mean) / to_sd + shift
        scale = torch.tensor(to_sd / sd, dtype=torch.float32)
        shift = torch.tensor((to_mean - mean) / sd, dtype=torch.float32)
        level_mean, level_sd = model.ensemble.level_mean, model.ensemble.level_sd
        out_scale = base.ensemble.level_sd / level_sd
        out_shift = (base.ensemble.level_mean - level_mean) / level_sd
        for net in model.ensemble.members:
            if not isinstance(net, MaskedChrome):
                raise ValueError("a blend needs mask-aware networks")
            members.append(rebased(net, scale, shift, out_scale, out_shift))
        offset = len(best_epochs)
        log.extend(replace(entry, member=entry.member + offset) for entry in model.log)
        best_epochs.extend(model.best_epochs)
    ensemble = Ensemble(members, target, base.ensemble.level_mean, base.ensemble.level_sd).eval()
    recipe = replace(base.recipe, members=len(members))
    return TrainedModel(
        ensemble, base.transform, base.architecture, recipe, target, log, best_epochs, base.device
    )


def build_ensemble(card):
    """An untrained ensemble shaped as a :class:`~chromepredict.models.card.ModelCard` describes (recipe,
    members, target, level scale)."""
    from chromepredict.models.networks import Ensemble

    recipe = card.recipe
    target = card.target_kind
    n_marks, n_bins = len(card.inputs.marks), card.inputs.n_bins
    members = [_network(recipe, n_marks, n_bins, target) for _ in range(card.ensemble_members)]
    scale = card.level_scale
    return Ensemble(members, target, *((scale.mean, scale.sd) if scale else (0.0, 1.0)))


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
        get_recipe(self.architecture)
        get_target(self.target)
        return replace(self, device=resolve_device(self.device))

    def fit(self, train, valid, on_epoch=None):
        return fit(
            train, valid, self.architecture, self.target, self.seed, self.device, self.max_epochs,
            on_epoch=on_epoch, transform=self.transform, members=self.members,
        )  # fmt: skip
