"""Labelled genes split for training: by whole chromosome for tracks, as given (or valid halved)
for DeepChrome CSV folders, per sample or pooled for samplesheets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from chromepredict.io import datasets
from chromepredict.io.expression import units_mismatch
from chromepredict.io.features import FeatureSet, Paired, Provenance, WindowSpec, align, pair_warnings
from chromepredict.io.labelling import read_expression_for, with_expression
from chromepredict.io.sources import TrackInputs
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

if TYPE_CHECKING:
    from chromepredict.io.annotation import GeneTable
    from chromepredict.io.samplesheet import Sample as SheetSample

#: Labelled genes of one sample, or of pairs of samples (the difference target's).
Examples = TypeVar("Examples", FeatureSet, Paired)


@dataclass
class TrainingSet:
    """Labelled genes split for training, with a one-line account of where they came from."""

    splits: Mapping[str, FeatureSet | Paired]  # train, valid (, test); Paired for the difference target
    split: str  # how the genes were split
    description: str
    data_provenance: Provenance
    pairs: tuple[tuple[str, str], ...] = ()  # the difference target's (A, B) samples


def fully_measured(data: Examples) -> Examples:
    """The genes every track covers: a gene on a chromosome where a track holds no data would
    teach the network an empty window for a mark that was never measured there."""
    if data.present is None:
        return data
    keep = np.all(data.present, axis=1)
    if keep.all():
        if isinstance(data, Paired):  # its presence is its samples'
            return data
        return replace(data, present=None)
    data.provenance.notes.append(
        f"{int((~keep).sum())} genes left out of training: a track holds no data on their chromosome"
    )
    return data.subset(keep)


#: Fewest labelled genes a model is trained on: train, validation and test each need genes of both
#: classes (or varied levels), and a few hundred are needed for a model worth using.
MIN_TRAINING_GENES = 30


def split_tracks(data: Examples, split_seed: int) -> TrainingSet:
    """Labelled track features split by whole chromosome (or, failing that, by gene; it says which)."""
    data = fully_measured(data)
    if len(data.genes) < MIN_TRAINING_GENES:
        raise UserError(
            f"{len(data.genes)} labelled gene{'s' if len(data.genes) != 1 else ''} with signal are too few to train "
            f"a model (at least {MIN_TRAINING_GENES}: training, validation and test genes are split from them); "
            "give a GTF of more genes (a few hundred at least) with tracks and expression for them"
        )
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
    if csv_dir is not None:
        folders = {Path(csv_dir).name: Path(csv_dir)}
    elif remc_root is not None:
        folders = datasets.find_cell_types(remc_root)
    else:
        raise ValueError("csv_training_sets needs csv_dir or remc_root")
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
    labelled = fully_measured(with_expression(inputs.read(spec, report=report), values))
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
    from chromepredict.io.annotation import read_genes

    samples, gtf_path = _samples_of(sheet, gtf)
    genes = read_genes(gtf_path, gene_type)
    entries = {
        s.name: (TrackInputs.from_sample(s, gtf_path, gene_type, threads, genes), s.expression)
        for s in samples.values()
    }
    return sample_training_sets(report, entries, split_seed, pooled, spec, f"{sheet}")


def sample_training_sets(
    report: Report,
    samples: dict[str, tuple[TrackInputs, str | None]],
    split_seed: int,
    pooled: bool,
    spec: WindowSpec = WindowSpec(),
    where: str = "samples",
) -> dict[str, TrainingSet]:
    """One TrainingSet per sample (name → its tracks and expression table), or with ``pooled`` one
    over all of them (split by chromosome together, so a gene is on one side of the split in every
    sample); ``where`` names their source (a samplesheet) in messages."""
    tables = {name: table for name, (_, table) in samples.items() if table is not None}
    lacking = [name for name in samples if name not in tables]
    if lacking:
        raise UserError(
            f"{where}: training needs an expression table per sample; add an expression column for {', '.join(lacking[:5])}"
        )
    labelled, expressions = {}, {}
    for name, (inputs, _) in samples.items():
        expressions[name] = values = read_expression_for(tables[name], None, inputs.gtf)
        labelled[name] = fully_measured(with_expression(inputs.read(spec, report=report), values))
        report_sample(report, name, labelled[name])
    if not pooled:
        return {name: split_tracks(data, split_seed) for name, data in labelled.items()}
    data = FeatureSet.pooled(list(labelled.values()), list(labelled))
    reference, *others = expressions
    data.provenance = Provenance(
        source="samplesheet",
        description=f"{len(labelled)} samples of {where} pooled ({', '.join(labelled)})",
        assembly=next(iter(labelled.values())).provenance.assembly,
        labels_from="each sample's expression table (its own median rule)",
        units=next(iter(labelled.values())).provenance.units,
        log_scale=data.provenance.log_scale,  # any sample's (FeatureSet.pooled)
        median_caveats=[f"{n}: {c}" for n, p in labelled.items() for c in p.provenance.median_caveats],
        level_caveats=[  # one model of levels learnt from tables in different units
            f"pooled {reference} and {name}: {said}"
            for name in others
            if (said := units_mismatch(expressions[reference], expressions[name], pooled=True))
        ],
    )
    return {"pooled": split_tracks(data, split_seed)}


def labelled_pairs(
    report: Report,
    wanted: list[tuple[str, str]],
    tables: dict[str, str | None],
    gtf: str | None,
    read: Callable[[str], FeatureSet],
    where: str,
) -> Paired:
    """The genes both samples of each pair (A, B) of ``wanted`` hold, labelled with both samples'
    expression tables (``tables``: name → path), as one :class:`Paired` set (several pairs pooled,
    in order); ``read(name)`` reads one sample's features; each sample's notes and warnings are
    reported once labelled; ``where`` (the samplesheet) names the samples' source in errors."""
    for i, (a, b) in enumerate(wanted):
        if (b, a) in wanted[:i]:
            raise UserError(
                f"--pair {b}:{a} and --pair {a}:{b} are one change seen both ways (the model learns it "
                "antisymmetric); give one of them"
            )
    names = list(dict.fromkeys(n for pair in wanted for n in pair))
    given = {n: table for n in names if (table := tables[n]) is not None}
    lacking = [n for n in names if n not in given]
    if lacking:
        raise UserError(
            f"{where}: a change needs an expression table for both samples of each pair; add one for {', '.join(lacking)}"
        )
    labelled, expressions = {}, {}
    for name in names:
        expressions[name] = values = read_expression_for(given[name], None, gtf)
        labelled[name] = with_expression(read(name), values)
        report_sample(report, name, labelled[name])  # what reading and labelling found
    aligned = [align(labelled[a], labelled[b], (a, b)) for a, b in wanted]
    for _, _, warnings in aligned:
        for warning in warnings:
            report.info(warning)
    for (a, b), (first, second, _) in zip(wanted, aligned, strict=True):
        for warning in pair_warnings(first, second, (a, b)):
            report.warn(f"{a}_vs_{b}: {warning}")
        if labelled[a].marks != labelled[b].marks:
            only = sorted(set(labelled[a].marks) ^ set(labelled[b].marks))
            report.warn(
                f"{a}_vs_{b}: {a} and {b} differ in their marks ({', '.join(only)} in one only): the change "
                "is scored on the marks both have"
            )
        mismatch = units_mismatch(expressions[a], expressions[b])
        if mismatch:
            report.warn(f"{a}_vs_{b}: {mismatch}")
    keys = [f"{a}_vs_{b}" for a, b in wanted]
    if len(wanted) == 1:
        return Paired(aligned[0][0], aligned[0][1])
    firsts, seconds = [a for a, _, _ in aligned], [b for _, b, _ in aligned]
    return Paired(FeatureSet.pooled(firsts, keys), FeatureSet.pooled(seconds, keys))


