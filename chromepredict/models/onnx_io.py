"""ONNX export and loading a model (``model.onnx`` + ``model.card.json``) into onnxruntime.

The ONNX graph takes transformed inputs ``features`` [genes, marks, bins] (float32) and, for
networks that accept mark subsets, ``mask`` [genes, marks] (1 = the mark is present). It returns
``probabilities`` [genes, 2] (low, high) or ``level`` [genes, 1]. The card (:mod:`chromepredict.models.card`)
says how to build the inputs; it is verified together with the model before use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.features import FeatureSet, Paired, WindowSpec
from chromepredict.models.card import ModelCard, card_path, read_card
from chromepredict.models.targets import Target
from chromepredict.models.transform import InputTransform
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.files import atomic_path


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
    session: object

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

    @property
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

    def inputs(self, data: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
        """The network's input for ``data`` (its marks a subset of the model's, window checked by the
        compatibility gate): every model mark in card order; a mark not given, or not measured on a
        gene's chromosome, is zero with mask 0."""
        present = [m in data.marks for m in self.marks]
        full = np.zeros((len(data.genes), len(self.marks), data.spec.n_bins), dtype=np.float32)
        index = [i for i, p in enumerate(present) if p]
        order = [data.marks.index(self.marks[i]) for i in index]
        scales = data.scales[..., order] if order else None
        full[:, index] = self.transform.select(index).apply(data.features[:, order], scales)
        mask = np.zeros((len(data.genes), len(self.marks)), dtype=np.float32)
        mask[:, index] = data.measured[:, order]
        if data.present is not None:
            full *= mask[:, :, None]
        return full, mask

    def paired_inputs(
        self, first: FeatureSet, second: FeatureSet
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's inputs for the same genes in two conditions, on one shared mask: a mark
        counts as measured for a gene only where it is measured in both (a mark one condition lacks
        is hidden in the other too), so that a change is never one of marks. The one rule of every
        command that scores pairs (compare, evaluate --pair)."""
        xa, mask_a = self.inputs(first)
        xb, mask_b = self.inputs(second)
        mask = np.minimum(mask_a, mask_b)
        return xa * mask[:, :, None], xb * mask[:, :, None], mask

    def predict(self, data: FeatureSet | Paired, batch_size: int = 1024) -> np.ndarray:
        """P(high) (class models) or the expression level (level models) per gene, transformed and
        scored in batches (memory stays small for genome-wide gene sets). For
        :class:`~chromepredict.io.features.Paired` genes, the change from the first to the second,
        both scored on the marks measured in both (:meth:`paired_inputs`)."""
        if isinstance(data, Paired):
            changes = []
            for start in range(0, len(data.genes), batch_size):
                rows = np.arange(start, min(start + batch_size, len(data.genes)))
                xa, xb, mask = self.paired_inputs(data.first.subset(rows), data.second.subset(rows))
                changes.append(self.score_inputs(xb, mask) - self.score_inputs(xa, mask))
            return np.concatenate(changes) if changes else np.zeros(0)
        batches = [
            self.score_inputs(
                *self.inputs(data.subset(np.arange(start, min(start + batch_size, len(data.genes)))))
            )
            for start in range(0, len(data.genes), batch_size)
        ]
        return np.concatenate(batches) if batches else np.zeros(0)

    def score_inputs(self, x: np.ndarray, mask: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The model's value for network inputs (:meth:`inputs`), one window per gene (a difference
        model's too: its change is the difference of two windows' values)."""
        out = [
            self._run(x[start : start + batch_size], mask[start : start + batch_size])
            for start in range(0, len(x), batch_size)
        ]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)

    def _run(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {i.name for i in self.session.get_inputs()}
        feed = {"features": x, **({"mask": mask} if "mask" in feeds else {})}
        return self.target.floor(self.target.value(self.session.run([self.card.outputs.name], feed)[0]))


def load_model(path: str | Path, threads: int = 1) -> LoadedModel:
    """Open ``path`` (.onnx, or a folder holding model.onnx) after verifying it with its card.

    ``threads`` is onnxruntime's intra-op thread count. Its kernels split work over outputs, never
    over a sum, so results are identical whatever the count and the batch a gene is scored in
    (tests/test_outputs.py checks both).
    """
    import onnxruntime as ort

    path = Path(path)
    if path.is_dir():
        path = path / "model.onnx"
    require_file(path, "model file", "give a pretrained name, a .onnx file or a train output folder")
    card, data = read_card(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise UserError(f"{path}: onnxruntime cannot load it ({exc}); re-export the model") from None
    return LoadedModel(path, card, session)
