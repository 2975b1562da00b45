"""Views of the shared Roadmap tracks that reproduce the bigWigs of other ChIP-seq pipelines.

    python -m scripts.views --data ../shared/data/roadmap --out /tmp/chromepredict-views \
        [--cell-types E003 E123] [--views counts100 fe-local ...] [--jobs 2] [--seed 0]

    from scripts.views import build_views, load_view, list_views, VIEWS

The source tracks (``<data>/<cell type>/<MARK>.bw``) hold read counts per 100-bp bin, constant over
the bin, empty bins absent, and are known only inside TSS ± 10 kb of the genes of ``genes.gtf``
(the *covered regions*, merged where they overlap). Each view turns the five marks of a cell type
into the bigWigs another pipeline would have produced: ``OUT/<cell type>/<view>/<MARK>.bw`` (the
source's chromosome sizes) and ``view.json`` (kind, the pipeline imitated, parameters, tool and
version, seed, the fill rule); peak views also keep their ``<MARK>.narrowPeak``/``.broadPeak``.

Conventions shared by all views:

* Inside the covered regions the signal is a per-base density: a record of value ``v`` means
  ``v`` reads per 100 bp, so ``[a, b)`` holds ``sum(v * overlap) / 100`` reads.
* Outside them the genome-wide signal is unknown. Where a view needs it (a coarse bin, a smoothing
  window, a local-lambda window or a fragment reaching in) the unknown bases are filled with the
  mark's background level λ (reads per 100 bp, see :func:`background`); view.json says how.
* Values are written only inside the covered regions, except a coarse/smoothed bin partly covered,
  which is written whole. Zero-valued positions are absent, as in the source.
* Random views draw from ``numpy.random.default_rng([seed, crc32(cell), crc32(stream), crc32(mark)])``
  where the stream is the view's name, except that coverage1bp and the MACS3 views share the
  stream "reads": one simulated library per cell type × mark, so their pileups agree. A rebuild
  gives byte-identical bigWigs. A view whose folder is complete and whose view.json
  identity (parameters, seed, source checksums, tool versions) matches is skipped.
* MACS3 (``pip install macs3``) is run through the ``macs3`` executable of this environment on
  bedGraphs written to a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

MARKS = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
FLANK = 10_000  # the source has signal in TSS ± FLANK
SOURCE_BIN = 100  # the source's bin: a value is reads per SOURCE_BIN bp
FRAGMENT = 200  # fragment length d for read extension and MACS pileups
FORMAT = 2  # bump when the way views are built changes: forces a rebuild

Track = tuple[np.ndarray, np.ndarray, np.ndarray]  # (starts, ends, values), sorted, non-overlapping
Intervals = dict[str, Track]  # chromosome → track
_EMPTY: Track = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


# --------------------------------------------------------------------------- source data


@dataclass
class Source:
    """One mark of one cell type: its records inside the covered regions and its background λ."""

    cell_type: str
    mark: str
    sizes: dict[str, int]  # chromosome sizes, in the source's order
    regions: dict[str, np.ndarray]  # chrom → (n, 2) merged covered intervals, 0-based half-open
    records: Intervals  # chrom → records (value = reads per 100 bp), pieces of at most 100 bp
    lam: float = field(init=False)  # background reads per 100 bp

    def __post_init__(self) -> None:
        self.lam = background(self.records, self.regions)

    def total_reads(self) -> float:
        return sum(float(np.sum(v * (e - s))) for s, e, v in self.records.values()) / SOURCE_BIN


def background(records: Intervals, regions: dict[str, np.ndarray]) -> float:
    """The background level λ in reads per 100 bp: −ln(fraction of empty covered bases).

    Background bins are Poisson(λ), so P(empty) = exp(−λ). The estimate rests only on how many
    bins are empty, which enriched bins (rarely empty) hardly change, whatever their height; it
    is therefore robust to the peaks that dominate a mean, and it is defined where the data are
    (the covered regions). Enriched bins in the denominator bias it slightly upwards, which is
    conservative for fold enrichment and p-values.
    """
    covered = sum(int(np.sum(r[:, 1] - r[:, 0])) for r in regions.values())
    occupied = sum(int(np.sum(e - s)) for s, e, _ in records.values())
    if covered == 0:
        return 0.0
    empty = (covered - occupied) / covered
    if empty <= 0:  # no empty base at all: fall back to the mean density
        return sum(float(np.sum(v * (e - s))) for s, e, v in records.values()) / covered
    return -math.log(empty)


def _merge(intervals: np.ndarray) -> np.ndarray:
    """Merge overlapping or touching intervals of an (n, 2) array (pyranges' merge), sorted."""
    import pyranges as pr

    if len(intervals) == 0:
        return np.zeros((0, 2), np.int64)
    table = pd.DataFrame({"Chromosome": "c", "Start": intervals[:, 0], "End": intervals[:, 1]})
    merged = pr.PyRanges(table).merge().df.sort_values("Start")
    return merged[["Start", "End"]].to_numpy(np.int64)


def read_regions(gtf: Path, sizes: dict[str, int], flank: int = FLANK) -> dict[str, np.ndarray]:
    """Covered regions: [T − flank, T + flank) (0-based) around each gene's 1-based TSS T, merged.

    T as chromepredict reads it (:func:`chromepredict.io.annotation.read_genes`: the gene start on
    ``+``, the end on ``-``); genes on chromosomes absent from the track are left out.
    """
    from chromepredict.io.annotation import read_genes

    genes = read_genes(gtf, None).genes
    genes = genes[genes["chrom"].isin(sizes)]
    if genes.empty:
        raise ValueError(f"{gtf}: no gene lines on the track's chromosomes")
    regions = {}
    for chrom in sizes:
        t = genes.loc[genes["chrom"] == chrom, "tss"].to_numpy(np.int64)
        if len(t):
            spans = np.column_stack([np.maximum(t - flank, 0), np.minimum(t + flank, sizes[chrom])])
            regions[chrom] = _merge(spans)
    return regions


def _split(track: Track, size: int) -> Track:
    """Cut records longer than ``size`` at ``size``-bp steps from their start (one piece per bin)."""
    s, e, v = track
    pieces = np.maximum(-(-(e - s) // size), 1)
    if np.all(pieces == 1):
        return track
    first = np.repeat(s, pieces) + size * (
        np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    )
    return first, np.minimum(first + size, np.repeat(e, pieces)), np.repeat(v, pieces)


def _clip(track: Track, regions: np.ndarray) -> Track:
    """The parts of a track inside the (merged, sorted) regions."""
    s, e, v = track
    parts = []
    for lo, hi in regions.tolist():
        i, j = np.searchsorted(e, lo, "right"), np.searchsorted(s, hi, "left")
        parts.append((np.maximum(s[i:j], lo), np.minimum(e[i:j], hi), v[i:j]))
    return _concat(parts)


def _concat(parts: list[Track]) -> Track:
    if not parts:
        return _EMPTY
    s, e, v = (np.concatenate(column) for column in zip(*parts))
    keep = e > s
    return s[keep].astype(np.int64), e[keep].astype(np.int64), v[keep].astype(np.float64)


def read_track(path: Path) -> tuple[dict[str, int], Intervals]:
    """Chromosome sizes and per-chromosome records of a bigWig (pybigtools)."""
    import pybigtools

    with pybigtools.open(str(path)) as bw:
        sizes = dict(bw.chroms())
        records = {}
        for chrom in sizes:
            rows = np.asarray(list(bw.records(chrom)), dtype=np.float64).reshape(-1, 3)
            if len(rows):
                records[chrom] = (rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2])
    return sizes, records


@cache
def load_source(path: str, gtf: str, cell_type: str, mark: str) -> Source:
    """A source track restricted to its covered regions (records outside them are dropped)."""
    sizes, records = read_track(Path(path))
    regions = read_regions(Path(gtf), sizes)
    inside = {}
    for chrom, region in regions.items():
        track = _clip(_split(records.get(chrom, _EMPTY), SOURCE_BIN), region)
        if len(track[0]):
            inside[chrom] = track
    return Source(cell_type, mark, sizes, regions, inside)


# --------------------------------------------------------------------------- array helpers


def _dense(src: Source, chrom: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-base density (reads per 100 bp) over [lo, hi) and the mask of covered bases."""
    n = hi - lo

    def paint(starts: np.ndarray, ends: np.ndarray, values: np.ndarray | float) -> np.ndarray:
        steps = np.zeros(n + 1)
        i, j = np.searchsorted(ends, lo, "right"), np.searchsorted(starts, hi, "left")
        values = np.broadcast_to(values, starts.shape)[i:j]
        np.add.at(steps, np.clip(starts[i:j] - lo, 0, n), values)
        np.add.at(steps, np.clip(ends[i:j] - lo, 0, n), -values)
        return np.cumsum(steps[:n])  # read counts (integers): the cumulative sum is exact

    s, e, v = src.records.get(chrom, _EMPTY)
    region = src.regions.get(chrom, np.zeros((0, 2), np.int64))
    return paint(s, e, v), paint(region[:, 0], region[:, 1], 1.0) > 0


def _blocks(src: Source, chrom: str, margin: int = 0, align: int = 1) -> list[tuple[int, int]]:
    """The covered regions widened by ``margin``, snapped outwards to multiples of ``align``, merged."""
    region = src.regions[chrom]
    lo = np.maximum((region[:, 0] - margin) // align * align, 0)
    hi = np.minimum(-(-(region[:, 1] + margin) // align) * align, src.sizes[chrom])
    return [tuple(b) for b in _merge(np.column_stack([lo, hi])).tolist()]


def _runs(values: np.ndarray, offset: int, keep_zeros: bool = False) -> Track:
    """Run-length encode a per-base array that starts at ``offset``."""
    if len(values) == 0:
        return _EMPTY
    change = np.flatnonzero(np.diff(values)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(values)]
    vals = values[starts]
    if not keep_zeros:
        starts, ends, vals = starts[vals != 0], ends[vals != 0], vals[vals != 0]
    return starts + offset, ends + offset, vals.astype(np.float64)


def _value_at(track: Track, x: np.ndarray) -> np.ndarray:
    """A track's value at positions ``x`` (0 where absent)."""
    s, e, v = track
    i = np.searchsorted(s, x, "right") - 1
    inside = (i >= 0) & (x < e[np.maximum(i, 0)]) if len(s) else np.zeros(len(x), bool)
    return np.where(inside, v[np.maximum(i, 0)] if len(s) else 0.0, 0.0)


def _mean_over(track: Track, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of a track over each [lo, hi) (absent bases count 0)."""
    s, e, v = track
    if len(s) == 0:
        return np.zeros(len(lo))
    area = np.r_[0.0, np.cumsum(v * (e - s))]

    def integral(x: np.ndarray) -> np.ndarray:  # ∫ track over [0, x)
        i = np.searchsorted(s, x, "right") - 1
        j = np.maximum(i, 0)
        return np.where(i >= 0, area[j] + v[j] * (np.minimum(x, e[j]) - s[j]), 0.0)

    return (integral(hi) - integral(lo)) / (hi - lo)


# --------------------------------------------------------------------------- views on arrays


@dataclass
class Built:
    """What a view function returns: the track to write and extra files (name → text)."""

    intervals: Intervals
    files: dict[str, str] = field(default_factory=dict)


def counts(src: Source, rng: np.random.Generator, tmp: Path) -> Intervals:
    """The source as it is."""
    return dict(src.records)


def cpm(src: Source, rng: np.random.Generator, tmp: Path, per: float) -> Intervals:
    """Counts times ``per`` / total reads of the track: one constant factor."""
    factor = per / src.total_reads()
    return {chrom: (s, e, v * factor) for chrom, (s, e, v) in src.records.items()}


def subsample(src: Source, rng: np.random.Generator, tmp: Path, p: float) -> Intervals:
    """Binomial thinning of each bin's reads (a library ``1/p`` times shallower)."""
    out = {}
    for chrom, (s, e, v) in src.records.items():
        kept = rng.binomial(np.rint(v).astype(np.int64), p).astype(np.float64)
        out[chrom] = (s[kept > 0], e[kept > 0], kept[kept > 0])
    return out


def fragment_pileup(
    src: Source, rng: np.random.Generator, fragment: int
) -> tuple[dict[str, list[Track]], int]:
    """Simulated reads extended to fragments → per-base depth over blocks around the covered regions.

    Each read of a bin sits at a uniform position in the bin on a random strand and is extended
    to ``fragment`` bp in its 3' direction (MACS/deepTools extension). Unknown bases within
    ``fragment`` bp of the covered regions get Poisson(λ per 100 bp) background reads, whose
    fragments may reach in. Returns {chrom: [(lo, hi, depth over [lo, hi)), ...]} with the
    depth zeroed outside the covered regions, and the number of reads inside them.
    """
    blocks, n_reads = {}, 0
    for chrom in src.regions:
        blocks[chrom] = []
        s, e, v = src.records.get(chrom, _EMPTY)
        for lo, hi in _blocks(src, chrom, margin=fragment):
            _, known = _dense(src, chrom, lo, hi)
            i, j = np.searchsorted(e, lo, "right"), np.searchsorted(s, hi, "left")
            width = e[i:j] - s[i:j]
            # a piece of a bin split by an overlapping gene's window holds its share of the reads
            n = rng.binomial(np.rint(v[i:j]).astype(np.int64), np.minimum(width / SOURCE_BIN, 1.0))
            pos = np.repeat(s[i:j], n) + np.floor(rng.random(n.sum()) * np.repeat(width, n)).astype(np.int64)
            unknown = np.flatnonzero(~known)
            n_fill = rng.poisson(src.lam * len(unknown) / SOURCE_BIN) if len(unknown) else 0
            pos = np.r_[pos, lo + unknown[rng.integers(0, len(unknown), n_fill)]] if n_fill else pos
            first = np.where(rng.random(len(pos)) < 0.5, pos, pos - fragment + 1)
            steps = np.zeros(hi - lo + 1, np.int64)
            np.add.at(steps, np.clip(first - lo, 0, hi - lo), 1)
            np.add.at(steps, np.clip(first + fragment - lo, 0, hi - lo), -1)
            blocks[chrom].append((lo, hi, np.cumsum(steps[:-1]) * known))
            n_reads += int(n.sum())
    return blocks, n_reads


def coverage(src: Source, rng: np.random.Generator, tmp: Path, fragment: int, bin_size: int) -> Intervals:
    """Per-base fragment coverage in RPKM units (deepTools bamCoverage --extendReads --binSize 1).

    The fragments of :func:`fragment_pileup`; RPKM = coverage / (bin_size / 1000 kb) / (reads in
    the covered regions / 10⁶).
    """
    blocks, n_reads = fragment_pileup(src, rng, fragment)
    scale = 1e6 / n_reads / (bin_size / 1000)
    out = {}
    for chrom, parts in blocks.items():
        s, e, v = _concat([_runs(depth, lo) for lo, _, depth in parts])
        out[chrom] = (s, e, v * scale)
    return out


def binned(src: Source, rng: np.random.Generator, tmp: Path, bin_size: int) -> Intervals:
    """Reads in genome-aligned ``bin_size`` bins; unknown bases of a partly covered bin count λ/100."""
    out = {}
    for chrom in src.regions:
        parts = []
        for lo, hi in _blocks(src, chrom, align=bin_size):
            density, known = _dense(src, chrom, lo, hi)
            starts = np.arange(lo, hi, bin_size)
            reads = np.add.reduceat(np.where(known, density, src.lam), starts - lo) / SOURCE_BIN
            parts.append((starts, np.minimum(starts + bin_size, hi), reads))
        s, e, v = _concat(parts)
        out[chrom] = (s[v != 0], e[v != 0], v[v != 0])
    return out


def smoothed(src: Source, rng: np.random.Generator, tmp: Path, bin_size: int, length: int) -> Intervals:
    """Running mean over ``length`` bp of genome-aligned ``bin_size`` counts (deepTools --smoothLength).

    As deepTools, the window is ``length // bin_size`` bins rounded up to an odd number, centred.
    Unknown bases count λ; bins overlapping the covered regions are written whole.
    """
    window = length // bin_size + (length // bin_size + 1) % 2
    half = window // 2
    out = {}
    for chrom in src.regions:
        parts = []
        for lo, hi in _blocks(src, chrom, margin=half * bin_size, align=bin_size):
            density, known = _dense(src, chrom, lo, hi)
            starts = np.arange(lo, hi, bin_size)
            reads = np.add.reduceat(np.where(known, density, src.lam), starts - lo) / SOURCE_BIN
            padded = np.pad(reads, half, constant_values=src.lam)  # windows past a chromosome end
            mean = np.convolve(padded, np.ones(window) / window, mode="valid")
            write = np.add.reduceat(known, starts - lo) > 0
            parts.append((starts[write], np.minimum(starts + bin_size, hi)[write], np.round(mean[write], 9)))
        s, e, v = _concat(parts)
        out[chrom] = (s[v != 0], e[v != 0], v[v != 0])
    return out


# --------------------------------------------------------------------------- views through MACS3


def macs3_executable() -> Path:
    exe = Path(sys.executable).parent / "macs3"
    if not exe.is_file():
        raise RuntimeError(f"{exe} not found: this view needs MACS3 in this environment; pip install macs3")
    return exe


@cache
def macs3_version() -> str:
    run = subprocess.run([str(macs3_executable()), "--version"], capture_output=True, text=True, check=True)
    return run.stdout.strip().split()[-1]


def _macs3(*args: object) -> None:
    command = [str(macs3_executable()), *map(str, args), "--verbose", "0"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}): {run.stderr[-2000:]}")


def _write_bedgraph(path: Path, tracks: Intervals) -> None:
    with open(path, "w") as handle:
        for chrom, (s, e, v) in tracks.items():
            handle.writelines(
                f"{chrom}\t{a}\t{b}\t{x:.6f}\n" for a, b, x in zip(s.tolist(), e.tolist(), v.tolist())
            )


def _read_table(path: Path, columns: int) -> dict[str, list[np.ndarray]]:
    """A BED-like file's first ``columns`` columns per chromosome (column 0 is the chromosome)."""
    import pandas as pd

    if path.stat().st_size == 0:
        return {}
    table = pd.read_csv(path, sep="\t", header=None, comment="#", usecols=range(columns), dtype={0: str})
    table = table[~table[0].str.startswith("track")]
    return {
        str(chrom): [rows[c].to_numpy() for c in range(1, columns)]
        for chrom, rows in table.groupby(0, sort=False)
    }


def _local_lambda(src: Source, chrom: str, lo: int, hi: int, windows: list[int]) -> np.ndarray:
    """MACS's local lambda over [lo, hi): max(λ_bg, mean reads per 100 bp in each window), per base.

    As MACS piles up control reads extended to each window, a bin's reads count at its midpoint;
    unknown bases add λ per 100 bp (λ reads at every genome-aligned 100-bp midpoint).
    """
    half = max(windows) // 2
    a, b = max(lo - half, 0), min(hi + half, src.sizes[chrom])
    _, known = _dense(src, chrom, a, b)
    mass = np.zeros(b - a)
    s, e, v = src.records.get(chrom, _EMPTY)
    mid = (s + e) // 2
    inside = (mid >= a) & (mid < b)
    np.add.at(mass, mid[inside] - a, (v * (e - s) / SOURCE_BIN)[inside])
    unknown = np.flatnonzero(~known)
    mass[unknown[(unknown + a) % SOURCE_BIN == SOURCE_BIN // 2]] += src.lam
    cumulative = np.r_[0.0, np.cumsum(mass)]
    x = np.arange(lo, hi) - a
    lam = np.full(hi - lo, src.lam)
    for w in windows:
        left, right = np.clip(x - w // 2, 0, b - a), np.clip(x + w // 2, 0, b - a)
        lam = np.maximum(lam, (cumulative[right] - cumulative[left]) * SOURCE_BIN / w)
    return np.round(lam, 6)  # round off summation noise so equal values form runs


def _macs_scores(
    src: Source, rng: np.random.Generator, tmp: Path, fragment: int, control: str, windows: list[int]
) -> tuple[Path, Path]:
    """``macs3 bdgcmp -m FE ppois`` of the treatment pileup against a flat or local control.

    As in MACS, the treatment pileup is the number of fragments covering a base (the simulated
    reads of :func:`fragment_pileup`, Poisson-like in background) and the control is the expected
    pileup, λ (reads per 100 bp) × d / 100. MACS reads a bedGraph as contiguous intervals, so
    both files cover each chromosome from 0 to its last covered base; the gaps hold 0 (treatment)
    and λ_bg (control) and are discarded afterwards. Returns the FE and the −log10 p bedGraphs.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    scale = fragment / SOURCE_BIN
    pileup, _ = fragment_pileup(src, rng, fragment)
    treat, ctrl = {}, {}
    for chrom, regions in src.regions.items():
        t_parts, c_parts, prev = [], [], 0
        for lo, hi in regions.tolist():
            if lo > prev:
                t_parts.append((np.array([prev]), np.array([lo]), np.array([0.0])))
                c_parts.append((np.array([prev]), np.array([lo]), np.array([src.lam * scale])))
            a, _, depth = next(block for block in pileup[chrom] if block[0] <= lo and hi <= block[1])
            t_parts.append(_runs(depth[lo - a : hi - a], lo, keep_zeros=True))
            local = control == "local"
            lam = _local_lambda(src, chrom, lo, hi, windows) if local else np.full(hi - lo, src.lam)
            c_parts.append(_runs(lam * scale, lo, keep_zeros=True))
            prev = hi
        treat[chrom], ctrl[chrom] = _concat(t_parts), _concat(c_parts)
    treat_path, ctrl_path = tmp / "treat_pileup.bdg", tmp / "control_lambda.bdg"
    _write_bedgraph(treat_path, treat)
    _write_bedgraph(ctrl_path, ctrl)
    fe, logp = tmp / "FE.bdg", tmp / "ppois.bdg"
    _macs3("bdgcmp", "-t", treat_path, "-c", ctrl_path, "-m", "FE", "ppois", "-o", fe, logp)
    return fe, logp


def _read_scores(src: Source, path: Path) -> Intervals:
    """A MACS bedGraph restricted to the covered regions, zeros dropped."""
    out = {}
    for chrom, (s, e, v) in _read_table(path, 4).items():
        if chrom in src.regions:
            s, e, v = _clip(
                (s.astype(np.int64), e.astype(np.int64), v.astype(np.float64)), src.regions[chrom]
            )
            out[chrom] = (s[v != 0], e[v != 0], v[v != 0])
    return out


def fold_enrichment(
    src: Source, rng: np.random.Generator, tmp: Path, fragment: int, control: str, windows: list[int]
) -> Intervals:
    """MACS3 fold enrichment over a flat (λ_bg) or local (max of λ_bg and window means) control."""
    fe, _ = _macs_scores(src, rng, tmp, fragment, control, windows)
    return _read_scores(src, fe)


def log_pvalue(
    src: Source, rng: np.random.Generator, tmp: Path, fragment: int, windows: list[int]
) -> Intervals:
    """MACS3 −log10 Poisson p-value of the pileup given the local lambda."""
    _, logp = _macs_scores(src, rng, tmp, fragment, "local", windows)
    return _read_scores(src, logp)


def _paint(src: Source, peaks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Intervals:
    """Peak intervals carrying one value each, clipped to the covered regions, overlaps trimmed."""
    out = {}
    for chrom, (s, e, v) in peaks.items():
        order = np.lexsort((e, s))
        s, e, v = s[order], e[order], v[order]
        s = np.maximum(s, np.r_[0, np.maximum.accumulate(e)[:-1]])  # a later peak starts after earlier ones
        out[chrom] = _clip(_concat([(s, e, v)]), src.regions[chrom])
    return out


def narrow_peaks(
    src: Source,
    rng: np.random.Generator,
    tmp: Path,
    fragment: int,
    windows: list[int],
    cutoff: float,
    min_length: int,
    max_gap: int,
    paint: str,
) -> Built:
    """``macs3 bdgpeakcall`` on the −log10 p track → narrowPeak; peaks painted with one column.

    bdgpeakcall leaves columns 7-9 empty; they are filled as MACS callpeak does: signalValue =
    fold enrichment at the summit, pValue = −log10 p at the summit (qValue −1: not computed).
    """
    fe_path, logp_path = _macs_scores(src, rng, tmp, fragment, "local", windows)
    called = tmp / "peaks.narrowPeak"
    _macs3(
        "bdgpeakcall",
        "-i",
        logp_path,
        "-c",
        cutoff,
        "-l",
        min_length,
        "-g",
        max_gap,
        "--no-trackline",
        "-o",
        called,
    )
    fe, logp = _read_scores(src, fe_path), _read_scores(src, logp_path)
    lines, peaks = [], {}
    for chrom, columns in _read_table(called, 10).items():
        if chrom not in src.regions:
            continue
        start, end = columns[0].astype(np.int64), columns[1].astype(np.int64)
        score, offset = columns[3].astype(np.int64), columns[8].astype(np.int64)
        fold = _value_at(fe.get(chrom, _EMPTY), start + offset)
        pval = _value_at(logp.get(chrom, _EMPTY), start + offset)
        peaks[chrom] = (start, end, fold if paint == "signalValue" else pval)
        for a, b, sc, f, p, off in zip(*(x.tolist() for x in (start, end, score, fold, pval, offset))):
            name = f"{src.mark}_peak{len(lines) + 1}"
            lines.append(f"{chrom}\t{a}\t{b}\t{name}\t{sc}\t.\t{f:.5f}\t{p:.5f}\t-1\t{off}\n")
    return Built(_paint(src, peaks), {f"{src.mark}.narrowPeak": "".join(lines)})


def broad_peaks(
    src: Source,
    rng: np.random.Generator,
    tmp: Path,
    fragment: int,
    windows: list[int],
    cutoff: float,
    link_cutoff: float,
    min_length: int,
    max_gap: int,
    max_link: int,
) -> Built:
    """``macs3 bdgbroadcall`` on the −log10 p track → broad domains painted with their mean FE."""
    fe_path, logp_path = _macs_scores(src, rng, tmp, fragment, "local", windows)
    called = tmp / "broad.gappedPeak"
    _macs3(
        "bdgbroadcall", "-i", logp_path, "-c", cutoff, "-C", link_cutoff, "-l", min_length,
        "-g", max_gap, "-G", max_link, "--no-trackline", "-o", called,
    )  # fmt: skip
    fe, logp = _read_scores(src, fe_path), _read_scores(src, logp_path)
    lines, domains = [], {}
    for chrom, (start, end) in _read_table(called, 3).items():
        if chrom not in src.regions:
            continue
        start, end = start.astype(np.int64), end.astype(np.int64)
        fold = _mean_over(fe.get(chrom, _EMPTY), start, end)
        pval = _mean_over(logp.get(chrom, _EMPTY), start, end)
        domains[chrom] = (start, end, fold)
        for a, b, f, p in zip(start.tolist(), end.tolist(), fold.tolist(), pval.tolist()):
            name, score = f"{src.mark}_broad{len(lines) + 1}", min(int(10 * p), 1000)
            lines.append(f"{chrom}\t{a}\t{b}\t{name}\t{score}\t.\t{f:.5f}\t{p:.5f}\t-1\n")
    return Built(_paint(src, domains), {f"{src.mark}.broadPeak": "".join(lines)})


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class View:
    """A view: the function making one mark's track, its kind, the pipeline imitated, parameters."""

    name: str
    kind: str  # counts, coverage, fold-enrichment, log-pvalue, peak-signal, coarse, smoothed
    func: Callable[..., Intervals | Built]
    description: str
    params: dict
    fill: str = "none: only covered bases are used and written"
    tool: str = "numpy"  # or "macs3"
    stream: str = ""  # random stream (default: the view's name); views sharing one draw the same reads


# MACS3 callpeak without an input library takes λ_local = max(λ_bg, λ_10k) from the ChIP itself
# (PeakDetect.__call_peaks_wo_control: "slocal and d-size local bias are not calculated"); its
# 1-kb window is meant for an input library. Applied to the ChIP, the 1-kb window divides a peak
# by its own height (E003 H3K4me3: FE ≤ 8, mean FE at TSSs 0.55), so the local views use MACS's
# rule and fe-local1k keeps the 1-kb + 10-kb variant for comparison.
_MACS = {"fragment": FRAGMENT, "windows": [10_000]}
_NARROW = {**_MACS, "cutoff": 2.0, "min_length": 200, "max_gap": 30}
_READS_FILL = (
    "Poisson(λ per 100 bp) background reads simulated in unknown bases within 200 bp of the covered regions"
)
_LOCAL_FILL = _READS_FILL + "; unknown bases in the local-lambda windows count λ per 100 bp"
_BIN_FILL = "unknown bases of a partly covered bin count λ/100 reads each (expected value); such bins are written whole"

VIEWS: dict[str, View] = {
    v.name: v
    for v in [
        View("counts100", "counts", counts, "read counts per 100-bp bin, as the training data (Roadmap/DeepChrome)", {}),
        View("cpm", "counts", cpm, "counts per million of the track's reads (bamCoverage --binSize 100 --normalizeUsing CPM)", {"per": 1e6}),
        View("subsample25", "counts", subsample, "a 4× shallower library: binomial thinning (p = 0.25) of each bin's reads", {"p": 0.25}),
        View("subsample10", "counts", subsample, "a 10× shallower library: binomial thinning (p = 0.1) of each bin's reads", {"p": 0.1}),
        View(
            "coverage1bp", "coverage", coverage,
            "deepTools bamCoverage --binSize 1 --extendReads 200 --normalizeUsing RPKM (reads placed at random in their bin)",
            {"fragment": FRAGMENT, "bin_size": 1},
            _READS_FILL, "numpy", "reads",
        ),
        View(
            "fe-flat", "fold-enrichment", fold_enrichment,
            "MACS3 bdgcmp -m FE against the genome background λ (fold enrichment over a flat control)",
            {"fragment": FRAGMENT, "control": "flat", "windows": []}, _READS_FILL + "; control = λ everywhere", "macs3", "reads",
        ),
        View(
            "fe-local", "fold-enrichment", fold_enrichment,
            "MACS3 bdgcmp -m FE against MACS's local lambda without input, max(λ_bg, λ_10k) (MACS -B FE bigWig)",
            {**_MACS, "control": "local"}, _LOCAL_FILL, "macs3", "reads",
        ),
        View(
            "fe-local1k", "fold-enrichment", fold_enrichment,
            "MACS3 bdgcmp -m FE against max(λ_bg, λ_1k, λ_10k), both windows on the ChIP itself (no input)",
            {**_MACS, "windows": [1000, 10_000], "control": "local"}, _LOCAL_FILL, "macs3", "reads",
        ),
        View(
            "logp", "log-pvalue", log_pvalue,
            "MACS3 bdgcmp -m ppois: −log10 Poisson p-value given the local lambda max(λ_bg, λ_10k) (MACS/Roadmap pval bigWig)",
            dict(_MACS), _LOCAL_FILL, "macs3", "reads",
        ),
        View(
            "peaks-fe", "peak-signal", narrow_peaks,
            "MACS3 bdgpeakcall (−log10 p ≥ 2) → narrowPeak; each peak painted with its signalValue (FE at the summit)",
            {**_NARROW, "paint": "signalValue"}, _LOCAL_FILL, "macs3", "reads",
        ),
        View(
            "peaks-logp", "peak-signal", narrow_peaks,
            "MACS3 bdgpeakcall (−log10 p ≥ 2) → narrowPeak; each peak painted with its pValue (−log10 p at the summit)",
            {**_NARROW, "paint": "pValue"}, _LOCAL_FILL, "macs3", "reads",
        ),
        View(
            "peaks-broad", "peak-signal", broad_peaks,
            "MACS3 bdgbroadcall (−log10 p ≥ 2, linked at ≥ 1) → broad domains painted with their mean fold enrichment",
            {**_MACS, "cutoff": 2.0, "link_cutoff": 1.0, "min_length": 200, "max_gap": 30, "max_link": 800},
            _LOCAL_FILL, "macs3", "reads",
        ),
        View("bin1kb", "coarse", binned, "read counts in genome-aligned 1-kb bins (binned count matrix → bigWig)", {"bin_size": 1000}, _BIN_FILL),
        View("bin10kb", "coarse", binned, "read counts in genome-aligned 10-kb bins (binned count matrix → bigWig)", {"bin_size": 10_000}, _BIN_FILL),
        View(
            "smooth1kb", "smoothed", smoothed,
            "bamCoverage --binSize 100 --smoothLength 1000: running mean of 100-bp counts over 11 bins",
            {"bin_size": 100, "length": 1000}, _BIN_FILL.replace("reads each", "reads each (windows included)"),
        ),
    ]
}  # fmt: skip


#: What a value means, per view (written to view.json).
UNITS = {
    "counts100": "reads per 100 bp",
    "cpm": "reads per 100 bp per million reads of the track",
    "subsample25": "reads per 100 bp",
    "subsample10": "reads per 100 bp",
    "coverage1bp": "RPKM: fragments covering the base per kb per million reads",
    "fe-flat": "fold enrichment",
    "fe-local": "fold enrichment",
    "fe-local1k": "fold enrichment",
    "logp": "-log10 Poisson p-value",
    "peaks-fe": "fold enrichment at the peak summit (narrowPeak signalValue)",
    "peaks-logp": "-log10 p-value at the peak summit (narrowPeak pValue)",
    "peaks-broad": "mean fold enrichment over the broad domain",
    "bin1kb": "reads per 1-kb bin",
    "bin10kb": "reads per 10-kb bin",
    "smooth1kb": "reads per 100 bp, mean over 11 bins",
}


# --------------------------------------------------------------------------- building


def write_bigwig(path: Path, sizes: dict[str, int], intervals: Intervals) -> None:
    """Write a bigWig (pyBigWig) with adjacent equal float32 values merged; atomic."""
    import pyBigWig

    tmp = path.with_name(path.name + ".tmp")
    bw = pyBigWig.open(str(tmp), "w")
    bw.addHeader(list(sizes.items()), maxZooms=10)
    for chrom in sizes:
        s, e, v = intervals.get(chrom, _EMPTY)
        if len(s) == 0:
            continue
        v = v.astype(np.float32)
        joined = (s[1:] == e[:-1]) & (v[1:] == v[:-1])
        first = np.r_[True, ~joined]
        last = np.r_[~joined, True]
        bw.addEntries(
            [chrom] * int(first.sum()), s[first].tolist(), ends=e[last].tolist(), values=v[first].tolist()
        )
    bw.close()
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rng_for(seed: int, cell_type: str, stream: str, mark: str) -> np.random.Generator:
    """The random generator of one cell type × random stream (a view's name or "reads") × mark."""
    return np.random.default_rng([seed, *(zlib.crc32(x.encode()) for x in (cell_type, stream, mark))])


_IDENTITY = ("format", "name", "kind", "parameters", "seed", "random_stream", "marks", "source", "tool")


def _describe(spec: View, data: Path, gtf: Path, cell_type: str, marks: tuple[str, ...], seed: int) -> dict:
    import pyBigWig

    tool = (
        {"name": "MACS3", "version": macs3_version()}
        if spec.tool == "macs3"
        else {"name": "numpy", "version": np.__version__}
    )
    return {
        "format": FORMAT,
        "name": spec.name,
        "kind": spec.kind,
        "description": spec.description,
        "units": UNITS.get(spec.name, ""),
        "parameters": spec.params,
        "fill": spec.fill,
        "tool": tool,
        "writer": f"pyBigWig {pyBigWig.__version__}",
        "seed": seed,
        "random_stream": spec.stream or spec.name,
        "seed_rule": "numpy.random.default_rng([seed, crc32(cell_type), crc32(random_stream), crc32(mark)])",
        "cell_type": cell_type,
        "marks": list(marks),
        "files": {mark: f"{mark}.bw" for mark in marks},
        "regions": f"TSS ± {FLANK} bp of the genes of {gtf.name}, merged; values written only there "
        "(except whole coarse/smoothed bins); zero-valued positions absent",
        "source": {
            "gtf": _sha256(gtf),
            **{mark: _sha256(data / cell_type / f"{mark}.bw") for mark in marks},
        },
    }


def _complete(folder: Path, meta: dict) -> bool:
    try:
        old = json.loads((folder / "view.json").read_text())
    except (OSError, ValueError):
        return False
    same = all(old.get(key) == json.loads(json.dumps(meta[key])) for key in _IDENTITY)
    return same and all(
        (folder / name).is_file() for name in [*old.get("files", {}).values(), *old.get("extra_files", [])]
    )


def build_view(
    data: Path, gtf: Path, out: Path, cell_type: str, view: str, marks: tuple[str, ...], seed: int
) -> tuple[str, float]:
    """Build one view of one cell type unless it is complete and current: ("built" | "up to date", seconds)."""
    began = time.perf_counter()
    spec = VIEWS[view]
    folder = out / cell_type / view
    meta = _describe(spec, data, gtf, cell_type, marks, seed)
    if _complete(folder, meta):
        return "up to date", time.perf_counter() - began
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "view.json").unlink(missing_ok=True)  # incomplete until the last mark is written
    meta["background_lambda"], meta["extra_files"] = {}, []
    with tempfile.TemporaryDirectory(prefix=f"views-{cell_type}-{view}-") as tmp:
        for mark in marks:
            src = load_source(str(data / cell_type / f"{mark}.bw"), str(gtf), cell_type, mark)
            rng = rng_for(seed, cell_type, spec.stream or view, mark)
            result = spec.func(src, rng, Path(tmp) / mark, **spec.params)
            built = result if isinstance(result, Built) else Built(result)
            write_bigwig(folder / f"{mark}.bw", src.sizes, built.intervals)
            for name, text in built.files.items():
                (folder / name).write_text(text)
                meta["extra_files"].append(name)
            meta["background_lambda"][mark] = round(src.lam, 6)
    (folder / "view.json.tmp").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    os.replace(folder / "view.json.tmp", folder / "view.json")
    return "built", time.perf_counter() - began


def _build_task(task: tuple) -> tuple[str, str, str, float]:
    data, gtf, out, cell_type, view, marks, seed = task
    status, seconds = build_view(data, gtf, out, cell_type, view, marks, seed)
    return cell_type, view, status, seconds


def build_views(
    data: str | Path,
    out: str | Path,
    cell_types: list[str] | None = None,
    views: list[str] | None = None,
    jobs: int = 1,
    seed: int = 0,
    gtf: str | Path | None = None,
    marks: tuple[str, ...] = MARKS,
    log: Callable[[str], None] | None = print,
) -> dict[tuple[str, str], tuple[str, float]]:
    """Build (or keep) every view of every cell type: {(cell type, view): (status, seconds)}.

    ``cell_types`` defaults to the folders of ``data`` holding the marks; ``gtf`` to
    ``data/genes.gtf``; ``jobs`` worker processes share the (cell type, view) tasks.
    """
    data, out = Path(data), Path(out)
    gtf = Path(gtf) if gtf else data / "genes.gtf"
    if cell_types is None:
        cell_types = sorted(
            p.name for p in data.iterdir() if p.is_dir() and all((p / f"{m}.bw").is_file() for m in marks)
        )
    views = list(VIEWS) if views is None else list(views)
    unknown = [v for v in views if v not in VIEWS]
    if unknown:
        raise ValueError(f"unknown views {unknown}; choose from {', '.join(VIEWS)}")
    missing = [
        str(data / c / f"{m}.bw") for c in cell_types for m in marks if not (data / c / f"{m}.bw").is_file()
    ]
    if missing or not gtf.is_file():
        raise FileNotFoundError(f"missing input: {', '.join(missing or [str(gtf)])}")
    if any(VIEWS[v].tool == "macs3" for v in views):
        macs3_executable()
    tasks = [(data, gtf, out, c, v, tuple(marks), seed) for c in cell_types for v in views]
    results = {}
    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = pool.map(_build_task, tasks)
            for cell_type, view, status, seconds in done:
                results[cell_type, view] = (status, seconds)
                if log:
                    log(f"{cell_type}/{view}: {status} ({seconds:.1f} s)")
    else:
        for task in tasks:
            cell_type, view, status, seconds = _build_task(task)
            results[cell_type, view] = (status, seconds)
            if log:
                log(f"{cell_type}/{view}: {status} ({seconds:.1f} s)")
    return results


def load_view(out: str | Path, cell_type: str, view: str) -> dict[str, Path]:
    """The bigWigs of a built view, {mark: path}; FileNotFoundError if it is absent or incomplete."""
    folder = Path(out) / cell_type / view
    try:
        meta = json.loads((folder / "view.json").read_text())
    except (OSError, ValueError):
        raise FileNotFoundError(
            f"{folder}: no complete view (view.json missing); build it with scripts/views.py"
        ) from None
    paths = {mark: folder / name for mark, name in meta["files"].items()}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{folder}: incomplete view, missing {', '.join(absent)}")
    return paths


def list_views(out: str | Path) -> dict[str, list[str]]:
    """The complete views in ``out``: {cell type: [view, ...]} (sorted)."""
    found: dict[str, list[str]] = {}
    for meta_path in sorted(Path(out).glob("*/*/view.json")):
        cell_type, view = meta_path.parent.parent.name, meta_path.parent.name
        try:
            load_view(out, cell_type, view)
        except (FileNotFoundError, KeyError):
            continue
        found.setdefault(cell_type, []).append(view)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", required=True, type=Path, help="folder with genes.gtf and <cell type>/<MARK>.bw"
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (OUT/<cell type>/<view>/)")
    parser.add_argument("--cell-types", nargs="+", help="default: every cell-type folder of --data")
    parser.add_argument("--views", nargs="+", choices=list(VIEWS), help="default: all")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gtf", type=Path, help="default: DATA/genes.gtf")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        results = build_views(
            args.data, args.out, args.cell_types, args.views, args.jobs, args.seed, args.gtf
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    built = sum(status == "built" for status, _ in results.values())
    print(
        f"{built} built, {len(results) - built} up to date in {time.perf_counter() - began:.1f} s → {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
