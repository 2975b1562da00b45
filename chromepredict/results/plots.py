"""matplotlib figures only, fed by arrays and tables the other modules made.

Every figure has a ``build_*`` function that returns a :class:`matplotlib.figure.Figure` (made
without pyplot, so no global state and nothing to close); :func:`save` writes it as PNG (some
figures also keep a function of their historical name that builds and saves them). Tests inspect
the built figures.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from chromepredict.models.targets import Report
from chromepredict.system.files import atomic_path

PRIME_5TO3 = "5′→3′"


def _figure(**kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)  # a canvas of its own: layouts and text sizes can be measured before saving
    return fig


def save(fig, path: str | Path) -> None:
    """Write a built figure as PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def _auc_limits(*values, margin: float = 0.03) -> tuple[float, float]:
    """y-limits that show every finite AUC (error-bar ends included) with a margin, within [0, 1]."""
    finite = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values] or [np.array([])])
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = max(margin, 0.05 * (high - low))
    return max(0.0 if low >= 0 else -1.0, low - pad), min(1.0, high + pad)


def position_label(spec, what: str = "position") -> str:
    """x-axis label for positions relative to the TSS, honest about the bin order of ``spec``.

    ``5to3`` windows were flipped for − strand genes, so upstream is on the left for every gene;
    ``genomic`` windows were not, so left is the lower coordinate and upstream only for + strand genes.
    """
    orientation = getattr(spec, "orientation", spec)
    if orientation == "5to3":
        return f"{what} relative to TSS (kb, {PRIME_5TO3} of the gene: upstream left, downstream right)"
    if orientation == "genomic":
        return f"{what} relative to TSS (kb, genomic order: left = lower coordinate, not strand-oriented)"
    return f"{what} relative to TSS (kb)"


def _note(fig, ax, title: str, note: str | None, width: int = 60) -> None:
    """Title above the figure and, when given, ``note`` in italics between it and the axes."""
    if note:
        fig.suptitle(title)
        ax.set_title(textwrap.fill(note, width), fontsize="small", style="italic", color="dimgray")
        fig.set_layout_engine("constrained")  # the figure's title above the note, never on it
    else:
        ax.set_title(title)


def _outside_legend(ax, ncol: int = 2, gap: float = 0.22, **kwargs):
    """Legend centred below the axes (below its x label), never on the data."""
    return ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -gap), ncol=ncol, frameon=False, fontsize="small", **kwargs
    )


# --------------------------------------------------------------------------- learning curve


def build_learning_curve(
    log: list, title: str, best_epochs: list[int], metric: str = "ROC AUC", select_by: str = "loss"
):
    """Figure: loss (training dashed, validation solid) and score (likewise) per epoch for each
    ensemble member; each member's chosen epoch marked (a star) on the curve that chose it — the
    validation loss or the validation score (``select_by``)."""
    fig = _figure(figsize=(10, 4.4), layout="constrained")
    ax_loss, ax_score = fig.subplots(1, 2)
    members = sorted({e.member for e in log})
    colours = [f"C{i % 10}" for i in range(len(members))]
    train_all, valid_all = [], []
    chooser = ax_loss if select_by == "loss" else ax_score
    for member, colour, best in zip(members, colours, best_epochs, strict=True):
        rows = [e for e in log if e.member == member]
        epochs = [e.epoch for e in rows]
        train = np.array([e.train_score for e in rows], dtype=float)
        valid = np.array([e.valid_score for e in rows], dtype=float)
        valid_loss = np.array([e.valid_loss for e in rows], dtype=float)
        train_all.append(train)
        valid_all.append(valid)
        ax_loss.plot(epochs, [e.loss for e in rows], color=colour, linestyle="--", linewidth=1)
        ax_loss.plot(epochs, valid_loss, color=colour, label=f"network {member}: epoch {best} chosen")
        ax_score.plot(epochs, train, color=colour, linestyle="--", linewidth=1)
        ax_score.plot(epochs, valid, color=colour)
        chosen = valid_loss if select_by == "loss" else valid
        at = [k for k, e in enumerate(epochs) if e == best]
        if at:
            chooser.plot(
                [best], [chosen[at[0]]], marker="*", markersize=12, color=colour, markeredgecolor="k"
            )
    rule = "lowest validation loss" if select_by == "loss" else f"best validation {metric}"
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss: validation (solid), training (dashed)")
    limits = _auc_limits(np.concatenate(train_all), np.concatenate(valid_all))
    ax_score.set(
        xlabel="epoch", ylabel=metric, title=f"{metric}: validation (solid), training (dashed)", ylim=limits
    )
    fig.legend(loc="outside lower center", ncol=min(len(members), 3), frameon=False, fontsize="small")
    fig.suptitle(f"{title}\n★ each network's chosen epoch: its {rule}", fontsize="medium")
    return fig


