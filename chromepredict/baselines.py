"""The paper's comparison models (scikit-learn), each tuned on the validation genes.

Inputs are log1p(counts) standardised on the training genes, as for the logistic regression.
- ``svm_best_bin``: RBF SVM on the 5 marks of one bin; the bin with the best validation AUC
  (Cheng et al. 2011 as run in DeepChrome).
- ``svm_bin_average``: RBF SVM on each mark's signal averaged over all bins.
- ``rf_best_bins``: random forest on the best bin per mark, chosen on training AUC (Dong et al. 2012).
- ``logistic``: L2 logistic regression on all marks × bins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chromepredict.evaluation import roc_auc
from chromepredict.features import FeatureSet

SVM_C = (0.1, 1.0, 10.0)
RF_DEPTH = (4, 8, None)
LOGISTIC_C = (0.001, 0.01, 0.1, 1.0)


def _log(data: FeatureSet) -> np.ndarray:
    return np.log1p(np.clip(data.features, 0, None)).astype(np.float64)


def _tune(make: Callable, grid, x_train, y_train, x_valid, y_valid):
    """Fit one model per grid value; return (valid AUC, fitted model, value) of the best."""
    best = None
    for value in grid:
        model = make(value).fit(x_train, y_train)
        auc = roc_auc(y_valid, _score(model, x_valid))
        if best is None or auc > best[0]:
            best = (auc, model, value)
    return best


def _score(model, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1] if hasattr(model, "predict_proba") else model.decision_function(x)


def _svm(c: float):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(C=c, kernel="rbf", gamma="scale"))


def svm_best_bin(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    xt, xv, xs = _log(train), _log(valid), _log(test)
    bin_aucs = [
        roc_auc(valid.labels, _score(_svm(1.0).fit(xt[:, :, b], train.labels), xv[:, :, b]))
        for b in range(xt.shape[2])
    ]
    b = int(np.nanargmax(bin_aucs))
    auc, model, c = _tune(_svm, SVM_C, xt[:, :, b], train.labels, xv[:, :, b], valid.labels)
    return {
        "valid_auc": auc,
        "test_auc": roc_auc(test.labels, _score(model, xs[:, :, b])),
        "setting": f"bin={b + 1} C={c}",
    }


def svm_bin_average(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    xt, xv, xs = (_log(d).mean(axis=2) for d in (train, valid, test))
    auc, model, c = _tune(_svm, SVM_C, xt, train.labels, xv, valid.labels)
    return {"valid_auc": auc, "test_auc": roc_auc(test.labels, _score(model, xs)), "setting": f"C={c}"}


def rf_best_bins(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    xt, xv, xs = _log(train), _log(valid), _log(test)
    best = [
        int(np.nanargmax([abs(roc_auc(train.labels, xt[:, m, b]) - 0.5) for b in range(xt.shape[2])]))
        for m in range(xt.shape[1])
    ]
    pick = (np.arange(len(best)), best)

    def make(depth):
        return RandomForestClassifier(n_estimators=300, max_depth=depth, random_state=seed, n_jobs=1)

    auc, model, depth = _tune(
        make, RF_DEPTH, xt[:, pick[0], pick[1]], train.labels, xv[:, pick[0], pick[1]], valid.labels
    )
    bins = ",".join(str(b + 1) for b in best)
    return {
        "valid_auc": auc,
        "test_auc": roc_auc(test.labels, _score(model, xs[:, pick[0], pick[1]])),
        "setting": f"bins={bins} depth={depth}",
    }


def logistic(train: FeatureSet, valid: FeatureSet, test: FeatureSet, seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xt, xv, xs = (_log(d).reshape(len(d.labels), -1) for d in (train, valid, test))

    def make(c):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

    auc, model, c = _tune(make, LOGISTIC_C, xt, train.labels, xv, valid.labels)
    return {"valid_auc": auc, "test_auc": roc_auc(test.labels, _score(model, xs)), "setting": f"C={c}"}


BASELINES = {
    "SVM (best bin)": svm_best_bin,
    "SVM (bin average)": svm_bin_average,
    "Random forest (best bins)": rf_best_bins,
    "Logistic regression": logistic,
}
