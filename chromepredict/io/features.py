"""The feature set every command passes around: array [genes, marks, bins], gene table, window
spec, the tracks' profiles and where it all came from."""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import __version__
from chromepredict.io.annotation import GENE_COLUMNS
from chromepredict.io.trackinfo import TrackProfile
from chromepredict.system.errors import UserError
from chromepredict.system.files import OutputKind, atomic_path, sidecar_path, write_sidecar

#: What a re-run of extract may replace: an earlier .npz of features, an earlier long table
#: (first line ``# chromepredict VERSION extract: …``, or ``# orientation=…`` before 0.3).
FEATURES_NPZ = OutputKind(
    "feature .npz", zip_members=frozenset({"features.npy", "marks.npy", "flank.npy", "bin_size.npy"})
)
FEATURES_TSV = OutputKind(
    "long feature table",
    first_line=r"# (chromepredict \S+ extract: )?orientation=.*|gene_id\tmark\tbin\toffset_bp\tvalue",
)

ORIENTATIONS = ("5to3", "genomic")


@dataclass(frozen=True)
class WindowSpec:
    """Window geometry around the TSS and the order of bins in the output."""

    flank: int = 5000
    bin_size: int = 100
    orientation: str = "5to3"

    def __post_init__(self) -> None:
        if self.flank <= 0 or self.bin_size <= 0 or (2 * self.flank) % self.bin_size:
            raise UserError(
                f"--flank {self.flank} and --bin-size {self.bin_size}: 2 × flank must be a positive "
                "multiple of the bin size (e.g. --flank 5000 --bin-size 100)"
            )
        if self.orientation not in ORIENTATIONS:
            raise UserError(
                f"--orientation {self.orientation!r} is unknown; use one of {', '.join(ORIENTATIONS)}"
            )

    @property
    def n_bins(self) -> int:
        return 2 * self.flank // self.bin_size

    def window_starts(self, tss: np.ndarray) -> np.ndarray:
        """0-based start of each gene's window; ``tss`` is 1-based. Bin ``i`` (0-based, genomic order)
        of a gene covers ``[start + i·bin_size, start + (i + 1)·bin_size)`` — DeepChrome's convention."""
        return np.asarray(tss, dtype=np.int64) - self.flank

    def offsets(self) -> np.ndarray:
        """Start of each bin relative to the TSS, bp, in the bins' own order (5′→3′ or genomic)."""
        return self.edges()[:-1]

    def edges(self) -> np.ndarray:
        """The ``n_bins + 1`` bin boundaries relative to the TSS, bp (plots' x axes)."""
        return np.arange(self.n_bins + 1) * self.bin_size - self.flank

    def genomic_bins(self, tss: int, strand: str) -> np.ndarray:
        """0-based genome start of each bin of one gene, in the order of its oriented bins."""
        starts = self.window_starts(np.array([tss]))[0] + np.arange(self.n_bins) * self.bin_size
        return starts[::-1] if self.orientation == "5to3" and strand == "-" else starts

    def orient(self, values: np.ndarray, minus: np.ndarray, copy: bool = True) -> np.ndarray:
        """Genomic-order windows ``[genes, …, bins]`` in this spec's orientation (minus-strand genes
        reversed for 5to3), and back: the operation is its own inverse. A new array unless ``copy``
        is False (then ``values`` itself is reoriented)."""
        if copy:
            values = np.array(values, copy=True)
        if self.orientation == "5to3":
            values[minus] = values[minus, ..., ::-1]
        return values

    def centre(self, first: int, span: int) -> float:
        """Centre, bp from the TSS, of the bins ``first`` … ``first + span − 1`` (in this orientation)."""
        return float(first * self.bin_size - self.flank + span * self.bin_size / 2)


@dataclass
class Provenance:
    """Where a feature set came from, as the compatibility gate and the output headers need it."""

    source: str = "tracks"  # tracks | csv | npz
    description: str = ""  # files, one line
    strands_known: bool = True  # False for DeepChrome CSVs, which carry no strand
    assembly: str | None = None  # of the tracks, when recognised
    gtf_build: str | None = None  # named in the GTF header, when it says
    split: str | None = None  # how genes were split for training, when they were
    labels_from: str | None = None  # the expression table and column, when labelled
    units: str | None = None  # the expression column's name (TPM, RPKM, …): levels are log2(1 + units)
    log_scale: str | None = None  # what to say when that table's values look log-transformed already
    notes: list[str] = field(default_factory=list)  # one-line facts the CLI prints
    warnings: list[str] = field(default_factory=list)  # one-line warnings, never hidden by --quiet
    gene_type: str | None = None  # the GTF's genes were of this type (None: every type, or no GTF)
    other_types: tuple[str, ...] = ()  # ids (as written) of the GTF's genes of other types
    # when the labels' median runs over many genes of other types: a warning for what uses labels
    median_caveats: list[str] = field(default_factory=list)
    # when pooled samples' tables are in different units: a warning for what learns their levels
    level_caveats: list[str] = field(default_factory=list)


