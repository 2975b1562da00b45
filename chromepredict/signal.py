"""bigWig tracks (read with pybigtools) → float32 array [genes, marks, bins] of mean signal per bin around each TSS.

The one hot path shared by extract, train, predict and explain. Bin ``i`` (0-based) of a gene
with 1-based TSS ``T`` covers the 0-based half-open interval
``[T - flank + i * bin_size, T - flank + (i + 1) * bin_size)``, the convention of the published
DeepChrome data. A bin's value is the mean over its bases, where bases without data, bases whose
value is NaN and bases beyond a chromosome end all count as 0.

Two readers give that one rule: pybigtools ≥ 0.3 computes exact bin means itself (the fast path);
windows it cannot serve exactly (NaN values, a chromosome end) and every window under pybigtools
0.2 (whose bin means skip uncovered bases) are read base by base and averaged here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.annotation import match_chroms
from chromepredict.errors import UserError
from chromepredict.features import FeatureSet, WindowSpec
from chromepredict.trackinfo import TrackProfile, profile_bigwig

_CHUNK_GENES = 500
#: The bigWig last opened in this process. One at a time: pybigtools caches the blocks it has read
#: (≈ 35 MB per genome-wide track), and tasks come mark by mark.
_open_track: dict[tuple, object] = {}


def _pybigtools_version() -> tuple[int, ...]:
    import pybigtools

    version = getattr(pybigtools, "__version__", "0")
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


#: The first four bytes of a bigWig (either byte order): a file that has them but cannot be opened
#: is a damaged bigWig, not another format.
BIGWIG_MAGIC = (bytes.fromhex("26fc8f88"), bytes.fromhex("888ffc26"))

#: pybigtools ≥ 0.3 counts uncovered bases as 0 in an exact bin mean (``uncovered=0``).
EXACT_BINS = _pybigtools_version() >= (0, 3)


def _is_read_error(exc: BaseException) -> bool:
    """An error of reading a damaged file: pybigtools' own, an OS or format error, or a panic of
    its Rust core (``pyo3_runtime.PanicException``, a BaseException, raised on corrupt blocks)."""
    import pybigtools

    return isinstance(exc, (pybigtools.BBIReadError, OSError, ValueError, KeyError)) or (
        type(exc).__name__ == "PanicException"
    )


def _damaged(path: str, exc: BaseException) -> UserError:
    return UserError(
        f"{path}: cannot read this bigWig ({' '.join(str(exc).split())}); the file is truncated or "
        "damaged: download or generate it again"
    )


def open_track(path: str):
    """Open a bigWig (pybigtools), reusing the last one opened in this process; a missing or
    non-bigWig file is a UserError."""
    import pybigtools

    if not Path(path).is_file():
        raise UserError(f"{path}: bigWig file not found; check the path")
    stat = os.stat(path)
    # per process (a handle inherited across fork shares its file offset) and per file version
    key = (os.getpid(), path, stat.st_mtime_ns, stat.st_size)
    if key in _open_track:
        return _open_track[key]
    _open_track.clear()
    try:
        handle = pybigtools.open(open(path, "rb"))  # noqa: SIM115  (kept open with the handle; any file name)
    except BaseException as exc:
        if not _is_read_error(exc):
            raise
        handle = None
    if handle is None or not getattr(handle, "is_bigwig", False):
        with open(path, "rb") as raw:
            if raw.read(4) in BIGWIG_MAGIC:
                raise _damaged(path, ValueError("incomplete header"))
        raise UserError(f"{path}: not a bigWig file; convert bedGraph with bedGraphToBigWig first")
    _open_track[key] = handle
    return handle


def track_chroms(path: str) -> dict[str, int]:
    """Chromosome names and lengths of a bigWig."""
    return dict(open_track(path).chroms())


def track_profile(path: str) -> TrackProfile:
    """The :class:`TrackProfile` of a bigWig (whole-track facts; a damaged file is a UserError)."""
    try:
        return profile_bigwig(open_track(path))
    except BaseException as exc:
        if not _is_read_error(exc):
            raise
        raise _damaged(path, exc) from None


def _read_bases(track, chrom: str, lo: int, width: int, length: int) -> np.ndarray:
    """Per-base values of ``[lo, lo + width)``: no data, NaN and beyond the chromosome all read 0."""
    bases = np.zeros(width)
    a, b = max(lo, 0), min(lo + width, length)
    if a < b:
        kwargs = {"fillna": 0.0} if EXACT_BINS else {"missing": 0.0}
        bases[a - lo : b - lo] = np.nan_to_num(track.values(chrom, a, b, **kwargs), nan=0.0)
    return bases


def _read_chunk(path: str, chroms: list[str], starts: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Mean signal per bin for windows starting at ``starts`` (0-based) on ``chroms``: [n, bins]."""
    track = open_track(path)
    width = 2 * spec.flank
    out = np.full((len(starts), spec.n_bins), np.nan)
    try:
        lengths = track.chroms()
        for row, (chrom, lo) in enumerate(zip(chroms, starts.tolist(), strict=True)):
            if EXACT_BINS and lo >= 0 and lo + width <= lengths[chrom]:
                track.values(
                    chrom, lo, lo + width, bins=spec.n_bins, summary="mean", exact=True,
                    uncovered=0.0, fillna=np.nan, oob=0.0, arr=out[row],
                )  # fmt: skip
            if np.isnan(out[row]).any():  # NaN in the data, a chromosome end, or pybigtools 0.2
                bases = _read_bases(track, chrom, lo, width, lengths[chrom])
                out[row] = bases.reshape(spec.n_bins, spec.bin_size).mean(axis=1)
    except BaseException as exc:
        if not _is_read_error(exc):
            raise
        raise _damaged(path, exc) from None
    return out.astype(np.float32)


