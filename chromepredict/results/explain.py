"""Explanations (torch): class optimisation maps (paper §3.3, eq. 7–9), bin influence (paper §5.2,
Fig. 4b) and per-gene integrated-gradients attributions, for every target (what is followed is the
target's: log P(class) for class models, the level pushed up or down for level models).

Everything happens in the model's *input space*, i.e. after the card's transform (standardised
log signal, 0 = the training average). A class map is therefore "how far above the average log
signal each mark and bin would have to be" for the network to be sure of the class (for a level
model: to push the predicted level up, "high", or down, "low"); clipping negatives keeps the
above-average part, as the paper kept the positive counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from chromepredict.system.errors import UserError

if TYPE_CHECKING:
    from chromepredict.models.networks import Ensemble
    from chromepredict.models.onnx_io import LoadedModel

ACTIVE_THRESHOLD = 0.25


def torch_network(model: LoadedModel) -> Ensemble:
    """The model's ensemble rebuilt in torch from the ONNX weights, checked against onnxruntime.

    Mask-aware networks are exported folded (the mask as a per-gene bias, see
    :class:`chromepredict.models.networks.FoldedChrome`); their weights are unfolded back into the trained
    form (:func:`chromepredict.models.networks.unfold_state_dict`), whose outputs and gradients are the same.
    ONNX files written before folding hold the trained form already and load as they are."""
    import onnx
    import torch
    from onnx import numpy_helper

    from chromepredict.models.networks import unfold_state_dict
    from chromepredict.models.training import build_ensemble

    weights = unfold_state_dict({
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in onnx.load_from_string(model.path.read_bytes()).graph.initializer
    })  # fmt: skip
    ensemble = build_ensemble(model.card)
    try:
        ensemble.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(
            f"{model.path}: the ONNX weights do not fit the card's network ({str(exc).splitlines()[0]})"
        ) from None
    ensemble.eval()
    n_marks, n_bins = len(model.marks), model.spec.n_bins
    probe = np.random.default_rng(0).normal(size=(4, n_marks, n_bins)).astype(np.float32)
    with torch.no_grad():
        ours = ensemble(torch.from_numpy(probe), torch.ones(4, n_marks)).numpy()
    feed = {"features": probe} | ({"mask": np.ones((4, n_marks), np.float32)} if model.mark_subsets else {})
    theirs = model.session.run(None, feed)[0]
    if not np.allclose(ours, theirs, atol=1e-4):
        raise UserError(
            f"{model.path}: the network rebuilt in torch differs from the ONNX graph; re-export the model"
        )
    return ensemble


def _mask(x, mask):
    import torch

    return torch.ones(x.shape[0], x.shape[1]) if mask is None else torch.as_tensor(mask, dtype=x.dtype)


def seen_bins(ensemble, n_marks: int, n_bins: int, probes: int = 64) -> np.ndarray:
    """[bins] bool: the bins whose value can change the output — read from the network itself (a
    pooling layer drops the last convolution positions when they do not fill a pool). The gradient
    is the target's value's (a class model's probabilities sum to 1: their sum has none)."""
    import torch

    shape = (probes, n_marks, n_bins)
    x = torch.from_numpy(np.random.default_rng(1).normal(size=shape).astype(np.float32))
    x.requires_grad_(True)
    out = ensemble(x, torch.ones(probes, n_marks))
    ensemble.target.value(out).sum().backward()
    assert x.grad is not None  # set by backward()
    return (x.grad.abs().sum(dim=(0, 1)) > 0).numpy()


def kernel_size(ensemble) -> int:
    """The width, in bins, of the networks' first convolution."""
    return int(ensemble.members[0].conv.kernel_size[0])


@dataclass
class ClassMaps:
    """Optimised inputs per class and restart, normalised to [0, 1] as in the paper."""

    maps: np.ndarray  # [classes, restarts, marks, bins], negatives set to 0, divided by the max
    reached: np.ndarray  # [classes, restarts]: P(class), or the level, at the end
    marks: tuple[str, ...]

    @property
    def mean_maps(self) -> np.ndarray:
        """[classes, marks, bins]: restarts averaged, renormalised to a maximum of 1."""
        mean = self.maps.mean(axis=1)
        return mean / np.maximum(mean.max(axis=(1, 2), keepdims=True), 1e-12)

    def active_bins(self) -> np.ndarray:
        """[classes, marks]: bins above 0.25."""
        return (self.mean_maps > ACTIVE_THRESHOLD).sum(axis=-1)

    def flagged(self) -> np.ndarray:
        """[classes, marks]: marks whose active-bin count is above the mean count over marks."""
        counts = self.active_bins()
        return counts > counts.mean(axis=1, keepdims=True)

    def flag_stability(self) -> np.ndarray:
        """[classes, marks]: fraction of restarts in which a mark is flagged on its own."""
        counts = (self.maps > ACTIVE_THRESHOLD).sum(axis=-1)  # [classes, restarts, marks]
        return (counts > counts.mean(axis=2, keepdims=True)).mean(axis=1)


def class_maps(
    ensemble,
    n_marks: int,
    n_bins: int,
    marks,
    lam=0.009,
    steps=1000,
    lr=0.1,
    restarts=5,
    seed=0,
    progress: Callable[[int], None] | None = None,
) -> ClassMaps:
    """Per class: maximise the target's objective − λ‖X‖² from rand(marks, bins) with RMSprop
    (eq. 7–9); ``progress`` is called with the steps done (classes × steps in all)."""
    import torch

    target = ensemble.target
    classes = target.report.classes
    generator = torch.Generator().manual_seed(seed)
    maps = np.zeros((len(classes), restarts, n_marks, n_bins), dtype=np.float32)
    reached = np.zeros((len(classes), restarts), dtype=np.float32)
    ones = torch.ones(restarts, n_marks)
    for c in range(len(classes)):
        x = torch.rand(restarts, n_marks, n_bins, generator=generator).requires_grad_(True)
        optimizer = torch.optim.RMSprop([x], lr=lr)
        for step in range(steps):
            optimizer.zero_grad()
            out = ensemble(x, ones)
            loss = -(target.report.objective(out, target.value(out), c) - lam * (x**2).sum(dim=(1, 2))).sum()
            loss.backward()
            optimizer.step()
            if progress is not None and (step + 1) % 50 == 0:
                progress(50)
        if progress is not None:
            progress(steps % 50)
        with torch.no_grad():
            out = ensemble(x, ones)
            reached[c] = target.report.reached(out, target.value(out), c).numpy()
            positive = x.clamp(min=0).numpy()
        maps[c] = positive / np.maximum(positive.max(axis=(1, 2), keepdims=True), 1e-12)
    return ClassMaps(maps, reached, tuple(marks))


def bin_influence(ensemble, inputs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Convolution feature maps (after ReLU) averaged over filters, members and genes, per position."""
    import torch

    x = torch.from_numpy(inputs)
    present = _mask(x, mask)[:, :, None].expand_as(x)
    with torch.no_grad():
        activations = []
        for member in ensemble.members:
            stacked = torch.cat([x * present, present], dim=1) if member.masked else x
            activations.append(torch.relu(member.conv(stacked)).mean(dim=(0, 1)))
    return torch.stack(activations).mean(dim=0).numpy()


def integrated_gradients(
    ensemble, inputs: np.ndarray, baseline: np.ndarray, mask: np.ndarray | None = None, steps: int = 64
) -> np.ndarray:
    """Integrated gradients of the target's value from ``baseline`` to each input: [genes, marks, bins].

    Attributions of one gene sum to f(gene) − f(baseline) (completeness), so each value reads as
    that mark-bin's share of the change in probability (or level).
    """
    import torch

    x = torch.from_numpy(inputs)
    base = torch.from_numpy(baseline).expand_as(x)
    present = _mask(x, mask)
    total = torch.zeros_like(x)
    for alpha in (np.arange(steps) + 0.5) / steps:  # midpoint rule
        point = (base + float(alpha) * (x - base)).requires_grad_(True)
        ensemble.target.value(ensemble(point, present)).sum().backward()
        assert point.grad is not None  # set by backward()
        total += point.grad
    return ((x - base) * total / steps).numpy()


def predict_torch(ensemble, inputs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The target's value (P(high), the level) of transformed inputs, in torch."""
    import torch

    x = torch.from_numpy(inputs)
    with torch.no_grad():
        return ensemble.target.value(ensemble(x, _mask(x, mask))).numpy()


def no_signal_baseline(transform, n_marks: int, n_bins: int) -> np.ndarray:
    """The model input of a window with no signal at all (zeros through the transform)."""
    return transform.apply(np.zeros((1, n_marks, n_bins), dtype=np.float32), np.ones(n_marks))


def smooth(values: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Gaussian smoothing (σ in positions, ± 3σ, edges extended with the end values): the trend line."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(values, dtype=float), sigma, mode="nearest", truncate=3.0)


def bin_positions(spec, kernel: int) -> np.ndarray:
    """Centre of each convolution position relative to the TSS, bp (position j spans bins j..j+kernel−1)."""
    return np.array([spec.centre(j, kernel) for j in range(spec.n_bins - kernel + 1)])
