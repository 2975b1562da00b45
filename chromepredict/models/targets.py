"""What a model predicts: one :class:`Target` per kind, owning everything that differs between
them — the output column and ONNX output, the truth it is trained on, loss and metrics, the rule
that picks each network's epoch, plot labels and the chance line, BED scoring and summary counts.

No other module branches on a target's name: it asks :func:`get_target` for the object and uses
its attributes. A new target is one new class here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from chromepredict.system.errors import UserError


@dataclass(frozen=True)
class Target:
    """The behaviour shared by all targets; subclasses set the attributes and override methods."""

    name: str = ""
    column: str = ""  # the predictions table's value column
    output_name: str = ""  # the ONNX graph's output
    output_columns: tuple[str, ...] = ()
    metric_key: str = ""  # key of the headline metric in metrics dicts
    metric_name: str = ""  # that metric in words
    score_column: str = ""  # summary-table column of the agreement with measured expression
    label: str = ""  # what the value is, for plots
    chance: float = 0.0  # the metric of a model that knows nothing (a plot's reference line)
    classes: tuple[str, str] = ("low", "high")  # what explain's two maps push towards
    scaled: bool = False  # trained on standardised values, mapped back with the card's level_scale
    paired: bool = False  # learns from pairs of samples (the same genes in two conditions)
    classifier: bool = False  # a probability per class (bootstrap AUC intervals, the paper's recipe)
    value_range: tuple[float, float] | None = None  # the value's fixed range, for colour scales
    baseline_family: str = "classifiers"  # benchmark's comparison methods (chromepredict.models.baselines)
    reached_column: str = "probability"  # explain: what a class map's optimisation reached
    evaluation_plot: str = "roc_curve"  # evaluate's figure (chromepredict.results.plots.evaluation_figure)
    quantity: str = "log2(1 + {units})"  # what a regression target's value is, for axis labels

    # -- data ----------------------------------------------------------------------------------
    def truth(self, data) -> np.ndarray:
        """The values a model of this target is trained and scored on, for a labelled feature set."""
        raise NotImplementedError

    def value(self, output: np.ndarray) -> np.ndarray:
        """One value per gene from the ONNX graph's output [genes, columns]."""
        raise NotImplementedError

    def floor(self, values: np.ndarray) -> np.ndarray:
        """Predicted values as reported: never below what the unit can take (probabilities as they are)."""
        return values

    # -- metrics -------------------------------------------------------------------------------
    def score(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        """The headline metric (also each network's validation score)."""
        return float(self.metrics(truth, predicted)[self.metric_key])

    def metrics(self, truth: np.ndarray, predicted: np.ndarray) -> dict:
        raise NotImplementedError

    def check_truth(self, truth: np.ndarray, where: str) -> None:
        """Refuse training or scoring on values that cannot give the metric."""
        problem = self.unscorable(truth)
        if problem:
            raise UserError(f"the {where} genes {problem}; give more genes or another split")

    def unscorable(self, truth: np.ndarray) -> str | None:
        """Why ``truth`` cannot give the metric (None when it can)."""
        truth = np.asarray(truth, dtype=float)
        truth = truth[np.isfinite(truth)]
        if len(truth) < 3:
            return "are too few to score"
        if np.ptp(truth) == 0:
            return "all have the same value (a correlation needs values that vary)"
        return None

    def measured(self, matched, expression) -> np.ndarray | None:
        """The truth of an expression table matched to genes (NaN where unmatched); None when the
        table cannot give it."""
        raise NotImplementedError

    # -- outputs -------------------------------------------------------------------------------
    def table_columns(self, values: np.ndarray, threshold: float, matched) -> dict:
        """The predictions table's value columns (and the measured ones, with ``matched``)."""
        raise NotImplementedError

    def gene_columns(self, predicted: np.ndarray, truth: np.ndarray | None) -> dict:
        """evaluate's and train's per-gene columns: the prediction and the truth it is scored on."""
        raise NotImplementedError

    def counts(self, table: pd.DataFrame) -> dict:
        """Counts a summary row shows (high/low calls)."""
        return {}

    def calls(self, values: np.ndarray, threshold: float, card) -> np.ndarray:
        """high/low per gene (compare's flips): at or above the threshold, or the training levels' mean."""
        raise NotImplementedError

    def call_rule(self, threshold: float, card) -> str:
        """When :meth:`calls` says high, in words."""
        raise NotImplementedError

    def summary(self, table: pd.DataFrame, model_name: str) -> str:
        return f"{len(table)} genes scored with model {model_name}"

    def bed(self, table: pd.DataFrame, card) -> tuple[np.ndarray, np.ndarray, str]:
        """BED9 score (0–1000), the genes coloured high, and what the score means."""
        raise NotImplementedError

    def header(self, threshold: float | None, card) -> str:
        """The TSV header line that says what the value column means."""
        raise NotImplementedError

    # -- networks (torch) ----------------------------------------------------------------------
    def outputs(self, aux_level: bool) -> int:
        """Outputs of one network."""
        raise NotImplementedError

    def combine(self, outputs: list, level_mean: float, level_sd: float):
        """The ensemble's output from its networks' raw outputs (what the ONNX graph returns)."""
        raise NotImplementedError

    def network_value(self, output):
        """One value per gene from one network's raw output (validation during training)."""
        raise NotImplementedError

    def encode(self, truth: np.ndarray, level_mean: float, level_sd: float) -> np.ndarray:
        """The truth as the loss takes it."""
        return ((truth - level_mean) / level_sd).astype(np.float32)

    def loss(self, output, y, z_level, level_weight: float):
        """The training loss of a batch: ``y`` encoded truth, ``z_level`` standardised levels or None."""
        raise NotImplementedError

    def validation_loss(
        self, truth: np.ndarray, predicted: np.ndarray, level_mean: float, level_sd: float
    ) -> float:
        """Mean squared error on the standardised scale (regression targets)."""
        return float(np.mean((predicted - (truth - level_mean) / level_sd) ** 2))

    def select_by(self, recipe_rule: str) -> str:
        """How each network's epoch is chosen: ``loss`` or ``score`` (regression targets: the
        score, which measured better for them than the squared error)."""
        return "score"

    @property
    def window(self) -> Target:
        """The target of one window's value (predict's score against an expression table)."""
        return self

    def objective(self, output, c: int):
        """What explanations follow for class map ``c`` (0 = low, 1 = high): push the value down or up."""
        value = self.value(output)
        return value if c == 1 else -value

    def reached(self, output, c: int):
        """What class map ``c``'s optimisation reached: the value (P(class c) for classifiers)."""
        return self.value(output)


def _regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    from chromepredict.models.metrics import regression_metrics

    return regression_metrics(truth, predicted)


@dataclass(frozen=True)
class ClassTarget(Target):
    """High/low expression by the median rule (the paper's task): P(high) per gene."""

    name: str = "class"
    column: str = "p_high"
    output_name: str = "probabilities"
    output_columns: tuple[str, ...] = ("low", "high")
    metric_key: str = "roc_auc"
    metric_name: str = "ROC AUC"
    score_column: str = "auc"
    label: str = "P(high)"
    chance: float = 0.5
    classifier: bool = True
    value_range: tuple[float, float] | None = (0.0, 1.0)

    def truth(self, data) -> np.ndarray:
        if data.labels is None:
            raise UserError("training needs high/low labels for every gene; give --expression")
        return data.labels

    def value(self, output: np.ndarray) -> np.ndarray:
        return output[:, 1]

    def metrics(self, truth, predicted) -> dict:
        from chromepredict.models.metrics import metrics

        return metrics(truth, predicted)

    def unscorable(self, truth) -> str | None:
        values = np.unique(np.asarray(truth)[~np.isnan(np.asarray(truth, dtype=float))])
        if len(values) < 2:
            return f"are all {'high' if len(values) and values[0] else 'low'} (an AUC needs both)"
        return None

    def measured(self, matched, expression):
        return matched.labels.to_numpy(float)

    def table_columns(self, values, threshold, matched) -> dict:
        columns = {
            "p_high": np.round(values.astype(float), 6),
            "call": np.where(values >= threshold, "high", "low"),
        }
        if matched is not None:
            columns["label"] = matched.labels.map({1: "high", 0: "low"}).fillna("NA").to_numpy()
        return columns

    def gene_columns(self, predicted, truth) -> dict:
        columns = {"p_high": np.round(predicted, 6)}
        if truth is not None:  # the words predict's label column uses
            columns["label"] = np.where(np.asarray(truth).astype(int) == 1, "high", "low")
        return columns

    def counts(self, table) -> dict:
        return {"high": int((table["call"] == "high").sum()), "low": int((table["call"] == "low").sum())}

    def calls(self, values, threshold, card):
        return np.where(values >= threshold, "high", "low")

    def call_rule(self, threshold, card) -> str:
        return f"p_high ≥ {threshold}"

    def summary(self, table, model_name) -> str:
        counts = self.counts(table)
        return (
            f"{len(table)} genes scored with model {model_name}: {counts['high']} high, {counts['low']} low"
        )

    def bed(self, table, card):
        return (
            table["p_high"].to_numpy() * 1000,
            (table["call"] == "high").to_numpy(),
            "P(high expression) × 1000",
        )

    def header(self, threshold, card) -> str:
        return f"call: high when p_high >= {threshold}"

    def outputs(self, aux_level: bool) -> int:
        return 3 if aux_level else 2

    def combine(self, outputs, level_mean, level_sd):
        import torch

        return torch.stack([torch.softmax(o[:, :2], dim=1) for o in outputs]).mean(dim=0)

    def network_value(self, output):
        import torch

        return torch.softmax(output[:, :2], 1)[:, 1]

    def encode(self, truth, level_mean, level_sd):
        return truth.astype(np.int64)

    def loss(self, output, y, z_level, level_weight):
        import torch

        loss = torch.nn.functional.cross_entropy(output[:, :2], y)
        if z_level is not None and output.shape[1] == 3:
            loss = loss + level_weight * torch.nn.functional.mse_loss(output[:, 2], z_level)
        return loss

    def validation_loss(self, truth, predicted, level_mean, level_sd) -> float:
        p = np.clip(predicted, 1e-6, 1 - 1e-6)
        return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))

    def select_by(self, recipe_rule: str) -> str:
        return recipe_rule

    def objective(self, output, c: int):
        """log P(class c): the log keeps the gradient from vanishing as P saturates."""
        return output[:, c].clamp_min(1e-12).log()

    def reached(self, output, c: int):
        return output[:, c]


