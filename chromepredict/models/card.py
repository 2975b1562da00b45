"""The model card: a typed, versioned record beside ``model.onnx``, validated whole on load and
sealed with the model.

The card is a tree of frozen dataclasses (:class:`ModelCard` at the root). Dataclasses rather than
a schema library: the schema is small and fixed, every field is read through an attribute, and
the loader below checks each field's presence and type against the annotations — with no
dependency that bioconda would have to carry. A card that fails the check is refused with one line
naming the field.

Everything that changes a prediction lives in the card (marks in order, window, orientation,
transform and its statistics, target, which mark subsets the network accepts) or in the ONNX file.
``integrity`` is the sha256 of the ONNX bytes followed by the card's canonical JSON without that
field: editing either file is detected. It guards against damage and accidental edits, not
against someone who edits a card and recomputes the seal; the shipped models are also checked
against sha256s recorded in the package (:mod:`chromepredict.models.zoo`).

Format history: 2 (chromepredict 0.2) — ``metrics`` mixed held-out splits and cross-validation
keys, ``genome_build``/``genome_builds`` both optional; 3 — ``metrics`` typed (:class:`Metrics`),
``genome_builds`` always a list. Format 2 cards are read (converted in memory after their seal is
checked); cards are written in format 3.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import platform
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from chromepredict import __version__
from chromepredict.system.errors import UserError

if typing.TYPE_CHECKING:
    from chromepredict.io.features import FeatureSet, Paired, WindowSpec
    from chromepredict.models.targets import Target
    from chromepredict.models.training import TrainedModel

CARD_FORMAT = 3
READABLE_FORMATS = (2, 3)


@dataclass(frozen=True)
class Inputs:
    """How the network's input is laid out: marks in order and the window."""

    marks: tuple[str, ...]
    flank: int
    bin_size: int
    n_bins: int
    orientation: str
    mark_subsets: bool
    axes: tuple[str, ...] = ("genes", "marks", "bins")


@dataclass(frozen=True)
class Outputs:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Transform:
    """The input transform's kind and per-mark statistics (:mod:`chromepredict.models.transform`)."""

    kind: str
    log_mean: tuple[float, ...] = ()
    log_sd: tuple[float, ...] = ()


@dataclass(frozen=True)
class LevelScale:
    """The networks' output scale, value = output × sd + mean: for level models the mean and sd of
    the training levels (also the BED score's normal scale); for difference models the levels' mean
    and the sd of the training change (levels and changes share one unit)."""

    mean: float
    sd: float


@dataclass(frozen=True)
class MarkRange:
    """What training saw of one mark (compared with a user's tracks by the gate)."""

    kinds: tuple[str, ...]
    resolution: tuple[int, int]
    empty_bins: tuple[float, float]
    window_mean: tuple[float, float]


@dataclass(frozen=True)
class TrainingData:
    """What a model was trained on: ``gene_ids`` and ``gene_names`` of its training genes (both, so
    that its own genes are recognised in a GTF keyed by either), where they came from, the split."""

    source: str
    gene_ids: tuple[str, ...]
    labels: str | None = None
    split: str | None = None
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    warnings: tuple[str, ...] = ()  # what the training run warned about its data
    gene_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Metrics:
    """Held-out scores: per split of a ``train`` run (``valid``, ``test``: metric → value), or
    cross-validated per cell type (pretrained models), per pipeline view, and per subset of marks
    (subset key → cell type or split → score)."""

    held_out: dict[str, dict[str, float]] = field(default_factory=dict)
    cross_validated: dict[str, float] = field(default_factory=dict)
    per_view: dict[str, dict[str, float]] = field(default_factory=dict)
    subsets: dict[str, dict[str, float]] = field(default_factory=dict)
    cv_folds: int | None = None
    cv_note: str | None = None
    cv_chosen_epochs: tuple[int, ...] = ()


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


