"""Input transforms applied before the network, with their statistics (stored in the model card).

- ``raw``: the signal as it is (the published DeepChrome recipe).
- ``log1p``: log(1 + x), standardised per mark with the training data's mean and sd.
- ``track-log1p``: log(1 + x / s), standardised likewise, where ``s`` is the track's own scale
  (:class:`chromepredict.io.trackinfo.TrackProfile`: the typical value over the bases the track
  covers, read from the whole track). Read counts, coverage, fold enrichment or a deeper library
  then arrive in one unit, and a gene's input depends only on its own window and its track —
  never on which other genes are scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chromepredict.system.errors import UserError

TRANSFORMS = ("raw", "log1p", "track-log1p")


@dataclass
class InputTransform:
    """A transform of [genes, marks, bins] arrays; ``fit`` on training data, ``apply`` anywhere."""

    kind: str = "track-log1p"
    log_mean: list[float] = field(default_factory=list)  # per mark, after the log
    log_sd: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in TRANSFORMS:
            raise UserError(f"--transform {self.kind!r} is unknown; use one of {', '.join(TRANSFORMS)}")

    def logged(self, features: np.ndarray, scales: np.ndarray | None = None, dtype=np.float64) -> np.ndarray:
        """log(1 + x) or log(1 + x / scale), before standardisation. ``scales`` is per mark
        [marks] or per window and mark [genes, marks]."""
        x = np.maximum(features, 0, dtype=dtype)
        if self.kind == "track-log1p":
            if scales is None:
                raise ValueError("track-log1p needs the tracks' scales")
            scales = np.asarray(scales, dtype=dtype)
            x /= scales[None, :, None] if scales.ndim == 1 else scales[:, :, None]
        return np.log1p(x, out=x)

    def window_levels(self, features: np.ndarray, scales: np.ndarray | None = None) -> np.ndarray:
        """Per window the mean over its bins and marks of :meth:`logged` (float64 means), for the
        compatibility gate's check of a track's typical signal. Computed as log(1 + x) in float32:
        the same to float32 rounding and four times faster than numpy's log1p, which is not
        vectorised for float32; the network's inputs (:meth:`apply`) keep log1p."""
        x = np.maximum(features, 0, dtype=np.float32)
        if self.kind == "track-log1p":
            if scales is None:
                raise ValueError("track-log1p needs the tracks' scales")
            scales = np.asarray(scales, dtype=np.float32)
            x /= scales[None, :, None] if scales.ndim == 1 else scales[:, :, None]
        x += 1
        return np.log(x, out=x).mean(axis=(1, 2), dtype=np.float64)

    def fit(self, parts: Sequence[tuple[np.ndarray, np.ndarray | None]]) -> InputTransform:
        """Fit the per-mark mean and sd on training parts, each (features, its tracks' scales)."""
        if self.kind != "raw":
            logged = np.concatenate([self.logged(f, s) for f, s in parts])
            self.log_mean = logged.mean(axis=(0, 2)).tolist()
            self.log_sd = np.maximum(logged.std(axis=(0, 2)), 1e-6).tolist()
        return self

    def apply(self, features: np.ndarray, scales: np.ndarray | None = None) -> np.ndarray:
        """Transform features for the network (float32, same shape); negative values count as 0,
        as in training."""
        if self.kind == "raw":
            return np.clip(features, 0, None).astype(np.float32, copy=False)
        x = self.logged(features, scales, dtype=np.float32)
        x -= np.array(self.log_mean, dtype=np.float32)[None, :, None]
        x /= np.array(self.log_sd, dtype=np.float32)[None, :, None]
        return x

    def select(self, index: list[int]) -> InputTransform:
        """The same transform for a subset of its marks (positions ``index``)."""
        if self.kind == "raw":
            return self
        return InputTransform(self.kind, [self.log_mean[i] for i in index], [self.log_sd[i] for i in index])

    @classmethod
    def from_card(cls, card_transform) -> InputTransform:
        """The transform a :class:`chromepredict.models.card.Transform` describes."""
        return cls(card_transform.kind, list(card_transform.log_mean), list(card_transform.log_sd))