def learning_curve(
    log: list,
    path: str | Path,
    title: str,
    best_epochs: list[int],
    metric: str = "ROC AUC",
    select_by: str = "loss",
) -> None:
    """Loss and score per epoch and member, the chosen epochs marked on the curve that chose them."""
    save(build_learning_curve(log, title, best_epochs, metric, select_by), path)


# --------------------------------------------------------------------------- ROC


def build_roc_curve(
    labels: np.ndarray, p_high: np.ndarray, title: str, auc: float, note: str | None = None, training=None
):
    """Figure: ROC curve with its AUC and the number of genes (high / low); ``note`` printed below.
    ``training`` (labels, p_high) of genes the model was trained on adds their curve, dashed grey
    (not a test)."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    labels = np.asarray(labels).astype(bool)
    n_high = int(labels.sum())
    n_low = int(len(labels) - n_high)
    fpr, tpr, _ = sk_roc_curve(labels, p_high)
    fig = _figure(figsize=(4.8, 5.2))
    ax = fig.subplots()
    which = "held-out genes" if training is not None else "genes"
    ax.plot(fpr, tpr, label=f"AUC = {auc:.3f}\nn = {len(labels)} {which} ({n_high} high, {n_low} low)")
    if training is not None and len(np.unique(training[0])) == 2:
        t_fpr, t_tpr, _ = sk_roc_curve(np.asarray(training[0]).astype(bool), training[1])
        ax.plot(
            t_fpr, t_tpr, color="gray", linestyle=":", label=f"{len(training[0])} training genes (not a test)"
        )
    ax.plot([0, 1], [0, 1], color="lightgray", linestyle="--", label="chance")
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1.01),
        aspect="equal",
    )
    _outside_legend(ax, ncol=1, gap=0.14)
    _note(fig, ax, title, note)
    return fig


def roc_curve(
    labels: np.ndarray, p_high: np.ndarray, path: str | Path, title: str, auc: float, note: str | None = None,
    training=None,
) -> None:  # fmt: skip
    """ROC curve with its AUC, n genes (high / low), an optional ``note`` and the training genes' curve."""
    save(build_roc_curve(labels, p_high, title, auc, note=note, training=training), path)


def evaluation_figure(
    report: Report, truth, predicted, seen, folder: Path, title: str, result: dict, units: str
) -> None:
    """evaluate's figure (the target's ``evaluation_plot``): the genes the model was not trained on,
    with its training genes drawn apart when there are any."""
    held = ~seen if seen.any() and (~seen).sum() > 2 else np.ones(len(seen), dtype=bool)
    scores = result.get("held_out", result["all_genes"]) if seen.any() else result["all_genes"]
    note = result.get("caveat")
    training = (truth[seen], predicted[seen]) if seen.any() and not held.all() else None
    if report.evaluation_plot == "roc_curve":
        roc_curve(
            truth[held], predicted[held], folder / "roc_curve.png", title, scores["roc_auc"], note, training
        )
    else:
        figure = build_level_scatter(
            truth[held], predicted[held], title, scores, note, units, training, report.quantity
        )
        save(figure, folder / "level_scatter.png")


# --------------------------------------------------------------------------- benchmark


def _n_label(values) -> str:
    values = sorted({int(v) for v in values if np.isfinite(v)})
    if not values:
        return ""
    return f"\n(n = {values[0]})" if len(values) == 1 else f"\n(n = {values[0]}–{values[-1]})"


