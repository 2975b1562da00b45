"""Samples: one sample's tracks by mark with its gene annotation (and, optionally, its expression
table), read lazily — the windows are read when a model asks for them, in that model's window."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chromepredict.io.marks import sample_name
from chromepredict.io.samplesheet import read_samplesheet as _read_sheet
from chromepredict.io.samplesheet import sheet_gtf
from chromepredict.io.sources import TrackInputs
from chromepredict.system.workers import usable_cores


class Sample:
    """One sample: its bigWig tracks by mark, the GTF whose genes are scored, and optionally its
    expression table. Make one with :func:`read_sample` or :func:`read_samplesheet`.

    Attributes: ``name``, ``tracks`` (mark → path), ``gtf``, ``expression`` (path or None),
    ``genes`` (the GTF's genes after the gene-type filter: a DataFrame), ``marks``, ``build`` (the
    tracks' genome build, from their chromosome sizes).
    """

    def __init__(self, inputs: TrackInputs, name: str | None = None, expression: str | None = None):
        self.inputs = inputs
        self.name = name or sample_name(inputs.files.values()) or "sample"
        self.expression = expression

    @property
    def tracks(self) -> dict[str, str]:
        return dict(self.inputs.files)

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple(self.inputs.files)

    @property
    def gtf(self) -> str | None:
        return self.inputs.gtf

    @property
    def genes(self) -> pd.DataFrame:
        """The genes scored: one row per gene (gene_id, gene_name, chrom, tss, strand)."""
        return self.inputs.genes().genes.copy()

    @property
    def build(self) -> str | None:
        """The tracks' genome build (hg19, hg38, mm10, mm39), when their chromosome sizes say."""
        builds = {t.assembly for t in self.inputs.tracks(self.marks)}
        return builds.pop() if len(builds) == 1 else None

    @property
    def paths(self) -> list[str]:
        """Every file the sample reads."""
        return [*self.inputs.paths, *([self.expression] if self.expression else [])]

    def __repr__(self) -> str:
        genes = len(self.inputs.genes().genes)
        return f"<Sample {self.name}: {genes:,} genes, marks {', '.join(self.marks)}, build {self.build or 'unknown'}>"


def _threads(threads: int | None) -> int:
    return max(1, min(threads, usable_cores())) if threads else min(usable_cores(), 8)


def read_sample(
    tracks: Sequence[str | Path] | None = None,
    *,
    gtf: str | Path,
    marks: dict[str, str | Path] | None = None,
    expression: str | Path | None = None,
    name: str | None = None,
    gene_type: str | None = "protein_coding",
    all_genes: bool = False,
    threads: int | None = None,
) -> Sample:
    """One sample's tracks and gene annotation, as ``chromepredict predict MARKS.bw… --gtf GTF`` reads them.

    ``tracks``: bigWig paths whose file or folder names name their marks (``E003-H3K4me3.bw``);
    ``marks``: ``{"H3K4me3": "a.bw", …}`` for files whose names do not (both may be given).
    ``gtf``: the gene annotation (GTF, may be gzipped). ``expression``: the sample's expression
    table, for the agreement of predictions with it. ``gene_type`` keeps genes of that type
    (``all_genes=True``: every gene); ``threads``: cores for reading (default: the usable ones, at
    most 8). Nothing is read yet but the files' names: a model reads the windows it needs.

    >>> import chromepredict as cp
    >>> sample = cp.read_sample(["E003-H3K4me3.bw", "E003-H3K27me3.bw"], gtf="genes.gtf.gz")  # doctest: +SKIP
    >>> sample                                                                                   # doctest: +SKIP
    <Sample E003: 369 genes, marks H3K27me3, H3K4me3, build hg19>
    """
    given = [str(t) for t in tracks or []]
    explicit = [f"{mark}={path}" for mark, path in (marks or {}).items()]
    inputs = TrackInputs.from_cli(
        given, explicit, str(gtf), None if all_genes else gene_type, _threads(threads), how="marks="
    )
    return Sample(inputs, name, str(expression) if expression is not None else None)


def read_samplesheet(
    path: str | Path,
    *,
    gtf: str | Path | None,
    gene_type: str | None = "protein_coding",
    all_genes: bool = False,
    threads: int | None = None,
) -> dict[str, Sample]:
    """The samples of a samplesheet (CSV ``sample,mark,bigwig[,expression]``, one row per track, as
    ``chromepredict predict --samplesheet`` reads it), by name, in the order they appear.

    >>> samples = cp.read_samplesheet("samples.csv", gtf="genes.gtf.gz")  # doctest: +SKIP
    >>> samples["E003"]                                                      # doctest: +SKIP
    <Sample E003: 369 genes, marks H3K27me3, H3K36me3, H3K4me1, H3K4me3, H3K9me3, build hg19>
    """
    gtf = sheet_gtf(gtf)
    sheet = _read_sheet(path)
    shared = None
    samples = {}
    for entry in sheet:
        inputs = TrackInputs.from_sample(
            entry, gtf, None if all_genes else gene_type, _threads(threads), shared
        )
        shared = inputs.genes()  # the GTF parsed once for every sample
        samples[entry.name] = Sample(inputs, entry.name, entry.expression)
    return samples
