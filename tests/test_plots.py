"""Figures (built and inspected, then saved) and the bootstrap / regression metrics behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.text import Text
from sklearn.metrics import roc_auc_score

from chromepredict.io.features import WindowSpec
from chromepredict.models.metrics import _resampled_aucs, regression_metrics, roc_auc, roc_auc_ci
from chromepredict.models.training import EpochLog
from chromepredict.results import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIVE_TO_THREE = "5′→3′"
MARKS = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K9me3", "H3K27me3"]


def texts(fig) -> list[str]:
    """Every string drawn on a figure: titles, labels, tick labels, legend entries, free text."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def assert_png(path) -> None:
    assert path.is_file() and path.read_bytes()[:8] == PNG_MAGIC


def classification(n: int, seed: int = 0, shift: float = 1.0):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    return labels, rng.normal(size=n) + shift * labels


# ------------------------------------------------------------------ learning curve


def test_learning_curve_auc_axis_shows_low_values(tmp_path):
    # validation AUC 0.2 at epoch 1 (below the old fixed 0.4 floor), train AUC up to 0.9
    log = [EpochLog(1, e, 0.7 - 0.02 * e, 0.4 + 0.05 * e, 0.2 + 0.03 * (e - 1)) for e in range(1, 11)]
    log += [EpochLog(2, e, 0.7, 0.6, 0.5) for e in range(1, 4)]  # a second network of the ensemble
    fig = plots.build_learning_curve(log, "t", best_epochs=[5, 2])
    low, high = fig.axes[1].get_ylim()
    assert low < 0.2 and high > 0.9  # every value, with a margin
    assert low >= 0.0 and high <= 1.0
    assert len(fig.axes[1].get_lines()) == 2 * 2  # per network: train and validation score
    plots.learning_curve(log, tmp_path / "lc.png", "t", best_epochs=[5, 2])
    assert_png(tmp_path / "lc.png")


def test_learning_curve_plots_what_chose_the_epoch():
    """The validation loss is drawn, and each network's chosen epoch is a star on the curve that
    chose it: the validation loss (class models), or the validation score (level models)."""
    log = [
        EpochLog(1, e, 1.0 / e, 0.5 + 0.03 * e, 0.5 + 0.02 * e, valid_loss=abs(e - 4) + 0.3)
        for e in range(1, 9)
    ]
    for rule, axis, value in (("loss", 0, 0.3), ("score", 1, 0.5 + 0.02 * 4)):
        fig = plots.build_learning_curve(log, "t", best_epochs=[4], select_by=rule)
        ax = fig.axes[axis]
        stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
        assert len(stars) == 1 and stars[0].get_xdata()[0] == 4 and stars[0].get_ydata()[0] == value
        assert any(list(line.get_ydata()) == [e.valid_loss for e in log] for line in fig.axes[0].get_lines())


def test_learning_curve_auc_axis_capped_to_unit_interval():
    log = [EpochLog(1, 1, 0.5, 0.0, 0.5), EpochLog(1, 2, 0.4, 1.0, 1.0)]
    low, high = plots.build_learning_curve(log, "t", best_epochs=[2]).axes[1].get_ylim()
    assert (low, high) == (0.0, 1.0)


# ------------------------------------------------------------------ benchmark


def benchmark_table(with_ci: bool, with_n: bool = True) -> pd.DataFrame:
    rows = []
    for cell, n in (("E003", 93), ("E004", 1200)):
        for method, auc in (("deepchrome", 0.8), ("svm", 0.3)):
            row = {"cell_type": cell, "method": method, "test_score": auc}
            if with_ci:
                row |= {"test_score_low": auc - 0.05, "test_score_high": auc + 0.04}
            if with_n:
                row["n_test"] = n
            rows.append(row)
    return pd.DataFrame(rows)


def test_benchmark_bars_error_bars_and_gene_counts(tmp_path):
    fig = plots.build_benchmark_bars(benchmark_table(with_ci=True), "t")
    ax = fig.axes[0]
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["E003\n(n = 93)", "E004\n(n = 1200)"]
    low, _ = ax.get_ylim()
    assert low <= 0.25  # the 0.3 AUC and its lower bound 0.25 are visible
    plots.benchmark_bars(benchmark_table(with_ci=True), tmp_path / "b.png", "t")
    assert_png(tmp_path / "b.png")


def test_benchmark_bars_without_optional_columns():
    ax = plots.build_benchmark_bars(benchmark_table(with_ci=False, with_n=False), "t").axes[0]
    assert not any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["E003", "E004"]


