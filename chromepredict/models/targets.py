"""What a model predicts: one :class:`Target` per kind, in three small parts.

- The target itself: the networks' output (its width, the members combined into the ONNX graph's
  output, the value read from it and floored as reported), the truth it is trained and scored on,
  and the metric that scores it — what training, the graph and scoring share.
- Its training half, :attr:`Target.fit` (:class:`Fit`, torch): the truth as the loss takes it,
  the loss, each network's epoch rule, the level scale a model keeps, which networks and baselines
  learn it, and pairs.
- Its output half, :attr:`Target.report` (:class:`Report`): the tables' columns, the header and
  BED, high/low calls and their rule, summary counts, plot labels and what explain's maps follow.

No other module branches on a target's name or kind: it asks :func:`get_target` for the object and
uses its parts. A new target is one class here with its two halves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from chromepredict.io.expression import UNITS_FOLD
from chromepredict.models.metrics import metrics as class_metrics
from chromepredict.models.metrics import regression_metrics, roc_auc, roc_auc_ci, spearman, spearman_test
from chromepredict.system.errors import UserError

#: Predictions are said to run against the truth when they do so clearly, not by chance: a Spearman
#: at most CONTRARY_SPEARMAN with a p-value below CONTRARY_P (levels), or an AUC at most
#: CONTRARY_AUC whose 95 % interval lies below 0.5 (classes). Inverted truth sits far beyond both
#: (−0.8, 0.07 on the bundled data); a model at chance rarely reaches either.
CONTRARY_P = 1e-3
CONTRARY_SPEARMAN = -0.2
CONTRARY_AUC = 0.35


def falling_spearman(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    """The Spearman of ``predicted`` with ``truth`` when it is clearly negative (at most
    CONTRARY_SPEARMAN with a p-value below CONTRARY_P), else None (NaN included)."""
    rho, p = spearman_test(truth, predicted)
    return rho if rho <= CONTRARY_SPEARMAN and p < CONTRARY_P else None


if TYPE_CHECKING:
    import torch

    from chromepredict.io.expression import Expression, Matched
    from chromepredict.models.card import LevelScale

#: A network's output: numpy (onnxruntime) or torch (training, explanations).
Output = TypeVar("Output", np.ndarray, "torch.Tensor")


class Labelled(Protocol):
    """Genes with their truth: a :class:`~chromepredict.io.features.FeatureSet` or
    :class:`~chromepredict.models.training.TrainingArrays`."""

    @property
    def labels(self) -> np.ndarray | None: ...

    @property
    def levels(self) -> np.ndarray | None: ...


class LabelledPairs(Protocol):
    """The same genes in two conditions: a :class:`~chromepredict.io.features.Paired` feature set or
    :class:`~chromepredict.models.training.PairArrays`."""

    @property
    def first(self) -> Labelled: ...

    @property
    def second(self) -> Labelled: ...


def _scale(scale: LevelScale | None) -> LevelScale:
    """A level model's level scale (its card always has one)."""
    if scale is None:
        raise UserError("the model card of a level model has no level_scale; re-export the model")
    return scale


# ----------------------------------------------------------------------------- training half