def build_benchmark_bars(table, title: str, metric: str = "ROC AUC", chance: float = 0.5):
    """Figure: test score (``metric``: ROC AUC or Spearman) per method and cell type; 95 % CI error
    bars and n test genes when the table has them. The dashed line is ``chance``.

    Columns: ``test_score``; optional ``test_score_low`` and ``test_score_high`` (interval bounds,
    drawn as error bars) and ``n_test`` (test genes, shown under each cell type).
    """
    pivot = table.pivot(index="cell_type", columns="method", values="test_score")
    has_ci = {"test_score_low", "test_score_high"} <= set(table.columns)
    if has_ci:
        low = table.pivot(index="cell_type", columns="method", values="test_score_low").reindex_like(pivot)
        high = table.pivot(index="cell_type", columns="method", values="test_score_high").reindex_like(pivot)
    fig = _figure(figsize=(min(max(5, 0.3 * len(pivot) * len(pivot.columns)), 24), 4.2))
    ax = fig.subplots()
    width = 0.8 / len(pivot.columns)
    x = np.arange(len(pivot))
    for i, method in enumerate(pivot.columns):
        yerr = None
        if has_ci:
            auc = pivot[method].to_numpy(float)
            yerr = np.clip(
                np.vstack([auc - low[method].to_numpy(float), high[method].to_numpy(float) - auc]), 0, None
            )
        ax.bar(x + i * width, pivot[method], width, label=method, yerr=yerr, capsize=2 if has_ci else 0)
    ticks = [str(c) for c in pivot.index]
    if "n_test" in table.columns:
        n_by_cell = table.groupby("cell_type")["n_test"].agg(lambda s: _n_label(s.to_numpy(float)))
        ticks = [t + n_by_cell.get(c, "") for t, c in zip(ticks, pivot.index)]
    ax.set_xticks(x + 0.4 - width / 2, ticks)
    limits = _auc_limits(pivot, *((low, high) if has_ci else ()))
    ax.set(
        xlabel="cell type",
        ylabel=f"test {metric}" + (" (bars: 95 % CI)" if has_ci else ""),
        ylim=(min(limits[0], chance), limits[1]),
        title=title,
    )
    ax.axhline(chance, color="lightgray", linestyle="--", linewidth=1, zorder=0)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    return fig


def benchmark_bars(table, path: str | Path, title: str, metric: str = "ROC AUC", chance: float = 0.5) -> None:
    """Test score per method (and cell type), in the style of DeepChrome's Fig. 3, CI and n when available."""
    save(build_benchmark_bars(table, title, metric, chance), path)


# --------------------------------------------------------------------------- explanation figures


def _mark_rows(ax, marks, spec) -> None:
    """Label a marks × bins heat map: one row per mark, x in kb from the TSS in the data's orientation."""
    ax.set(yticks=np.arange(len(marks)) + 0.5, yticklabels=marks, xlabel=position_label(spec))


def _unseen(ax, seen, spec):
    """Hatch the bins the network never sees (``seen`` False); returns the legend entry that says so
    (None when it sees every bin)."""
    from matplotlib.patches import Patch

    if seen is None or seen.all():
        return None
    edges = spec.edges() / 1000
    style: dict[str, Any] = {"facecolor": "white", "edgecolor": "gray", "hatch": "///", "linewidth": 0}
    for i in np.flatnonzero(~seen):
        ax.axvspan(edges[i], edges[i + 1], **style)
    return Patch(**style, label="bins the network never sees (its pooling drops the last positions)")


