"""The paper's comparison models (scikit-learn), each tuned on the validation genes, and two
regressors for expression levels.

Inputs are log1p(counts) standardised on the training genes, as for the logistic regression.
- ``svm_best_bin``: RBF SVM on the 5 marks of one bin; the bin with the best validation AUC
  (Cheng et al. 2011 as run in DeepChrome).
- ``svm_bin_average``: RBF SVM on each mark's signal averaged over all bins.
- ``rf_best_bins``: random forest on the best bin per mark, chosen on training AUC (Dong et al. 2012).
- ``logistic``: L2 logistic regression on all marks × bins.
- ``ridge_level`` / ``forest_level``: ridge and random-forest regression of log2(1 + expression).
- ``h3k4me3_floor``: no training at all: log1p of H3K4me3's mean over TSS ± 1 kb (the single-mark
  floor a model has to beat; in both tables when the marks include H3K4me3).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator

from chromepredict.io.features import FeatureSet
from chromepredict.models.metrics import regression_metrics, roc_auc

SVM_C = (0.1, 1.0, 10.0)
RF_DEPTH = (4, 8, None)
LOGISTIC_C = (0.001, 0.01, 0.1, 1.0)
RIDGE_ALPHA = (1.0, 10.0, 100.0, 1000.0)


def _log(data: FeatureSet) -> np.ndarray:
    return np.log1p(np.clip(data.features, 0, None)).astype(np.float64)


def _spearman_score(estimator, x, y) -> float:
    return regression_metrics(y, estimator.predict(x))["spearman"]


def _auc_score(estimator, x, y) -> float:
    return roc_auc(y, estimator.decision_function(x))


def _tune(make: Callable, grid, x_train, y_train, x_valid, y_valid, scoring=_auc_score):
    """Pick the grid value with the best validation score (scikit-learn's GridSearchCV over the one
    predefined train/validation split), then fit it on the training genes; returns
    (validation score, fitted model, value). Ties go to the first value of the grid."""
    from sklearn.model_selection import GridSearchCV, PredefinedSplit

    x = np.concatenate([x_train, x_valid])
    y = np.concatenate([y_train, y_valid])
    fold = np.concatenate([np.full(len(x_train), -1), np.zeros(len(x_valid))])
    search = GridSearchCV(
        _Grid(make), {"value": list(grid)}, scoring=scoring, cv=PredefinedSplit(fold), refit=False
    ).fit(x, y)
    value = search.best_params_["value"]
    return float(search.best_score_), make(value).fit(x_train, y_train), value


class _Grid(BaseEstimator):
    """A scikit-learn estimator made by ``make(value)``: lets GridSearchCV search one value."""

    def __init__(self, make: Callable | None = None, value=None):
        self.make = make
        self.value = value

    def fit(self, x, y):
        if self.make is None:
            raise ValueError("_Grid needs make: the estimator of a value")
        self.model_ = self.make(self.value).fit(x, y)
        return self

    def predict(self, x):
        return self.model_.predict(x)

    def decision_function(self, x):
        return _score(self.model_, x)


def _result(valid_auc: float, labels: np.ndarray, scores: np.ndarray, setting: str) -> dict:
    return {"valid_auc": valid_auc, "test_auc": roc_auc(labels, scores), "setting": setting, "scores": scores}


def _labels(data: FeatureSet) -> np.ndarray:
    """The high/low labels a classifier learns (every set of a class benchmark has them)."""
    if data.labels is None:
        raise ValueError("the classification baselines need labelled genes")
    return data.labels


def _score(model: BaseEstimator, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1] if hasattr(model, "predict_proba") else model.decision_function(x)


def _svm(c: float):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(C=c, kernel="rbf", gamma="scale"))


def svm_best_bin(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    xt, xv, xs = _log(train), _log(valid), _log(test)
    bin_aucs = [
        roc_auc(_labels(valid), _score(_svm(1.0).fit(xt[:, :, b], _labels(train)), xv[:, :, b]))
        for b in range(xt.shape[2])
    ]
    b = int(np.nanargmax(bin_aucs))
    auc, model, c = _tune(_svm, SVM_C, xt[:, :, b], _labels(train), xv[:, :, b], _labels(valid))
    return _result(auc, _labels(test), _score(model, xs[:, :, b]), f"bin={b + 1} C={c}")


def svm_bin_average(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    xt, xv, xs = (_log(d).mean(axis=2) for d in (train, valid, test))
    auc, model, c = _tune(_svm, SVM_C, xt, _labels(train), xv, _labels(valid))
    return _result(auc, _labels(test), _score(model, xs), f"C={c}")


def rf_best_bins(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    xt, xv, xs = _log(train), _log(valid), _log(test)
    best = [
        int(np.nanargmax([abs(roc_auc(_labels(train), xt[:, m, b]) - 0.5) for b in range(xt.shape[2])]))
        for m in range(xt.shape[1])
    ]
    pick = (np.arange(len(best)), best)

    def make(depth):
        return RandomForestClassifier(n_estimators=300, max_depth=depth, random_state=seed, n_jobs=1)

    auc, model, depth = _tune(
        make, RF_DEPTH, xt[:, pick[0], pick[1]], _labels(train), xv[:, pick[0], pick[1]], _labels(valid)
    )
    bins = ",".join(str(b + 1) for b in best)
    return _result(auc, _labels(test), _score(model, xs[:, pick[0], pick[1]]), f"bins={bins} depth={depth}")


def logistic(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xt, xv, xs = (_log(d).reshape(len(d.genes), -1) for d in (train, valid, test))

    def make(c):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

    auc, model, c = _tune(make, LOGISTIC_C, xt, _labels(train), xv, _labels(valid))
    return _result(auc, _labels(test), _score(model, xs), f"C={c}")


def h3k4me3_at_tss(data: FeatureSet) -> np.ndarray:
    """log1p(mean H3K4me3 over the central 2 kb) per gene: the score of a gene with no model at all."""
    m = data.marks.index("H3K4me3")
    centre, half = data.spec.n_bins // 2, max(1, 1000 // data.spec.bin_size)
    return np.log1p(np.clip(data.features[:, m, centre - half : centre + half], 0, None).mean(axis=1))


def h3k4me3_floor(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    """:func:`h3k4me3_at_tss` of the test genes, as a baseline's result."""
    return {"setting": "TSS ± 1 kb, no training", "scores": h3k4me3_at_tss(test)}


