"""Input transforms applied before the network, with their fitted statistics (stored in the model card).

- ``raw``: counts as they are (the published DeepChrome recipe).
- ``log1p``: log(1 + x), then per-mark standardisation with the training data's mean and sd.
- ``sample-log1p``: first rescale each mark of the *input sample* so that its mean over all genes
  and bins equals the training data's (undoing sequencing depth and the signal's unit), then
  ``log1p``. A model trained on read counts then keeps its accuracy on coverage, fold enrichment
  or deeper data. The rescaling uses the genes given in one run, so give at least ~100 genes.
- ``sample-quantile``: rank-based: each mark's values in the input sample are replaced by the
  training log1p value of the same rank (quantile normalisation to the training data), then
  standardised. Invariant to any monotone change of a mark's scale; 50 kB more in the card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from chromepredict.errors import UserError

TRANSFORMS = ("raw", "log1p", "sample-log1p", "sample-quantile")
_QUANTILES = np.linspace(0, 1, 1001)


def _mark_means(features: np.ndarray) -> np.ndarray:
    return features.astype(np.float64).mean(axis=(0, 2))


@dataclass
class InputTransform:
    """A transform of [genes, marks, bins] arrays; ``fit`` on training data, ``apply`` anywhere."""

    kind: str = "sample-log1p"
    mark_mean: list[float] = field(default_factory=list)  # training mean of the raw signal per mark
    log_mean: list[float] = field(default_factory=list)  # per-mark mean and sd after log1p
    log_sd: list[float] = field(default_factory=list)
    reference: list[list[float]] = field(default_factory=list)  # sample-quantile: log1p quantiles per mark

    def __post_init__(self) -> None:
        if self.kind not in TRANSFORMS:
            raise UserError(f"--transform {self.kind!r} is unknown; use one of {', '.join(TRANSFORMS)}")

    @property
    def per_sample(self) -> bool:
        """Whether statistics of the input sample itself enter the transform (needs many genes)."""
        return self.kind.startswith("sample-")

    def fit(self, features: np.ndarray) -> InputTransform:
        """Fit the per-mark statistics on training features."""
        self.mark_mean = _mark_means(features).tolist()
        if self.kind != "raw":
            logged = np.log1p(features.astype(np.float64))
            self.log_mean = logged.mean(axis=(0, 2)).tolist()
            self.log_sd = np.maximum(logged.std(axis=(0, 2)), 1e-6).tolist()
        if self.kind == "sample-quantile":
            per_mark = logged.transpose(1, 0, 2).reshape(logged.shape[1], -1)
            self.reference = np.quantile(per_mark, _QUANTILES, axis=1).T.round(6).tolist()
        return self

    def rescale(self, features: np.ndarray) -> np.ndarray:
        """For ``sample-log1p``: the sample rescaled to the training means per mark (else unchanged)."""
        if self.kind != "sample-log1p":
            return features
        sample = _mark_means(features)
        factor = np.divide(self.mark_mean, sample, out=np.ones_like(sample), where=sample > 0)
        return features * factor[None, :, None].astype(np.float32)

    def apply(self, features: np.ndarray) -> np.ndarray:
        """Transform features for the network (float32, same shape)."""
        if self.kind == "raw":
            return np.asarray(features, dtype=np.float32)
        if self.kind == "sample-quantile":
            logged = self._to_reference(features)
        else:
            logged = np.log1p(np.clip(self.rescale(features), 0, None))
        mean = np.array(self.log_mean)[None, :, None]
        sd = np.array(self.log_sd)[None, :, None]
        return ((logged - mean) / sd).astype(np.float32)

    def _to_reference(self, features: np.ndarray) -> np.ndarray:
        """Each mark's values replaced by the training value of the same rank (ties share a rank)."""
        import pandas as pd

        out = np.empty(features.shape, dtype=np.float64)
        for m, reference in enumerate(self.reference):
            values = features[:, m, :].ravel()
            quantile = (pd.Series(values).rank(method="average").to_numpy() - 0.5) / len(values)
            out[:, m, :] = np.interp(quantile, _QUANTILES, reference).reshape(features.shape[0], -1)
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> InputTransform:
        return cls(**values)
