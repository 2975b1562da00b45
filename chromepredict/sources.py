"""The one door for inputs: bigWig tracks + GTF, DeepChrome CSVs (one file, a folder, a REMC root)
and expression tables become a :class:`FeatureSet` with its :class:`Provenance` — orientation,
strands, assembly, the split used and where labels came from — and the warnings a user must see.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict import datasets
from chromepredict.annotation import GeneTable, gtf_build, match_chroms, read_genes, read_tss
from chromepredict.assembly import recognise
from chromepredict.errors import UserError
from chromepredict.features import FeatureSet, Provenance, WindowSpec
from chromepredict.marks import assign_marks
from chromepredict.report import Report
from chromepredict.signal import extract, track_chroms

#: Share of genes without signal in any track that suggests a build mismatch (peak-only tracks
#: leave many genes empty by design, so they need a higher share).
NO_SIGNAL_WARNING = {"peak-signal": 0.9, "other": 0.5}


def _examples(genes: pd.DataFrame, n: int = 3) -> str:
    return ", ".join(
        f"{g} ({c}:{t:,})" for g, c, t in genes[["gene_id", "chrom", "tss"]].head(n).itertuples(index=False)
    )


def _assembly_checks(
    files: dict[str, str], sizes: dict[str, dict[str, int]], gtf_build: str | None
) -> tuple[str | None, list[str]]:
    """The tracks' assembly and warnings when tracks disagree with each other or with the GTF."""
    warnings = []
    builds = {mark: recognise(s) for mark, s in sizes.items()}
    found = sorted({b for b in builds.values() if b})
    marks = list(sizes)
    disagree = [
        (a, b)
        for i, a in enumerate(marks)
        for b in marks[i + 1 :]
        if any(sizes[a][c] != sizes[b][c] for c in set(sizes[a]) & set(sizes[b]))
    ]
    if disagree:
        a, b = disagree[0]
        warnings.append(
            f"tracks disagree on chromosome sizes ({Path(files[a]).name}: {builds[a] or 'unknown build'}, "
            f"{Path(files[b]).name}: {builds[b] or 'unknown build'}): they come from different genome builds"
        )
    assembly = found[0] if len(found) == 1 else None
    if gtf_build and assembly and gtf_build != assembly:
        warnings.append(
            f"the GTF says {gtf_build} but the tracks are {assembly} (from their chromosome sizes): "
            f"use a GTF of {assembly}, or the tracks' TSS windows will be in the wrong places"
        )
    return assembly, warnings


def _beyond_ends(genes: pd.DataFrame, sizes: dict[str, dict[str, int]]) -> np.ndarray:
    """Mask of genes whose TSS lies beyond the end of their chromosome in some track."""
    beyond = np.zeros(len(genes), dtype=bool)
    for chrom_sizes in sizes.values():
        names = match_chroms(genes["chrom"].unique().tolist(), set(chrom_sizes))
        lengths = genes["chrom"].map({c: chrom_sizes[n] for c, n in names.items()}).fillna(np.inf)
        beyond |= (genes["tss"] > lengths).to_numpy()
    return beyond


@functools.lru_cache(maxsize=4)
def _gene_table(path: str, version: tuple[int, int], gene_type: str | None) -> GeneTable:
    return read_genes(path, gene_type)


def genes_of(gtf: str | Path, gene_type: str | None) -> GeneTable:
    """:func:`read_genes`, parsed once per GTF file (and its version) and gene type in a process:
    a samplesheet's samples share one GTF, and worker processes forked later inherit the parse."""
    try:
        stat = os.stat(gtf)
    except OSError:
        return read_genes(gtf, gene_type)  # the reader names the file and the fix
    return _gene_table(str(gtf), (stat.st_mtime_ns, stat.st_size), gene_type)