@dataclass(frozen=True)
class LevelTarget(Target):
    """The expression level, log2(1 + expression) in the training table's units."""

    name: str = "level"
    column: str = "level"
    output_name: str = "level"
    output_columns: tuple[str, ...] = ("level",)
    metric_key: str = "spearman"
    metric_name: str = "Spearman"
    score_column: str = "spearman"
    label: str = "predicted log2(1 + expression)"
    chance: float = 0.0
    scaled: bool = True
    baseline_family: str = "regressors"
    reached_column: str = "level_reached"
    bed_scale: str = "training-level percentile"  # what the BED score's percentile is of
    evaluation_plot: str = "level_scatter"

    def truth(self, data) -> np.ndarray:
        if data.levels is None:
            raise UserError(
                "--target level needs expression values for every gene (log2(1 + value) is learnt); "
                "give an expression table with values, not 0/1 labels"
            )
        if np.ptp(data.levels) == 0:
            raise UserError(
                f"every gene has the same expression value: no {self.name} to learn or score (a "
                "correlation needs values that vary); check the expression table and its column"
            )
        return data.levels

    def value(self, output: np.ndarray) -> np.ndarray:
        return output[:, 0]

    def floor(self, values: np.ndarray) -> np.ndarray:
        """log2(1 + expression) is never below 0 (no expression): a regression's output can be."""
        return np.maximum(values, 0.0)

    def metrics(self, truth, predicted) -> dict:
        return _regression_metrics(truth, predicted)

    def measured(self, matched, expression):
        return None if expression.is_labels else matched.levels.to_numpy(float)

    def table_columns(self, values, threshold, matched) -> dict:
        columns = {self.column: np.round(values.astype(float), 6)}
        if matched is not None:
            columns[f"measured_{self.column}"] = np.round(matched.levels.to_numpy(float), 6)
        return columns

    def gene_columns(self, predicted, truth) -> dict:
        columns = {self.column: np.round(predicted, 6)}
        if truth is not None:
            columns[f"measured_{self.column}"] = np.round(np.asarray(truth, dtype=float), 6)
        return columns

    def summary(self, table, model_name) -> str:
        return f"{len(table)} genes scored with model {model_name}: median predicted level {np.median(table[self.column]):.3g}"

    def calls(self, values, threshold, card):
        return np.where(values >= card.level_scale.mean, "high", "low")

    def call_rule(self, threshold, card) -> str:
        return f"level ≥ {card.level_scale.mean:.3g}, the training levels' mean"

    def bed(self, table, card):
        from scipy.stats import norm

        mean, sd = card.level_scale.mean, card.level_scale.sd or 1.0
        score = norm.cdf((table[self.column].to_numpy() - mean) / sd) * 1000
        what = f"predicted level as a {self.bed_scale} × 1000 (red: ≥ training mean {mean:.2f})"
        return score, (table[self.column] >= mean).to_numpy(), what

    def header(self, threshold, card) -> str:
        return f"level: predicted log2(1 + {card.level_units_or_default}) of the training table"

    def outputs(self, aux_level: bool) -> int:
        return 1

    def combine(self, outputs, level_mean, level_sd):
        import torch

        return torch.stack(outputs).mean(dim=0) * level_sd + level_mean

    def network_value(self, output):
        return output[:, 0]

    def loss(self, output, y, z_level, level_weight):
        import torch

        return torch.nn.functional.mse_loss(output[:, 0], y)


