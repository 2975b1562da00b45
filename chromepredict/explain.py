"""Explanations (torch): class optimisation maps (paper §3.3, eq. 7–9), bin influence (paper §5.2,
Fig. 4b) and per-gene integrated-gradients attributions.

Everything happens in the model's *input space*, i.e. after the card's transform (for the default
``sample-log1p`` models: per-mark standardised log signal, 0 = the training average). A class map
is therefore "how far above the average log signal each mark and bin would have to be" for the
network to be sure of the class; clipping negatives keeps the above-average part, as the paper
kept the positive counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromepredict.errors import UserError

CLASSES = ("low", "high")
ACTIVE_THRESHOLD = 0.25


def torch_network(model) -> object:
    """The DeepChrome network of a loaded ONNX model, rebuilt in torch from the ONNX weights."""
    try:
        import onnx
        import torch
        from onnx import numpy_helper
    except ImportError:
        raise UserError("explain needs torch and onnx: pip install 'chromepredict[train]'") from None
    from chromepredict.model import DeepChrome

    weights = {
        init.name.removeprefix("net."): torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in onnx.load(str(model.path)).graph.initializer
    }
    n_marks, n_bins = len(model.marks), model.spec.n_bins
    net = DeepChrome(n_marks, n_bins)
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(
            f"{model.path}: not a DeepChrome network ({str(exc).splitlines()[0]}); explain supports DeepChrome models"
        ) from None
    return net.eval()


@dataclass
class ClassMaps:
    """Optimised inputs per class and restart, normalised to [0, 1] as in the paper."""

    maps: np.ndarray  # [classes, restarts, marks, bins], negatives set to 0, divided by the max
    probability: np.ndarray  # [classes, restarts]: the network's probability of the class at the end
    marks: tuple[str, ...]

    @property
    def mean_maps(self) -> np.ndarray:
        """[classes, marks, bins]: restarts averaged, renormalised to a maximum of 1."""
        mean = self.maps.mean(axis=1)
        return mean / np.maximum(mean.max(axis=(1, 2), keepdims=True), 1e-12)

    def active_bins(self, maps: np.ndarray | None = None) -> np.ndarray:
        """[classes, marks]: bins above 0.25."""
        return ((self.mean_maps if maps is None else maps) > ACTIVE_THRESHOLD).sum(axis=-1)

    def flagged(self) -> np.ndarray:
        """[classes, marks]: marks whose active-bin count is above the mean count over marks."""
        counts = self.active_bins()
        return counts > counts.mean(axis=1, keepdims=True)

    def flag_stability(self) -> np.ndarray:
        """[classes, marks]: fraction of restarts in which a mark is flagged on its own."""
        counts = (self.maps > ACTIVE_THRESHOLD).sum(axis=-1)  # [classes, restarts, marks]
        return (counts > counts.mean(axis=2, keepdims=True)).mean(axis=1)


def class_maps(
    net,
    n_marks: int,
    n_bins: int,
    marks,
    lam: float = 0.009,
    steps: int = 1000,
    lr: float = 0.1,
    restarts: int = 5,
    seed: int = 0,
) -> ClassMaps:
    """Per class: maximise log P(class | X) − λ‖X‖² from rand(marks, bins) with RMSprop (eq. 7–9).

    The log keeps the gradient from vanishing as P(class) saturates; it maximises the same
    probability.
    """
    import torch

    net.eval()
    generator = torch.Generator().manual_seed(seed)
    maps = np.zeros((len(CLASSES), restarts, n_marks, n_bins), dtype=np.float32)
    probability = np.zeros((len(CLASSES), restarts), dtype=np.float32)
    for c in range(len(CLASSES)):
        x = torch.rand(restarts, n_marks, n_bins, generator=generator).requires_grad_(True)
        optimizer = torch.optim.RMSprop([x], lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            log_p = torch.log_softmax(net(x), dim=1)[:, c]
            loss = -(log_p - lam * (x**2).sum(dim=(1, 2))).sum()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            probability[c] = net.probabilities(x)[:, c].numpy()
            positive = x.clamp(min=0).numpy()
        maps[c] = positive / np.maximum(positive.max(axis=(1, 2), keepdims=True), 1e-12)
    return ClassMaps(maps, probability, tuple(marks))


def bin_influence(net, inputs: np.ndarray) -> np.ndarray:
    """Convolution feature maps (after ReLU) averaged over filters and genes: one value per position."""
    import torch

    net.eval()
    with torch.no_grad():
        activation = torch.relu(net.conv(torch.from_numpy(inputs)))  # [genes, filters, positions]
    return activation.mean(dim=(0, 1)).numpy()


def integrated_gradients(net, inputs: np.ndarray, baseline: np.ndarray, steps: int = 64) -> np.ndarray:
    """Integrated gradients of P(high) from ``baseline`` to each input: [genes, marks, bins].

    Attributions of one gene sum to P(high | gene) − P(high | baseline) (completeness), so each
    value reads as that mark-bin's share of the change in probability.
    """
    import torch

    net.eval()
    x = torch.from_numpy(inputs)
    base = torch.from_numpy(baseline).expand_as(x)
    total = torch.zeros_like(x)
    for alpha in (np.arange(steps) + 0.5) / steps:  # midpoint rule
        point = (base + float(alpha) * (x - base)).requires_grad_(True)
        net.probabilities(point)[:, 1].sum().backward()
        total += point.grad
    return ((x - base) * total / steps).numpy()


def no_signal_baseline(transform, n_marks: int, n_bins: int) -> np.ndarray:
    """The model input of a window with no signal at all (raw zeros through the transform)."""
    return transform.apply(np.zeros((1, n_marks, n_bins), dtype=np.float32))


def smooth(values: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Gaussian-kernel smoothing (σ in positions), edges padded with the end values: the trend line."""
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def bin_positions(n_bins: int, bin_size: int, flank: int, kernel: int = 10) -> np.ndarray:
    """Centre of each convolution position relative to the TSS, bp (position j spans bins j..j+kernel−1)."""
    starts = np.arange(n_bins - kernel + 1) * bin_size - flank
    return starts + kernel * bin_size / 2
