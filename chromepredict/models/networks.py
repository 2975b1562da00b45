"""The networks (torch), nothing else: the published DeepChrome network, the mark-mask-aware variant
the default recipe trains, the seed ensemble that is exported as one ONNX graph, and the folded form
of the mask-aware network that the export writes (:func:`folded`, :func:`unfold_state_dict`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

if TYPE_CHECKING:
    from chromepredict.models.targets import Target


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
    """Members combined by their target (:meth:`chromepredict.models.targets.Target.combine`): class
    probabilities (low, high) averaged, or levels averaged and mapped back from the standardised
    scale they were trained on (``level_mean``, ``level_sd``). What is exported to ONNX."""

    def __init__(
        self, members: Sequence[nn.Module], target: Target, level_mean: float = 0.0, level_sd: float = 1.0
    ):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.target = target
        self.level_mean, self.level_sd = float(level_mean), float(level_sd)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.target.combine([m(x, mask) for m in self.members], self.level_mean, self.level_sd)


def rebased(
    net: MaskedChrome,
    scale: torch.Tensor,
    shift: torch.Tensor,
    out_scale: float = 1.0,
    out_shift: float = 0.0,
) -> MaskedChrome:
    """A copy of ``net`` that takes inputs ``x`` where it was trained on ``scale · x + shift`` (per
    mark, on the marks present) and returns ``(output − out_shift) / out_scale``, exactly up to float
    rounding, for every mask.

    This is how one ensemble holds networks trained under two input standardisations (a blend):
    the per-mark scale multiplies the marks' convolution weights, and the shift, constant over the
    bins of a present mark and 0 for an absent one (``x · mask``), is a per-gene bias that joins the
    mask channels' weights; the output map is folded into the last layer.
    """
    out = copy.deepcopy(net)
    n_marks = out.conv.weight.shape[1] // 2
    with torch.no_grad():
        marks = net.conv.weight[:, :n_marks].detach()
        out.conv.weight[:, :n_marks] = marks * scale[None, :, None]
        out.conv.weight[:, n_marks:] += marks * shift[None, :, None]
        last = cast(nn.Linear, out.head[-1])
        last.weight /= out_scale
        last.bias.sub_(out_shift).div_(out_scale)
    return out.eval()


class FoldedChrome(nn.Module):
    """:class:`MaskedChrome` rewritten for inference (what :func:`folded` exports; never trained).

    The mask half of MaskedChrome's input is constant over bins, so its convolution is a per-gene
    bias, the same at every position: ``mask @ W_mask.sum(-1).T``. Here the convolution runs over
    the marks only (``conv``, no bias) and ``mask`` (a Linear: weight = W_mask summed over the
    kernel, bias = the convolution's bias) adds that bias, after the max-pool and before the ReLU:
    max(a + c) = max(a) + c (in floats too: rounding is monotone) and ReLU commutes with max, so
    this is MaskedChrome's ReLU → MaxPool of the biased convolution, on 1/pool of the values. Same
    outputs as the MaskedChrome it came from up to float rounding (summation order), for every mask.
    """

    masked = True

    def __init__(
        self, n_marks: int, filters: int, kernel: int, pool: int, pooled: int, hidden: int, n_out: int
    ):
        super().__init__()
        self.conv = nn.Conv1d(n_marks, filters, kernel_size=kernel, bias=False)
        self.mask = nn.Linear(n_marks, filters)
        self.pool = nn.MaxPool1d(pool)
        # indices as in MaskedChrome.head (head.0, head.3), so the ONNX initializers keep its names
        self.head = nn.Sequential(
            nn.Linear(filters * pooled, hidden), nn.ReLU(), nn.Identity(), nn.Linear(hidden, n_out)
        )

    @classmethod
    def from_masked(cls, net: MaskedChrome) -> FoldedChrome:
        weight = net.conv.weight.detach()
        filters, channels, kernel = weight.shape
        n_marks = channels // 2
        first, last = cast(nn.Linear, net.head[0]), cast(nn.Linear, net.head[3])
        pool = cast(int, cast(nn.MaxPool1d, net.features[1]).kernel_size)  # built from an int
        pooled = first.in_features // filters
        folded = cls(n_marks, filters, kernel, pool, pooled, first.out_features, last.out_features)
        with torch.no_grad():
            folded.conv.weight.copy_(weight[:, :n_marks])
            folded.mask.weight.copy_(weight[:, n_marks:].sum(dim=-1))
            folded.mask.bias.copy_(cast(torch.Tensor, net.conv.bias).detach())
            folded.head[0].load_state_dict(first.state_dict())
            folded.head[3].load_state_dict(last.state_dict())
        return folded.eval()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones(x.shape[0], x.shape[1], dtype=x.dtype, device=x.device)
        pooled = self.pool(self.conv(x * mask[:, :, None]))
        return self.head(torch.relu(pooled + self.mask(mask)[:, :, None]).flatten(1))


def folded(ensemble: Ensemble) -> Ensemble:
    """The ensemble to export: mask-aware members as :class:`FoldedChrome` (others unchanged).
    Its state dict has the same names as the trained one except ``members.<i>.conv.weight`` (marks
    only) and ``members.<i>.mask.{weight,bias}`` (instead of ``members.<i>.conv.bias``)."""
    members = [FoldedChrome.from_masked(m) if isinstance(m, MaskedChrome) else m for m in ensemble.members]
    return Ensemble(members, ensemble.target, ensemble.level_mean, ensemble.level_sd).eval()


def unfold_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A :func:`folded` ensemble's state dict back in :class:`MaskedChrome`'s names and shapes
    (a state dict without ``mask`` weights is returned unchanged).

    Only the kernel sums ``Wsum`` of the mask channels' weights survive folding. The mask is constant
    over bins, so every position of the convolution sees ``Σ_k W_mask[:, :, k] · mask = Wsum · mask``
    however ``Wsum`` is spread over the kernel: the rebuilt network has the trained network's outputs,
    and its gradients with respect to the features, up to float rounding. ``Wsum`` is put at the
    first kernel position and zeros at the others, so that folding the rebuilt network gives back
    exactly these weights (x + 0 = x) and re-exporting it writes the same ONNX bytes.
    """
    folded_members = {name.rpartition(".mask.")[0] for name in state if name.endswith(".mask.weight")}
    out = {}
    for name, value in state.items():
        prefix, _, leaf = name.rpartition(".mask.")
        if not prefix or leaf not in ("weight", "bias"):
            if name.removesuffix(".conv.weight") not in folded_members:
                out[name] = value
        elif leaf == "bias":
            out[f"{prefix}.conv.bias"] = value
        else:
            marks = state[f"{prefix}.conv.weight"]
            mask_weight = torch.zeros_like(marks)
            mask_weight[:, :, 0] = value
            out[f"{prefix}.conv.weight"] = torch.cat([marks, mask_weight], dim=1)
    return out
