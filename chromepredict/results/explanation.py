"""Why a model calls genes high or low: class optimisation maps (paper §3.3), bin influence (Fig.
4b) and per-gene integrated-gradients attributions, computed once (:func:`explain`) and written as
TSV, PNG and bigWig (:meth:`Explanation.write`). torch is imported inside the functions."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from chromepredict.io.datasets import ENSEMBL_PREFIX
from chromepredict.io.features import FeatureSet
from chromepredict.io.ids import normalise_gene_id
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

if TYPE_CHECKING:
    from chromepredict.models.onnx_io import LoadedModel
    from chromepredict.results.explain import ClassMaps


@dataclass(frozen=True)
class MapSettings:
    """explain's class optimisation (paper §3.3): L2 penalty ``lam``, RMSprop ``steps`` and ``lr``,
    ``restarts`` averaged, ``seed``."""

    lam: float = 0.009
    steps: int = 1000
    lr: float = 0.1
    restarts: int = 5
    seed: int = 0


def find_genes(data: FeatureSet, wanted: list[str], report: Report) -> dict[int, str]:
    """Row → the name the user gave, for each wanted gene: its gene_id (any version), DeepChrome's
    short id, or its gene_name. A name several genes share (a symbol-keyed GTF's paralogues, a
    readthrough) means all of them, and a note lists their ids; a gene asked for twice is
    explained once."""
    ids: dict[str, int] = {}
    names: dict[str, list[int]] = {}
    for i, (gene_id, gene_name) in enumerate(
        data.genes[["gene_id", "gene_name"]].astype(str).itertuples(index=False)
    ):
        for key in (gene_id, gene_id.removeprefix(ENSEMBL_PREFIX)):
            ids.setdefault(key, i)
        names.setdefault(gene_name, []).append(i)
    rows: dict[int, str] = {}
    missing = []
    for name in wanted:
        row = ids.get(name, ids.get(normalise_gene_id(name)))
        found = [row] if row is not None else names.get(name, [])
        if not found:
            missing.append(name)
        elif len(found) > 1:
            shown = ", ".join(data.genes["gene_id"].iloc[found[:5]]) + (", …" if len(found) > 5 else "")
            report.info(f"--genes {name}: {len(found)} genes have this name ({shown}); explaining each")
        for row in found:
            rows.setdefault(row, name)
    if missing:
        raise UserError(
            f"--genes: {', '.join(missing[:5])} not among the {len(data.genes)} genes of the input; use gene_id or gene_name"
        )
    return rows


#: Longest gene name kept whole in a file name (longer ones are cut and end in a short hash).
MAX_NAME = 80


def file_name(name: str) -> str:
    """A gene's name as the user gave it, safe as a file name (and short enough to be one)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    if len(safe) <= MAX_NAME:
        return safe
    return f"{safe[:MAX_NAME]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def figure_names(rows: dict[int, str], genes: pd.DataFrame) -> dict[int, str]:
    """Row → its attribution figure's file name: the name the user gave, made safe; names that
    would share a file (``A/B`` and ``A_B``, or differ only in case) take their gene id too."""
    safe = {row: file_name(asked) for row, asked in rows.items()}
    uses = Counter(name.lower() for name in safe.values())
    return {
        row: f"attribution_{name if uses[name.lower()] == 1 else name + '_' + file_name(str(genes.iloc[row]['gene_id']))}.png"
        for row, name in safe.items()
    }


def attribution_tracks(
    folder: Path, data: FeatureSet, rows: list[int], attribution: np.ndarray, marks, chrom_sizes: dict
) -> None:
    """One bigWig per mark given: each explained gene's attributions (``attribution`` [genes, the
    model's ``marks``, bins]) at its bins in genome coordinates (overlapping windows add up)."""
    import pybigtools

    from chromepredict.io.annotation import match_chroms

    spec = data.spec
    for m, mark in enumerate(marks):
        if mark not in data.marks:
            continue
        segments = []
        for k, row in enumerate(rows):
            gene = data.genes.iloc[row]
            starts = spec.genomic_bins(int(gene["tss"]), gene["strand"])
            segments.append(
                pd.DataFrame(
                    {
                        "chrom": gene["chrom"],
                        "start": starts,
                        "end": starts + spec.bin_size,
                        "value": attribution[k, m],
                    }
                )
            )
        table = pd.concat(segments)
        # the GTF's chromosome names in the tracks' spelling (chr1 ↔ 1), as the tracks were read
        table["chrom"] = table["chrom"].map(match_chroms(table["chrom"].unique().tolist(), set(chrom_sizes)))
        records: list[tuple[str, int, int, float]] = []
        for chrom in sorted(table["chrom"].unique()):
            part = table[
                (table["chrom"] == chrom) & (table["end"] > 0) & (table["start"] < chrom_sizes[chrom])
            ]
            points = np.unique(
                np.concatenate([part["start"].clip(lower=0), part["end"].clip(upper=chrom_sizes[chrom])])
            )
            change = np.zeros(len(points))
            np.add.at(change, np.searchsorted(points, part["start"].clip(lower=0)), part["value"])
            np.add.at(
                change, np.searchsorted(points, part["end"].clip(upper=chrom_sizes[chrom])), -part["value"]
            )
            level = np.cumsum(change)[:-1]
            records.extend(
                (chrom, int(a), int(b), float(v))
                for a, b, v in zip(points[:-1], points[1:], level, strict=True)
                if b > a
            )
        writer = pybigtools.open(str(folder / f"attribution_{mark}.bw"), "w")
        writer.write({c: chrom_sizes[c] for c in sorted(table["chrom"].unique())}, iter(records))


