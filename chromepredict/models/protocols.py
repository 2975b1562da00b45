"""What the layers above need of a model, as :class:`typing.Protocol` classes: any object with these
members will do (mypy checks it), whatever it computes with.

- :class:`Predictor`: a target and values per gene — the ONNX model
  (:class:`~chromepredict.models.onnx_io.LoadedModel`) and the torch one just trained
  (:class:`~chromepredict.models.training.TrainedModel`) both are.
- :class:`ScoringModel`: what scoring a sample, comparing samples, the gate and the reports need
  besides — the model's card, name, marks, window and inputs, the genes it was trained on, and its
  values for network inputs (a :class:`~chromepredict.models.onnx_io.LoadedModel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from chromepredict.io.features import FeatureSet, Paired, WindowSpec
    from chromepredict.models.card import ModelCard
    from chromepredict.models.onnx_io import LoadedModel
    from chromepredict.models.subsets import MixScorer
    from chromepredict.models.targets import Target
    from chromepredict.models.training import TrainedModel
    from chromepredict.models.transform import InputTransform


class Predictor(Protocol):
    """A model's target and its values per gene."""

    @property
    def target(self) -> Target: ...

    def predict(self, data: FeatureSet | Paired) -> np.ndarray:
        """The value per gene (P(high), the level; for :class:`~chromepredict.io.features.Paired`
        genes, the change from the first to the second)."""
        ...


class ScoringModel(Predictor, Protocol):
    """A model ready to score samples: its card and what is read from it, its network inputs and
    its values for them."""

    @property
    def name(self) -> str: ...

    @property
    def card(self) -> ModelCard: ...

    @property
    def marks(self) -> tuple[str, ...]: ...

    @property
    def mark_subsets(self) -> bool: ...

    @property
    def spec(self) -> WindowSpec: ...

    @property
    def transform(self) -> InputTransform: ...

    def training_genes(self, genes: pd.DataFrame) -> np.ndarray:
        """Mask of ``genes`` that the model was trained on."""
        ...

    def inputs(self, data: FeatureSet, rows: slice = ...) -> tuple[np.ndarray, np.ndarray]:
        """The network's inputs and mask for the genes ``rows`` of ``data``."""
        ...

    def paired_inputs(
        self, first: FeatureSet, second: FeatureSet, rows: slice = ...
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Both conditions' inputs on one shared mask."""
        ...

    def score_inputs(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The value of each window of network inputs."""
        ...

    def mixer(self, index: tuple[int, ...]) -> MixScorer | None:
        """A scorer of every mix of two windows in the marks at ``index`` (None: not derivable)."""
        ...


if TYPE_CHECKING:  # never run: mypy checks here that both models are what the protocols say

    def _conforming(loaded: LoadedModel, trained: TrainedModel) -> tuple[ScoringModel, Predictor]:
        return loaded, trained
