"""Explanations (torch): class optimisation maps (paper §3.3, eq. 7–9), bin influence (paper §5.2,
Fig. 4b) and per-gene integrated-gradients attributions, for class and level models alike.

Everything happens in the model's *input space*, i.e. after the card's transform (standardised
log signal, 0 = the training average). A class map is therefore "how far above the average log
signal each mark and bin would have to be" for the network to be sure of the class (for a level
model: to push the predicted level up, "high", or down, "low"); clipping negatives keeps the
above-average part, as the paper kept the positive counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromepredict.errors import UserError

CLASSES = ("low", "high")
ACTIVE_THRESHOLD = 0.25


def torch_network(model) -> object:
    """The model's ensemble rebuilt in torch from the ONNX weights, checked against onnxruntime."""
    try:
        import onnx
        import torch
        from onnx import numpy_helper
    except ImportError:
        raise UserError("explain needs torch and onnx: pip install 'chromepredict[train]'") from None
    from chromepredict.training import build_ensemble

    weights = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in onnx.load_from_string(model.path.read_bytes()).graph.initializer
    }
    ensemble = build_ensemble(model.card, len(model.marks), model.spec.n_bins)
    try:
        ensemble.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(
            f"{model.path}: the ONNX weights do not fit the card's network ({str(exc).splitlines()[0]})"
        ) from None
    ensemble.eval()
    probe = np.random.default_rng(0).normal(size=(4, len(model.marks), model.spec.n_bins)).astype(np.float32)
    with torch.no_grad():
        ours = ensemble(torch.from_numpy(probe), torch.ones(4, len(model.marks))).numpy()
    feed = {"features": probe} | (
        {"mask": np.ones((4, len(model.marks)), np.float32)} if model.mark_subsets else {}
    )
    theirs = model.session.run(None, feed)[0]
    if not np.allclose(ours, theirs, atol=1e-4):
        raise UserError(
            f"{model.path}: the network rebuilt in torch differs from the ONNX graph; re-export the model"
        )
    return ensemble


def output_of(ensemble, x, c: int):
    """What explanations follow: log P(class c) for class models, ± the level for level models."""
    import torch

    out = ensemble(x, torch.ones(x.shape[0], x.shape[1]))
    if ensemble.target == "class":
        return torch.log(out[:, c].clamp_min(1e-12))
    return out[:, 0] if c == 1 else -out[:, 0]


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
    ensemble, n_marks: int, n_bins: int, marks, lam=0.009, steps=1000, lr=0.1, restarts=5, seed=0
) -> ClassMaps:
    """Per class: maximise the class's output − λ‖X‖² from rand(marks, bins) with RMSprop (eq. 7–9).

    For class models the output is log P(class): the log keeps the gradient from vanishing as
    P(class) saturates, and maximises the same probability.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    maps = np.zeros((len(CLASSES), restarts, n_marks, n_bins), dtype=np.float32)
    reached = np.zeros((len(CLASSES), restarts), dtype=np.float32)
    for c in range(len(CLASSES)):
        x = torch.rand(restarts, n_marks, n_bins, generator=generator).requires_grad_(True)
        optimizer = torch.optim.RMSprop([x], lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = -(output_of(ensemble, x, c) - lam * (x**2).sum(dim=(1, 2))).sum()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            value = output_of(ensemble, x, c)
            reached[c] = (value.exp() if ensemble.target == "class" else value.abs()).numpy()
            positive = x.clamp(min=0).numpy()
        maps[c] = positive / np.maximum(positive.max(axis=(1, 2), keepdims=True), 1e-12)
    return ClassMaps(maps, reached, tuple(marks))


def bin_influence(ensemble, inputs: np.ndarray) -> np.ndarray:
    """Convolution feature maps (after ReLU) averaged over filters, members and genes, per position."""
    import torch

    x = torch.from_numpy(inputs)
    with torch.no_grad():
        activations = []
        for member in ensemble.members:
            stacked = torch.cat([x, torch.ones_like(x)], dim=1) if member.masked else x
            activations.append(torch.relu(member.conv(stacked)).mean(dim=(0, 1)))
    return torch.stack(activations).mean(dim=0).numpy()


def integrated_gradients(ensemble, inputs: np.ndarray, baseline: np.ndarray, steps: int = 64) -> np.ndarray:
    """Integrated gradients of P(high) (or the level) from ``baseline`` to each input: [genes, marks, bins].

    Attributions of one gene sum to f(gene) − f(baseline) (completeness), so each value reads as
    that mark-bin's share of the change in probability (or level).
    """
    import torch

    x = torch.from_numpy(inputs)
    base = torch.from_numpy(baseline).expand_as(x)
    ones = torch.ones(x.shape[0], x.shape[1])
    total = torch.zeros_like(x)
    for alpha in (np.arange(steps) + 0.5) / steps:  # midpoint rule
        point = (base + float(alpha) * (x - base)).requires_grad_(True)
        out = ensemble(point, ones)
        (out[:, 1] if ensemble.target == "class" else out[:, 0]).sum().backward()
        total += point.grad
    return ((x - base) * total / steps).numpy()


def predict_torch(ensemble, inputs: np.ndarray) -> np.ndarray:
    """P(high) or the level of transformed inputs, in torch."""
    import torch

    with torch.no_grad():
        out = ensemble(torch.from_numpy(inputs), torch.ones(inputs.shape[0], inputs.shape[1])).numpy()
    return out[:, 1] if ensemble.target == "class" else out[:, 0]


def no_signal_baseline(transform, n_marks: int, n_bins: int) -> np.ndarray:
    """The model input of a window with no signal at all (zeros through the transform)."""
    return transform.apply(np.zeros((1, n_marks, n_bins), dtype=np.float32), np.ones(n_marks))


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