def _colorbar(fig, image, ax, label: str, symmetric: bool = False, **kwargs):
    """A colour bar with a few readable ticks (never overlapping), each written whole (``0.03``,
    ``6e-05``): no separate ×10ⁿ offset to collide with the label."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    bar = fig.colorbar(image, ax=ax, label=label, **kwargs)
    bar.locator = MaxNLocator(nbins=5, symmetric=symmetric)
    bar.formatter = StrMethodFormatter("{x:.2g}")
    bar.update_ticks()
    return bar


def build_class_map(
    values: np.ndarray,
    counts: np.ndarray,
    flagged: np.ndarray,
    marks,
    class_name: str,
    spec,
    model_name: str,
    seen=None,
):
    """Figure: heat map marks × bins of one class's optimised input, TSS marked, active-bin counts
    beside; bins the network never sees (``seen`` False) hatched."""
    fig = _figure(figsize=(12, 3.6))
    ax_map, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1]}, sharey=True)
    offsets = spec.edges()
    image = ax_map.pcolormesh(
        offsets / 1000, np.arange(len(marks) + 1), values, cmap="viridis", vmin=0, vmax=1
    )
    ax_map.axvline(0, color="white", linestyle="--", linewidth=1)
    ax_map.text(0, len(marks) + 0.05, "TSS", ha="center", va="bottom", fontsize=8)
    _mark_rows(ax_map, marks, spec)
    hatch = _unseen(ax_map, seen, spec)
    if hatch is not None:
        ax_map.legend(
            handles=[hatch], loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False, fontsize="small"
        )
    _colorbar(fig, image, ax_map, "optimised input (÷ max)", pad=0.01)
    colours = ["tab:red" if f else "tab:gray" for f in flagged]
    ax_bar.barh(np.arange(len(marks)) + 0.5, counts, color=colours)
    ax_bar.axvline(counts.mean(), color="k", linestyle=":", linewidth=1, label="mean over marks")
    ax_bar.set(xlabel="active bins (> 0.25)")
    _outside_legend(ax_bar, ncol=1, gap=0.2)
    fig.suptitle(f"{model_name}: class optimisation map, expression {class_name} (red: above-mean marks)")
    return fig


def build_bin_influence(
    positions_bp: np.ndarray,
    influence: np.ndarray,
    trend: np.ndarray,
    model_name: str,
    n_genes: int,
    spec=None,
):
    """Figure: mean convolution activation per position with a fitted trend; legend below the axes."""
    fig = _figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(positions_bp / 1000, influence, ".", color="tab:blue", label="mean activation")
    ax.plot(positions_bp / 1000, trend, color="tab:red", label="trend (Gaussian smoothing, σ = 2 positions)")
    ax.axvline(0, color="gray", linestyle="--", linewidth=1)
    ax.set(
        xlabel=position_label(spec, "centre of the convolution window"),
        ylabel="mean ReLU(conv) activation",
        title=f"{model_name}: bin influence over {n_genes} genes",
    )
    _outside_legend(ax, ncol=2, gap=0.16)
    return fig


def build_attribution(
    gene_label: str,
    signal: np.ndarray,
    attribution: np.ndarray,
    marks,
    spec,
    model_name: str,
    value: float,
    label: str = "P(high)",
    seen=None,
    limit: float | None = None,
    genes: int = 1,
):
    """Figure: one gene's tracks (top) and integrated-gradients attribution per mark × bin (bottom),
    of the model's value (``label``); bins the network never sees (``seen`` False) hatched, marks
    not measured for the gene (a NaN signal) greyed and named so. ``limit``: the colour scale's
    ±limit, shared by the ``genes`` genes of one run so that their figures compare by colour
    (default: this gene's largest attribution)."""
    from matplotlib.patches import Patch

    fig = _figure(figsize=(10, 6.4), layout="constrained")
    ax_sig, ax_attr = fig.subplots(2, 1, sharex=True)
    centres = (spec.offsets() + spec.bin_size / 2) / 1000
    measured = ~np.isnan(signal).all(axis=1)
    for m, mark in enumerate(marks):
        if measured[m]:
            ax_sig.plot(centres, signal[m], label=mark, color=f"C{m % 10}")
    ax_sig.set(
        ylabel="signal (input units, mean per bin)",
        title=f"{model_name}: {gene_label}, {label} = {value:.3f}",
    )
    ax_sig.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    limit = max(float(np.abs(attribution).max()) if limit is None else float(limit), 1e-9)
    edges = spec.edges() / 1000
    shown = np.where(measured[:, None], attribution, np.nan)
    image = ax_attr.pcolormesh(
        edges, np.arange(len(marks) + 1), shown, cmap="RdBu_r", vmin=-limit, vmax=limit
    )
    _mark_rows(ax_attr, [m if measured[i] else f"{m} (not measured)" for i, m in enumerate(marks)], spec)
    ax_attr.set_facecolor("lightgray")  # rows of marks not measured: no attribution to show
    handles = (
        [Patch(facecolor="lightgray", label="mark not measured for this gene")] if not measured.all() else []
    )
    hatch = _unseen(ax_attr, seen, spec)
    handles += [hatch] if hatch is not None else []
    scale = f" (one scale for all {genes} genes of this run)" if genes > 1 else ""
    _colorbar(fig, image, ax_attr, f"attribution to {label}{scale}", orientation="horizontal", fraction=0.08,
              symmetric=True)  # fmt: skip
    if handles:
        ax_attr.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize="small"
        )
    for ax in (ax_sig, ax_attr):
        ax.axvline(0, color="gray", linestyle="--", linewidth=1)
    return fig