def report_sample(report: Report, name: str, data: FeatureSet) -> None:
    """A samplesheet sample's notes and warnings, each named with the sample."""
    for note in data.provenance.notes:
        report.info(f"{name}: {note}")
    for warning in data.provenance.warnings:
        report.warn(f"{name}: {warning}")


def _samples_of(sheet: str, gtf: str | None) -> tuple[dict[str, SheetSample], str]:
    """The samplesheet's samples by name, and the GTF they are read with."""
    from chromepredict.io.samplesheet import read_samplesheet, sheet_gtf

    gtf = sheet_gtf(gtf)
    return {s.name: s for s in read_samplesheet(sheet)}, gtf


@dataclass
class SampleReader:
    """Reads one samplesheet sample's tracks in a window (training: every mark, genes every track covers)."""

    gtf: str
    gene_type: str | None
    threads: int
    spec: WindowSpec
    report: Report

    def __call__(self, sample: SheetSample, genes: GeneTable) -> FeatureSet:
        inputs = TrackInputs.from_sample(sample, self.gtf, self.gene_type, self.threads, genes)
        return fully_measured(inputs.read(self.spec, report=self.report))


def pair_training_sets(
    sheet: str, pairs: list[str], reader: SampleReader, split_seed: int
) -> dict[str, TrainingSet]:
    """The difference target's examples from a samplesheet: for each ``--pair A:B``, the genes both
    samples hold with both expression tables (:func:`pairs_training_set`)."""
    from chromepredict.io.annotation import read_genes
    from chromepredict.io.samplesheet import parse_pairs

    samples, _ = _samples_of(sheet, reader.gtf)
    wanted = parse_pairs(pairs, None, list(samples), sheet)
    genes = read_genes(reader.gtf, reader.gene_type)
    tables = {name: sample.expression for name, sample in samples.items()}
    return pairs_training_set(
        reader.report,
        wanted,
        tables,
        reader.gtf,
        lambda name: reader(samples[name], genes),
        split_seed,
        sheet,
    )


def pairs_training_set(
    report: Report,
    wanted: list[tuple[str, str]],
    tables: dict[str, str | None],
    gtf: str | None,
    read: Callable[[str], FeatureSet],
    split_seed: int,
    where: str,
) -> dict[str, TrainingSet]:
    """The difference target's examples: for each pair (A, B) of ``wanted``, the genes both samples
    hold with both expression tables (:func:`labelled_pairs`); several pairs are pooled into one
    model, split by chromosome together (a gene is on one side of the split in every pair)."""
    data = labelled_pairs(report, wanted, tables, gtf, read, where)
    if data.first.marks != data.second.marks:
        raise UserError("the samples of a pair have different marks; train on samples with the same marks")
    data.first.provenance = Provenance(
        source="samplesheet",
        description=f"pairs {', '.join(f'{a}:{b}' for a, b in wanted)} of {where}",
        assembly=data.second.provenance.assembly,
        labels_from="each sample's expression table: the change of log2(1 + expression)",
        units=data.second.provenance.units,
        log_scale=data.first.provenance.log_scale or data.second.provenance.log_scale,
    )
    label = "+".join(f"{a}_vs_{b}" for a, b in wanted)
    return {label: replace(split_tracks(data, split_seed), pairs=tuple(wanted))}
