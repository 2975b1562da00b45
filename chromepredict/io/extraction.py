"""bigWig tracks → float32 array [genes, marks, bins] of mean signal per bin around each TSS.

The one hot path shared by extract, train, predict, explain and compare. The bins are those of
:class:`~chromepredict.io.features.WindowSpec`; a bin's value is the mean over its bases, where
bases without data, bases beyond a chromosome end and non-finite values (NaN, ±inf) all count
as 0.

Two readers give that one rule: pybigtools ≥ 0.3 computes exact bin means itself (the fast path);
windows it cannot serve exactly (a chromosome end) and every window under pybigtools 0.2 (whose
bin means skip uncovered bases) are read base by base and averaged here. A track whose own
summary says it holds non-finite values is read record by record, so that those bases are
counted (for the warning) and set to 0.

A bin whose mean is negative (a log ratio, a control-subtracted track) reads as 0.

A track with no data on a gene's chromosome (absent from the file, or present without any
record: read from the file's own zoom levels or index) does not cover that gene: its bins stay
0 and :attr:`Windows.covered` says so, so that callers treat the mark as not measured there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chromepredict.io.features import WindowSpec
from chromepredict.io.tracks import Track, damaged, is_read_error, native_stderr_silenced
from chromepredict.system.workers import process_pool

_CHUNK_GENES = 2500  # genes per task: fewer, larger tasks cost less to hand to the worker processes


def _pybigtools_version() -> tuple[int, ...]:
    import pybigtools

    version = getattr(pybigtools, "__version__", "0")
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


#: pybigtools ≥ 0.3 counts uncovered bases as 0 in an exact bin mean (``uncovered=0``).
EXACT_BINS = _pybigtools_version() >= (0, 3)


@dataclass
class Windows:
    """The windows read from a set of tracks for a gene table."""

    features: np.ndarray  # [genes, marks, bins] in the spec's orientation
    covered: np.ndarray  # [genes, marks] bool: the track has data on the gene's chromosome
    non_finite: dict[str, int]  # mark → non-finite bases met in the windows (counted as 0)


def _bases_from_values(track, chrom: str, lo: int, width: int, length: int) -> np.ndarray:
    """Per-base values of ``[lo, lo + width)``; no data and beyond the chromosome read 0."""
    bases = np.zeros(width)
    a, b = max(lo, 0), min(lo + width, length)
    if a < b:
        kwargs = {"fillna": 0.0} if EXACT_BINS else {"missing": 0.0}
        bases[a - lo : b - lo] = track.values(chrom, a, b, **kwargs)
    return bases


def _bases_from_records(track, chrom: str, lo: int, width: int, length: int) -> tuple[np.ndarray, int]:
    """Per-base values from the raw records, and how many bases held a non-finite value."""
    bases = np.zeros(width)
    bad = 0
    a, b = max(lo, 0), min(lo + width, length)
    if a < b:
        for start, end, value in track.records(chrom, a, b):
            start, end = max(start, a), min(end, b)
            if np.isfinite(value):
                bases[start - lo : end - lo] = value
            else:
                bad += end - start
    return bases, bad


def _read_chunk(
    track: Track, chroms: list[str], starts: np.ndarray, spec: WindowSpec
) -> tuple[np.ndarray, int]:
    """Mean signal per bin for windows starting at ``starts`` (0-based) on ``chroms``: [n, bins],
    and the non-finite bases met."""
    width = 2 * spec.flank
    out = np.full((len(starts), spec.n_bins), np.nan)
    bad = 0
    try:
        with native_stderr_silenced():
            handle = track.handle
            lengths = track.chrom_sizes
            windows = list(zip(chroms, starts.tolist(), strict=True))
            if track.non_finite:  # read record by record, counting the non-finite bases
                for row, (chrom, lo) in enumerate(windows):
                    bases, n = _bases_from_records(handle, chrom, lo, width, lengths[chrom])
                    bad += n
                    out[row] = bases.reshape(spec.n_bins, spec.bin_size).mean(axis=1)
                return out.astype(np.float32), bad
            if EXACT_BINS:
                for row, (chrom, lo) in enumerate(windows):
                    if lo >= 0 and lo + width <= lengths[chrom]:
                        handle.values(
                            chrom, lo, lo + width, bins=spec.n_bins, summary="mean", exact=True,
                            uncovered=0.0, fillna=np.nan, oob=0.0, arr=out[row],
                        )  # fmt: skip
            for gap in np.flatnonzero(np.isnan(out).any(axis=1)):  # a chromosome end, or pybigtools 0.2
                chrom, lo = windows[gap]
                bases = _bases_from_values(handle, chrom, lo, width, lengths[chrom])
                out[gap] = bases.reshape(spec.n_bins, spec.bin_size).mean(axis=1)
    except BaseException as exc:
        if not is_read_error(exc):
            raise
        raise damaged(track.path, exc) from None
    return out.astype(np.float32), bad


@dataclass(frozen=True)
class ReadTask:
    """One worker's share of the reading: the windows of ``rows`` (genes) in one track."""

    mark_index: int
    rows: np.ndarray
    track: Track
    chroms: list[str]  # the genes' chromosomes, spelled as the track spells them
    starts: np.ndarray
    spec: WindowSpec


def _read_task(task: ReadTask) -> tuple[int, np.ndarray, np.ndarray, int]:
    block, bad = _read_chunk(task.track, task.chroms, task.starts, task.spec)
    return task.mark_index, task.rows, block, bad


def read_windows(
    genes: pd.DataFrame,
    tracks: list[Track],
    spec: WindowSpec = WindowSpec(),
    threads: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Windows:
    """Read the window of every gene from every track (marks in the order of ``tracks``), in
    ``threads`` worker processes.

    ``progress`` is called with the number of gene windows finished, summed over marks.
    """
    n = len(genes)
    features = np.zeros((n, len(tracks), spec.n_bins), dtype=np.float32)
    covered = np.zeros((n, len(tracks)), dtype=bool)
    starts = spec.window_starts(genes["tss"].to_numpy(dtype=np.int64))
    chroms = genes["chrom"].astype(str).to_numpy()
    tasks = []
    for m, track in enumerate(tracks):
        names = track.chrom_names(sorted(set(chroms)))
        spelled = np.array([names.get(c, "") for c in chroms], dtype=object)
        covered[:, m] = [c in track.with_data for c in spelled]
        rows = np.flatnonzero(covered[:, m])
        if progress is not None and len(rows) < n:
            progress(n - len(rows))
        for first in range(0, len(rows), _CHUNK_GENES):
            part = rows[first : first + _CHUNK_GENES]
            tasks.append(ReadTask(m, part, track, spelled[part].tolist(), starts[part], spec))
    non_finite = dict.fromkeys((t.mark for t in tracks), 0)

    def store(result: tuple[int, np.ndarray, np.ndarray, int]) -> None:
        m, rows, block, bad = result
        features[rows, m] = block
        non_finite[tracks[m].mark] += bad
        if progress is not None:
            progress(len(rows))

    if threads > 1 and len(tasks) > 1:
        with process_pool(threads) as pool:
            for result in pool.map(_read_task, tasks):
                store(result)
    else:
        for task in tasks:
            store(_read_task(task))
    np.maximum(features, 0, out=features)  # a negative bin mean reads as 0 (warned by the track)
    features = spec.orient(features, (genes["strand"] == "-").to_numpy(), copy=False)
    return Windows(features, covered, non_finite)
