"""matplotlib figures only (Agg backend), fed by arrays and tables the other modules made."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chromepredict.files import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)


def learning_curve(log: list, path: str | Path, title: str, best_epoch: int) -> None:
    """Training loss and train/validation AUC per epoch, best epoch marked."""
    plt = _pyplot()
    epochs = [e.epoch for e in log]
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [e.loss for e in log], color="tab:gray")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    ax_auc.plot(epochs, [e.train_auc for e in log], label="train")
    ax_auc.plot(epochs, [e.valid_auc for e in log], label="validation")
    ax_auc.axvline(best_epoch, color="k", linestyle=":", label=f"chosen epoch {best_epoch}")
    ax_auc.set(xlabel="epoch", ylabel="ROC AUC", title="AUC", ylim=(0.4, 1.0))
    ax_auc.legend(loc="lower right")
    fig.suptitle(title)
    _save(fig, path)


def roc_curve(labels: np.ndarray, p_high: np.ndarray, path: str | Path, title: str, auc: float) -> None:
    """ROC curve with its AUC."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    plt = _pyplot()
    fpr, tpr, _ = sk_roc_curve(labels, p_high)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="lightgray", linestyle="--")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right")
    _save(fig, path)


def benchmark_bars(table, path: str | Path, title: str) -> None:
    """Test AUC per method (and cell type), in the style of DeepChrome's Fig. 3."""
    plt = _pyplot()
    pivot = table.pivot(index="cell_type", columns="method", values="test_auc")
    fig, ax = plt.subplots(figsize=(min(max(5, 0.3 * len(pivot) * len(pivot.columns)), 24), 4))
    width = 0.8 / len(pivot.columns)
    x = np.arange(len(pivot))
    for i, method in enumerate(pivot.columns):
        ax.bar(x + i * width, pivot[method], width, label=method)
    ax.set_xticks(x + 0.4 - width / 2, pivot.index)
    ax.set(xlabel="cell type", ylabel="test ROC AUC", ylim=(0.5, 1.0), title=title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    _save(fig, path)


def _mark_rows(ax, marks, spec) -> None:
    """Label a marks × bins heat map: one row per mark, x in kb from the TSS in the data's orientation."""
    direction = "5′→3′" if spec.orientation == "5to3" else "genomic"
    ax.set(
        yticks=np.arange(len(marks)) + 0.5,
        yticklabels=marks,
        xlabel=f"position relative to TSS (kb, {direction})",
    )


def class_map_figure(
    values: np.ndarray,
    counts: np.ndarray,
    flagged: np.ndarray,
    marks,
    class_name: str,
    spec,
    path,
    model_name: str,
) -> None:
    """Heat map marks × bins of one class's optimised input, TSS marked, with active-bin counts beside it (paper Fig. 5)."""
    plt = _pyplot()
    fig, (ax_map, ax_bar) = plt.subplots(
        1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [4, 1]}, sharey=True
    )
    offsets = np.arange(values.shape[1] + 1) * spec.bin_size - spec.flank
    image = ax_map.pcolormesh(
        offsets / 1000, np.arange(len(marks) + 1), values, cmap="viridis", vmin=0, vmax=1
    )
    ax_map.axvline(0, color="white", linestyle="--", linewidth=1)
    ax_map.text(0, len(marks) + 0.05, "TSS", ha="center", va="bottom", fontsize=8)
    _mark_rows(ax_map, marks, spec)
    fig.colorbar(image, ax=ax_map, label="optimised input (÷ max)", pad=0.01)
    colours = ["tab:red" if f else "tab:gray" for f in flagged]
    ax_bar.barh(np.arange(len(marks)) + 0.5, counts, color=colours)
    ax_bar.axvline(counts.mean(), color="k", linestyle=":", linewidth=1, label="mean")
    ax_bar.set(xlabel="active bins (> 0.25)")
    ax_bar.legend(fontsize="small", loc="lower right")
    fig.suptitle(f"{model_name}: class optimisation map, expression {class_name} (red: above-mean marks)")
    _save(fig, path)


def bin_influence_figure(
    positions_bp: np.ndarray, influence: np.ndarray, trend: np.ndarray, path, model_name: str, n_genes: int
) -> None:
    """Mean convolution activation per position with a fitted trend (paper Fig. 4b)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(positions_bp / 1000, influence, ".", color="tab:blue", label="mean activation")
    ax.plot(positions_bp / 1000, trend, color="tab:red", label="trend (Gaussian smoothing, σ = 2 positions)")
    ax.axvline(0, color="gray", linestyle="--", linewidth=1)
    ax.set(
        xlabel="centre of the convolution window relative to TSS (kb)",
        ylabel="mean ReLU(conv) activation",
        title=f"{model_name}: bin influence over {n_genes} genes",
    )
    ax.legend(fontsize="small")
    _save(fig, path)


def attribution_figure(
    gene_label: str,
    signal: np.ndarray,
    attribution: np.ndarray,
    marks,
    spec,
    path,
    model_name: str,
    p_high: float,
) -> None:
    """One gene: its tracks (top) and integrated-gradients attribution per mark × bin (bottom)."""
    plt = _pyplot()
    fig, (ax_sig, ax_attr) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    centres = (np.arange(signal.shape[1]) + 0.5) * spec.bin_size / 1000 - spec.flank / 1000
    for m, mark in enumerate(marks):
        ax_sig.plot(centres, signal[m], label=mark)
    ax_sig.set(
        ylabel="signal (input units, mean per bin)",
        title=f"{model_name}: {gene_label}, P(high) = {p_high:.3f}",
    )
    ax_sig.legend(fontsize="small", ncol=len(marks), loc="upper left")
    limit = max(float(np.abs(attribution).max()), 1e-9)
    edges = np.arange(signal.shape[1] + 1) * spec.bin_size / 1000 - spec.flank / 1000
    image = ax_attr.pcolormesh(
        edges, np.arange(len(marks) + 1), attribution, cmap="RdBu_r", vmin=-limit, vmax=limit
    )
    _mark_rows(ax_attr, marks, spec)
    fig.colorbar(
        image, ax=ax_attr, label="attribution to P(high)", orientation="horizontal", pad=0.25, fraction=0.08
    )
    for ax in (ax_sig, ax_attr):
        ax.axvline(0, color="gray", linestyle="--", linewidth=1)
    _save(fig, path)
