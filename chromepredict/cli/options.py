"""The command line's options, each defined once: choices as enums, and the groups of options that
several commands share (tracks, model, expression, window, training data, fitting).

A group is a dataclass whose fields are the options; :func:`chromepredict.cli.command` adds its
fields to a command's signature and hands the command one filled-in instance.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from typer.models import OptionInfo

from chromepredict import DEFAULT_COMPARE_MODEL, DEFAULT_MODEL
from chromepredict.system.workers import usable_cores


def text_option(flag: str, metavar: str, help: str) -> OptionInfo:
    """An optional text option (a path, a name, a list), ``Annotated[str | None, text_option(…)]``:
    None unless given."""
    return typer.Option(flag, metavar=metavar, help=help)


#: Choices of options, listed in --help.
Orientation = StrEnum("Orientation", {"five_to_three": "5to3", "genomic": "genomic"})
TargetName = StrEnum("TargetName", {"class_": "class", "level": "level", "difference": "difference"})
Architecture = StrEnum("Architecture", {"deepchrome": "deepchrome", "deepchrome_2016": "deepchrome-2016"})
TransformName = StrEnum("TransformName", {"raw": "raw", "log1p": "log1p", "track_log1p": "track-log1p"})
Device = StrEnum("Device", {"auto": "auto", "cpu": "cpu", "cuda": "cuda"})


def default_threads() -> int:
    """The cores this process may use, at most 8 (more gains little for these small inputs)."""
    return min(usable_cores(), 8)


THREADS_HELP = (
    "CPU cores the run may use: processes reading bigWigs, samples run at once, batches of genes "
    "scored at once (default: the available cores, at most 8; more are capped at the usable ones)."
)


@dataclass
class TrackOptions:
    """Tracks, annotation and the run's resources: every command that reads bigWigs takes these."""

    tracks: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="BIGWIG...",
            help="bigWig per mark; the mark is read from the file or folder name.",
            show_default=False,
        ),
    ] = None
    gtf: Annotated[str | None, text_option("--gtf", "FILE", "Gene annotation (GTF, may be gzipped).")] = None
    mark: Annotated[
        list[str] | None,
        typer.Option(
            "--mark",
            metavar="MARK=FILE",
            help="Name a track's mark explicitly (repeatable).",
            show_default=False,
        ),
    ] = None
    gene_type: Annotated[
        str,
        typer.Option("--gene-type", metavar="TYPE", help="Keep genes of this gene_type/gene_biotype."),
    ] = "protein_coding"
    all_genes: Annotated[bool, typer.Option("--all-genes", help="Keep every gene, whatever its type.")] = (
        False
    )
    threads: Annotated[
        int | None,
        typer.Option("--threads", "-p", min=1, metavar="INT", help=THREADS_HELP, show_default=False),
    ] = None
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Turn every warning (a result that is probably wrong) into an error: exit 2, nothing written.",
        ),
    ] = False

    @property
    def given(self) -> bool:
        """Whether any track was given (as a file or with --mark)."""
        return bool(self.tracks or self.mark)

    @property
    def cores(self) -> int:
        return self.threads or default_threads()

    def cap_threads(self) -> str | None:
        """Cap ``-p`` at the usable cores (more only oversubscribes them, and thousands of threads
        exhaust memory); returns the note to show when it was capped."""
        usable = usable_cores()
        if self.threads is None or self.threads <= usable:
            return None
        asked, self.threads = self.threads, usable
        return f"-p {asked}: this run may use {usable} core{'s' if usable > 1 else ''}; using {usable}"

    @property
    def genes(self) -> str | None:
        """The gene-type filter (None: every gene)."""
        return None if self.all_genes else self.gene_type

    def inputs(self):
        """The :class:`~chromepredict.io.sources.TrackInputs` these options name."""
        from chromepredict.io.sources import TrackInputs

        return TrackInputs.from_cli(
            [str(t) for t in self.tracks or []], self.mark or [], self.gtf, self.genes, self.cores
        )


def _model(
    help: str = "Pretrained name (chromepredict models), .onnx file or train output folder.",
) -> OptionInfo:
    return typer.Option("--model", "-m", metavar="NAME|PATH", help=help)


@dataclass
class ModelOption:
    model: Annotated[str, _model()] = DEFAULT_MODEL


