"""One record per input bigWig, opened once by the run: its chromosome sizes and names, the
chromosomes that hold data, its profile (scale, resolution, signal kind, assembly) and the
whole-file summary — all read from the file itself, never from the genes of a run.

A :class:`Track` travels to worker processes without its open handle (pickled by path); each
reading task (2,500 genes) opens the file again on first use, which costs milliseconds, and never
shares an open file (and its position) with another process.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chromepredict.io.annotation import match_chroms
from chromepredict.io.trackinfo import TrackProfile, coverage_blocks, data_extents, profile_bigwig
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.formats import BIGWIG, TO_BIGWIG, not_a


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Nothing written to file descriptor 2 inside the block reaches the terminal: pybigtools' Rust
    core prints a panic message (and, with ``RUST_BACKTRACE=1``, a backtrace) before raising on a
    damaged file, which chromepredict reports in one line instead."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def is_read_error(exc: BaseException) -> bool:
    """An error of reading a damaged file: pybigtools' own, an OS or format error, or a panic of
    its Rust core (``pyo3_runtime.PanicException``, a BaseException)."""
    import pybigtools

    if isinstance(exc, UserError):  # already says what is wrong (a ValueError too)
        return False
    return isinstance(exc, (pybigtools.BBIReadError, OSError, ValueError, KeyError)) or (
        type(exc).__name__ == "PanicException"
    )


def damaged(path: str, exc: BaseException) -> BaseException:
    """The error for a bigWig the reader fails on: one without any data, or a damaged one — or the
    system's own refusal (too many open files), which blames no file."""
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        return OSError(exc.errno, f"{exc.strerror} while reading it", path)
    with contextlib.suppress(OSError, ValueError):
        if _without_data(path):
            return UserError(
                f"{path}: a bigWig without any data (no records at all); give the mark's signal track, "
                "or leave this mark out"
            )
    text = " ".join(str(exc).split()[:30])
    return UserError(
        f"{path}: cannot read this bigWig ({text}); the file is truncated or damaged: download or generate it again"
    )


def _without_data(path: str) -> bool:
    """Whether a file with a bigWig's magic has a whole header and no data (no index, or a data
    section of 0 blocks), as writers leave a track with no records."""
    import struct

    with open(path, "rb") as raw:
        head = raw.read(64)
        if len(head) < 64 or head[:4] not in BIGWIG:
            return False
        order = "<" if head[:4] == BIGWIG[0] else ">"
        _, _, _, _, full_data, full_index = struct.unpack(order + "IHHQQQ", head[:32])
        if full_index == 0:
            return True
        raw.seek(full_data)
        count = raw.read(4)
    return len(count) == 4 and struct.unpack(order + "I", count)[0] == 0


def _open_handle(path: str):
    import pybigtools

    require_file(path, "bigWig file", "check the path")
    try:
        with native_stderr_silenced():
            handle = pybigtools.open(open(path, "rb"))  # noqa: SIM115 (kept open with the handle; any file name)
    except BaseException as exc:
        if not is_read_error(exc):
            raise
        handle = None
    if handle is None or not getattr(handle, "is_bigwig", False):
        with open(path, "rb") as raw:
            if raw.read(4) in BIGWIG:
                raise damaged(path, ValueError("incomplete header"))
        raise UserError(not_a(path, "a bigWig", TO_BIGWIG, "give one bigWig per mark"))
    return handle


@dataclass
class Track:
    """One bigWig of one mark, with every whole-file fact the run needs (see the module doc)."""

    path: str
    mark: str
    chrom_sizes: dict[str, int]
    with_data: frozenset[str]  # chromosomes holding any data (zoom levels or the index)
    profile: TrackProfile
    summary: dict[str, float]  # the file's own summary: min, max, sum, basesCovered
    # per chromosome with data: the start of its first and the end of its last block with data
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)
    _handle: object = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, path: str, mark: str) -> Track:
        """Open and profile a bigWig; a missing, foreign or damaged file is a one-line UserError."""
        handle = _open_handle(path)
        try:
            with native_stderr_silenced():
                blocks = coverage_blocks(handle)
                profile = profile_bigwig(handle, blocks)
                summary = dict(handle.info().get("summary", {}))
        except BaseException as exc:
            if not is_read_error(exc):
                raise
            raise damaged(path, exc) from None
        return cls(
            path=path,
            mark=mark,
            chrom_sizes=dict(profile.chrom_sizes),
            with_data=frozenset(b[0] for b in blocks),
            profile=profile,
            summary={k: float(v) for k, v in summary.items()},
            extents=data_extents(blocks),
            _handle=handle,
        )

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_handle": None}

    @property
    def handle(self):
        """The open pybigtools file (opened again in a worker process)."""
        if self._handle is None:
            self._handle = _open_handle(self.path)
        return self._handle

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def assembly(self) -> str | None:
        return self.profile.assembly

    @property
    def non_finite(self) -> bool:
        """Whether the file holds NaN or infinite values: its summary's min or max is not finite, or
        its sum is NaN (an infinite sum of finite values is an overflow of huge ones, not this)."""
        summary = self.summary
        bounds = (summary.get("min", 0.0), summary.get("max", 0.0))
        return not all(math.isfinite(v) for v in bounds) or math.isnan(summary.get("sum", 0.0))

    @property
    def negative(self) -> bool:
        """Whether the file holds values below 0."""
        return self.summary.get("min", 0.0) < 0 or self.profile.negative_fraction > 0

    def chrom_names(self, chroms: list[str]) -> dict[str, str]:
        """Annotation chromosome names → this file's spelling (``chr1`` ↔ ``1``); absent ones left out."""
        return match_chroms(chroms, set(self.chrom_sizes))

    def value_warnings(self) -> list[str]:
        """Warnings about values that have no meaning as signal (negative, non-finite)."""
        warnings = []
        if self.negative:
            share = self.profile.negative_fraction
            amount = f"{share:.0%} of sampled bases" if share >= 0.005 else "some bases"
            warnings.append(
                f"{self.path}: {amount} have negative values (a log ratio or a control-subtracted track?); "
                "chromepredict reads signal ≥ 0 and counts negative bins as 0: give the ChIP signal itself "
                "(read counts, CPM, fold enrichment or −log10 p-values)"
            )
        if self.profile.not_signal():
            values = ", ".join(f"{v:g}" for v, _ in self.profile.few_values)
            n = self.profile.distinct_values
            warnings.append(
                f"{self.path}: holds only {n} distinct value{'s' if n > 1 else ''} ({values}): a peak mask, "
                "a constant or a categorical track, not the mark's signal; the model reads signal such as "
                "read coverage (deepTools bamCoverage --binSize 100 → bigWig) or MACS3's pileup or fold "
                "enrichment (macs3 callpeak -B, then bedGraphToBigWig)"
            )
        return warnings
