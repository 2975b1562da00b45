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


def gene_table(genes: pd.DataFrame, predicted: np.ndarray, truth: np.ndarray | None, target) -> pd.DataFrame:
    """gene_id (and sample, for pooled samples) with the target's prediction and truth columns."""
    columns = ["sample", "gene_id"] if "sample" in genes else ["gene_id"]
    table = genes[columns].reset_index(drop=True)
    for column, values in target.report.gene_columns(predicted, truth).items():
        table[column] = values
    return table


def _split_classes(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=float)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must be 1-D of the same length")
    return scores[labels], scores[~labels]


def _resampled_aucs(
    positives: np.ndarray, negatives: np.ndarray, pos_draws: np.ndarray, neg_draws: np.ndarray
) -> np.ndarray:
    """Mann–Whitney AUC of each resample (one per row of the draw matrices).

    ``pos_draws`` [B, n_high] indexes ``positives``; ``neg_draws`` [B, n_low] indexes ``negatives``
    sorted by score (resampling the sorted or the original order is the same bootstrap). Rows of
    ``arange`` give the ordinary AUC. The number of drawn low genes below (and tied with) each drawn
    high gene is read off prefix sums of the low-gene draw counts, so a resample costs O(n) rather
    than O(n_high × n_low): U = Σ_high (#low below + ½ #low tied), AUC = U / (n_high · n_low).
    """
    n_boot, n_neg = neg_draws.shape
    sorted_neg = np.sort(negatives)
    below = np.searchsorted(sorted_neg, positives, side="left")  # low genes strictly below each high gene
    up_to = np.searchsorted(sorted_neg, positives, side="right")  # … below or tied
    counts = np.bincount((neg_draws + np.arange(n_boot)[:, None] * n_neg).ravel(), minlength=n_boot * n_neg)
    prefix = np.zeros((n_boot, n_neg + 1), dtype=np.int64)  # prefix[b, k]: draws among the k lowest
    np.cumsum(counts.reshape(n_boot, n_neg), axis=1, out=prefix[:, 1:])
    flat, rows = prefix.ravel(), np.arange(n_boot)[:, None] * (n_neg + 1)
    twice_u = flat[below[pos_draws] + rows].sum(axis=1) + flat[up_to[pos_draws] + rows].sum(axis=1)
    return twice_u / (2.0 * pos_draws.shape[1] * n_neg)


def roc_auc_ci(
    labels: np.ndarray, scores: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Stratified bootstrap percentile interval of the ROC AUC.

    High and low genes are resampled separately (each class keeps its size), ``n_boot`` times with
    a ``numpy.random.default_rng(seed)`` generator; the interval is the (1 − level)/2 and
    (1 + level)/2 quantiles of the resampled AUCs. (NaN, NaN) when a class is missing.
    """
    if not 0 < level < 1:
        raise ValueError(f"level {level} must lie between 0 and 1")
    if n_boot < 1:
        raise ValueError(f"n_boot {n_boot} must be at least 1")
    positives, negatives = _split_classes(labels, scores)
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    if not (np.isfinite(positives).all() and np.isfinite(negatives).all()):
        raise ValueError("scores must be finite (no NaN or infinity)")
    # Resample in chunks so memory stays ~ 50 MB whatever the gene count.
    chunk = max(1, int(1_000_000 // max(len(positives), len(negatives))))
    aucs = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        pos_draws = rng.integers(0, len(positives), size=(b, len(positives)))
        neg_draws = rng.integers(0, len(negatives), size=(b, len(negatives)))
        aucs.append(_resampled_aucs(positives, negatives, pos_draws, neg_draws))
    low, high = np.quantile(np.concatenate(aucs), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def regression_metrics(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Spearman and Pearson correlation, R² (of ``predicted`` as a prediction of ``measured``), MAE, n.

    Pairs with a non-finite value are left out; ``n_genes`` counts the pairs used. Correlations are
    NaN when fewer than two pairs remain or either side is constant; R² is NaN below two pairs.
    """
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, r2_score

    measured, predicted = _finite_pairs(measured, predicted)
    n = int(len(measured))
    nan = float("nan")
    varying = _varying(measured, predicted)
    return {
        "spearman": float(spearmanr(measured, predicted).statistic) if varying else nan,
        "pearson": float(pearsonr(measured, predicted).statistic) if varying else nan,
        "r2": float(r2_score(measured, predicted)) if n >= 2 else nan,
        "n_genes": n,
        "mae": float(mean_absolute_error(measured, predicted)) if n else nan,
    }


def spearman(measured: np.ndarray, predicted: np.ndarray) -> float:
    """:func:`regression_metrics`' Spearman alone (each training epoch's score of a level network)."""
    return spearman_test(measured, predicted)[0]


def spearman_test(measured: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Spearman's correlation of the finite pairs and its p-value; (NaN, NaN) where it is not defined."""
    from scipy.stats import spearmanr

    measured, predicted = _finite_pairs(measured, predicted)
    if not _varying(measured, predicted):
        return float("nan"), float("nan")
    result = spearmanr(measured, predicted)
    return float(result.statistic), float(result.pvalue)


def _finite_pairs(measured: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    measured = np.asarray(measured, dtype=float).ravel()
    predicted = np.asarray(predicted, dtype=float).ravel()
    if measured.shape != predicted.shape:
        raise ValueError(f"measured ({len(measured)}) and predicted ({len(predicted)}) differ in length")
    keep = np.isfinite(measured) & np.isfinite(predicted)
    return measured[keep], predicted[keep]


def _varying(measured: np.ndarray, predicted: np.ndarray) -> bool:
    """Two pairs or more, neither side constant: a correlation is defined."""
    return bool(len(measured) >= 2 and np.ptp(measured) > 0 and np.ptp(predicted) > 0)
