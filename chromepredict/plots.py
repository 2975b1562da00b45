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
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(pivot) * len(pivot.columns) / 2), 4))
    width = 0.8 / len(pivot.columns)
    x = np.arange(len(pivot))
    for i, method in enumerate(pivot.columns):
        ax.bar(x + i * width, pivot[method], width, label=method)
    ax.set_xticks(x + 0.4 - width / 2, pivot.index)
    ax.set(xlabel="cell type", ylabel="test ROC AUC", ylim=(0.5, 1.0), title=title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    _save(fig, path)