def from_tracks(
    files: dict[str, str],
    gtf: str | Path,
    spec: WindowSpec,
    gene_type: str | None = "protein_coding",
    threads: int = 1,
    report: Report | None = None,
) -> FeatureSet:
    """bigWigs (mark → path) + GTF → features in ``spec``, with the tracks' assembly and warnings.

    ``report`` shows a progress bar while the tracks are read."""
    sizes = {mark: track_chroms(path) for mark, path in files.items()}  # fails fast on a bad file
    table = genes_of(gtf, gene_type)
    genes, build = table.genes.copy(), gtf_build(gtf)
    assembly, warnings = _assembly_checks(files, sizes, build)
    notes = [
        f"{len(genes)} genes from {gtf}; tracks: "
        + ", ".join(f"{m}={Path(p).name}" for m, p in files.items())
    ]
    notes.extend(table.notes)
    beyond = _beyond_ends(genes, sizes)
    if beyond.any():
        warnings.append(
            f"{beyond.sum()} genes have a TSS beyond the end of their chromosome in the tracks "
            f"(e.g. {_examples(genes[beyond])}) and are left out: the GTF and the tracks are probably "
            f"different genome builds{f' (tracks: {assembly})' if assembly else ''}"
        )
        genes = genes[~beyond].reset_index(drop=True)
    with (report or Report(quiet=True)).progress("reading bigWigs", len(genes) * len(files)) as advance:
        data, dropped = extract(genes, files, spec, threads=threads, progress=advance)
    if len(dropped):
        chroms = ", ".join(sorted(dropped["chrom"].unique())[:5])
        warnings.append(
            f"{len(dropped)} genes skipped: their chromosome is not in every bigWig ({chroms}); e.g. {_examples(dropped)}"
        )
    silent = (
        float((data.features.reshape(len(data.genes), -1) == 0).all(axis=1).mean())
        if len(data.genes)
        else 0.0
    )
    peaks_only = all(p.kind == "peak-signal" for p in data.profiles.values())
    if silent > NO_SIGNAL_WARNING["peak-signal" if peaks_only else "other"]:
        warnings.append(
            f"{silent:.0%} of genes have no signal in any track: the GTF is probably of another genome build "
            f"than the tracks{f' ({assembly})' if assembly else ''}, or the tracks cover only part of the genome"
        )
    data.provenance = Provenance(
        source="tracks",
        description=f"{', '.join(Path(p).name for p in files.values())} with {Path(gtf).name}",
        assembly=assembly,
        gtf_build=build,
        notes=notes,
        warnings=warnings,
    )
    return data


def from_csv(path: str | Path, gtf: str | Path | None = None, gene_type: str | None = None) -> FeatureSet:
    """A DeepChrome CSV (genomic order, no strand); with ``gtf``, genes get their strand and
    coordinates from it (genes absent from the GTF are left out, with a warning)."""
    data = datasets.read_deepchrome_csv(path)
    provenance = Provenance(source="csv", description=str(path), strands_known=False)
    if gtf is not None:
        genes = read_tss(gtf, gene_type).drop_duplicates("gene_id").set_index("gene_id")
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
    data.provenance = provenance
    return data


def with_expression(data: FeatureSet, expression) -> FeatureSet:
    """The genes with a value in ``expression`` (an :class:`~chromepredict.expression.Expression`),
    labelled high/low by its median rule and with their level log2(1 + value)."""
    matched = expression.match(data.genes)
    known = matched.values.notna().to_numpy()
    if not known.any():
        raise UserError(
            f"{expression.source}: no gene of the input matches the table by gene id or name; "
            "use an expression table of the same annotation"
        )
    labelled = data.subset(known)
    labelled.labels = matched.labels[known].to_numpy(np.int8)
    labelled.levels = matched.levels[known].to_numpy(np.float64)
    labelled.provenance.labels_from = expression.describe()
    labelled.provenance.units = expression.column
    labelled.provenance.notes.extend(expression.notes + matched.notes)
    if matched.n_unmatched:
        labelled.provenance.notes.append(
            f"{matched.n_unmatched} genes have no value in {expression.source} and are left out"
        )
    return labelled


@dataclass
class TrackInputs:
    """What the CLI gathers for reading tracks: files, ``--mark`` pairs, GTF, gene filter, processes."""

    tracks: list[str]
    marks: list[str]
    gtf: str | None
    gene_type: str | None = "protein_coding"
    threads: int = 1

    def files(self) -> dict[str, str]:
        """Mark → bigWig for every given track (file names, folders or ``--mark``)."""
        if not self.tracks and not self.marks:
            raise UserError("no bigWig tracks given; pass one bigWig per mark (e.g. marks/*.bw)")
        if self.gtf is None:
            raise UserError("--gtf is required with bigWig tracks; give the gene annotation (GTF)")
        return assign_marks(self.tracks, self.marks)

    def read(self, files: dict[str, str], spec: WindowSpec, report: Report | None = None) -> FeatureSet:
        return from_tracks(files, self.gtf, spec, self.gene_type, self.threads, report)

    def read_for(self, model, report: Report, every_mark: str | None = None) -> FeatureSet:
        """The tracks of ``model``'s marks, read in its window; marks it does not use are named and
        skipped (:func:`chromepredict.gate.choose_marks`). With ``every_mark`` (a command's name),
        a missing mark of the model is an error before any track is read. The gate's
        :func:`~chromepredict.gate.admit` comes next."""
        from chromepredict import gate

        files = self.files()
        used, notes = gate.choose_marks(model, list(files), "tracks")
        if every_mark and len(used) < len(model.marks):
            raise UserError(f"{every_mark} needs every mark of model {model.name} ({', '.join(model.marks)})")
        for note in notes:
            report.info(note)
        return self.read({m: files[m] for m in used}, model.spec, report)


def read_expression_for(path: str, column: str | None, gtf: str | None):
    """An expression table; a transcript-level one is summed per gene with the GTF's transcripts."""
    from chromepredict.annotation import transcript_gene_map
    from chromepredict.expression import read_expression

    return read_expression(path, column, (lambda: transcript_gene_map(gtf)) if gtf else None)