def _read_task(task: tuple) -> tuple[int, int, np.ndarray]:
    mark_index, first, path, chroms, starts, spec = task
    return mark_index, first, _read_chunk(path, chroms, starts, spec)


def extract(
    genes: pd.DataFrame,
    tracks: dict[str, str],
    spec: WindowSpec = WindowSpec(),
    threads: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[FeatureSet, pd.DataFrame]:
    """Read the window of every gene from every track (marks in the order of ``tracks``).

    Returns the feature set (with each track's profile) and the genes dropped because their
    chromosome is absent from a track; no chromosome in common with a track is a UserError.
    ``progress`` is called with the number of gene windows finished, summed over marks.
    """
    chrom_maps = {}
    gene_chroms = genes["chrom"].unique().tolist()
    for mark, path in tracks.items():
        chrom_maps[mark] = match_chroms(gene_chroms, set(track_chroms(path)))
        if not chrom_maps[mark]:
            examples = ", ".join(gene_chroms[:3])
            raise UserError(
                f"{path}: no chromosome in common with the GTF (GTF has {examples}…; track has "
                f"{', '.join(list(track_chroms(path))[:3])}…); use a GTF of the same genome build"
            )
    usable = set.intersection(*(set(m) for m in chrom_maps.values()))
    keep = genes["chrom"].isin(usable).to_numpy()
    kept, dropped = genes[keep].reset_index(drop=True), genes[~keep].reset_index(drop=True)
    starts = kept["tss"].to_numpy(dtype=np.int64) - spec.flank
    features = np.zeros((len(kept), len(tracks), spec.n_bins), dtype=np.float32)

    tasks = []
    for mark_index, (mark, path) in enumerate(tracks.items()):
        names = kept["chrom"].map(chrom_maps[mark]).tolist()
        for first in range(0, len(kept), _CHUNK_GENES):
            last = first + _CHUNK_GENES
            tasks.append((mark_index, first, path, names[first:last], starts[first:last], spec))

    def store(result: tuple[int, int, np.ndarray]) -> None:
        mark_index, first, block = result
        features[first : first + len(block), mark_index] = block
        if progress is not None:
            progress(len(block))

    if threads > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=threads) as pool:
            for result in pool.map(_read_task, tasks):
                store(result)
    else:
        for task in tasks:
            store(_read_task(task))
    if spec.orientation == "5to3":
        minus = (kept["strand"] == "-").to_numpy()
        features[minus] = features[minus, :, ::-1]
    profiles = {mark: track_profile(path) for mark, path in tracks.items()}
    return FeatureSet(features, kept, tuple(tracks), spec, profiles=profiles), dropped