def _first_said(texts: Iterable[str | None]) -> str | None:
    """The first of ``texts`` that says something (None when none does)."""
    return next((t for t in texts if t), None)


@dataclass
class FeatureSet:
    """Per-gene signal with the genes (rows), marks (axis 1) and window geometry (axis 2).

    ``profiles`` holds each mark's :class:`TrackProfile` (from the whole track); ``labels`` the
    high/low class and ``levels`` log2(1 + expression) per gene when an expression table was given.
    """

    features: np.ndarray
    genes: pd.DataFrame
    marks: tuple[str, ...]
    spec: WindowSpec
    labels: np.ndarray | None = field(default=None)
    levels: np.ndarray | None = field(default=None)
    profiles: dict[str, TrackProfile] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    window_scales: np.ndarray | None = field(default=None)  # [genes, marks] when pooled from several samples
    # when pooled from several samples: each sample's profiles (see :meth:`samples`)
    sample_profiles: dict[str, dict[str, TrackProfile]] | None = field(default=None)
    # [genes, marks] bool when some track holds no data on some genes' chromosomes (None: all measured)
    present: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        expected = (len(self.genes), len(self.marks), self.spec.n_bins)
        if self.features.shape != expected:
            raise ValueError(f"features shape {self.features.shape} != {expected}")

    @property
    def scales(self) -> np.ndarray:
        """The tracks' scales: per mark from the profiles (1 where a mark has none), shape [marks];
        per window and mark, [genes, marks], for a set pooled from several samples."""
        if self.window_scales is not None:
            return self.window_scales
        return np.array([self.profiles[m].scale if m in self.profiles else 1.0 for m in self.marks])

    @classmethod
    def pooled(cls, parts: list[FeatureSet], names: list[str]) -> FeatureSet:
        """Several samples' genes in one set (a ``sample`` column names each gene's sample); each
        window keeps its own track's scales. ``profiles`` are the first sample's, ``sample_profiles``
        every sample's (see :meth:`samples`)."""
        first = parts[0]
        if any(p.marks != first.marks or p.spec != first.spec for p in parts):
            raise UserError("pooled samples need the same marks and window; give every sample the same marks")
        genes = pd.concat(
            [p.genes.assign(sample=n) for p, n in zip(parts, names, strict=True)], ignore_index=True
        )
        return cls(
            features=np.concatenate([p.features for p in parts]),
            genes=genes,
            marks=first.marks,
            spec=first.spec,
            labels=None if first.labels is None else np.concatenate([p.labels for p in parts]),
            levels=None if first.levels is None else np.concatenate([p.levels for p in parts]),
            profiles=first.profiles,
            provenance=replace(
                first.provenance, log_scale=_first_said(p.provenance.log_scale for p in parts)
            ),
            window_scales=np.concatenate(
                [np.broadcast_to(p.scales, (len(p.genes), len(p.marks))) for p in parts]
            ),
            sample_profiles={n: p.profiles for p, n in zip(parts, names, strict=True)},
            present=None
            if all(p.present is None for p in parts)
            else np.concatenate([p.measured for p in parts]),
        )

    @property
    def measured(self) -> np.ndarray:
        """[genes, marks] bool: which marks were measured for each gene (its track covers it)."""
        if self.present is not None:
            return self.present
        return np.ones((len(self.genes), len(self.marks)), dtype=bool)

    def samples(self) -> list[FeatureSet]:
        """A pooled set split back into its samples (each with its own profiles); else ``[self]``."""
        if self.sample_profiles is None:
            return [self]
        names = self.genes["sample"].to_numpy()
        return [
            replace(self.subset(names == name), profiles=profiles, sample_profiles=None)
            for name, profiles in self.sample_profiles.items()
            if (names == name).any()
        ]

    def subset(self, rows: np.ndarray) -> FeatureSet:
        """The genes at ``rows`` (indices or boolean mask)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return replace(
            self,
            features=self.features[rows],
            genes=self.genes.iloc[rows].reset_index(drop=True),
            labels=None if self.labels is None else self.labels[rows],
            levels=None if self.levels is None else self.levels[rows],
            window_scales=None if self.window_scales is None else self.window_scales[rows],
            present=None if self.present is None else self.present[rows],
        )

    def select_marks(self, marks: tuple[str, ...]) -> FeatureSet:
        """The same genes with only ``marks`` (each must be present), in that order."""
        if tuple(marks) == self.marks:
            return self
        index = [self.marks.index(m) for m in marks]
        return replace(
            self,
            features=self.features[:, index],
            marks=tuple(marks),
            profiles={m: self.profiles[m] for m in marks if m in self.profiles},
            window_scales=None if self.window_scales is None else self.window_scales[:, index],
            present=None if self.present is None else self.present[:, index],
        )

    def reoriented(self, orientation: str) -> FeatureSet:
        """The windows in ``orientation``: between genomic and 5′→3′ order minus-strand windows are
        reversed, which needs each gene's strand."""
        if orientation == self.spec.orientation:
            return self
        if not self.provenance.strands_known:
            raise ValueError("reorienting needs strands")
        minus = (self.genes["strand"] == "-").to_numpy()
        target = replace(self.spec, orientation=orientation)
        genomic = self.spec.orient(self.features, minus)  # to genomic order (its own inverse)
        return replace(self, features=target.orient(genomic, minus), spec=target)

    def save_npz(self, path: str | Path) -> None:
        """Write the array, gene table, marks and spec to an .npz (uncompressed: fast), atomically."""
        arrays = {f"gene_{c}": self.genes[c].to_numpy() for c in GENE_COLUMNS}
        arrays["gene_tss"] = arrays["gene_tss"].astype(np.int64)
        for c in ("gene_id", "gene_name", "chrom", "strand"):
            arrays[f"gene_{c}"] = arrays[f"gene_{c}"].astype(str)
        if self.labels is not None:
            arrays["labels"] = self.labels
        with atomic_path(path, FEATURES_NPZ) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                features=self.features,
                marks=np.array(self.marks),
                flank=self.spec.flank,
                bin_size=self.spec.bin_size,
                orientation=self.spec.orientation,
                **arrays,
            )

    @classmethod
    def load_npz(cls, path: str | Path) -> FeatureSet:
        """Read a file written by :meth:`save_npz` (``chromepredict extract``)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                genes = pd.DataFrame({c: data[f"gene_{c}"] for c in GENE_COLUMNS})
                return cls(
                    features=data["features"].astype(np.float32),
                    genes=genes,
                    marks=tuple(str(m) for m in data["marks"]),
                    spec=WindowSpec(int(data["flank"]), int(data["bin_size"]), str(data["orientation"])),
                    labels=data.get("labels", None),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(
                f"{path}: not a chromepredict .npz ({exc}); make one with chromepredict extract"
            ) from None

    def write_tsv(self, path: str | Path) -> None:
        """Long format, one row per gene × mark × bin (bin 1-based, offset = bin start from TSS)."""
        n_genes, n_marks, n_bins = self.features.shape
        offsets = self.spec.offsets()
        table = pd.DataFrame(
            {
                "gene_id": np.repeat(self.genes["gene_id"].to_numpy(), n_marks * n_bins),
                "mark": np.tile(np.repeat(np.array(self.marks), n_bins), n_genes),
                "bin": np.tile(np.arange(1, n_bins + 1), n_genes * n_marks),
                "offset_bp": np.tile(offsets, n_genes * n_marks),
                "value": self.features.reshape(-1),
            }
        )
        zipped = str(path).endswith(".gz")  # a .gz name gets gzip, as predict's (no time stamp: same bytes)
        with atomic_path(path, FEATURES_TSV) as tmp, open(tmp, "wb") as raw:
            stream: contextlib.AbstractContextManager[gzip.GzipFile | io.BufferedWriter]
            if zipped:
                stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="")
            else:
                stream = contextlib.nullcontext(raw)
            with stream as out, io.TextIOWrapper(out, encoding="utf-8") as handle:
                table.to_csv(handle, sep="\t", index=False, float_format="%.6g")
        sidecar = sidecar_path(path)
        if sidecar is not None:
            write_sidecar(sidecar, self.about(Path(path).name))

    def about(self, table: str) -> dict:
        """How :meth:`write_tsv`'s table was made, for its JSON sidecar."""
        order = "5′→3′ of the gene" if self.spec.orientation == "5to3" else "genomic"
        return {
            "chromepredict": __version__,
            "command": "extract",
            "table": table,
            "window": {
                "flank_bp": self.spec.flank,
                "bin_size_bp": self.spec.bin_size,
                "orientation": self.spec.orientation,
            },
            "columns": {
                "bin": f"1-based, in {order} order",
                "offset_bp": "bin start relative to the TSS",
                "value": "mean signal over the bin's bases (no data counts as 0)",
            },
            "marks": list(self.marks),
            "assembly": self.provenance.assembly,
            "warnings": list(self.provenance.warnings),
        }