def test_benchmark_bars_of_a_level_benchmark_say_spearman():
    """A --target level benchmark is labelled Spearman, with chance at 0 (not an AUC line at 0.5)."""
    from chromepredict.models.targets import get_target

    level = get_target("level")
    ax = plots.build_benchmark_bars(
        benchmark_table(with_ci=False), "t", level.metric_name, level.chance
    ).axes[0]
    assert ax.get_ylabel() == "test Spearman"
    chance = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert chance == [0.0]
    assert ax.get_ylim()[0] <= 0.0


# ------------------------------------------------------------------ ROC


def test_roc_curve_states_gene_counts_and_note(tmp_path):
    labels, scores = classification(300)
    n_high = int(labels.sum())
    note = "these genes were used to train the model: not a test"
    fig = plots.build_roc_curve(labels, scores, "t", roc_auc(labels, scores), note=note)
    text = "\n".join(texts(fig))
    assert "n = 300 genes" in text
    assert f"{n_high} high" in text and f"{300 - n_high} low" in text
    assert note in text.replace("\n", " ")
    plots.roc_curve(labels, scores, tmp_path / "roc.png", "t", 0.7)  # old call, no note
    assert_png(tmp_path / "roc.png")


# ------------------------------------------------------------------ orientation


def orientation_figures(orientation: str) -> list:
    spec = WindowSpec(1000, 100, orientation)
    rng = np.random.default_rng(0)
    n_bins = spec.n_bins
    positions = np.arange(n_bins - 4) * 100 - 1000 + 250
    return [
        plots.build_class_map(
            rng.random((5, n_bins)), rng.integers(0, 9, 5), np.ones(5, bool), MARKS, "high", spec, "m"
        ),
        plots.build_attribution(
            "g", rng.random((5, n_bins)), rng.normal(size=(5, n_bins)), MARKS, spec, "m", 0.5
        ),
        plots.build_bin_influence(
            positions, rng.random(len(positions)), rng.random(len(positions)), "m", 9, spec=spec
        ),
    ]


def test_genomic_order_never_labelled_five_to_three():
    for fig in orientation_figures("genomic"):
        assert not any(FIVE_TO_THREE in t for t in texts(fig))
        assert any("genomic order" in ax.get_xlabel() for ax in fig.axes)
    assert FIVE_TO_THREE not in plots.position_label(None)


def test_five_to_three_labelled_with_upstream_left():
    for fig in orientation_figures("5to3"):
        labels = [ax.get_xlabel() for ax in fig.axes if "TSS" in ax.get_xlabel()]
        assert labels and all(FIVE_TO_THREE in x and "upstream left" in x for x in labels)


# ------------------------------------------------------------------ bootstrap AUC interval


def test_rank_auc_matches_sklearn_with_ties():
    labels, scores = classification(500, seed=3)
    scores = np.round(scores, 1)  # many ties
    pos, neg = scores[labels], scores[~labels]
    point = _resampled_aucs(pos, neg, np.arange(len(pos))[None], np.arange(len(neg))[None])
    assert point[0] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_roc_auc_ci_contains_point_and_narrows_with_more_genes():
    small = classification(200, seed=1)
    large = classification(5000, seed=1)
    lo_s, hi_s = roc_auc_ci(*small)
    lo_l, hi_l = roc_auc_ci(*large)
    assert lo_s < roc_auc(*small) < hi_s
    assert lo_l < roc_auc(*large) < hi_l
    assert hi_l - lo_l < 0.5 * (hi_s - lo_s)
    assert roc_auc_ci(*small, seed=7) == roc_auc_ci(*small, seed=7)  # seeded


@pytest.mark.slow
def test_roc_auc_ci_matches_slow_reference_bootstrap():
    labels, scores = classification(200, seed=11)
    high, low = np.flatnonzero(labels), np.flatnonzero(~labels)
    rng = np.random.default_rng(123)
    reference = []
    for _ in range(2000):
        idx = np.concatenate([rng.choice(high, len(high)), rng.choice(low, len(low))])
        reference.append(roc_auc_score(labels[idx], scores[idx]))
    ref_lo, ref_hi = np.quantile(reference, [0.025, 0.975])
    lo, hi = roc_auc_ci(labels, scores, n_boot=2000, seed=0)
    assert lo == pytest.approx(ref_lo, abs=0.02)
    assert hi == pytest.approx(ref_hi, abs=0.02)