@dataclass
class Explanation:
    """What :func:`explain` found, as tables (``class_maps``, ``active_bins``, ``class_map_restarts``,
    ``bin_influence``, ``attributions``: None when not computed) and what their figures need;
    :meth:`write` writes them, :meth:`plot` draws one."""

    model: LoadedModel
    summary: dict
    class_maps: pd.DataFrame | None = None
    active_bins: pd.DataFrame | None = None
    class_map_restarts: pd.DataFrame | None = None
    bin_influence: pd.DataFrame | None = None
    attributions: pd.DataFrame | None = None
    seen: np.ndarray | None = None  # bins the network sees
    _maps: ClassMaps | None = field(default=None, repr=False)
    _influence: tuple | None = field(default=None, repr=False)  # positions, influence, trend, genes
    _genes: dict = field(default_factory=dict, repr=False)  # row → (label, signal, attribution, value, file)
    _data: FeatureSet | None = field(default=None, repr=False)
    _attribution: np.ndarray | None = field(default=None, repr=False)

    def figures(self) -> dict[str, object]:
        """Every figure by its file name (``class_map_high.png``, ``bin_influence.png``,
        ``attribution_<GENE>.png``)."""
        return {name: self.plot(name) for name in self._figure_names()}

    def _figure_names(self) -> list[str]:
        names = (
            [f"class_map_{c}.png" for c in self.model.target.report.classes] if self._maps is not None else []
        )
        names += ["bin_influence.png"] if self._influence is not None else []
        return names + [entry[4] for entry in self._genes.values()]

    def plot(self, name: str):
        """One figure (a :class:`matplotlib.figure.Figure`): ``class_map_high.png``, ``class_map_low.png``,
        ``bin_influence.png`` or an ``attribution_<GENE>.png`` of :meth:`figures`."""
        from chromepredict.results import plots

        model = self.model
        if name.startswith("class_map_") and self._maps is not None:
            c = list(model.target.report.classes).index(name.removeprefix("class_map_").removesuffix(".png"))
            maps = self._maps
            return plots.build_class_map(maps.mean_maps[c], maps.active_bins()[c], maps.flagged()[c], model.marks,
                                         model.target.report.classes[c], model.spec, model.name, self.seen)  # fmt: skip
        if name == "bin_influence.png" and self._influence is not None:
            positions, influence, trend, genes = self._influence
            return plots.build_bin_influence(positions, influence, trend, model.name, genes, spec=model.spec)
        limit = float(np.abs(self._attribution).max()) if self._attribution is not None else None
        for label, signal, attribution, value, file in self._genes.values():
            if file == name:
                return plots.build_attribution(label, signal, attribution, model.marks, model.spec, model.name,
                                               value, model.target.report.label, self.seen, limit=limit,
                                               genes=len(self._genes))  # fmt: skip
        raise UserError(f"no figure {name!r} in this explanation; it has {', '.join(self._figure_names())}")

    def write(self, folder: Path, bigwig: bool = False) -> None:
        """The tables (TSV), figures (PNG) and, with ``bigwig``, one attribution bigWig per mark."""
        from chromepredict.results import plots

        tables = {
            "class_maps.tsv": (self.class_maps, "%.6g"),
            "active_bins.tsv": (self.active_bins, "%.3f"),
            "class_map_restarts.tsv": (self.class_map_restarts, "%.6f"),
            "bin_influence.tsv": (self.bin_influence, "%.6g"),
            "attributions.tsv": (self.attributions, "%.6g"),
        }
        for name, (table, number) in tables.items():
            if table is not None:
                table.to_csv(folder / name, sep="\t", index=False, float_format=number)
        for name, figure in self.figures().items():
            plots.save(figure, folder / name)
        if bigwig and self._attribution is not None and self._data is not None:
            sizes = next(iter(self._data.profiles.values())).chrom_sizes
            attribution_tracks(
                folder, self._data, list(self._genes), self._attribution, self.model.marks, sizes
            )


def explain(
    model: LoadedModel,
    data: FeatureSet | None,
    rows: dict[int, str],
    report: Report,
    maps: MapSettings | None = MapSettings(),
) -> Explanation:
    """Class maps (unless ``maps`` is None), bin influence over ``data``'s genes (when given) and
    attributions of the genes at ``rows`` (row → the name asked for). torch runs on the threads the
    caller set."""
    from chromepredict.results import explain as nets

    net = nets.torch_network(model)
    result = Explanation(model, {"model": model.name, "target": model.target.name, "classes": {}})
    result.seen = nets.seen_bins(net, len(model.marks), model.spec.n_bins)
    if maps is not None:
        _class_maps(result, net, maps, report)
    if data is not None:
        _bin_influence(result, net, data)
        if rows:
            _attributions(result, net, data, rows)
    return result