@dataclass(frozen=True)
class Fit:
    """How networks learn a target (torch), here a level's: the truth standardised on the training
    levels, squared error, each network's epoch by its best score, the output mapped back to the
    level's scale. :class:`ClassFit` and :class:`PairFit` change what differs."""

    networks: tuple[str, ...] = ("masked",)  # the recipes' networks that can learn it (Recipe.network)
    baselines: str = "regressors"  # benchmark's comparison methods (chromepredict.models.baselines.METHODS)
    pairs: bool = False  # learns from pairs of samples (Paired, PairArrays), not from one sample's genes

    def encode(self, truth: np.ndarray, level_mean: float, level_sd: float) -> np.ndarray:
        """The truth as the loss takes it."""
        return ((truth - level_mean) / level_sd).astype(np.float32)

    def scale_levels(
        self, truth: np.ndarray, levels: np.ndarray | None, level_weight: float
    ) -> np.ndarray | None:
        """The levels whose mean and sd standardise what the networks learn (None: no scale)."""
        return truth

    def aux_levels(self, levels: np.ndarray | None, level_weight: float) -> np.ndarray | None:
        """Levels an auxiliary output learns beside the truth (None: none)."""
        return None

    def level_scale(self, mean: float, sd: float) -> tuple[float, float] | None:
        """The (mean, sd) a model maps its networks' output back with, from the training scale (None
        when its output is not a level)."""
        return mean, sd

    def strata(self, truth: np.ndarray) -> np.ndarray:
        """Classes to balance cross-validation folds on: above or below the median."""
        return (truth > np.median(truth)).astype(int)

    def loss(
        self, output: torch.Tensor, y: torch.Tensor, z_level: torch.Tensor | None, level_weight: float
    ) -> torch.Tensor:
        """The training loss of a batch: ``y`` encoded truth, ``z_level`` standardised levels or None."""
        import torch

        return torch.nn.functional.mse_loss(output[:, 0], y)

    def pair_loss(
        self,
        first: torch.Tensor,
        second: torch.Tensor,
        change: torch.Tensor,
        level_first: torch.Tensor,
        level_second: torch.Tensor,
        level_weight: float,
    ) -> torch.Tensor:
        """The training loss of a batch of pairs of windows (targets learnt from pairs)."""
        raise NotImplementedError("this target learns from one sample's genes, not from pairs")

    def validation_loss(
        self, truth: np.ndarray, predicted: np.ndarray, level_mean: float, level_sd: float
    ) -> float:
        """Mean squared error on the standardised scale."""
        return float(np.mean((predicted - (truth - level_mean) / level_sd) ** 2))

    def select_by(self, recipe_rule: str) -> str:
        """How each network's epoch is chosen: ``loss`` or ``score`` (levels: the score, which
        measured better for them than the squared error)."""
        return "score"

    def network_value(self, output: torch.Tensor) -> torch.Tensor:
        """One value per gene from one network's raw output (validation during training)."""
        return output[:, 0]


@dataclass(frozen=True)
class ClassFit(Fit):
    """High/low: cross-entropy on two logits (and, with the recipe's ``level_weight``, squared error
    on a third output that learns the standardised level)."""

    networks: tuple[str, ...] = ("masked", "deepchrome")
    baselines: str = "classifiers"

    def encode(self, truth, level_mean, level_sd):
        return truth.astype(np.int64)

    def scale_levels(self, truth, levels, level_weight):
        return self.aux_levels(levels, level_weight)

    def aux_levels(self, levels, level_weight):
        return levels if level_weight > 0 else None

    def level_scale(self, mean, sd):
        return None

    def strata(self, truth):
        return truth

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

    def network_value(self, output):
        import torch

        return torch.softmax(output[:, :2], 1)[:, 1]


@dataclass(frozen=True)
class PairFit(Fit):
    """A change learnt from pairs of windows as g(B) − g(A), and, with the recipe's ``level_weight``,
    g on each condition's level."""

    pairs: bool = True

    def pair_loss(self, first, second, change, level_first, level_second, level_weight):
        import torch

        loss = torch.nn.functional.mse_loss(second - first, change)
        if level_weight:
            levels = torch.nn.functional.mse_loss(first, level_first) + torch.nn.functional.mse_loss(
                second, level_second
            )
            loss = loss + level_weight * levels / 2
        return loss


# ----------------------------------------------------------------------------- output half


