"""The DeepChrome network (torch), nothing else."""

from __future__ import annotations

import torch
from torch import nn


class DeepChrome(nn.Module):
    """Conv1d(marks→50, k=10) → ReLU → MaxPool(5) → Dropout(0.5) → 625 → 125 → 2 (logits).

    As published (Singh et al. 2016); the softmax is applied by :meth:`probabilities` and in the
    exported ONNX graph.
    """

    def __init__(
        self, n_marks: int = 5, n_bins: int = 100, filters: int = 50, kernel: int = 10, pool: int = 5
    ):
        super().__init__()
        pooled = (n_bins - kernel + 1) // pool
        self.conv = nn.Conv1d(n_marks, filters, kernel_size=kernel)
        self.features = nn.Sequential(nn.ReLU(), nn.MaxPool1d(pool), nn.Dropout(0.5), nn.Flatten())
        self.classifier = nn.Sequential(
            nn.Linear(filters * pooled, 625),
            nn.ReLU(),
            nn.Linear(625, 125),
            nn.ReLU(),
            nn.Linear(125, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.conv(x)))

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities [low, high]."""
        return torch.softmax(self.forward(x), dim=1)


class Probabilities(nn.Module):
    """Wraps a network so its output is class probabilities (what is exported to ONNX)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.probabilities(x)
