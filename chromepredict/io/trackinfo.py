"""What a bigWig holds, read from the track itself (never from the genes of a run).

A :class:`TrackProfile` is built from the file's coarsest zoom level (where the data lie, how much
of the genome they cover) and a fixed, deterministic sample of its raw records drawn across the
covered regions. It gives the per-track scale the input transform divides by, the apparent
resolution and signal kind that the compatibility gate compares with a model's card, and the
chromosome sizes that identify the assembly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from chromepredict.io.assembly import recognise

SAMPLE_SITES = 128  # sampled places, spread over the covered bases
RECORDS_PER_SITE = 200  # raw records read at each place
#: At most this many distinct non-zero values sampled: they are listed in the profile (``few_values``).
FEW_VALUES = 5
#: Fewer sampled non-zero records than this say too little to call a track of 2–5 values not signal.
MIN_RUNS_FOR_FEW = 30


@dataclass
class TrackProfile:
    """Whole-track facts of one bigWig (or of the windows of a CSV, which is all such a file holds)."""

    chrom_sizes: dict[str, int] = field(default_factory=dict)
    assembly: str | None = None
    covered_fraction: float = float("nan")  # bases with data / length of the chromosomes with data
    scale: float = 1.0  # typical value over covered bases (base-weighted median): the transform's unit
    trimmed_mean: float = 1.0  # base-weighted mean of covered values up to their 90th percentile
    resolution: int = 0  # apparent resolution: median length of a run of one value, bp
    integer_fraction: float = float("nan")  # share of sampled bases whose value is a whole number
    kind: str = "signal"
    sampled_bases: int = 0
    negative_fraction: float = 0.0  # share of sampled bases with a value below 0
    distinct_values: int = 0  # distinct non-zero values among the sampled records (float32)
    sampled_runs: int = 0  # sampled records with a non-zero value
    # (value, share of sampled bases) of each distinct non-zero value, ascending, when there are at
    # most FEW_VALUES of them
    few_values: tuple[tuple[float, float], ...] = ()

    def not_signal(self) -> bool:
        """Whether the sampled values are too few to be a mark's signal: one value (a 0/1 peak mask,
        a constant), or 2 to FEW_VALUES values (from enough records) that are not the counts of a
        shallow library — 1, 2, …, k times one unit, the unit covering at least twice the bases of
        any other value (as reads thinned to a few per bin do)."""
        if self.distinct_values == 1:
            return True
        if not 2 <= self.distinct_values <= FEW_VALUES or self.sampled_runs < MIN_RUNS_FOR_FEW:
            return False
        values, shares = np.array(self.few_values).T
        counts_like = np.allclose(values / values[0], np.arange(1, len(values) + 1), rtol=1e-3)
        return not (counts_like and shares[0] >= 2 * shares[1:].max())


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])


def classify(resolution: int, regular: float, integer_fraction: float) -> str:
    """coarse (fixed bins of ≥ 1 kb), peak-signal (constant blocks of varying length, ≥ 150 bp),
    counts (whole numbers), else signal (coverage, fold enrichment, p-values)."""
    if resolution >= 1000 and regular >= 0.5:
        return "coarse"
    if resolution >= 150 and regular < 0.5:
        return "peak-signal"
    if integer_fraction > 0.99:
        return "counts"
    return "signal"


_TINY = float(np.finfo(np.float32).tiny)


def profile_from_values(values: np.ndarray, lengths: np.ndarray, covered_fraction: float) -> TrackProfile:
    """A profile from sampled runs (value, length in bp) of covered data."""
    values = np.asarray(values, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.float64)
    finite = np.isfinite(values) & (lengths > 0)
    negative = float(lengths[finite & (values < 0)].sum() / max(lengths[finite].sum(), 1.0))
    keep = finite & (values != 0)
    values, lengths = values[keep], lengths[keep]
    if not len(values):
        return TrackProfile(covered_fraction=covered_fraction, kind="signal", negative_fraction=negative)
    resolution = int(np.median(lengths))
    distinct, inverse = np.unique(values.astype(np.float32), return_inverse=True)
    few: tuple[tuple[float, float], ...] = ()
    if len(distinct) <= FEW_VALUES:
        shares = np.bincount(inverse, weights=lengths) / lengths.sum()
        few = tuple((float(v), float(share)) for v, share in zip(distinct, shares, strict=True))
    integer_fraction = float(lengths[np.isclose(values, np.round(values))].sum() / lengths.sum())
    regular = float(np.mean(lengths == resolution))  # share of runs as long as the typical one
    values = np.abs(values)
    low = values <= _weighted_quantile(values, lengths, 0.9)
    return TrackProfile(
        covered_fraction=covered_fraction,
        # non-zero values: > 0 but for float32 underflow; no larger floor (tracks of fractions of
        # reads have typical values of 1e-8 and must scale like any other)
        scale=max(_weighted_quantile(values, lengths, 0.5), _TINY),
        trimmed_mean=max(float(np.average(values[low], weights=lengths[low])), _TINY),
        resolution=resolution,
        integer_fraction=integer_fraction,
        kind=classify(resolution, regular, integer_fraction),
        sampled_bases=int(lengths.sum()),
        negative_fraction=negative,
        distinct_values=len(distinct),
        sampled_runs=len(values),
        few_values=few,
    )


def coverage_blocks(handle) -> list[tuple[str, int, int, int]]:
    """(chrom, start, end, bases covered) of the blocks of the coarsest zoom level that hold data;
    without zoom levels, one block per chromosome whose index holds a record."""
    sizes = {str(c): int(n) for c, n in handle.chroms().items()}
    zooms = sorted(handle.zooms()) if hasattr(handle, "zooms") else []
    if zooms:
        return [
            (chrom, int(start), int(end), int(summary["bases_covered"]))
            for chrom in sorted(sizes)
            for start, end, summary in handle.zoom_records(zooms[-1], chrom)
            if summary["bases_covered"] > 0
        ]
    return [
        (chrom, 0, length, 0)
        for chrom, length in sorted(sizes.items())
        if next(iter(handle.records(chrom)), None) is not None
    ]


def data_extents(blocks: list[tuple[str, int, int, int]]) -> dict[str, tuple[int, int]]:
    """Per chromosome, the start of its first and the end of its last :func:`coverage_blocks` block
    (the whole chromosome for a file without zoom levels)."""
    extents: dict[str, tuple[int, int]] = {}
    for chrom, start, end, _ in blocks:
        first, last = extents.get(chrom, (start, end))
        extents[chrom] = (min(first, start), max(last, end))
    return extents


def profile_bigwig(handle, blocks: list[tuple[str, int, int, int]]) -> TrackProfile:
    """Profile an open pybigtools bigWig from its :func:`coverage_blocks` and sampled raw records."""
    sizes = {str(c): int(n) for c, n in handle.chroms().items()}
    zoomed = any(b[3] for b in blocks)
    if not zoomed:  # no zoom levels: sample fixed places along the chromosomes with data
        step = 10_000_000
        blocks = [
            (c, s, min(s + step, n), min(step, n - s)) for c, _, n, _ in blocks for s in range(0, n, step)
        ]
    with_data = {b[0] for b in blocks}
    covered = sum(b[3] for b in blocks)
    genome = sum(n for c, n in sizes.items() if c in with_data) or 1
    values, lengths = [], []
    if blocks:
        cumulative = np.cumsum([b[3] for b in blocks])
        targets = (np.arange(SAMPLE_SITES) + 0.5) / SAMPLE_SITES * cumulative[-1]
        for index in sorted(set(np.searchsorted(cumulative, targets).tolist())):
            chrom, start, end, _ = blocks[index]
            for lo, hi, value in itertools.islice(handle.records(chrom, start, end), RECORDS_PER_SITE):
                values.append(value)
                lengths.append(hi - lo)
    profile = profile_from_values(
        np.array(values), np.array(lengths), covered / genome if zoomed else float("nan")
    )
    profile.chrom_sizes = sizes
    profile.assembly = recognise(sizes)
    return profile


def profile_windows(features: np.ndarray, bin_size: int) -> TrackProfile:
    """Profile one mark of windows that are the whole input (a DeepChrome CSV): [genes, bins]."""
    values = features.ravel()
    covered = float((values != 0).mean()) if values.size else float("nan")
    return profile_from_values(values, np.full(values.shape, bin_size), covered)
