"""The one door for inputs: bigWig tracks + GTF (from the command line or a samplesheet row) and
DeepChrome CSVs become a :class:`FeatureSet` with its :class:`Provenance` — orientation, strands,
assembly, which tracks cover which genes — and the warnings a user must see.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io import datasets, identity
from chromepredict.io.annotation import GeneTable, gtf_build, is_primary_chrom, read_genes
from chromepredict.io.extraction import read_windows
from chromepredict.io.features import FeatureSet, Provenance, WindowSpec
from chromepredict.io.marks import assign_marks, mark_order, name_conflicts
from chromepredict.io.tracks import Track
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

#: Share of genes without signal in any track that suggests a build mismatch (peak-only tracks
#: leave many genes empty by design, so they need a higher share).
NO_SIGNAL_WARNING = {"peak-signal": 0.9, "other": 0.5}
#: Share of the available memory a run's windows may take.
MEMORY_SHARE = 0.5


def _examples(genes: pd.DataFrame, n: int = 3) -> str:
    return ", ".join(
        f"{g} ({c}:{t:,})" for g, c, t in genes[["gene_id", "chrom", "tss"]].head(n).itertuples(index=False)
    )


def _chroms(values, n: int = 6) -> str:
    names = sorted(set(values), key=lambda c: (len(c), c))
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _assembly_checks(tracks: list[Track], gtf_build: str | None) -> tuple[str | None, list[str]]:
    """The tracks' assembly and warnings when tracks disagree with each other or with the GTF."""
    warnings = []
    found = sorted({t.assembly for t in tracks if t.assembly})
    disagree = [
        (a, b)
        for i, a in enumerate(tracks)
        for b in tracks[i + 1 :]
        if any(a.chrom_sizes[c] != b.chrom_sizes[c] for c in set(a.chrom_sizes) & set(b.chrom_sizes))
    ]
    if disagree:
        a, b = disagree[0]
        warnings.append(
            f"tracks disagree on chromosome sizes ({a.name}: {a.assembly or 'unknown build'}, "
            f"{b.name}: {b.assembly or 'unknown build'}): they come from different genome builds"
        )
    assembly = found[0] if len(found) == 1 else None
    if gtf_build and assembly and gtf_build != assembly:
        warnings.append(
            f"the GTF says {gtf_build} but the tracks are {assembly} (from their chromosome sizes): "
            f"use a GTF of {assembly}, or the tracks' TSS windows will be in the wrong places"
        )
    return assembly, warnings


def _beyond_ends(genes: pd.DataFrame, tracks: list[Track]) -> np.ndarray:
    """Mask of genes whose TSS lies beyond the end of their chromosome in some track."""
    beyond = np.zeros(len(genes), dtype=bool)
    for track in tracks:
        names = track.chrom_names(genes["chrom"].unique().tolist())
        lengths = genes["chrom"].map({c: track.chrom_sizes[n] for c, n in names.items()}).fillna(np.inf)
        beyond |= (genes["tss"] > lengths).to_numpy()
    return beyond


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(spec: WindowSpec, n_genes: int, n_marks: int, threads: int) -> None:
    """Refuse, before allocating, a window that cannot fit in memory: the windows (float32), their
    transformed copy, and a base-by-base read buffer per process."""
    needed = 3 * n_genes * n_marks * spec.n_bins * 4 + threads * 2 * spec.flank * 8
    available = _available_memory()
    if available is not None and needed > MEMORY_SHARE * available:
        raise UserError(
            f"windows of TSS ± {spec.flank:,} bp in {spec.bin_size:,} bp bins for {n_genes:,} genes × "
            f"{n_marks} marks need about {needed / 2**30:.1f} GiB, more than this machine can spare "
            f"({available / 2**30:.1f} GiB available); use a smaller --flank or a larger --bin-size"
        )


