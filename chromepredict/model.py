"""The networks (torch), nothing else: the published DeepChrome network, the mark-mask-aware variant
the default recipe trains, and the seed ensemble that is exported as one ONNX graph."""

from __future__ import annotations

import torch
from torch import nn


class DeepChrome(nn.Module):
    """Conv1d(marks→50, k=10) → ReLU → MaxPool(5) → Dropout(0.5) → 625 → 125 → 2 (logits).

    As published (Singh et al. 2016); the softmax is applied by :meth:`probabilities` and in the
    exported ONNX graph. ``mask`` is accepted and ignored: the published network needs every mark.
    """

    masked = False

    def __init__(
        self, n_marks: int = 5, n_bins: int = 100, filters: int = 50, kernel: int = 10, pool: int = 5
    ):
        super().__init__()
        pooled = (n_bins - kernel + 1) // pool
        self.conv = nn.Conv1d(n_marks, filters, kernel_size=kernel)
        self.features = nn.Sequential(nn.ReLU(), nn.MaxPool1d(pool), nn.Dropout(0.5), nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Linear(filters * pooled, 625), nn.ReLU(), nn.Linear(625, 125), nn.ReLU(), nn.Linear(125, 2)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.features(self.conv(x)))


class MaskedChrome(nn.Module):
    """DeepChrome's convolution over the marks *and* a presence mask per mark, then a small head.

    Absent marks enter as zeros with their mask channel at 0, so one network scores any non-empty
    subset of its marks. ``outputs`` raw values per gene (the target's: e.g. 2 logits, or 3 with an
    auxiliary level; 1 level).
    """

    masked = True

    def __init__(
        self,
        n_marks: int = 5,
        n_bins: int = 100,
        filters: int = 50,
        kernel: int = 10,
        pool: int = 5,
        hidden: int = 64,
        dropout: float = 0.5,
        outputs: int = 2,
    ):
        super().__init__()
        pooled = (n_bins - kernel + 1) // pool
        self.conv = nn.Conv1d(2 * n_marks, filters, kernel_size=kernel)
        self.features = nn.Sequential(nn.ReLU(), nn.MaxPool1d(pool), nn.Dropout(dropout), nn.Flatten())
        self.head = nn.Sequential(
            nn.Linear(filters * pooled, hidden), nn.ReLU(), nn.Dropout(dropout / 2),
            nn.Linear(hidden, outputs),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones(x.shape[0], x.shape[1], dtype=x.dtype, device=x.device)
        present = mask[:, :, None].expand_as(x)
        return self.head(self.features(self.conv(torch.cat([x * present, present], dim=1))))


class Ensemble(nn.Module):
    """Members combined by their target (:meth:`chromepredict.targets.Target.combine`): class
    probabilities (low, high) averaged, or levels averaged and mapped back from the standardised
    scale they were trained on (``level_mean``, ``level_sd``). What is exported to ONNX."""

    def __init__(self, members: list[nn.Module], target, level_mean: float = 0.0, level_sd: float = 1.0):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.target = target  # a chromepredict.targets.Target
        self.level_mean, self.level_sd = float(level_mean), float(level_sd)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.target.combine([m(x, mask) for m in self.members], self.level_mean, self.level_sd)