@dataclass
class CompareModelOption:
    model: Annotated[
        str,
        _model(
            "Pretrained name, .onnx file or train output folder (default: the model that ranked measured "
            "changes best, docs/benchmarks.md)."
        ),
    ] = DEFAULT_COMPARE_MODEL


@dataclass
class RequiredModelOption:
    model: Annotated[str, _model()]


@dataclass
class ExpressionOptions:
    expression: Annotated[
        str | None,
        text_option(
            "--expression",
            "FILE",
            "Expression table (RSEM, salmon, kallisto, featureCounts, gene id + value, or 0/1 labels).",
        ),
    ] = None
    expression_column: Annotated[
        str | None, text_option("--expression-column", "NAME", "The table's value column (when ambiguous).")
    ] = None


@dataclass
class WindowOptions:
    flank: Annotated[int, typer.Option(metavar="BP", min=1, help="Window half-width around the TSS, bp.")] = (
        5000
    )
    bin_size: Annotated[int, typer.Option("--bin-size", metavar="BP", min=1, help="Bin width, bp.")] = 100
    orientation: Annotated[
        Orientation,
        typer.Option(help="5to3: bins run 5′→3′ of the gene (minus strand reversed); genomic: genome order."),
    ] = Orientation.five_to_three

    def spec(self):
        from chromepredict.io.features import WindowSpec

        return WindowSpec(self.flank, self.bin_size, self.orientation.value)


@dataclass
class CsvSourceOptions:
    csv_dir: Annotated[
        str | None,
        text_option("--csv-dir", "DIR", "Folder with DeepChrome train.csv, valid.csv (, test.csv)."),
    ] = None
    remc_root: Annotated[
        str | None,
        text_option(
            "--remc-root", "DIR", "Folder of <EID>/classification/ folders: one model per cell type."
        ),
    ] = None


@dataclass
class FitOptions:
    target: Annotated[
        TargetName,
        typer.Option(
            help="class: high/low by the median rule; level: log2(1 + expression); "
            "difference: its change between the two samples of --pair."
        ),
    ] = TargetName.class_
    seed: Annotated[
        int,
        typer.Option(
            min=0, max=2**32 - 1, metavar="INT", help="Seed of the networks (initialisation, batches)."
        ),
    ] = 0
    split_seed: Annotated[
        int,
        typer.Option(
            "--split-seed", min=0, max=2**32 - 1, metavar="INT", help="Seed of the train/valid/test split."
        ),
    ] = 0
    device: Annotated[Device, typer.Option(help="auto: CUDA when present.")] = Device.auto


@dataclass
class ClassMapOptions:
    """explain's class optimisation (paper §3.3)."""

    restarts: Annotated[int, typer.Option(min=1, metavar="INT", help="Random restarts (averaged).")] = 5
    seed: Annotated[
        int, typer.Option(min=0, max=2**32 - 1, metavar="INT", help="Seed of the optimisation.")
    ] = 0
    lam: Annotated[float, typer.Option("--lambda", min=0.0, metavar="FLOAT", help="L2 penalty λ.")] = 0.009
    steps: Annotated[int, typer.Option(min=1, metavar="INT", help="RMSprop steps.")] = 1000
    lr: Annotated[float, typer.Option(min=0.0, metavar="FLOAT", help="RMSprop learning rate.")] = 0.1
    class_maps: Annotated[
        bool,
        typer.Option(
            "--class-maps/--no-class-maps", help="Off: only bin influence and --genes attributions."
        ),
    ] = True


OutputFolder = Annotated[str, typer.Option("--output", "-o", metavar="DIR", help="Output folder.")]
Csv = Annotated[
    str | None, text_option("--csv", "FILE", "A DeepChrome CSV (genomic order; with --gtf for 5′→3′ models).")
]
Samplesheet = Annotated[
    str | None,
    text_option("--samplesheet", "FILE", "CSV sample,mark,bigwig[,expression]: one row per track."),
]
TsvFlag = Annotated[
    bool, typer.Option("--tsv", help="Tab-separated output even on a terminal (the default when piped).")
]
Threshold = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        metavar="P",
        show_default=False,
        help="Class models: p_high at or above this is called high (default 0.5).",
    ),
]


def pairs_option(help: str) -> OptionInfo:
    """``--pair A:B`` (repeatable), ``Annotated[list[str] | None, pairs_option(…)]``, with what it means
    in the command at hand."""
    return typer.Option("--pair", metavar="A:B", show_default=False, help=help)
