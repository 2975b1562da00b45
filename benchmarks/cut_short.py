"""Tracks cut short: when is "holds no data on chrN after X Mb" said? (false alarms and detection)

Correct inputs (must stay silent): the bundled E003 and E123 tracks, peak-like copies of them (each
mark's top tenth of records per chromosome, so their data end short of some genes), and every
pipeline view of both cell types (``--views``; MACS3 peak files among them), all on the bundled
GTF's 369 genes. Cut inputs (should be said): each mark of each bundled sample in turn, cut past
the middle of chr1, chr17 and chr19; past the middle of chr17 alone; and to the first 40 % of every
chromosome. For each track: genes beyond its data, the longest run at one chromosome end, the
share of its other genes without signal, and log10 of the chance (said below log10 BEYOND_CHANCE);
then the calls and AUC of the default model before and after the first cut of H3K4me3.

    python -m benchmarks.cut_short [--views /tmp/chromepredict-views]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyBigWig

import chromepredict as cp
from chromepredict.io.annotation import read_genes
from chromepredict.io.datasets import example_data
from chromepredict.io.extraction import read_windows
from chromepredict.io.features import WindowSpec
from chromepredict.io.sources import BEYOND_CHANCE, beyond_data
from chromepredict.io.tracks import Track
from chromepredict.models.metrics import roc_auc

MARKS = ("H3K4me3", "H3K4me1", "H3K36me3", "H3K9me3", "H3K27me3")
Change = Callable[[str, int, list], list]  # (chrom, length, records) → records


def rewrite(source: str, target: Path, change: Change) -> str:
    """Copy a bigWig record by record (pyBigWig), ``change`` editing each chromosome's records."""
    reader, writer = pyBigWig.open(source), pyBigWig.open(str(target), "w")
    header = list(reader.chroms().items())
    writer.addHeader(header)
    for chrom, length in header:
        rows = change(chrom, length, list(reader.intervals(chrom) or []))
        if rows:
            starts, ends, values = zip(*rows, strict=True)
            writer.addEntries([chrom] * len(rows), list(starts), ends=list(ends), values=list(values))
    writer.close()
    reader.close()
    return str(target)


def peaks(chrom: str, length: int, rows: list) -> list:
    top = np.quantile([r[2] for r in rows], 0.9) if rows else 0.0
    return [r for r in rows if r[2] > 0 and r[2] >= top]


def cut_past(share: float, chroms: tuple[str, ...] | None = None) -> Change:
    return lambda chrom, length, rows: [
        r for r in rows if (chroms is not None and chrom not in chroms) or r[0] < share * length
    ]


def statistics(files: dict[str, str], genes) -> list[tuple[str, object]]:
    """(mark, BeyondData) of each track."""
    tracks = [Track.open(path, mark) for mark, path in files.items()]
    windows = read_windows(genes, tracks, WindowSpec())
    return [
        (t.mark, beyond_data(genes, t, windows.covered[:, m], windows.features[:, m]))
        for m, t in enumerate(tracks)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=Path, default=Path("/tmp/chromepredict-views"))
    args = parser.parse_args()
    genes = read_genes(example_data()["gtf"]).genes
    work = Path(tempfile.mkdtemp())
    bundled = {
        eid: {m: str(next(p for p in example_data(eid)["tracks"] if m in p.name)) for m in MARKS}
        for eid in ("E003", "E123")
    }

    correct: dict[str, dict[str, str]] = {}
    for eid, files in bundled.items():
        correct[f"{eid} bundled"] = files
        correct[f"{eid} bundled, peak-like"] = {
            m: rewrite(p, work / f"{eid}-{m}-peaks.bw", peaks) for m, p in files.items()
        }
        for view in sorted(p.name for p in (args.views / eid).glob("*") if p.is_dir()):
            correct[f"{eid} {view}"] = {m: str(args.views / eid / view / f"{m}.bw") for m in MARKS}
    cuts = {
        "past the middle of chr1, chr17, chr19": cut_past(0.5, ("chr1", "chr17", "chr19")),
        "past the middle of chr17": cut_past(0.5, ("chr17",)),
        "to the first 40 % of every chromosome": cut_past(0.4),
    }

    print(
        f"correct inputs, {len(genes)} genes each: log10 chance of each track said below {math.log10(BEYOND_CHANCE):.0f}"
    )
    said, closest = 0, (math.inf, "")
    for name, files in correct.items():
        for mark, found in statistics(files, genes):
            said += found.cut_short
            if found.genes and math.log10(max(found.chance, 1e-300)) < closest[0]:
                closest = (
                    math.log10(max(found.chance, 1e-300)),
                    f"{name} {mark}: {found.genes} genes beyond its data, at most {found.longest} on one of "
                    f"{found.chromosomes} chromosomes, {found.empty_share:.0%} of its other genes without signal",
                )
    print(f"  {len(correct)} track sets ({5 * len(correct)} tracks): {said} said")
    print(f"  closest to being said: log10 chance {closest[0]:.1f} — {closest[1]}")

    print("tracks cut short, each mark of each bundled sample in turn")
    for label, change in cuts.items():
        hits, weakest = 0, math.inf
        for eid, files in bundled.items():
            for mark in MARKS:
                cut = dict(files) | {mark: rewrite(files[mark], work / f"{eid}-{mark}-cut.bw", change)}
                found = dict(statistics(cut, genes))[mark]
                hits += found.cut_short
                weakest = min(weakest, found.genes)
        print(f"  {label:40s} said for {hits} of {2 * len(MARKS)} (at least {weakest} genes beyond the data)")

    print("what the first cut does to the default model's calls (H3K4me3 cut, the other marks as given)")
    warnings.simplefilter("ignore", cp.ChromepredictWarning)  # its training genes: said in the docs
    model, gtf = cp.load_model(), example_data()["gtf"]
    change = cuts["past the middle of chr1, chr17, chr19"]
    for eid, files in bundled.items():
        cut = dict(files) | {"H3K4me3": rewrite(files["H3K4me3"], work / f"{eid}-H3K4me3-cut.bw", change)}
        before, after = (
            model.predict(
                cp.read_sample(list(f.values()), gtf=gtf), expression=example_data(eid)["expression"]
            )
            for f in (files, cut)
        )
        aucs = [roc_auc((t["label"] == "high").to_numpy(), t["p_high"].to_numpy()) for t in (before, after)]
        print(
            f"  {eid}: {int((before['call'] != after['call']).sum())} of {len(before)} calls change, "
            f"AUC {aucs[0]:.4f} → {aucs[1]:.4f}"
        )


if __name__ == "__main__":
    main()