#: A change of log2(1 + expression) of at least this much is a change (2-fold) for the sign AUC.
CHANGE = 1.0


@dataclass(frozen=True)
class DifferenceTarget(LevelTarget):
    """The change of log2(1 + expression) between two conditions (DeepDiffChrome's task), learnt from
    both conditions' windows as g(B) − g(A): one network g scores each window (antisymmetric by
    construction, so the same genes in one condition change by exactly 0), trained on the change and,
    with the recipe's ``level_weight``, on each condition's level. A model's single-window output is
    therefore a level, and ``compare`` uses it like a level model's."""

    name: str = "difference"
    metric_name: str = "Spearman of the change"
    paired: bool = True
    quantity: str = "change of log2(1 + {units})"
    bed_scale: str = "percentile on the scale of the training change"

    @property
    def window(self) -> Target:
        return LevelTarget()

    def floor(self, values: np.ndarray) -> np.ndarray:
        """A window's g is a latent level whose differences are the change: kept whole, so that a change
        between two windows below 0 is not lost."""
        return values

    def truth(self, data) -> np.ndarray:
        first, second = data.first.levels, data.second.levels
        if first is None or second is None:
            raise UserError(
                "--target difference needs expression values for both samples of each pair: give "
                "expression tables of values (RPKM, TPM, counts), not 0/1 labels, on their samplesheet rows"
            )
        if np.ptp(second - first) == 0:
            raise UserError(
                "the change of expression is the same for every gene (are both expression tables "
                "the same?): no difference to learn or score"
            )
        return second - first

    def metrics(self, truth, predicted) -> dict:
        """Spearman, Pearson, R², MAE of the change, and the AUC of its sign on genes that change
        at least 2-fold (|Δ log2| ≥ 1)."""
        from chromepredict.models.metrics import roc_auc

        out = _regression_metrics(truth, predicted)
        changed = np.abs(truth) >= CHANGE
        out["sign_auc"] = (
            roc_auc((truth[changed] > 0).astype(int), predicted[changed]) if changed.any() else float("nan")
        )
        out["n_changed"] = int(changed.sum())
        return out

    def gene_columns(self, predicted, truth) -> dict:
        columns = {"delta": np.round(predicted, 6)}
        if truth is not None:
            columns["measured_delta"] = np.round(np.asarray(truth, dtype=float), 6)
        return columns

    def pair_loss(self, first, second, change, level_first, level_second, level_weight: float):
        import torch

        loss = torch.nn.functional.mse_loss(second - first, change)
        if level_weight:
            levels = torch.nn.functional.mse_loss(first, level_first) + torch.nn.functional.mse_loss(
                second, level_second
            )
            loss = loss + level_weight * levels / 2
        return loss


TARGETS: dict[str, Target] = {t.name: t for t in (ClassTarget(), LevelTarget(), DifferenceTarget())}


def get_target(name: str) -> Target:
    """The target called ``name``; an unknown one is a UserError."""
    if name not in TARGETS:
        raise UserError(f"target {name!r} is unknown; use one of {', '.join(TARGETS)}")
    return TARGETS[name]
