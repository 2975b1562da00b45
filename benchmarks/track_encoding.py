"""The same signal written differently: how much a track's scale and the calls move (README, "What
is still not checked").

1. Each bundled track (E003, E123; five marks) rewritten with pyBigWig holding the same value at
   every base: its gaps written out as zeros (as bamCoverage writes them), or each record split in
   four. Per rewrite: the track's scale (``TrackProfile.scale``) as read and as rewritten, and, for
   the default model, the calls that change and the largest |Δ P(high)| over the 369 genes.
2. With ``--views DIR`` (the pipeline views, ``python -m scripts.views``): each view track's scale
   against a prototype that samples fixed bases from fixed genome coordinates (layout-independent,
   not in the package), as the ratio of the two — how far such a fix would move the shipped
   models' inputs.

    python -m benchmarks.track_encoding [--views /tmp/chromepredict-views] [--work /tmp/chromepredict-encoding]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import warnings
from pathlib import Path

import numpy as np
import pybigtools
import pyBigWig

import chromepredict as cp
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.trackinfo import SAMPLE_SITES, _weighted_quantile
from chromepredict.io.tracks import Track

BASES_PER_SITE = 5_000  # the prototype: non-zero bases read onward from each place
RECORDS_CAP = 1_000  # … reading at most this many records there


def rewrite(source: Path, dest: Path, how: str) -> None:
    """``source`` with the same value at every base: gaps written as zeros, or each record split in four."""
    bw = pyBigWig.open(str(source))
    out = pyBigWig.open(str(dest), "w")
    out.addHeader(list(bw.chroms().items()))
    for chrom, length in bw.chroms().items():
        rows, position = [], 0
        for start, end, value in bw.intervals(chrom) or []:
            if how == "zeros" and start > position:
                rows.append((position, start, 0.0))
            if how == "split":
                cuts = np.linspace(start, end, 5).astype(int)
                rows.extend((int(a), int(b), value) for a, b in itertools.pairwise(cuts) if b > a)
            else:
                rows.append((start, end, value))
            position = end
        if how == "zeros" and position < length:
            rows.append((position, length, 0.0))
        if rows:
            starts, ends, values = zip(*rows, strict=True)
            out.addEntries([chrom] * len(rows), list(starts), ends=list(ends), values=list(values))
    out.close()


def predictions(model, tracks: list[Path], gtf: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cp.ChromepredictWarning)
        return model.predict(cp.read_sample([str(t) for t in tracks], gtf=str(gtf)))


def rewrites(work: Path) -> None:
    model = cp.load_model(cp.DEFAULT_MODEL)
    print("track                 rewrite  scale as read → rewritten  calls changed  max |Δ P(high)|")
    for cell in ("E003", "E123"):
        data = cp.example_data(cell)
        base = predictions(model, data["tracks"], data["gtf"])
        for mark, how in itertools.product(CORE_MARKS, ("zeros", "split")):
            folder = work / f"{cell}-{mark}-{how}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            tracks = []
            for track in data["tracks"]:
                dest = folder / track.name
                rewrite(track, dest, how) if mark in track.name else shutil.copy(track, dest)
                tracks.append(dest)
            given = next(t for t in data["tracks"] if mark in t.name)
            scales = [Track.open(str(p), mark).profile.scale for p in (given, folder / given.name)]
            moved = predictions(model, tracks, data["gtf"])
            changed = int((moved["call"] != base["call"]).sum())
            delta = float((moved["p_high"] - base["p_high"]).abs().max())
            print(f"{cell} {mark:9s}  {how:6s}   {scales[0]:10.4g} → {scales[1]:<10.4g}  "
                  f"{changed:4d} of {len(base)}   {delta:.3f}")  # fmt: skip


def fixed_base_sample(handle) -> tuple[np.ndarray, np.ndarray]:
    """The prototype: (value, bases) of the non-zero data read onward from SAMPLE_SITES places
    evenly spaced along the header's chromosomes, disjoint, BASES_PER_SITE bases each (wrapping
    to the next chromosome): the same bases whatever records hold them."""
    sizes = {str(c): int(n) for c, n in handle.chroms().items()}
    names = sorted(sizes)
    ends = np.cumsum([sizes[c] for c in names])
    places = ((np.arange(SAMPLE_SITES) + 0.5) / SAMPLE_SITES * int(ends[-1])).astype(np.int64)
    values, bases, cursor = [], [], -1  # cursor: genome offset sampled up to
    for place in places:
        place = max(int(place), cursor)
        budget, records = BASES_PER_SITE, 0
        k = int(np.searchsorted(ends, place, side="right"))
        start = place - (int(ends[k]) - sizes[names[k]])
        for _ in range(len(names)):  # at most once round the genome
            chrom, offset = names[k], int(ends[k]) - sizes[names[k]]
            for lo, hi, value in handle.records(chrom, start, sizes[chrom]):
                records += 1
                if value != 0:
                    a = max(lo, start)
                    n = min(hi - a, budget)
                    values.append(value)
                    bases.append(n)
                    budget -= n
                    cursor = offset + a + n
                if budget <= 0 or records >= RECORDS_CAP:
                    break
            if budget <= 0 or records >= RECORDS_CAP:
                break
            k, start = (k + 1) % len(names), 0
    return np.array(values, dtype=float), np.array(bases, dtype=float)


def views(root: Path) -> None:
    ratios = []
    for path in sorted(root.glob("*/*/H3K*.bw")):
        values, bases = fixed_base_sample(pybigtools.open(str(path)))
        keep = np.isfinite(values) & (values != 0)
        prototype = _weighted_quantile(np.abs(values[keep]), bases[keep], 0.5)
        ratio = prototype / Track.open(str(path), path.stem).profile.scale
        ratios.append(ratio)
        print(f"{path.relative_to(root)!s:40s} prototype / shipped scale {ratio:6.3f}")
    if ratios:
        print(f"{len(ratios)} view tracks: ratio {min(ratios):.2f} to {max(ratios):.2f}, "
              f"{np.mean(np.isclose(ratios, 1, rtol=0.05)):.0%} within 5 %")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-encoding"))
    parser.add_argument("--views", type=Path, default=None, help="the pipeline views' folder")
    args = parser.parse_args()
    rewrites(args.work)
    if args.views is not None:
        views(args.views)


if __name__ == "__main__":
    main()