# --------------------------------------------------------------------------- expression level

HEXBIN_FROM = 2000  # genes; fewer are drawn as transparent points


def _fmt(value, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if not np.isfinite(value) else f"{value:.{digits}f}"


def build_level_scatter(
    measured: np.ndarray,
    predicted: np.ndarray,
    title: str,
    stats: dict,
    note: str | None = None,
    units: str = "expression",
    training=None,
    quantity: str = "log2(1 + {units})",
):
    """Figure: predicted vs measured level, both log2(1 + units), identity line, n / Spearman / Pearson / R².
    ``training`` (measured, predicted) of the model's training genes adds them as grey points."""
    measured = np.asarray(measured, dtype=float).ravel()
    predicted = np.asarray(predicted, dtype=float).ravel()
    keep = np.isfinite(measured) & np.isfinite(predicted)
    x, y = measured[keep], predicted[keep]
    fig = _figure(figsize=(5.6, 5.2))
    ax = fig.subplots()
    if training is not None and len(training[0]):
        ax.scatter(training[0], training[1], s=5, color="lightgray", edgecolors="none",
                   label=f"{len(training[0])} training genes (not a test)")  # fmt: skip
    if len(x) >= HEXBIN_FROM:
        cells = ax.hexbin(x, y, gridsize=60, bins="log", mincnt=1, cmap="viridis")
        fig.colorbar(cells, ax=ax, label="genes per cell (log scale)", pad=0.02)
    elif len(x):
        alpha = float(np.clip(30 / np.sqrt(len(x)), 0.15, 0.8))
        ax.scatter(x, y, s=8, alpha=alpha, color="tab:blue", edgecolors="none")
    if len(x):
        low = float(min(x.min(), y.min()))
        high = float(max(x.max(), y.max()))
        pad = 0.03 * (high - low) or 0.5
        low, high = low - pad, high + pad
    else:
        low, high = 0.0, 1.0
    ax.plot([low, high], [low, high], color="k", linestyle="--", linewidth=1)
    ax.set(
        xlim=(low, high),
        ylim=(low, high),
        aspect="equal",
        xlabel=f"measured {quantity.format(units=units)}",
        ylabel=f"predicted {quantity.format(units=units)}",
    )
    _note(fig, ax, title, note)
    if training is not None and len(training[0]):
        ax.legend(fontsize="small", loc="upper left", frameon=False)
    n = stats.get("n_genes", len(x))
    which = "held-out genes" if training is not None else "genes"
    box = (
        f"n = {n} {which}    Spearman ρ = {_fmt(stats.get('spearman'))}\n"
        f"Pearson r = {_fmt(stats.get('pearson'))}    R² = {_fmt(stats.get('r2'))}\n"
        "dashed line: identity (predicted = measured)"
    )
    # Below the x label, so the statistics never hide points.
    ax.text(
        0.5,
        -0.16,
        box,
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize="small",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "lightgray"},
    )
    return fig


# --------------------------------------------------------------------------- samples


