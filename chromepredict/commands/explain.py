"""``chromepredict explain``: why a model calls genes high or low — class maps, bin influence,
per-gene attributions (TSV, PNG, and bigWig tracks for genome browsers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import gate
from chromepredict.annotation import match_chroms
from chromepredict.commands.train import require_torch
from chromepredict.datasets import ENSEMBL_PREFIX
from chromepredict.errors import UserError
from chromepredict.features import FeatureSet
from chromepredict.files import atomic_dir, check_output_dir
from chromepredict.ids import normalise_gene_id
from chromepredict.report import Report
from chromepredict.sources import TrackInputs, from_csv
from chromepredict.zoo import open_model


def gene_list(genes: str | None) -> list[str] | None:
    """``--genes``: comma-separated ids/names, or @FILE with one per line."""
    if not genes:
        return None
    if genes.startswith("@"):
        path = Path(genes[1:])
        if not path.is_file():
            raise UserError(f"{path}: gene list not found; give a file with one gene id or name per line")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [g.strip() for g in genes.split(",") if g.strip()]


def find_genes(data: FeatureSet, wanted: list[str]) -> list[int]:
    """Rows of the wanted genes: gene_id (any version), DeepChrome's short id, or gene_name."""
    index: dict[str, int] = {}
    for column in ("gene_id", "gene_name"):  # ids first; names and short ids as aliases
        for i, key in enumerate(data.genes[column].astype(str)):
            index.setdefault(key, i)
            index.setdefault(key.removeprefix(ENSEMBL_PREFIX), i)
    rows, missing = [], []
    for name in wanted:
        row = index.get(name, index.get(normalise_gene_id(name)))
        (missing if row is None else rows).append(name if row is None else row)
    if missing:
        raise UserError(
            f"--genes: {', '.join(missing[:5])} not among the {len(data.genes)} genes of the input; use gene_id or gene_name"
        )
    return rows


def attribution_tracks(
    folder: Path, data: FeatureSet, rows: list[int], attribution: np.ndarray, chrom_sizes: dict
) -> None:
    """One bigWig per mark: each explained gene's attributions at its bins in genome coordinates
    (where windows of two genes overlap, their attributions add up)."""
    import pybigtools

    spec = data.spec
    for m, mark in enumerate(data.marks):
        segments = []
        for k, row in enumerate(rows):
            gene = data.genes.iloc[row]
            values = (
                attribution[k, m][::-1]
                if spec.orientation == "5to3" and gene["strand"] == "-"
                else attribution[k, m]
            )
            starts = int(gene["tss"]) - spec.flank + np.arange(spec.n_bins) * spec.bin_size
            segments.append(
                pd.DataFrame(
                    {"chrom": gene["chrom"], "start": starts, "end": starts + spec.bin_size, "value": values}
                )
            )
        table = pd.concat(segments)
        # the GTF's chromosome names in the tracks' spelling (chr1 ↔ 1), as the tracks were read
        table["chrom"] = table["chrom"].map(match_chroms(table["chrom"].unique().tolist(), set(chrom_sizes)))
        records = []
        for chrom in sorted(table["chrom"].unique()):
            part = table[(table["chrom"] == chrom) & (table["end"] > 0)]
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


def run(
    report: Report,
    model_spec: str,
    output: str,
    inputs: TrackInputs | None,
    csv: str | None,
    gtf: str | None,
    genes: str | None,
    bigwig: bool,
    restarts: int,
    seed: int,
    lam: float,
    steps: int,
    lr: float,
) -> dict:
    """Class maps always; bin influence with genes' signal; attributions (and bigWigs) for ``genes``."""
    from chromepredict import explain, plots

    require_torch("explain")
    model, note = open_model(model_spec)
    if note:
        report.warn(note)
    check_output_dir(output)
    wanted = gene_list(genes)
    if inputs is not None and csv is not None:
        raise UserError("give either bigWig tracks with --gtf, or --csv, not both")
    if (wanted or bigwig) and inputs is None and csv is None:
        raise UserError(
            "--genes and --bigwig need the genes' signal: give bigWig tracks with --gtf, or --csv"
        )
    if bigwig and inputs is None:
        raise UserError("--bigwig needs genome coordinates: give bigWig tracks with --gtf")
    data = None
    if csv is not None:
        data = gate.admit(model, from_csv(csv, gtf), csv)
    elif inputs is not None:
        data = gate.admit(model, inputs.read_for(model, report, every_mark="explain"), str(inputs.gtf))
    if data is not None:
        report.provenance(data.provenance)
    rows = find_genes(data, wanted) if wanted else []  # checked before the optimisation
    net = explain.torch_network(model)
    marks, spec = model.marks, model.spec
    report.info(f"class optimisation: {restarts} restarts × {steps} steps, λ = {lam}")
    result = explain.class_maps(net, len(marks), spec.n_bins, marks, lam, steps, lr, restarts, seed)
    summary = {"model": model.name, "target": model.target, "classes": {}}
    with atomic_dir(output) as tmp:
        _write_class_maps(tmp, model, result, summary)
        if data is not None:
            inputs_array, _ = model.inputs(data)
            influence = explain.bin_influence(net, inputs_array)
            positions = explain.bin_positions(spec.n_bins, spec.bin_size, spec.flank)
            trend = explain.smooth(influence)
            pd.DataFrame(
                {"first_bin": np.arange(1, len(influence) + 1), "last_bin": np.arange(1, len(influence) + 1) + spec.n_bins - len(influence),
                 "centre_bp": positions, "influence": influence, "trend": trend}
            ).to_csv(tmp / "bin_influence.tsv", sep="\t", index=False, float_format="%.6g")  # fmt: skip
            plots.bin_influence_figure(
                positions,
                influence,
                trend,
                tmp / "bin_influence.png",
                model.name,
                len(inputs_array),
                spec=spec,
            )
            summary["bin_influence_peak_bp"] = float(positions[int(np.argmax(trend))])
            if rows:
                attribution = _attributions(tmp, model, net, data, inputs_array, rows)
                if bigwig:
                    sizes = next(iter(data.profiles.values())).chrom_sizes
                    attribution_tracks(tmp, data, rows, attribution, sizes)
    return summary