def _coverage_warnings(
    genes: pd.DataFrame, tracks: list[Track], covered: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Warnings for genes on chromosomes where tracks hold no data, and the genes to keep (those
    that at least one track covers)."""
    warnings = []
    none = ~np.any(covered, axis=1)
    if none.any():
        chroms = genes.loc[none, "chrom"]
        warnings.append(
            f"{int(none.sum())} genes on {_chroms(chroms)} left out: no track holds any data on "
            f"{'that chromosome' if chroms.nunique() == 1 else 'those chromosomes'} (the tracks leave "
            "them out, or the GTF is of another genome build); they get no call"
        )
    for m, track in enumerate(tracks):
        partial = ~covered[:, m] & ~none
        if partial.any():
            chroms = genes.loc[partial, "chrom"]
            n = int(partial.sum())
            warnings.append(
                f"{track.path} ({track.mark}) holds no data on {_chroms(chroms)}: its {n} "
                f"gene{'s' if n != 1 else ''} there {'have' if n != 1 else 'has'} no {track.mark} signal "
                "(scored without it, as if it had not been measured; left out of training)"
            )
    return warnings, ~none


#: A TSS this far after the last data of its chromosome in a track (which holds data before it)
#: reads as without signal. A file cut short (an interrupted conversion, a BAM of part of the
#: genome) leaves a long run of such genes at chromosomes' ends; a sparse track (a peak file) short
#: ones. Said when at least MIN_BEYOND genes lie beyond the data and one chromosome's run of k of
#: them would be rarer than BEYOND_CHANCE in an intact track: p^k times the chromosomes looked at,
#: p the share of the track's other genes without any signal (:class:`BeyondData`). Only the data's
#: end is judged: a chromosome's start can be unmappable (acrocentric arms) in any intact track.
BEYOND_DATA, MIN_BEYOND, BEYOND_CHANCE = 1_000_000, 10, 1e-6
#: Not looked at, with contigs: chrY (by name or RefSeq accession), whose long heterochromatic arm
#: holds no reads before its pseudo-autosomal genes, and which a sample without a Y lacks.
UNCHECKED_CHROMS = frozenset({"Y", "NC_000024"})


@dataclass(frozen=True)
class BeyondData:
    """The genes of one track after its data's end on their chromosomes (see BEYOND_DATA)."""

    genes: int  # genes beyond the data
    longest: int  # the most on one chromosome
    chromosomes: int  # chromosomes looked at
    empty_share: float  # of the track's other genes, windows without signal (+1 pseudo-count; 0: none beyond)
    places: tuple[str, ...]  # "chr1 after 115.1 Mb", …

    @property
    def chance(self) -> float:
        """How rare so many genes in a row without signal at one end would be in an intact track."""
        return self.chromosomes * self.empty_share**self.longest

    @property
    def cut_short(self) -> bool:
        return self.genes >= MIN_BEYOND and self.chance < BEYOND_CHANCE


def beyond_data(genes: pd.DataFrame, track: Track, covered: np.ndarray, features: np.ndarray) -> BeyondData:
    """:class:`BeyondData` of ``track``, given which genes' chromosomes it covers and its windows
    ([genes, bins])."""
    codes, chroms = pd.factorize(genes["chrom"].astype(str))
    spelled = [track.chrom_names(list(chroms)).get(c, "") for c in chroms]
    looked = np.array(
        [
            is_primary_chrom(c)
            and s in track.extents
            and c.upper().removeprefix("CHR").split(".")[0] not in UNCHECKED_CHROMS
            for c, s in zip(chroms, spelled, strict=True)
        ]
    )
    ends = np.array([track.extents.get(s, (0, 0))[1] for s in spelled], dtype=np.int64)
    on = covered & looked[codes]
    beyond = on & (genes["tss"].to_numpy(dtype=np.int64) > ends[codes] + BEYOND_DATA)
    runs = np.bincount(codes[beyond], minlength=len(chroms))
    places = tuple(
        f"{chroms[c]} after {ends[c] / 1e6:.1f} Mb"
        for c in sorted(np.flatnonzero(runs), key=lambda c: (len(chroms[c]), chroms[c]))
    )
    within = covered & ~beyond
    empty_share = (  # only where some gene lies beyond the data (none, in an intact genome-wide track)
        float((np.count_nonzero(~features.any(axis=1) & within) + 1) / (within.sum() + 2))
        if beyond.any()
        else 0.0
    )
    return BeyondData(
        int(beyond.sum()), int(runs.max(initial=0)), len(np.unique(codes[on])), empty_share, places
    )


def _beyond_data_warnings(
    genes: pd.DataFrame, tracks: list[Track], covered: np.ndarray, features: np.ndarray
) -> list[str]:
    """A warning for each track whose data end short of genes at chromosomes' ends (BEYOND_DATA)."""
    warnings = []
    for m, track in enumerate(tracks):
        found = beyond_data(genes, track, covered[:, m], features[:, m])
        if found.cut_short:
            places = found.places
            more = f" and {len(places) - 3} more chromosomes" if len(places) > 3 else ""
            warnings.append(
                f"{track.path} ({track.mark}) holds no data on {', '.join(places[:3])}{more}, where "
                f"{found.genes} genes lie (against {found.empty_share:.0%} of its other genes without signal): "
                f"they read as without {track.mark} signal; was the file cut short or made from part of "
                "the genome? give a track of the whole genome"
            )
    return warnings


def _same_values(tracks: list[Track], features: np.ndarray) -> list[str]:
    """A warning for each two marks whose tracks hold the same values in every gene's window (one
    file copied under two marks: different files, so not refused by name); windows of zeros only
    say nothing. Only marks of equal sums are compared value by value (the windows are ≥ 0)."""
    sums = features.sum(axis=(0, 2), dtype=np.float64)
    return [
        f"{tracks[i].path} ({tracks[i].mark}) and {tracks[j].path} ({tracks[j].mark}) hold the same "
        "values in every gene's window: the same data under two marks? give each mark its own track"
        for i, j in itertools.combinations(range(len(tracks)), 2)
        if sums[i] > 0 and sums[i] == sums[j] and np.array_equal(features[:, i], features[:, j])
    ]


def _identity_warnings(
    features: np.ndarray, genes: pd.DataFrame, spec: WindowSpec, tracks: list[tuple[str, str, str]],
    gene_type: str | None, fix: str | None = None,
) -> list[str]:  # fmt: skip
    """The mark-identity check's warnings for windows [genes, marks, bins] of ``tracks`` (name, mark,
    signal kind), read 5′→3′ with the genes' strands; ``fix`` in place of the files' advice. Windows
    read backwards are looked for only among protein-coding genes, the calibration's (other types'
    profiles, such as lncRNAs divergent from a gene's promoter, were not measured)."""
    minus = (genes["strand"] == "-").to_numpy()
    checked = identity.checkable(features, minus, spec.edges(), spec.orientation == "genomic", tracks)
    return identity.warnings_for(checked, fix=fix, backwards=gene_type == "protein_coding")


@dataclass
class TrackInputs:
    """Tracks by mark, the GTF, the gene filter and the cores to use: the input of every command
    that reads bigWigs. The GTF is parsed and each bigWig opened once per instance. ``warnings``:
    what the inputs say before any is read (a file given as a mark its name contradicts); they
    lead the warnings of :meth:`read`."""

    files: dict[str, str]
    gtf: str
    gene_type: str | None = "protein_coding"
    threads: int = 1
    warnings: list[str] = field(default_factory=list)
    _genes: GeneTable | None = field(default=None, repr=False)
    _tracks: dict[str, Track] = field(default_factory=dict, repr=False)

    @classmethod
    def from_cli(
        cls,
        tracks: list[str],
        marks: list[str],
        gtf: str | None,
        gene_type: str | None,
        threads: int,
        how: str = "--mark",
    ) -> TrackInputs:
        """From bigWig arguments (marks read from their names) and ``MARK=PATH`` pairs (given with
        ``how``: ``--mark``, or the API's ``marks=``)."""
        if not tracks and not marks:
            raise UserError("no bigWig tracks given; pass one bigWig per mark (e.g. marks/*.bw)")
        files = assign_marks(tracks, marks, how)
        if gtf is None:
            raise UserError("--gtf is required with bigWig tracks; give the gene annotation (GTF)")
        return cls(files, gtf, gene_type, threads, name_conflicts(files, how))

    @classmethod
    def from_sample(
        cls, sample, gtf: str, gene_type: str | None, threads: int = 1, genes: GeneTable | None = None
    ):
        """A samplesheet's sample (its tracks already named by mark); ``genes`` a GTF parsed once for all."""
        files = dict(sample.tracks)
        return cls(files, gtf, gene_type, threads, name_conflicts(files, "the samplesheet"), _genes=genes)

    @property
    def paths(self) -> list[str]:
        """Every input file (for :func:`chromepredict.system.files.check_outputs`)."""
        return [*self.files.values(), *([self.gtf] if self.gtf else [])]

    def genes(self) -> GeneTable:
        """The GTF's genes (parsed on first use)."""
        if self._genes is None:
            self._genes = read_genes(self.gtf, self.gene_type)
        return self._genes

    def tracks(self, marks) -> list[Track]:
        """The open :class:`Track` of each of ``marks`` (each file opened once)."""
        for mark in marks:
            if mark not in self._tracks:
                self._tracks[mark] = Track.open(self.files[mark], mark)
        return [self._tracks[m] for m in marks]

    def read(self, spec: WindowSpec, marks=None, report: Report | None = None) -> FeatureSet:
        """The windows of ``marks`` (default: every given mark) with the warnings a user must see."""
        marks = mark_order(self.files) if marks is None else tuple(marks)
        tracks = self.tracks(marks)  # fails fast on a bad file
        data = read_tracks(tracks, self.genes(), self.gtf, spec, self.threads, report)
        data.provenance.warnings[:0] = self.warnings
        return data


def read_tracks(
    tracks: list[Track],
    table: GeneTable,
    gtf: str | Path,
    spec: WindowSpec,
    threads: int = 1,
    report: Report | None = None,
) -> FeatureSet:
    """Open tracks + parsed GTF → features in ``spec``, with the tracks' assembly and warnings.

    ``report`` shows a progress bar while the tracks are read."""
    genes, build = table.genes.copy(), gtf_build(gtf)
    assembly, warnings = _assembly_checks(tracks, build)
    notes = [f"{len(genes)} genes from {gtf}; tracks: " + ", ".join(f"{t.mark}={t.name}" for t in tracks)]
    notes.extend(table.notes)
    warnings.extend(table.warnings)
    for track in tracks:
        warnings.extend(track.value_warnings())
    beyond = _beyond_ends(genes, tracks)
    if beyond.any():
        warnings.append(
            f"{beyond.sum()} genes have a TSS beyond the end of their chromosome in the tracks "
            f"(e.g. {_examples(genes[beyond])}) and are left out: the GTF and the tracks are probably "
            f"different genome builds{f' (tracks: {assembly})' if assembly else ''}"
        )
        genes = genes[~beyond].reset_index(drop=True)
    for track in tracks:
        if not track.chrom_names(genes["chrom"].unique().tolist()):
            raise UserError(
                f"{track.path}: no chromosome in common with the GTF (GTF has "
                f"{', '.join(genes['chrom'].unique()[:3])}…; track has {', '.join(list(track.chrom_sizes)[:3])}…); "
                "use a GTF of the same genome build"
            )
    check_memory(spec, len(genes), len(tracks), threads)
    with (report or Report(quiet=True)).progress("reading bigWigs", len(genes) * len(tracks)) as advance:
        windows = read_windows(genes, tracks, spec, threads=threads, progress=advance)
    for track in tracks:
        bad = windows.non_finite[track.mark]
        if track.non_finite:
            warnings.append(
                f"{track.path}: holds non-finite values (NaN or ±inf; {bad:,} bases of them in the genes' "
                "windows); they count as 0, like bases without data"
            )
    coverage, keep = _coverage_warnings(genes, tracks, windows.covered)
    warnings.extend(coverage)
    warnings.extend(_beyond_data_warnings(genes, tracks, windows.covered, windows.features))
    warnings.extend(_same_values(tracks, windows.features))
    warnings.extend(
        _identity_warnings(
            windows.features, genes, spec, [(t.path, t.mark, t.profile.kind) for t in tracks], table.gene_type
        )
    )
    features, covered = windows.features, windows.covered
    if not keep.all():
        features, covered = features[keep], covered[keep]
        genes = genes[keep].reset_index(drop=True)
    marks = tuple(t.mark for t in tracks)
    data = FeatureSet(
        features,
        genes,
        marks,
        spec,
        profiles={t.mark: t.profile for t in tracks},
        present=None if covered.all() else covered,
    )
    silent = float((features.reshape(len(genes), -1) == 0).all(axis=1).mean()) if len(genes) else 0.0
    peaks_only = all(t.profile.kind == "peak-signal" for t in tracks)
    if silent > NO_SIGNAL_WARNING["peak-signal" if peaks_only else "other"]:
        warnings.append(
            f"{silent:.0%} of genes have no signal in any track: the GTF is probably of another genome build "
            f"than the tracks{f' ({assembly})' if assembly else ''}, or the tracks cover only part of the genome"
        )
    data.provenance = Provenance(
        source="tracks",
        description=f"{', '.join(t.name for t in tracks)} with {Path(gtf).name}",
        assembly=assembly,
        gtf_build=build,
        notes=notes,
        warnings=warnings,
        gene_type=table.gene_type,
        other_types=table.other_types,
    )
    return data


def from_tracks(
    files: dict[str, str],
    gtf: str | Path,
    spec: WindowSpec = WindowSpec(),
    gene_type: str | None = "protein_coding",
    threads: int = 1,
    report: Report | None = None,
) -> FeatureSet:
    """bigWigs (mark → path) + GTF → features in ``spec`` (scripts and benchmarks)."""
    return TrackInputs(dict(files), str(gtf), gene_type, threads).read(spec, report=report)


def from_csv(path: str | Path, gtf: str | Path | None = None, gene_type: str | None = None) -> FeatureSet:
    """A DeepChrome CSV (genomic order, no strand); with ``gtf``, genes get their strand and
    coordinates from it (genes absent from the GTF are left out, with a warning) and its columns
    are checked against their marks' TSS profiles like tracks (:mod:`chromepredict.io.identity`)."""
    data = datasets.read_deepchrome_csv(path)
    provenance = Provenance(source="csv", description=str(path), strands_known=False)
    if gtf is not None:
        table = read_genes(gtf, gene_type)
        provenance.notes.extend(table.notes)
        provenance.warnings.extend(table.warnings)
        genes = table.genes.drop_duplicates("gene_id").set_index("gene_id")
        known = data.genes["gene_id"].isin(genes.index).to_numpy()
        if not known.any():
            raise UserError(
                f"{gtf}: none of the {len(known)} genes of {path} is in this GTF; use the GTF of the CSV's genes"
            )
        if not known.all():
            provenance.warnings.append(
                f"{(~known).sum()} of {len(known)} genes of {path} are not in {gtf} (no strand) and are left out"
            )
        data = data.subset(known)
        info = genes.loc[data.genes["gene_id"]]
        for column in ("gene_name", "chrom", "tss", "strand"):
            data.genes[column] = info[column].to_numpy()
        provenance.strands_known = True
        provenance.description += f" with strands from {Path(gtf).name}"
        columns = [(f"{Path(path).name}'s {m} column", m, data.profiles[m].kind) for m in data.marks]
        fix = f"check the CSV's column order (gene, bin, {', '.join(data.marks)}, label)"
        provenance.warnings.extend(
            _identity_warnings(data.features, data.genes, data.spec, columns, table.gene_type, fix)
        )
    data.provenance = provenance
    return data