@dataclass(frozen=True)
class ModelCard:
    """Everything a model file needs beside it to be used, checked and explained."""

    name: str
    target: str
    inputs: Inputs
    outputs: Outputs
    transform: Transform
    architecture: str
    recipe: Recipe
    ensemble_members: int
    best_epochs: tuple[int, ...]
    training_device: str
    genome_builds: tuple[str, ...]
    training_profile: dict[str, MarkRange]
    training_data: TrainingData
    metrics: Metrics
    level_scale: LevelScale | None = None
    level_units: str | None = None
    pairs: tuple[tuple[str, str], ...] = ()  # difference models: the (A, B) samples the change was learnt on
    description: str | None = None
    cell_types: tuple[str, ...] = ()
    seed: int | None = None
    licence: str | None = None
    format_version: int = CARD_FORMAT
    onnx_file: str = ""
    onnx_sha256: str = ""
    library_versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    integrity: str = ""

    @property
    def spec(self) -> WindowSpec:
        from chromepredict.io.features import WindowSpec

        return WindowSpec(self.inputs.flank, self.inputs.bin_size, self.inputs.orientation)

    @property
    def target_kind(self) -> Target:
        from chromepredict.models.targets import get_target

        return get_target(self.target)

    @property
    def level_units_or_default(self) -> str:
        return self.level_units or "expression"

    def to_json(self) -> dict:
        """The card as JSON data (field order as declared; empty optional fields left out)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (value == () and f.default == ()):
                continue
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_json(cls, data: object, where: str | Path) -> ModelCard:
        """A card from JSON data, every field checked; a UserError names the first wrong field."""
        if not isinstance(data, dict):
            raise UserError(
                f"{where}: not a chromepredict model card (not a JSON object); re-export the model"
            )
        version = data.get("format_version")
        if version not in READABLE_FORMATS:
            raise UserError(
                f"{where}: model card format_version {version!r} is not supported (chromepredict "
                f"{__version__} reads formats {', '.join(map(str, READABLE_FORMATS))}); retrain the model with this version"
            )
        if version == 2:
            data = _from_format_2(data)
        for sealed in ("onnx_file", "onnx_sha256", "created", "integrity"):
            if not isinstance(data.get(sealed), str) or not data[sealed]:
                raise _bad(where, sealed, "is missing (the card was never sealed with a model)")
        card = _load(cls, data, where, "")
        from chromepredict.models.targets import TARGETS

        if card.target not in TARGETS:
            raise UserError(f"{where}: model card target {card.target!r} is not one of {', '.join(TARGETS)}")
        if len(card.inputs.marks) == 0 or card.inputs.n_bins != card.spec.n_bins:
            raise UserError(
                f"{where}: model card inputs do not describe a window of marks × bins; re-export the model"
            )
        return card


def _plain(value):
    if dataclasses.is_dataclass(value):
        return (
            value.to_json()
            if isinstance(value, ModelCard)
            else {
                f.name: _plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None
            }
        )
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _bad(where, path: str, what: str) -> UserError:
    return UserError(f"{where}: model card field {path!r} {what}; re-export the model")


def _load(kind, value, where, path: str):
    """``value`` checked against the annotation ``kind`` (dataclasses, tuples, dicts, unions)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _load(inner, value, where, path)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise _bad(where, path or "card", "should be an object")
        hints = typing.get_type_hints(kind)
        values = {}
        for f in dataclasses.fields(kind):
            name = f"{path}.{f.name}" if path else f.name
            if f.name not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise _bad(where, name, "is missing")
                continue
            values[f.name] = _load(hints[f.name], value[f.name], where, name)
        return kind(**values)
    if origin is tuple:
        if not isinstance(value, list):
            raise _bad(where, path, "should be a list")
        inner = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(inner) != len(value):
            raise _bad(where, path, f"should hold {len(inner)} values")
        return tuple(
            _load(k, v, where, f"{path}[{i}]") for i, (k, v) in enumerate(zip(inner, value, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise _bad(where, path, "should be an object")
        return {str(k): _load(args[1], v, where, f"{path}.{k}") for k, v in value.items()}
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(where, path, "should be a number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(where, path, "should be a whole number")
        return value
    if not isinstance(value, kind):
        raise _bad(where, path, f"should be {kind.__name__}")
    return value


def _from_format_2(data: dict) -> dict:
    """A format-2 card (chromepredict 0.2) in format 3's shape."""
    data = dict(data)
    metrics = dict(data.get("metrics", {}))
    held_out = {k: metrics.pop(k) for k in ("valid", "test") if isinstance(metrics.get(k), dict)}
    data["metrics"] = {"held_out": held_out, **metrics}
    builds = data.pop("genome_builds", None) or [data.get("genome_build")]
    data["genome_builds"] = [b for b in builds if b]
    data.pop("genome_build", None)
    data["format_version"] = CARD_FORMAT
    return data


def card_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".card.json")


def sha256_bytes(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _canonical(card: dict) -> bytes:
    body = {k: v for k, v in card.items() if k != "integrity"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def integrity(onnx_bytes: bytes, card: dict) -> str:
    """sha256 over the model bytes and the card (without its ``integrity`` field)."""
    return sha256_bytes(onnx_bytes, _canonical(card))


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "chromepredict": __version__}
    for name in ("torch", "onnx", "onnxruntime", "numpy", "scikit-learn"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[name] = md.version(name)
    return versions


def seal(card: ModelCard, onnx_path: str | Path, created: str | None = None) -> dict:
    """The card completed with format, file name, sha256s, versions and date, as JSON data."""
    data = Path(onnx_path).read_bytes()
    body = dataclasses.replace(
        card,
        format_version=CARD_FORMAT,
        onnx_file=Path(onnx_path).name,
        onnx_sha256=sha256_bytes(data),
        library_versions=card.library_versions or library_versions(),
        created=created or card.created or date.today().isoformat(),
        integrity="",
    ).to_json()
    body.pop("integrity", None)
    body["integrity"] = integrity(data, body)
    return body


def write_card(onnx_path: str | Path, card: ModelCard, created: str | None = None) -> ModelCard:
    """Seal the card with the model and write it beside the model (atomically)."""
    from chromepredict.system.files import write_text_atomic

    sealed = seal(card, onnx_path, created)
    write_text_atomic(card_path(onnx_path), json.dumps(sealed, indent=2) + "\n")
    return ModelCard.from_json(sealed, card_path(onnx_path))


def read_card(onnx_path: Path) -> tuple[ModelCard, bytes]:
    """Read and verify the card beside ``onnx_path``: schema, version, then model+card integrity."""
    where = card_path(onnx_path)
    if not where.is_file():
        raise UserError(
            f"{onnx_path}: no model card {where.name} beside it; keep the card from chromepredict train with the model"
        )
    try:
        raw = json.loads(where.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())
        raise UserError(f"{where}: not a chromepredict model card ({reason}); re-export the model") from None
    card = ModelCard.from_json(raw, where)
    data = onnx_path.read_bytes()
    if sha256_bytes(data) != card.onnx_sha256:
        raise UserError(
            f"{onnx_path}: sha256 differs from its card {where.name}; the model file is corrupt or was "
            "replaced: restore it or retrain"
        )
    if integrity(data, raw) != card.integrity:
        raise UserError(
            f"{where}: the card was changed after the model was made (integrity check failed); restore "
            "the card or retrain"
        )
    return card, data


def build_card(
    model: TrainedModel,
    data: FeatureSet | Paired,
    *,
    name: str,
    training_profile: dict[str, MarkRange],
    training_data: TrainingData,
    metrics: Metrics,
    genome_builds,
    level_units: str | None = None,
    pairs=(),
    description: str | None = None,
    cell_types=(),
    seed: int | None = None,
    licence: str | None = None,
) -> ModelCard:
    """The card of a trained model (:class:`~chromepredict.models.training.TrainedModel`) whose training
    windows are ``data``'s: the one builder behind ``train`` and ``scripts/build_pretrained.py``."""
    target = model.target
    ensemble = model.ensemble
    spec = data.spec
    scale = target.fit.level_scale(ensemble.level_mean, ensemble.level_sd)
    return ModelCard(
        name=name,
        target=target.name,
        inputs=Inputs(
            tuple(data.marks), spec.flank, spec.bin_size, spec.n_bins, spec.orientation,
            bool(getattr(ensemble.members[0], "masked", False)),
        ),
        outputs=Outputs(target.output_name, target.output_columns),
        transform=Transform(model.transform.kind, tuple(model.transform.log_mean), tuple(model.transform.log_sd)),
        architecture=model.architecture,
        recipe=model.recipe,
        ensemble_members=len(model.best_epochs),
        best_epochs=tuple(model.best_epochs),
        training_device=model.device,
        genome_builds=tuple(b for b in genome_builds if b),
        training_profile=training_profile,
        training_data=training_data,
        metrics=metrics,
        level_scale=None if scale is None else LevelScale(*scale),
        level_units=None if scale is None else (level_units or "expression"),
        pairs=tuple(tuple(p) for p in pairs),
        description=description,
        cell_types=tuple(cell_types),
        seed=seed,
        licence=licence,
    )  # fmt: skip
