"""``chromepredict explain``: why a model calls genes high or low — class maps, bin influence,
per-gene attributions (TSV, PNG, and bigWig tracks for genome browsers)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.datasets import ENSEMBL_PREFIX
from chromepredict.io.features import FeatureSet
from chromepredict.io.ids import normalise_gene_id
from chromepredict.io.sources import TrackInputs, from_csv
from chromepredict.models import gate
from chromepredict.models.zoo import open_model
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.extras import require_torch
from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs
from chromepredict.system.formats import read_text
from chromepredict.system.report import Report


def gene_list(genes: str | None) -> list[str] | None:
    """``--genes``: comma-separated ids/names, or @FILE with one per line."""
    if genes is None:
        return None
    if genes.startswith("@"):
        if not genes[1:].strip():
            raise UserError(
                "--genes @ names no file; write --genes @FILE, a file with one gene id or name per line"
            )
        path = Path(genes[1:])
        fix = "give a file with one gene id or name per line"
        require_file(path, "gene list", fix)
        text, _ = read_text(path, "gene list", fix)
        names = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        names = [g.strip() for g in genes.split(",") if g.strip()]
    if not names:
        raise UserError(f"--genes {genes!r} names no gene; give ids or names (--genes LIN28A,GAPDH) or @FILE")
    return names


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
    maps,
    threads: int = 1,
) -> dict:
    """Class maps (``maps``: :class:`chromepredict.cli.options.ClassMapOptions`, unless switched off);
    bin influence with genes' signal; attributions (and bigWigs) for ``genes``. torch runs on
    ``threads`` threads."""
    from chromepredict.models.training import one_torch_thread
    from chromepredict.results import explain

    require_torch("explain")
    model = open_model(model_spec, report)
    check_outputs([*(inputs.paths if inputs else []), csv, gtf, *model.paths], folders=[("-o", output)])
    check_output_dir(output, "explain")
    wanted = gene_list(genes)
    if inputs is not None and csv is not None:
        raise UserError("give either bigWig tracks with --gtf, or --csv, not both")
    if (wanted or bigwig) and inputs is None and csv is None:
        raise UserError(
            "--genes and --bigwig need the genes' signal: give bigWig tracks with --gtf, or --csv"
        )
    if bigwig and inputs is None:
        raise UserError("--bigwig needs genome coordinates: give bigWig tracks with --gtf")
    if not maps.class_maps and inputs is None and csv is None:
        raise UserError(
            "--no-class-maps leaves nothing to explain without genes: give tracks with --gtf, or --csv"
        )
    with (
        one_torch_thread(threads),
        atomic_dir(output, "explain", report.warnings) as tmp,
    ):  # the folder is locked from the start of the run
        data = None
        if csv is not None:
            data = gate.admit(model, from_csv(csv, gtf), csv)
        elif inputs is not None:
            data = gate.read(model, inputs, report)
        if data is not None:
            report.provenance(data.provenance)
        rows = find_genes(data, wanted, report) if wanted else {}  # checked before the optimisation
        summary = {"model": model.name, "target": model.target.name, "classes": {}}
        net = explain.torch_network(model)
        if maps.class_maps:
            _class_maps(tmp, model, net, maps, report, summary)
        if data is not None:
            _bin_influence(tmp, model, net, data, summary)
            if rows:
                attribution = _attributions(tmp, model, net, data, rows)
                if bigwig:
                    sizes = next(iter(data.profiles.values())).chrom_sizes
                    attribution_tracks(tmp, data, list(rows), attribution, model.marks, sizes)
    return summary


def _class_maps(tmp: Path, model, net, maps, report: Report, summary: dict) -> None:
    from chromepredict.results import explain

    marks, spec = model.marks, model.spec
    total = len(model.target.classes) * maps.steps
    report.info(f"class optimisation: {maps.restarts} restarts × {maps.steps} steps, λ = {maps.lam}")
    with report.progress("class optimisation (steps)", total) as advance:
        result = explain.class_maps(net, len(marks), spec.n_bins, marks, maps.lam, maps.steps, maps.lr,
                                    maps.restarts, maps.seed, progress=advance)  # fmt: skip
    _write_class_maps(tmp, model, result, summary, explain.seen_bins(net, len(marks), spec.n_bins))


def _bin_influence(tmp: Path, model, net, data: FeatureSet, summary: dict) -> None:
    from chromepredict.results import explain, plots

    spec = model.spec
    inputs_array, mask = model.inputs(data)
    influence = explain.bin_influence(net, inputs_array, mask)
    kernel = explain.kernel_size(net)
    positions = explain.bin_positions(spec, kernel)
    trend = explain.smooth(influence)
    first = np.arange(1, len(influence) + 1)
    pd.DataFrame(
        {"first_bin": first, "last_bin": first + kernel - 1, "centre_bp": positions, "influence": influence, "trend": trend}
    ).to_csv(tmp / "bin_influence.tsv", sep="\t", index=False, float_format="%.6g")  # fmt: skip
    figure = plots.build_bin_influence(positions, influence, trend, model.name, len(inputs_array), spec=spec)
    plots.save(figure, tmp / "bin_influence.png")
    summary["bin_influence_peak_bp"] = float(positions[int(np.argmax(trend))])


def _write_class_maps(tmp: Path, model, result, summary: dict, seen: np.ndarray) -> None:
    from chromepredict.results import plots

    marks, spec = model.marks, model.spec
    classes = model.target.classes
    n_marks, n_bins = len(marks), spec.n_bins
    mean_maps, counts, flagged, stability = (
        result.mean_maps,
        result.active_bins(),
        result.flagged(),
        result.flag_stability(),
    )
    class_names, mark_names = np.array(classes), np.array(marks)
    c_idx, m_idx, b_idx = np.meshgrid(np.arange(2), np.arange(n_marks), np.arange(n_bins), indexing="ij")
    pd.DataFrame(
        {
            "class": class_names[c_idx.ravel()],
            "mark": mark_names[m_idx.ravel()],
            "bin": b_idx.ravel() + 1,
            "value": mean_maps.ravel(),
        }
    ).to_csv(tmp / "class_maps.tsv", sep="\t", index=False, float_format="%.6g")
    c2, m2 = np.meshgrid(np.arange(2), np.arange(n_marks), indexing="ij")
    pd.DataFrame(
        {"class": class_names[c2.ravel()], "mark": mark_names[m2.ravel()], "active_bins": counts.ravel(),
         "above_mean": np.where(flagged.ravel(), "true", "false"), "flagged_in_restarts": stability.ravel()}
    ).to_csv(tmp / "active_bins.tsv", sep="\t", index=False, float_format="%.3f")  # fmt: skip
    restarts = result.reached.shape[1]
    pd.DataFrame(
        {
            "class": np.repeat(class_names, restarts),
            "restart": np.tile(np.arange(1, restarts + 1), 2),
            model.target.reached_column: result.reached.ravel(),
        }
    ).to_csv(tmp / "class_map_restarts.tsv", sep="\t", index=False, float_format="%.6f")
    for c, name in enumerate(classes):
        figure = plots.build_class_map(
            mean_maps[c], counts[c], flagged[c], marks, name, spec, model.name, seen
        )
        plots.save(figure, tmp / f"class_map_{name}.png")
        summary["classes"][name] = {
            "flagged_marks": [m for m, f in zip(marks, flagged[c], strict=True) if f],
            "min_reached": float(result.reached[c].min()),
        }


def _attributions(tmp: Path, model, net, data: FeatureSet, rows: dict[int, str]) -> np.ndarray:
    from chromepredict.results import explain, plots

    inputs, mask = model.inputs(data)
    picked = list(rows)
    baseline = explain.no_signal_baseline(model.transform, *inputs.shape[1:])
    attribution = explain.integrated_gradients(net, inputs[picked], baseline, mask[picked])
    predicted = explain.predict_torch(net, inputs[picked], mask[picked])
    seen = explain.seen_bins(net, *inputs.shape[1:])
    n_marks, n_bins = inputs.shape[1:]
    frames = []
    figures = figure_names(rows, data.genes)
    for k, row in enumerate(rows):
        gene = data.genes.iloc[row]
        frames.append(
            pd.DataFrame(
                {"gene_id": gene["gene_id"], "gene_name": gene["gene_name"], "mark": np.repeat(model.marks, n_bins),
                 "bin": np.tile(np.arange(1, n_bins + 1), n_marks), "signal": _signal(data, row, model.marks).ravel(),
                 "attribution": attribution[k].ravel()}
            )
        )  # fmt: skip
        label = (
            f"{gene['gene_name']} ({gene['gene_id']})"
            if gene["gene_name"] != gene["gene_id"]
            else gene["gene_id"]
        )
        figure = plots.build_attribution(label, _signal(data, row, model.marks), attribution[k], model.marks,
                                         model.spec, model.name, float(predicted[k]), model.target.label, seen,
                                         limit=float(np.abs(attribution).max()), genes=len(rows))  # fmt: skip
        plots.save(figure, tmp / figures[row])
    pd.concat(frames).to_csv(tmp / "attributions.tsv", sep="\t", index=False, float_format="%.6g")
    return attribution


def _signal(data: FeatureSet, row: int, marks) -> np.ndarray:
    """One gene's raw signal for every model mark (NaN for a mark not given or not measured)."""
    out = np.full((len(marks), data.spec.n_bins), np.nan, dtype=np.float32)
    for m, mark in enumerate(marks):
        if mark in data.marks and data.measured[row, data.marks.index(mark)]:
            out[m] = data.features[row, data.marks.index(mark)]
    return out