def _cluster_order(rows: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering of ``rows`` on correlation distance (1 − r).

    Constant rows have no correlation; they are treated as uncorrelated with everything (distance 1)
    and identical to each other (distance 0). Fewer than 3 rows or fewer than 2 columns: input order.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    n, width = rows.shape
    if n < 3 or width < 2:
        return np.arange(n)
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    constant = norms <= 1e-12 * max(1.0, float(np.abs(rows).max()))
    unit = np.divide(centred, norms[:, None], out=np.zeros_like(centred), where=~constant[:, None])
    distance = 1.0 - unit @ unit.T
    distance[np.ix_(constant, constant)] = 0.0
    np.fill_diagonal(distance, 0.0)
    distance = np.clip((distance + distance.T) / 2, 0.0, 2.0)
    return leaves_list(linkage(squareform(distance, checks=False), method="average"))


#: Samples from which genes and samples are clustered (fewer: genes sorted, samples in sheet order).
CLUSTER_FROM = 3


def build_sample_heatmap(
    p_high, title: str, n_genes: int = 500, label: str = "P(high)", value_range=(0.0, 1.0)
):
    """Figure: P(high) (or, with another ``label``, predicted levels) of the ``n_genes`` most
    variable genes × samples, both clustered from :data:`CLUSTER_FROM` samples on; colour scale
    0–1 for P(high), the data's range else."""
    if p_high.shape[0] == 0 or p_high.shape[1] == 0:
        raise ValueError(f"sample_heatmap needs at least one gene and one sample, got {p_high.shape}")
    table = p_high.astype(float)
    variance = table.var(axis=1, ddof=0, skipna=True).fillna(0.0)
    top = variance.sort_values(ascending=False, kind="stable").index[: max(1, int(n_genes))]
    table = table.loc[top]
    values = table.to_numpy()
    filled = np.where(np.isnan(values), np.nanmean(np.where(np.isnan(values), 0.5, values)), values)
    clustered = table.shape[1] >= CLUSTER_FROM
    if clustered:
        row_order = _cluster_order(filled)
        col_order = _cluster_order(filled.T)
    else:  # two samples have no correlation structure to cluster: genes sorted by their mean
        row_order = np.argsort(-filled.mean(axis=1), kind="stable")
        col_order = np.arange(table.shape[1])
    values = values[np.ix_(row_order, col_order)]
    genes = [str(g) for g in table.index[row_order]]
    samples = [str(s) for s in table.columns[col_order]]
    n_rows, n_cols = values.shape
    show_genes = n_rows <= 60
    height = min(max(3.5, 0.18 * n_rows + 1.5), 12) if show_genes else 7
    fig = _figure(figsize=(min(max(4.5, 0.4 * n_cols + 3), 24), height))
    ax = fig.subplots()
    limits = dict(zip(("vmin", "vmax"), value_range)) if value_range else {}
    image = ax.imshow(values, aspect="auto", interpolation="nearest", cmap="viridis", **limits)
    fig.colorbar(image, ax=ax, label=label, pad=0.02)
    ax.set_xticks(np.arange(n_cols), samples, rotation=90 if n_cols > 4 else 0)
    if show_genes:
        ax.set_yticks(np.arange(n_rows), genes, fontsize="small")
    else:
        ax.set_yticks([])
    shown = (
        f"all {n_rows} genes"
        if n_rows == len(p_high)
        else f"the {n_rows} most variable of {len(p_high)} genes"
    )
    ax.set(
        xlabel="sample",
        ylabel=shown + (" (clustered)" if clustered else f" (sorted by mean {label})"),
        title=title,
    )
    return fig


def sample_heatmap(
    p_high, path: str | Path, title: str, n_genes: int = 500, label: str = "P(high)", value_range=(0.0, 1.0)
) -> None:
    """P(high) (or level) heat map, genes (rows) × samples (columns) of a DataFrame, most variable genes, clustered.

    Rows: the ``n_genes`` genes with the largest variance across samples; rows and columns ordered by
    average-linkage clustering on correlation distance (with ≥ 3 samples; fewer: genes sorted by their
    mean). Gene names shown up to 60 rows.
    """
    save(build_sample_heatmap(p_high, title, n_genes=n_genes, label=label, value_range=value_range), path)


# --------------------------------------------------------------------------- compare

LABELLED_FLIPS = 12  # genes that flip, labelled with their names (the largest |delta| first)


def _label_points(ax, x: np.ndarray, y: np.ndarray, names: list[str], most: int) -> list[int]:
    """Label up to ``most`` points, in the order given, never two labels on each other: a label whose
    box (measured as drawn) would overlap one already placed is left out (the table lists every
    gene). Returns the indices labelled."""
    fig = ax.figure
    fig.canvas.draw()  # the final layout: labels are measured where they will be drawn
    renderer = fig.canvas.get_renderer()
    placed: list = []
    labelled: list[int] = []
    for i in range(len(x)):
        if len(labelled) >= most:
            break
        label = ax.annotate(names[i], (x[i], y[i]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        box = label.get_window_extent(renderer).expanded(1.05, 1.15)
        if any(box.overlaps(other) for other in placed):
            label.remove()
            continue
        placed.append(box)
        labelled.append(i)
    return labelled


def build_comparison(table, first: str, second: str, report: Report, shares, title: str):
    """Figure: delta against the mean of the two values, genes that flip coloured and the largest
    labelled where their names fit (left); each mark's share of the change, |contribution| summed
    over genes (right) — left out when one mark holds all of it (a single-mark knockout), where the
    title says so instead."""
    column = report.column
    a, b = table[f"{column}_{first}"].to_numpy(float), table[f"{column}_{second}"].to_numpy(float)
    delta, mean = b - a, (a + b) / 2
    moving = shares[shares > 0]
    with_shares = len(moving) > 1
    fig = _figure(figsize=(11.5 if with_shares else 8, 4.8), layout="constrained")
    if with_shares:
        ax, ax_marks = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    else:
        ax = fig.subplots()
    flips = table["flip"].to_numpy()
    # markers of one line each (drawn at once, far faster than a scatter of 20,000 genes)
    same = flips == "none"
    ax.plot(mean[same], delta[same], "o", ms=2.2, color="lightgray", mec="none", label="same call")
    for kind, colour in (("up", "tab:red"), ("down", "tab:blue")):
        pick = flips == kind
        ax.plot(mean[pick], delta[pick], "o", ms=3, color=colour, mec="none",
                label=f"flips {kind} ({int(pick.sum())})")  # fmt: skip
    ax.axhline(0, color="gray", linestyle="--", linewidth=1)
    ax.set(xlabel=f"mean of {report.label} in {first} and {second}",
           ylabel=f"delta: {second} − {first}", title=f"{len(table)} genes")  # fmt: skip
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False, fontsize="small")
    if with_shares:
        ax_marks.barh(np.arange(len(shares)), shares.to_numpy(), color="tab:purple")
        ax_marks.set(yticks=np.arange(len(shares)), yticklabels=list(shares.index),
                     xlabel="share of |delta| (Shapley)", xlim=(0, 1), title="which marks drive the change")  # fmt: skip
        ax_marks.invert_yaxis()
    elif len(moving) == 1:
        title += f" (all of delta from {moving.index[0]}, the only mark that differs)"
    fig.suptitle(title)
    # the largest changes of each direction in turn: a lone gene that flips up is named too
    ranked = [np.flatnonzero(flips == kind) for kind in ("up", "down")]
    ranked = [rows[np.argsort(-np.abs(delta[rows]), kind="stable")] for rows in ranked]
    order = np.array([i for pair in itertools.zip_longest(*ranked) for i in pair if i is not None], dtype=int)
    _label_points(
        ax, mean[order], delta[order], [str(n) for n in table["gene_name"].to_numpy()[order]], LABELLED_FLIPS
    )
    return fig


def comparison_figure(table, first: str, second: str, report: Report, shares, path, title: str) -> None:
    """delta against the mean with the flips labelled, and the marks' shares of the change."""
    save(build_comparison(table, first, second, report, shares, title), path)