@dataclass(frozen=True)
class Report:
    """What a target's outputs say: its columns, header, BED, calls, summary and plot labels."""

    column: str  # the predictions table's value column
    label: str  # what the value is, for plots
    score_column: str  # summary-table column of the agreement with measured expression
    value_range: tuple[float, float] | None = None  # the value's fixed range, for colour scales
    classes: tuple[str, str] = ("low", "high")  # what explain's two maps push towards
    reached_column: str = "probability"  # explain: what a class map's optimisation reached
    evaluation_plot: str = "roc_curve"  # evaluate's figure (chromepredict.results.plots.evaluation_figure)
    quantity: str = "log2(1 + {units})"  # what a regression target's value is, for axis labels

    def table_columns(
        self, values: np.ndarray, threshold: float, matched: Matched | None
    ) -> dict[str, np.ndarray]:
        """The predictions table's value columns (and the measured ones, with ``matched``)."""
        raise NotImplementedError

    def gene_columns(self, predicted: np.ndarray, truth: np.ndarray | None) -> dict[str, np.ndarray]:
        """evaluate's and train's per-gene columns: the prediction and the truth it is scored on."""
        raise NotImplementedError

    def counts(self, table: pd.DataFrame) -> dict[str, int]:
        """Counts a summary row shows (high/low calls)."""
        return {}

    def summary(self, table: pd.DataFrame, model_name: str) -> str:
        return f"{len(table)} genes scored with model {model_name}"

    def calls(self, values: np.ndarray, threshold: float, level_scale: LevelScale | None) -> np.ndarray:
        """high/low per gene (compare's flips)."""
        raise NotImplementedError

    def call_rule(self, threshold: float, level_scale: LevelScale | None) -> str:
        """When :meth:`calls` says high, in words."""
        raise NotImplementedError

    def own_call_rule(self, threshold: float, level_scale: LevelScale | None) -> str | None:
        """The rule :meth:`calls` follows instead of ``threshold`` (None when it takes the threshold)."""
        return self.call_rule(threshold, level_scale)

    def bed(self, table: pd.DataFrame, level_scale: LevelScale | None) -> tuple[np.ndarray, np.ndarray, str]:
        """BED9 score (0–1000), the genes coloured high, and what the score means."""
        raise NotImplementedError

    def header(self, threshold: float | None, level_units: str) -> str:
        """What the value columns mean (the sidecar's ``values``)."""
        raise NotImplementedError

    def objective(self, output: torch.Tensor, value: torch.Tensor, c: int) -> torch.Tensor:
        """What explain's class map ``c`` (0 = low, 1 = high) maximises, from the ensemble's output
        and its ``value``: push the value down or up."""
        return value if c == 1 else -value

    def reached(self, output: torch.Tensor, value: torch.Tensor, c: int) -> torch.Tensor:
        """What class map ``c``'s optimisation reached: the value (P(class c) for classes)."""
        return value


@dataclass(frozen=True)
class ClassReport(Report):
    """P(high) with a high/low call at the threshold."""

    column: str = "p_high"
    label: str = "P(high)"
    score_column: str = "auc"
    value_range: tuple[float, float] | None = (0.0, 1.0)

    def table_columns(self, values, threshold, matched):
        columns = {
            "p_high": np.round(values.astype(float), 6),
            "call": np.where(values >= threshold, "high", "low"),
        }
        if matched is not None:
            columns["label"] = matched.labels.map({1: "high", 0: "low"}).fillna("NA").to_numpy()
        return columns

    def gene_columns(self, predicted, truth):
        columns = {"p_high": np.round(predicted, 6)}
        if truth is not None:  # the words predict's label column uses
            columns["label"] = np.where(np.asarray(truth).astype(int) == 1, "high", "low")
        return columns

    def counts(self, table):
        return {"high": int((table["call"] == "high").sum()), "low": int((table["call"] == "low").sum())}

    def summary(self, table, model_name):
        counts = self.counts(table)
        return (
            f"{len(table)} genes scored with model {model_name}: {counts['high']} high, {counts['low']} low"
        )

    def calls(self, values, threshold, level_scale):
        return np.where(values >= threshold, "high", "low")

    def call_rule(self, threshold, level_scale):
        return f"p_high ≥ {threshold}"

    def own_call_rule(self, threshold, level_scale):
        return None

    def bed(self, table, level_scale):
        return (
            table["p_high"].to_numpy() * 1000,
            (table["call"] == "high").to_numpy(),
            "P(high expression) × 1000",
        )

    def header(self, threshold, level_units):
        return f"call: high when p_high >= {threshold}"

    def objective(self, output, value, c):
        """log P(class c): the log keeps the gradient from vanishing as P saturates."""
        return output[:, c].clamp_min(1e-12).log()

    def reached(self, output, value, c):
        return output[:, c]