@dataclass
class Paired:
    """The same genes, in the same order, in two conditions (samples): what a difference model
    learns from and is scored on. Genes, marks and window are the first condition's (and the second's)."""

    first: FeatureSet
    second: FeatureSet

    def __post_init__(self) -> None:
        if list(self.first.genes["gene_id"]) != list(self.second.genes["gene_id"]):
            raise ValueError("paired feature sets must hold the same genes in the same order")

    #: What a paired set shares with its first condition's feature set.
    SHARED = ("genes", "marks", "spec", "provenance", "features")

    def __getattr__(self, name: str):
        if name in Paired.SHARED:
            return getattr(self.first, name)
        raise AttributeError(name)

    @property
    def present(self) -> np.ndarray | None:
        if self.first.present is None and self.second.present is None:
            return None
        return self.first.measured & self.second.measured

    def samples(self) -> list[FeatureSet]:
        return [*self.first.samples(), *self.second.samples()]

    def subset(self, rows: np.ndarray) -> Paired:
        return Paired(self.first.subset(rows), self.second.subset(rows))

    def select_marks(self, marks: tuple[str, ...]) -> Paired:
        return Paired(self.first.select_marks(marks), self.second.select_marks(marks))


def align(
    first: FeatureSet, second: FeatureSet, names: tuple[str, str]
) -> tuple[FeatureSet, FeatureSet, list[str]]:
    """The genes both sets hold, in one order, and a warning for genes only one of them holds."""
    ids_b = pd.Index(second.genes["gene_id"])
    keep = first.genes["gene_id"].isin(ids_b).to_numpy()
    a = first.subset(keep)
    b = second.subset(ids_b.get_indexer(a.genes["gene_id"]))
    lost = len(first.genes) + len(second.genes) - 2 * len(a.genes)
    warnings = [f"{lost} genes held by only one of {names[0]} and {names[1]} are left out"] if lost else []
    return a, b, warnings