def _write_class_maps(tmp: Path, model, result, summary: dict) -> None:
    from chromepredict import explain, plots

    marks, spec = model.marks, model.spec
    n_marks, n_bins = len(marks), spec.n_bins
    mean_maps, counts, flagged, stability = (
        result.mean_maps,
        result.active_bins(),
        result.flagged(),
        result.flag_stability(),
    )
    classes, mark_names = np.array(explain.CLASSES), np.array(marks)
    c_idx, m_idx, b_idx = np.meshgrid(np.arange(2), np.arange(n_marks), np.arange(n_bins), indexing="ij")
    pd.DataFrame(
        {
            "class": classes[c_idx.ravel()],
            "mark": mark_names[m_idx.ravel()],
            "bin": b_idx.ravel() + 1,
            "value": mean_maps.ravel(),
        }
    ).to_csv(tmp / "class_maps.tsv", sep="\t", index=False, float_format="%.6g")
    c2, m2 = np.meshgrid(np.arange(2), np.arange(n_marks), indexing="ij")
    pd.DataFrame(
        {"class": classes[c2.ravel()], "mark": mark_names[m2.ravel()], "active_bins": counts.ravel(),
         "above_mean": np.where(flagged.ravel(), "true", "false"), "flagged_in_restarts": stability.ravel()}
    ).to_csv(tmp / "active_bins.tsv", sep="\t", index=False, float_format="%.3f")  # fmt: skip
    restarts = result.reached.shape[1]
    reached = "probability" if model.target == "class" else "level_change"
    pd.DataFrame(
        {
            "class": np.repeat(classes, restarts),
            "restart": np.tile(np.arange(1, restarts + 1), 2),
            reached: result.reached.ravel(),
        }
    ).to_csv(tmp / "class_map_restarts.tsv", sep="\t", index=False, float_format="%.6f")
    for c, name in enumerate(explain.CLASSES):
        plots.class_map_figure(
            mean_maps[c], counts[c], flagged[c], marks, name, spec, tmp / f"class_map_{name}.png", model.name
        )
        summary["classes"][name] = {
            "flagged_marks": [m for m, f in zip(marks, flagged[c], strict=True) if f],
            "min_reached": float(result.reached[c].min()),
        }


def _attributions(tmp: Path, model, net, data: FeatureSet, inputs: np.ndarray, rows: list[int]) -> np.ndarray:
    from chromepredict import explain, plots

    baseline = explain.no_signal_baseline(model.transform, *inputs.shape[1:])
    attribution = explain.integrated_gradients(net, inputs[rows], baseline)
    predicted = explain.predict_torch(net, inputs[rows])
    n_marks, n_bins = inputs.shape[1:]
    frames = []
    for k, row in enumerate(rows):
        gene = data.genes.iloc[row]
        frames.append(
            pd.DataFrame(
                {"gene_id": gene["gene_id"], "gene_name": gene["gene_name"], "mark": np.repeat(model.marks, n_bins),
                 "bin": np.tile(np.arange(1, n_bins + 1), n_marks), "signal": data.features[row].ravel(),
                 "attribution": attribution[k].ravel()}
            )
        )  # fmt: skip
        label = (
            f"{gene['gene_name']} ({gene['gene_id']})"
            if gene["gene_name"] != gene["gene_id"]
            else gene["gene_id"]
        )
        plots.attribution_figure(label, data.features[row], attribution[k], model.marks, model.spec,
                                 tmp / f"attribution_{gene['gene_id']}.png", model.name, float(predicted[k]))  # fmt: skip
    pd.concat(frames).to_csv(tmp / "attributions.tsv", sep="\t", index=False, float_format="%.6g")
    return attribution