@dataclass(frozen=True)
class LevelReport(Report):
    """The predicted level; high when at or above the training levels' mean."""

    column: str = "level"
    label: str = "predicted log2(1 + expression)"
    score_column: str = "spearman"
    reached_column: str = "level_reached"
    evaluation_plot: str = "level_scatter"
    bed_scale: str = "training-level percentile"  # what the BED score's percentile is of

    def table_columns(self, values, threshold, matched):
        columns = {self.column: np.round(values.astype(float), 6)}
        if matched is not None:
            columns[f"measured_{self.column}"] = np.round(matched.levels.to_numpy(float), 6)
        return columns

    def gene_columns(self, predicted, truth):
        columns = {self.column: np.round(predicted, 6)}
        if truth is not None:
            columns[f"measured_{self.column}"] = np.round(np.asarray(truth, dtype=float), 6)
        return columns

    def summary(self, table, model_name):
        return f"{len(table)} genes scored with model {model_name}: median predicted level {np.median(table[self.column]):.3g}"

    def calls(self, values, threshold, level_scale):
        return np.where(values >= _scale(level_scale).mean, "high", "low")

    def call_rule(self, threshold, level_scale):
        return f"level ≥ {_scale(level_scale).mean:.3g}, the training levels' mean"

    def bed(self, table, level_scale):
        from scipy.stats import norm

        scale = _scale(level_scale)
        mean, sd = scale.mean, scale.sd or 1.0
        score = norm.cdf((table[self.column].to_numpy() - mean) / sd) * 1000
        what = f"predicted level as a {self.bed_scale} × 1000 (red: ≥ training mean {mean:.2f})"
        return score, (table[self.column] >= mean).to_numpy(), what

    def header(self, threshold, level_units):
        return f"level: predicted log2(1 + {level_units}) of the training table"


