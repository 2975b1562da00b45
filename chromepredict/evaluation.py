"""Metrics (scikit-learn) and the per-gene result table."""

from __future__ import annotations

import numpy as np
import pandas as pd


def roc_auc(labels: np.ndarray, p_high: np.ndarray) -> float:
    """ROC AUC; NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, p_high))


def metrics(labels: np.ndarray, p_high: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), accuracy at ``threshold`` and class counts."""
    from sklearn.metrics import accuracy_score, average_precision_score

    labels = np.asarray(labels)
    two_classes = len(np.unique(labels)) == 2
    return {
        "roc_auc": roc_auc(labels, p_high),
        "pr_auc": float(average_precision_score(labels, p_high)) if two_classes else float("nan"),
        "accuracy": float(accuracy_score(labels, np.asarray(p_high) >= threshold)),
        "n_genes": int(len(labels)),
        "n_high": int(np.sum(labels)),
    }


def gene_table(genes: pd.DataFrame, p_high: np.ndarray, labels: np.ndarray | None = None) -> pd.DataFrame:
    """gene_id, p_high (and label) per gene."""
    table = pd.DataFrame({"gene_id": genes["gene_id"].to_numpy(), "p_high": np.round(p_high, 6)})
    if labels is not None:
        table["label"] = np.asarray(labels).astype(int)
    return table
