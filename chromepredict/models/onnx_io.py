"""ONNX export and loading a model (``model.onnx`` + ``model.card.json``) into onnxruntime.

The ONNX graph takes transformed inputs ``features`` [genes, marks, bins] (float32) and, for
networks that accept mark subsets, ``mask`` [genes, marks] (1 = the mark is present). It returns
``probabilities`` [genes, 2] (low, high) or ``level`` [genes, 1]. The card (:mod:`chromepredict.models.card`)
says how to build the inputs; it is verified together with the model before use.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet, Paired, WindowSpec
from chromepredict.models.card import ModelCard, card_path, read_card
from chromepredict.models.targets import Target
from chromepredict.models.transform import InputTransform
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.files import atomic_path

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

    from chromepredict.models.subsets import MixScorer

#: What a batch's work returns (:meth:`LoadedModel._map`).
Block = TypeVar("Block")

#: Genes per onnxruntime call: the model's tensors for a batch stay in the CPU's caches.
BATCH = 256


def export_onnx(ensemble, n_marks: int, n_bins: int, path: str | Path) -> None:
    """Export an :class:`~chromepredict.models.networks.Ensemble` (dynamic gene axis) to ONNX, atomically.

    Mask-aware members are exported folded (:func:`chromepredict.models.networks.folded`): their convolution
    runs over the marks only and the mask enters as a per-gene bias, which halves the convolution's
    work for the same outputs; :func:`chromepredict.results.explain.torch_network` unfolds the weights."""
    import torch

    from chromepredict.models.networks import folded

    ensemble = folded(ensemble.eval().cpu())
    masked = all(getattr(m, "masked", False) for m in ensemble.members)
    example = (torch.zeros(2, n_marks, n_bins),) + ((torch.ones(2, n_marks),) if masked else ())
    names = ["features", "mask"][: len(example)]
    output = ensemble.target.output_name
    # The TorchScript exporter: for these static networks it gives the same graph as the dynamo
    # exporter, in a fraction of the time and without printing to stdout.
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            ensemble,
            example,
            str(tmp),
            input_names=names,
            output_names=[output],
            dynamic_axes={**{n: {0: "genes"} for n in names}, output: {0: "genes"}},
            opset_version=17,
            dynamo=False,
        )


@dataclass
class LoadedModel:
    """An onnxruntime session with the card that says how to feed it."""

    path: Path
    card: ModelCard
    session: InferenceSession
    graph: bytes = field(repr=False)  # the verified ONNX bytes the session was built from
    threads: int = 1  # batches scored at once
    _mixers: dict[tuple[int, ...], MixScorer | None] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def target(self) -> Target:
        return self.card.target_kind

    @property
    def marks(self) -> tuple[str, ...]:
        return self.card.inputs.marks

    @property
    def mark_subsets(self) -> bool:
        return self.card.inputs.mark_subsets

    @property
    def spec(self) -> WindowSpec:
        return self.card.spec

    @cached_property
    def transform(self) -> InputTransform:
        return InputTransform.from_card(self.card.transform)

    @property
    def paths(self) -> list[Path]:
        """The model's files (for :func:`chromepredict.system.files.check_outputs`)."""
        return [self.path, card_path(self.path)]

    def training_genes(self, genes: pd.DataFrame) -> np.ndarray:
        """Mask of ``genes`` that the model was trained on, whatever the GTF keys them by: the card
        lists their ids and names, and a gene counts when its id is one of those ids, or its id or
        name one of those names (case-insensitive: a symbol-keyed GTF, ``gene_id "TP53"``)."""
        data = self.card.training_data
        seen = genes["gene_id"].isin(set(data.gene_ids)).to_numpy()
        if data.gene_names:
            names = {n.upper() for n in data.gene_names}
            for column in ("gene_id", "gene_name"):
                if column in genes:
                    seen = seen | genes[column].astype(str).str.upper().isin(names).to_numpy()
        return seen

    def inputs(self, data: FeatureSet, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """The network's input for the genes ``rows`` of ``data`` (its marks a subset of the model's,
        window checked by the compatibility gate): every model mark in card order; a mark not given,
        or not measured on a gene's chromosome, is zero with mask 0."""
        present = [m in data.marks for m in self.marks]
        index = [i for i, p in enumerate(present) if p]
        order = [data.marks.index(self.marks[i]) for i in index]
        scales = data.scales[rows, order] if data.scales.ndim == 2 else data.scales[order]
        transformed = self.transform.select(index).apply(data.features[rows][:, order], scales)
        if index == list(range(len(self.marks))):
            full = transformed
        else:
            full = np.zeros((len(transformed), len(self.marks), data.spec.n_bins), dtype=np.float32)
            full[:, index] = transformed
        mask = np.zeros((len(full), len(self.marks)), dtype=np.float32)
        mask[:, index] = data.measured[rows][:, order]
        if data.present is not None:
            full *= mask[:, :, None]
        return full, mask

    def all_inputs(self, data: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`inputs` of every gene, transformed ``threads`` batches at a time."""
        blocks = self._map(
            lambda start: self.inputs(data, slice(start, start + BATCH)), range(0, len(data.genes), BATCH)
        )
        if not blocks:
            return self.inputs(data)
        return np.concatenate([x for x, _ in blocks]), np.concatenate([m for _, m in blocks])

    def paired_inputs(
        self, first: FeatureSet, second: FeatureSet, rows: slice = slice(None)
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's inputs for the genes ``rows`` in two conditions, on one shared mask: a mark
        counts as measured for a gene only where it is measured in both (a mark one condition lacks
        is hidden in the other too), so that a change is never one of marks. The one rule of every
        command that scores pairs (compare, evaluate --pair)."""
        if rows == slice(None):
            (xa, mask_a), (xb, mask_b) = self.all_inputs(first), self.all_inputs(second)
        else:
            (xa, mask_a), (xb, mask_b) = self.inputs(first, rows), self.inputs(second, rows)
        mask = np.minimum(mask_a, mask_b)
        return xa * mask[:, :, None], xb * mask[:, :, None], mask

    def predict(self, data: FeatureSet | Paired, batch_size: int = BATCH) -> np.ndarray:
        """P(high) (class models) or the expression level (level models) per gene, transformed and
        scored in batches, ``threads`` at a time (memory stays small for genome-wide gene sets). For
        :class:`~chromepredict.io.features.Paired` genes, the change from the first to the second,
        both scored on the marks measured in both (:meth:`paired_inputs`)."""
        if isinstance(data, Paired):

            def change(start: int) -> np.ndarray:
                xa, xb, mask = self.paired_inputs(data.first, data.second, slice(start, start + batch_size))
                return self._run(xb, mask) - self._run(xa, mask)

            changes = self._map(change, range(0, len(data.genes), batch_size))
            return np.concatenate(changes).astype(np.float64) if changes else np.zeros(0)
        blocks = self._map(
            lambda start: self._run(*self.inputs(data, slice(start, start + batch_size))),
            range(0, len(data.genes), batch_size),
        )
        return np.concatenate(blocks).astype(np.float64) if blocks else np.zeros(0)

    def score_inputs(self, x: np.ndarray, mask: np.ndarray, batch_size: int = BATCH) -> np.ndarray:
        """The model's value for network inputs (:meth:`inputs`), one window per gene (a difference
        model's too: its change is the difference of two windows' values)."""
        blocks = self._map(
            lambda start: self._run(x[start : start + batch_size], mask[start : start + batch_size]),
            range(0, len(x), batch_size),
        )
        return np.concatenate(blocks).astype(np.float64) if blocks else np.zeros(0)

    def _map(self, function: Callable[[int], Block], starts: range) -> list[Block]:
        """``function`` of each start, ``threads`` at a time, in order."""
        if self.threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                return list(pool.map(function, starts))
        return [function(start) for start in starts]

    def mixer(self, index: tuple[int, ...]) -> MixScorer | None:
        """A :class:`~chromepredict.models.subsets.MixScorer` for the marks at ``index`` (positions
        among the model's marks), built once per model and marks; None for a graph
        :func:`~chromepredict.models.subsets.derive` cannot read."""
        if index not in self._mixers:
            from chromepredict.models.subsets import MixScorer, derive

            derived = derive(self.graph, len(self.marks), self.spec.n_bins, list(index))
            self._mixers[index] = (
                None
                if derived is None
                else MixScorer(
                    _session(derived),
                    len(index),
                    "mask" in {i.name for i in self.session.get_inputs()},
                    lambda output: self.target.floor(self.target.value(output)),
                    self.threads,
                )
            )
        return self._mixers[index]

    def _run(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {i.name for i in self.session.get_inputs()}
        feed = {"features": x, **({"mask": mask} if "mask" in feeds else {})}
        return self.target.floor(self.target.value(self.session.run([self.card.outputs.name], feed)[0]))


def load_model(path: str | Path, threads: int = 1) -> LoadedModel:
    """Open ``path`` (.onnx, or a folder holding model.onnx) after verifying it with its card.

    ``threads`` batches of genes are scored at once, each on one onnxruntime thread (faster than
    onnxruntime's own threads, which wait for each other after every node, and spin-wait beside
    other jobs). A gene's value does not depend on the batch it is scored in, so results are
    identical whatever the count (tests/test_outputs.py checks both).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.onnx"
    require_file(path, "model file", "give a pretrained name, a .onnx file or a train output folder")
    card, data = read_card(path)
    try:
        session = _session(data)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise UserError(f"{path}: onnxruntime cannot load it ({exc}); re-export the model") from None
    return LoadedModel(path, card, session, data, threads)


def _session(data: bytes):
    """An onnxruntime CPU session that runs each call on the calling thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