@dataclass(frozen=True)
class DifferenceReport(LevelReport):
    """A window's latent level, whose difference between two windows is the change."""

    quantity: str = "change of log2(1 + {units})"
    bed_scale: str = "percentile on the scale of the training change"

    def gene_columns(self, predicted, truth):
        columns = {"delta": np.round(predicted, 6)}
        if truth is not None:
            columns["measured_delta"] = np.round(np.asarray(truth, dtype=float), 6)
        return columns


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True, kw_only=True)
class Target:
    """What a model predicts: the value read from its networks' output, the truth and the metric,
    with its training half :attr:`fit` and its output half :attr:`report`."""

    name: str
    output_name: str  # the ONNX graph's output
    output_columns: tuple[str, ...]
    metric_key: str  # key of the headline metric in metrics dicts
    metric_name: str  # that metric in words
    chance: float  # the metric of a model that knows nothing (a plot's reference line)
    levels: bool  # its truth is an expression level, log2(1 + value) (not high/low, which a log keeps)
    fit: Fit
    report: Report

    def outputs(self, aux_level: bool) -> int:
        """Raw outputs of one network (``aux_level``: with an auxiliary level output, where it has one)."""
        raise NotImplementedError

    def combine(self, outputs: list[torch.Tensor], level_mean: float, level_sd: float) -> torch.Tensor:
        """The ensemble's output from its networks' raw outputs (what the ONNX graph returns)."""
        raise NotImplementedError

    def value(self, output: Output) -> Output:
        """One value per gene from the ensemble's output [genes, columns] (numpy or torch)."""
        raise NotImplementedError

    def floor(self, values: np.ndarray) -> np.ndarray:
        """Predicted values as reported: never below what the unit can take (probabilities as they are)."""
        return values

    def truth(self, data: Any) -> np.ndarray:
        """The values a model of this target is trained and scored on: from :class:`Labelled` genes, or
        :class:`LabelledPairs` for targets learnt from pairs."""
        raise NotImplementedError

    def measured(self, matched: Matched, expression: Expression) -> np.ndarray | None:
        """The truth of an expression table matched to genes (NaN where unmatched); None when the
        table cannot give it."""
        raise NotImplementedError

    def metrics(self, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
        raise NotImplementedError

    def score(self, truth: np.ndarray, predicted: np.ndarray) -> float:
        """The headline metric, ``metrics(…)[metric_key]`` (also each network's validation score);
        targets compute it alone, since training scores every network each epoch."""
        raise NotImplementedError

    def interval(self, truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float] | None:
        """A 95 % bootstrap interval of the headline metric, where one is given (AUCs)."""
        return None

    def log_caveat(self, data: Any) -> str | None:
        """What to say when this target's truth comes from a table that looks log-transformed
        already (None for classes: a log does not change high and low)."""
        if not self.levels:
            return None
        sets = (data.first, data.second) if hasattr(data, "second") else (data,)
        return next((s.provenance.log_scale for s in sets if s.provenance.log_scale), None)

    def units_caveat(self, expression: Expression, scale: LevelScale | None, units: str) -> str | None:
        """What to say when a table's values are probably in another unit than the model's training
        table (None where units do not matter: classes, changes)."""
        return None

    #: What ``against`` asks when the predictions fall as the truth rises.
    contrary_question: str = (
        "are the measured values ranks (1 = highest) or negated? give the expression values themselves"
    )

    def against(self, truth: np.ndarray, predicted: np.ndarray) -> str | None:
        """What to say when the predictions run clearly against ``truth`` (no model does that on
        true values: the truth is inverted, a rank or negated), else None."""
        rho = falling_spearman(truth, predicted)
        if rho is None:
            return None
        return f"Spearman {rho:.2f}: the predicted values fall as the measured ones rise — {self.contrary_question}"

    def unscorable(self, truth: np.ndarray) -> str | None:
        """Why ``truth`` cannot give the metric (None when it can)."""
        truth = np.asarray(truth, dtype=float)
        truth = truth[np.isfinite(truth)]
        if len(truth) < 3:
            return "are too few to score"
        if np.ptp(truth) == 0:
            return "all have the same value (a correlation needs values that vary)"
        return None

    def check_truth(self, truth: np.ndarray, where: str) -> None:
        """Refuse training or scoring on values that cannot give the metric."""
        problem = self.unscorable(truth)
        if problem:
            raise UserError(f"the {where} genes {problem}; give more genes or another split")

    @property
    def window(self) -> Target:
        """The target of one window's value (predict's score against an expression table)."""
        return self


@dataclass(frozen=True, kw_only=True)
class ClassTarget(Target):
    """High/low expression by the median rule (the paper's task): P(high) per gene."""

    name: str = "class"
    output_name: str = "probabilities"
    output_columns: tuple[str, ...] = ("low", "high")
    metric_key: str = "roc_auc"
    metric_name: str = "ROC AUC"
    chance: float = 0.5
    levels: bool = False
    fit: Fit = ClassFit()
    report: Report = ClassReport()

    def outputs(self, aux_level: bool) -> int:
        return 3 if aux_level else 2

    def combine(self, outputs, level_mean, level_sd):
        import torch

        return torch.stack([torch.softmax(o[:, :2], dim=1) for o in outputs]).mean(dim=0)

    def value(self, output: Output) -> Output:
        return output[:, 1]

    def truth(self, data: Labelled) -> np.ndarray:
        if data.labels is None:
            raise UserError("training needs high/low labels for every gene; give --expression")
        return data.labels

    def measured(self, matched, expression):
        return matched.labels.to_numpy(float)

    def metrics(self, truth, predicted):
        return class_metrics(truth, predicted)

    def score(self, truth, predicted):
        return roc_auc(truth, predicted)

    def interval(self, truth, predicted):
        return roc_auc_ci(truth, predicted)

    def against(self, truth, predicted):
        if not roc_auc(truth, predicted) <= CONTRARY_AUC:
            return None
        low, high = roc_auc_ci(truth, predicted)
        if not high < 0.5:
            return None
        return (
            f"ROC AUC below chance (95 % interval {low:.2f}–{high:.2f}): the calls run against these labels "
            "— are they inverted (1 = low) or a rank (1 = highest)? give expression values or high = 1"
        )

    def unscorable(self, truth):
        values = np.unique(np.asarray(truth)[~np.isnan(np.asarray(truth, dtype=float))])
        if len(values) < 2:
            return f"are all {'high' if len(values) and values[0] else 'low'} (an AUC needs both)"
        return None


@dataclass(frozen=True, kw_only=True)
class _Regression(Target):
    """A value per gene on the scale of log2(1 + expression), scored by its Spearman."""

    output_name: str = "level"
    output_columns: tuple[str, ...] = ("level",)
    metric_key: str = "spearman"
    chance: float = 0.0
    levels: bool = True

    def outputs(self, aux_level: bool) -> int:
        return 1

    def combine(self, outputs, level_mean, level_sd):
        import torch

        return torch.stack(outputs).mean(dim=0) * level_sd + level_mean

    def value(self, output: Output) -> Output:
        return output[:, 0]

    def measured(self, matched, expression):
        return None if expression.is_labels else matched.levels.to_numpy(float)

    def metrics(self, truth, predicted):
        return regression_metrics(truth, predicted)

    def score(self, truth, predicted):
        return spearman(truth, predicted)


@dataclass(frozen=True, kw_only=True)
class LevelTarget(_Regression):
    """The expression level, log2(1 + expression) in the training table's units."""

    name: str = "level"
    metric_name: str = "Spearman"
    fit: Fit = Fit()
    report: Report = LevelReport()

    def floor(self, values: np.ndarray) -> np.ndarray:
        """log2(1 + expression) is never below 0 (no expression): a regression's output can be."""
        return np.maximum(values, 0.0)

    def truth(self, data: Labelled) -> np.ndarray:
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

    def units_caveat(self, expression: Expression, scale: LevelScale | None, units: str) -> str | None:
        """The table's mean log2(1 + value) over all its genes more than UNITS_FOLD-fold away from
        the training genes' mean level (the card's level scale): R², MAE and the measured levels
        would compare units, not accuracy. The two gene sets differ (a whole table against the
        training genes: 2.31 against 2.37 for the bundled E003 table), well inside the margin."""
        if scale is None or expression.is_labels or not len(expression.values):
            return None
        mean = float(np.log2(1.0 + expression.values.to_numpy(float)).mean())
        if abs(mean - scale.mean) <= np.log2(UNITS_FOLD):
            return None
        return (
            f"{expression.source}: its mean log2(1 + value) is {mean:.1f}, the model's training genes' "
            f"{scale.mean:.1f} ({units}): another unit or scale? R² and MAE would measure the units, not the "
            f"model; give {units} (Spearman does not depend on it)"
        )


#: A change of log2(1 + expression) of at least this much is a change (2-fold) for the sign AUC.
CHANGE = 1.0


@dataclass(frozen=True, kw_only=True)
class DifferenceTarget(_Regression):
    """The change of log2(1 + expression) between two conditions (DeepDiffChrome's task), learnt from
    both conditions' windows as g(B) − g(A): one network g scores each window (antisymmetric by
    construction, so the same genes in one condition change by exactly 0), trained on the change and,
    with the recipe's ``level_weight``, on each condition's level. A model's single-window output is
    therefore a level, and ``compare`` uses it like a level model's. Its value is kept whole (a
    window's g is a latent level whose differences are the change: a change below 0 is not lost)."""

    name: str = "difference"
    metric_name: str = "Spearman of the change"
    fit: Fit = PairFit()
    report: Report = DifferenceReport()
    contrary_question: str = "is the pair given in the wrong order (B:A for A:B)? give the pair as A:B"

    @property
    def window(self) -> Target:
        return LevelTarget()

    def truth(self, data: LabelledPairs) -> np.ndarray:
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

    def metrics(self, truth, predicted):
        """Spearman, Pearson, R², MAE of the change, and the AUC of its sign on genes that change
        at least 2-fold (|Δ log2| ≥ 1)."""
        out = regression_metrics(truth, predicted)
        changed = np.abs(truth) >= CHANGE
        out["sign_auc"] = (
            roc_auc((truth[changed] > 0).astype(int), predicted[changed]) if changed.any() else float("nan")
        )
        out["n_changed"] = int(changed.sum())
        return out


TARGETS: dict[str, Target] = {t.name: t for t in (ClassTarget(), LevelTarget(), DifferenceTarget())}


def get_target(name: str) -> Target:
    """The target called ``name``; an unknown one is a UserError."""
    if name not in TARGETS:
        raise UserError(f"target {name!r} is unknown; use one of {', '.join(TARGETS)}")
    return TARGETS[name]