def _class_maps(result: Explanation, net, maps: MapSettings, report: Report) -> None:
    from chromepredict.results import explain as nets

    model = result.model
    marks, spec = model.marks, model.spec
    total = len(model.target.report.classes) * maps.steps
    report.info(f"class optimisation: {maps.restarts} restarts × {maps.steps} steps, λ = {maps.lam}")
    with report.progress("class optimisation (steps)", total) as advance:
        found = nets.class_maps(net, len(marks), spec.n_bins, marks, maps.lam, maps.steps, maps.lr,
                                maps.restarts, maps.seed, progress=advance)  # fmt: skip
    result._maps = found
    classes = model.target.report.classes
    n_marks, n_bins = len(marks), spec.n_bins
    counts, flagged, stability = found.active_bins(), found.flagged(), found.flag_stability()
    class_names, mark_names = np.array(classes), np.array(marks)
    c_idx, m_idx, b_idx = np.meshgrid(np.arange(2), np.arange(n_marks), np.arange(n_bins), indexing="ij")
    result.class_maps = pd.DataFrame(
        {"class": class_names[c_idx.ravel()], "mark": mark_names[m_idx.ravel()], "bin": b_idx.ravel() + 1,
         "value": found.mean_maps.ravel()}
    )  # fmt: skip
    c2, m2 = np.meshgrid(np.arange(2), np.arange(n_marks), indexing="ij")
    result.active_bins = pd.DataFrame(
        {"class": class_names[c2.ravel()], "mark": mark_names[m2.ravel()], "active_bins": counts.ravel(),
         "above_mean": np.where(flagged.ravel(), "true", "false"), "flagged_in_restarts": stability.ravel()}
    )  # fmt: skip
    restarts = found.reached.shape[1]
    result.class_map_restarts = pd.DataFrame(
        {"class": np.repeat(class_names, restarts), "restart": np.tile(np.arange(1, restarts + 1), 2),
         model.target.report.reached_column: found.reached.ravel()}
    )  # fmt: skip
    for c, name in enumerate(classes):
        result.summary["classes"][name] = {
            "flagged_marks": [m for m, f in zip(marks, flagged[c], strict=True) if f],
            "min_reached": float(found.reached[c].min()),
        }


def _bin_influence(result: Explanation, net, data: FeatureSet) -> None:
    from chromepredict.results import explain as nets

    model = result.model
    inputs_array, mask = model.inputs(data)
    influence = nets.bin_influence(net, inputs_array, mask)
    kernel = nets.kernel_size(net)
    positions = nets.bin_positions(model.spec, kernel)
    trend = nets.smooth(influence)
    first = np.arange(1, len(influence) + 1)
    result.bin_influence = pd.DataFrame(
        {"first_bin": first, "last_bin": first + kernel - 1, "centre_bp": positions, "influence": influence,
         "trend": trend}
    )  # fmt: skip
    result._influence = (positions, influence, trend, len(inputs_array))
    result.summary["bin_influence_peak_bp"] = float(positions[int(np.argmax(trend))])


def _attributions(result: Explanation, net, data: FeatureSet, rows: dict[int, str]) -> None:
    from chromepredict.results import explain as nets

    model = result.model
    inputs, mask = model.inputs(data)
    picked = list(rows)
    baseline = nets.no_signal_baseline(model.transform, *inputs.shape[1:])
    attribution = nets.integrated_gradients(net, inputs[picked], baseline, mask[picked])
    predicted = nets.predict_torch(net, inputs[picked], mask[picked])
    n_marks, n_bins = inputs.shape[1:]
    frames = []
    files = figure_names(rows, data.genes)
    for k, row in enumerate(rows):
        gene = data.genes.iloc[row]
        signal = _signal(data, row, model.marks)
        frames.append(
            pd.DataFrame(
                {"gene_id": gene["gene_id"], "gene_name": gene["gene_name"], "mark": np.repeat(model.marks, n_bins),
                 "bin": np.tile(np.arange(1, n_bins + 1), n_marks), "signal": signal.ravel(),
                 "attribution": attribution[k].ravel()}
            )
        )  # fmt: skip
        label = (
            f"{gene['gene_name']} ({gene['gene_id']})"
            if gene["gene_name"] != gene["gene_id"]
            else gene["gene_id"]
        )
        result._genes[row] = (label, signal, attribution[k], float(predicted[k]), files[row])
    result.attributions = pd.concat(frames)
    result._attribution = attribution
    result._data = data


def _signal(data: FeatureSet, row: int, marks) -> np.ndarray:
    """One gene's raw signal for every model mark (NaN for a mark not given or not measured)."""
    out = np.full((len(marks), data.spec.n_bins), np.nan, dtype=np.float32)
    for m, mark in enumerate(marks):
        if mark in data.marks and data.measured[row, data.marks.index(mark)]:
            out[m] = data.features[row, data.marks.index(mark)]
    return out