@dataclass
class TrainingSet:
    """Labelled genes split for training, with a one-line account of where they came from."""

    splits: dict[str, FeatureSet]  # train, valid (, test)
    split: str  # how the genes were split
    description: str
    data_provenance: Provenance


def split_tracks(data: FeatureSet, split_seed: int) -> TrainingSet:
    """Labelled track features split by whole chromosome (or, failing that, by gene; it says which)."""
    parts, how = datasets.split_by_chromosome(data.genes, split_seed)
    splits = {name: data.subset(rows) for name, rows in parts.items()}
    data.provenance.split = how
    return TrainingSet(splits, how, data.provenance.description, data.provenance)


def csv_training_sets(
    csv_dir: str | None, remc_root: str | None, seed: int, need_test: bool
) -> dict[str, TrainingSet]:
    """{cell type: TrainingSet} from one DeepChrome CSV folder or every cell type of a REMC root.

    With ``need_test`` and no test.csv, half of valid.csv (stratified, seeded) becomes the test set.
    """
    folders = (
        {Path(csv_dir).name: Path(csv_dir)} if csv_dir is not None else datasets.find_cell_types(remc_root)
    )
    sets = {}
    for cell_type, folder in folders.items():
        splits = datasets.read_csv_dir(folder)
        how = "train.csv / valid.csv / test.csv as given"
        if need_test and "test" not in splits:
            splits = datasets.split_valid_halves(splits, seed)
            how = f"train.csv; valid.csv split in two halves (stratified, seed {seed}): one selects epochs, one is the test"
        provenance = splits["train"].provenance
        provenance.split = how
        sets[cell_type] = TrainingSet(splits, how, f"DeepChrome CSVs in {folder}", provenance)
    return sets


def training_sets(
    report: Report,
    inputs: TrackInputs | None,
    expression: str | None,
    expression_column: str | None,
    csv_dir: str | None,
    remc_root: str | None,
    split_seed: int,
    spec: WindowSpec = WindowSpec(),
    need_test: bool = False,
) -> dict[str, TrainingSet]:
    """{name: TrainingSet} from exactly one source: tracks + GTF + expression, a CSV folder or a REMC root."""
    if sum([inputs is not None, csv_dir is not None, remc_root is not None]) != 1:
        raise UserError(
            "give exactly one data source: bigWig tracks with --gtf/--expression, --csv-dir or --remc-root"
        )
    if inputs is None:
        return csv_training_sets(csv_dir, remc_root, split_seed, need_test)
    if expression is None:
        raise UserError(
            "--expression is required with bigWig tracks; give a table of gene ids and TPM/RPKM/counts"
        )
    values = read_expression_for(expression, expression_column, inputs.gtf)
    report.info(values.describe())
    labelled = with_expression(inputs.read(inputs.files(), spec, report), values)
    report.provenance(labelled.provenance)
    return {"tracks": split_tracks(labelled, split_seed)}


def samplesheet_training_sets(
    report: Report,
    sheet: str,
    gtf: str | None,
    gene_type: str | None,
    threads: int,
    split_seed: int,
    pooled: bool,
    spec: WindowSpec = WindowSpec(),
) -> dict[str, TrainingSet]:
    """One TrainingSet per sample of a samplesheet, or with ``pooled`` one over all samples (split
    by chromosome together, so a gene is on one side of the split in every sample)."""
    from chromepredict.samplesheet import read_samplesheet

    if gtf is None:
        raise UserError("--gtf is required with --samplesheet; give the gene annotation (GTF)")
    samples = read_samplesheet(sheet)
    lacking = [s.name for s in samples if s.expression is None]
    if lacking:
        raise UserError(
            f"{sheet}: training needs an expression table per sample; add an expression column for {', '.join(lacking[:5])}"
        )
    labelled = {}
    for sample in samples:
        inputs = TrackInputs([], [f"{m}={p}" for m, p in sample.tracks.items()], gtf, gene_type, threads)
        values = read_expression_for(sample.expression, None, gtf)
        labelled[sample.name] = with_expression(inputs.read(inputs.files(), spec, report), values)
        for warning in labelled[sample.name].provenance.warnings:
            report.warn(f"{sample.name}: {warning}")
    if not pooled:
        return {name: split_tracks(data, split_seed) for name, data in labelled.items()}
    data = FeatureSet.pooled(list(labelled.values()), list(labelled))
    data.provenance = Provenance(
        source="samplesheet",
        description=f"{len(labelled)} samples of {sheet} pooled ({', '.join(labelled)})",
        assembly=next(iter(labelled.values())).provenance.assembly,
        labels_from="each sample's expression table (its own median rule)",
        units=next(iter(labelled.values())).provenance.units,
    )
    return {"pooled": split_tracks(data, split_seed)}