def test_roc_auc_ci_level_and_missing_class():
    labels, scores = classification(400, seed=2)
    lo90, hi90 = roc_auc_ci(labels, scores, level=0.9)
    lo99, hi99 = roc_auc_ci(labels, scores, level=0.99)
    assert lo99 < lo90 < hi90 < hi99
    assert all(np.isnan(roc_auc_ci(np.ones(10), np.arange(10.0))))
    assert all(np.isnan(roc_auc_ci(np.zeros(10), np.arange(10.0))))


# ------------------------------------------------------------------ regression metrics and scatter


def test_regression_metrics_monotone_nonlinear():
    measured = np.arange(1.0, 6.0)  # 1 … 5
    predicted = measured**2  # 1, 4, 9, 16, 25
    result = regression_metrics(measured, predicted)
    # By hand: Pearson r = Σ dx·dy / sqrt(Σ dx² · Σ dy²) with dx = (−2, −1, 0, 1, 2), dy = y − 11.
    dx, dy = measured - 3, predicted - 11
    pearson = (dx @ dy) / np.sqrt((dx @ dx) * (dy @ dy))
    ss_res = np.sum((measured - predicted) ** 2)  # 0 + 4 + 36 + 144 + 400 = 584
    ss_tot = np.sum(dx**2)  # 10
    assert result["spearman"] == pytest.approx(1.0)
    assert result["pearson"] == pytest.approx(pearson) and result["pearson"] < 1
    assert result["r2"] == pytest.approx(1 - 584 / 10) == pytest.approx(1 - ss_res / ss_tot)
    assert result["mae"] == pytest.approx((0 + 2 + 6 + 12 + 20) / 5)
    assert result["n_genes"] == 5


def test_regression_metrics_drops_non_finite_and_handles_constant():
    result = regression_metrics([1.0, 2.0, np.nan, 4.0], [1.0, 2.0, 3.0, 4.0])
    assert result["n_genes"] == 3 and result["r2"] == pytest.approx(1.0) and result["mae"] == 0
    constant = regression_metrics([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert np.isnan(constant["spearman"]) and np.isnan(constant["pearson"])


@pytest.mark.parametrize("target", ["class", "level", "difference"])
def test_a_targets_score_is_its_headline_metric(target):
    """Training scores each epoch with ``score`` alone: the same value ``metrics`` reports, NaN cases too."""
    from chromepredict.models.targets import get_target

    kind = get_target(target)
    rng = np.random.default_rng(4)
    predicted = rng.normal(size=60)
    truth = (
        (predicted + rng.normal(size=60) > 0).astype(float)
        if target == "class"
        else predicted + rng.normal(size=60)
    )
    cases = [(truth, predicted), (np.zeros(60) if target == "class" else np.full(60, 2.0), predicted)]
    if target != "class":
        cases += [(np.where(np.arange(60) % 7 == 0, np.nan, truth), predicted), (truth[:1], predicted[:1])]
    for measured, scores in cases:
        expected = kind.metrics(measured, scores)[kind.metric_key]
        assert kind.score(measured, scores) == pytest.approx(expected, nan_ok=True)
    assert np.isfinite(kind.score(truth, predicted)) and np.isnan(kind.score(*cases[1]))


@pytest.mark.parametrize("target", ["class", "level", "difference"])
def test_predictions_that_run_against_the_truth_are_said_and_others_not(target):
    from chromepredict.models.targets import get_target

    kind = get_target(target)
    rng = np.random.default_rng(5)
    predicted = rng.normal(size=200)
    truth = predicted + rng.normal(size=200)
    if target == "class":
        truth = (truth > np.median(truth)).astype(float)
    assert kind.against(truth, predicted) is None
    assert kind.against(truth, rng.normal(size=200)) is None  # chance is not "against"
    flipped = 1 - truth if target == "class" else -truth
    question = (
        "pair given in the wrong order"
        if target == "difference"
        else ("inverted" if target == "class" else "negated")
    )
    assert question in kind.against(flipped, predicted)
    many = rng.normal(size=20_000)  # a weak negative trend over many genes is significant, not contrary
    weak = rng.normal(size=20_000) - 0.03 * many
    assert kind.against((weak > 0).astype(float) if target == "class" else weak, many) is None


@pytest.mark.parametrize("n", [50, 5000])  # transparent points, then hexbin
def test_level_scatter_shows_stats_and_identity(tmp_path, n):
    rng = np.random.default_rng(0)
    measured = np.log2(1 + rng.gamma(2, 3, n))
    predicted = measured + rng.normal(0, 0.3, n)
    stats = regression_metrics(measured, predicted)
    fig = plots.build_level_scatter(measured, predicted, "t", stats, note="held-out genes")
    text = "\n".join(texts(fig))
    assert f"n = {n} genes" in text and f"{stats['spearman']:.3f}" in text and "R²" in text
    assert "held-out genes" in text and "log2(1 + expression)" in text
    ax = fig.axes[0]
    identity = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), line.get_ydata())]
    assert identity
    plots.save(plots.build_level_scatter(measured, predicted, "t", stats), tmp_path / "lvl.png")
    assert_png(tmp_path / "lvl.png")