def pair_warnings(first: FeatureSet, second: FeatureSet, names: tuple[str, str]) -> list[str]:
    """What is probably wrong with two aligned samples (:func:`align`) compared with each other: a
    mark whose signal is the same in both in every gene's window, with signal in at least
    :data:`SAME_SIGNAL_GENES` of them (one file under both samples: a change can owe nothing to
    it), and marks in coarse bins (≥ 1 kb) in one sample and fine in the other (the change would be
    the pipelines' as much as the cells'). Other kinds are not compared: one pipeline gives read
    counts or other signal, or peak-like blocks, by depth and cell type."""
    shared = [m for m in first.marks if m in second.marks]
    same = []
    for mark in shared:
        windows = first.features[:, first.marks.index(mark)]
        enough = int(windows.any(axis=1).sum()) >= SAME_SIGNAL_GENES
        if enough and np.array_equal(windows, second.features[:, second.marks.index(mark)]):
            same.append(mark)
    warnings = []
    if same:
        marks = ", ".join(same)
        warnings.append(
            f"{names[0]} and {names[1]} hold the same {marks} signal in every gene's window (one file under both "
            f"samples?): the change owes nothing to {marks}; check the samplesheet's rows"
        )
    coarse = {
        mark: (first.profiles[mark].kind, second.profiles[mark].kind)
        for mark in shared
        if mark in first.profiles and mark in second.profiles
        and (first.profiles[mark].kind == "coarse") != (second.profiles[mark].kind == "coarse")
    }  # fmt: skip
    if coarse:
        said = "; ".join(f"{m} {a} against {b}" for m, (a, b) in coarse.items())
        warnings.append(
            f"{names[0]} and {names[1]} have tracks of different kinds ({said}): their change would be the "
            "pipelines' as much as the cells'; give both samples tracks from one pipeline"
        )
    return warnings


#: Genes with signal in a mark's windows that the same-signal check of a pair needs: two samples'
#: tracks agree bin for bin on a handful of sparse windows by chance, never on this many.
SAME_SIGNAL_GENES = 20