FLOORS = {"H3K4me3 at the TSS (no training)": h3k4me3_floor}

BASELINES = {
    "SVM (best bin)": svm_best_bin,
    "SVM (bin average)": svm_bin_average,
    "Random forest (best bins)": rf_best_bins,
    "Logistic regression": logistic,
}


def _tune_level(make: Callable, grid, name: str, x: tuple, train, valid, test) -> dict:
    """Keep the grid value with the best validation Spearman; score the test genes."""
    xt, xv, xs = x
    rho, model, value = _tune(make, grid, xt, train.levels, xv, valid.levels, scoring=_spearman_score)
    scores = model.predict(xs)
    return {
        "valid_spearman": rho,
        "test_spearman": regression_metrics(test.levels, scores)["spearman"],
        "setting": f"{name}={value}",
        "scores": scores,
    }


def ridge_level(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    """Ridge regression of the level on log1p of all marks × bins, alpha tuned on validation Spearman."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = tuple(_log(d).reshape(len(d.genes), -1) for d in (train, valid, test))
    return _tune_level(
        lambda a: make_pipeline(StandardScaler(), Ridge(alpha=a)), RIDGE_ALPHA, "alpha", x, train, valid, test
    )


def forest_level(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    """Random forest regression of the level on each mark's log signal averaged in 10 blocks of bins."""
    from sklearn.ensemble import RandomForestRegressor

    def blocks(d: FeatureSet) -> np.ndarray:
        x = _log(d)
        return x.reshape(len(d.genes), x.shape[1], 10, -1).mean(axis=3).reshape(len(d.genes), -1)

    def make(depth):
        return RandomForestRegressor(n_estimators=300, max_depth=depth, random_state=seed, n_jobs=1)

    return _tune_level(
        make, RF_DEPTH, "depth", tuple(blocks(d) for d in (train, valid, test)), train, valid, test
    )


REGRESSORS = {"Ridge regression": ridge_level, "Random forest regression (block means)": forest_level}

#: The comparison methods of each target family (:attr:`chromepredict.models.targets.Fit.baselines`).
METHODS = {"classifiers": BASELINES, "regressors": REGRESSORS}