# ------------------------------------------------------------------ sample heat map


def p_high_table(n_genes: int, n_samples: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.random((n_genes, n_samples)),
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"S{j}" for j in range(n_samples)],
    )


@pytest.mark.parametrize("n_samples", [1, 2, 5])
def test_sample_heatmap_writes_png(tmp_path, n_samples):
    table = p_high_table(80, n_samples)
    plots.sample_heatmap(table, tmp_path / "h.png", "t")
    assert_png(tmp_path / "h.png")
    fig = plots.build_sample_heatmap(table, "t", n_genes=30)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == list(table.columns)
    assert len(ax.get_yticklabels()) == 30  # ≤ 60 rows: gene names shown
    assert ax.images[0].get_clim() == (0, 1)


def test_sample_heatmap_constant_rows_and_many_genes(tmp_path):
    table = p_high_table(100, 4)
    table.iloc[:30] = 0.5  # constant rows
    table.iloc[30:40] = 1.0
    plots.sample_heatmap(table, tmp_path / "c.png", "t", n_genes=100)
    assert_png(tmp_path / "c.png")
    fig = plots.build_sample_heatmap(table, "t", n_genes=100)
    assert len(fig.axes[0].get_yticklabels()) == 0  # > 60 rows: no gene names
    fully_constant = pd.DataFrame(0.3, index=list("abcd"), columns=["x", "y", "z"])
    plots.sample_heatmap(fully_constant, tmp_path / "k.png", "t")
    assert_png(tmp_path / "k.png")


def test_sample_heatmap_keeps_most_variable_genes():
    table = p_high_table(50, 4)
    table.iloc[:45] = 0.5  # only g45 … g49 vary
    fig = plots.build_sample_heatmap(table, "t", n_genes=5)
    shown = {t.get_text() for t in fig.axes[0].get_yticklabels()}
    assert shown == {f"g{i}" for i in range(45, 50)}


@pytest.mark.parametrize("n_samples, claim", [(2, "sorted by mean"), (3, "clustered")])
def test_sample_heatmap_claims_clustering_only_when_it_clusters(n_samples, claim):
    ax = plots.build_sample_heatmap(p_high_table(40, n_samples), "t", n_genes=20).axes[0]
    assert claim in ax.get_ylabel() and ("clustered" in ax.get_ylabel()) == (n_samples >= 3)


def test_attribution_figure_marks_the_bins_the_network_never_sees():
    spec = WindowSpec()
    seen = np.ones(100, dtype=bool)
    seen[95:] = False
    rng = np.random.default_rng(0)
    fig = plots.build_attribution("G", rng.random((5, 100)), rng.normal(size=(5, 100)) * 1e-4, list("ABCDE"),
                                  spec, "m", 0.7, "P(high)", seen)  # fmt: skip
    legends = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert any("the network never sees" in text for text in legends)  # said in a legend, readable
    bar = fig.axes[-1]  # the colour bar: a few ticks, never crowded
    fig.canvas.draw()
    labels = [t for t in bar.get_xticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 7
    boxes = [t.get_window_extent() for t in labels]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))  # no two tick labels overlap


def test_attribution_figures_share_one_scale_and_name_unmeasured_marks():
    """Genes of one run are drawn on one colour scale (said on the bar); a mark not measured for the
    gene is a grey row named so and no line in the legend."""
    spec = WindowSpec()
    rng = np.random.default_rng(0)
    signal = rng.random((5, 100))
    signal[4] = np.nan  # the fifth mark not measured
    fig = plots.build_attribution("G", signal, rng.normal(size=(5, 100)) * 1e-3, list("ABCDE"), spec, "m", 0.7,
                                  "P(high)", None, limit=0.05, genes=3)  # fmt: skip
    ax_sig, ax_attr, bar = fig.axes[:3]
    assert [line.get_label() for line in ax_sig.get_lines() if not line.get_label().startswith("_")] == list(
        "ABCD"
    )
    assert [t.get_text() for t in ax_attr.get_yticklabels()][-1] == "E (not measured)"
    assert "one scale for all 3 genes" in bar.get_xlabel()
    assert ax_attr.collections[0].get_clim() == (-0.05, 0.05)
