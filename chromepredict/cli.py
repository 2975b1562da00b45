"""The Typer app: options, help text and exit codes only. Each command's work is in ``commands/``."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import typer.core
from rich.console import Console

from chromepredict import DEFAULT_MODEL, __version__
from chromepredict.errors import UserError
from chromepredict.report import Report

err = Console(stderr=True)
state = {"quiet": False}


class _Group(typer.core.TyperGroup):
    """Turns a UserError from any command into one line on stderr and exit code 2."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            Report(console=err).error(str(exc))
            ctx.exit(2)


app = typer.Typer(
    cls=_Group,
    name="chromepredict",
    help="Predict gene expression from histone-mark bigWigs and explain it (DeepChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def default_threads() -> int:
    """The cores this process may use, at most 8 (reading more tracks at once gains little)."""
    return max(
        1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    )


def _set_quiet(value: bool) -> bool:
    """``chromepredict -q CMD``: parsed first in every run, so it also resets the state."""
    state["quiet"] = value
    return value


def _quiet(value: bool) -> bool:
    """``chromepredict CMD -q``."""
    state["quiet"] = state["quiet"] or value
    return value


Tracks = Annotated[
    list[str] | None,
    typer.Argument(
        help="bigWig per mark; the mark is read from the file or folder name.", show_default=False
    ),
]
Gtf = Annotated[str | None, typer.Option("--gtf", help="Gene annotation (GTF, may be gzipped).")]
MarkOpt = Annotated[
    list[str] | None, typer.Option("--mark", help="Name a track's mark explicitly: MARK=PATH (repeatable).")
]
FlankOpt = Annotated[int, typer.Option(help="Window half-width around the TSS, bp.")]
BinOpt = Annotated[int, typer.Option("--bin-size", help="Bin width, bp.")]
OrientationOpt = Annotated[
    str, typer.Option(help="5to3: bins run 5′→3′ of the gene (minus strand reversed); genomic: genome order.")
]
GeneTypeOpt = Annotated[str, typer.Option("--gene-type", help="Keep genes of this gene_type/gene_biotype.")]
AllGenesOpt = Annotated[bool, typer.Option("--all-genes", help="Keep every gene, whatever its type.")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads", "-p", min=1, help="Processes reading bigWigs (default: available cores, at most 8)."
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", callback=_quiet, help="No progress or status lines (warnings still show)."),
]
ModelOpt = Annotated[
    str,
    typer.Option("--model", "-m", help="Pretrained name (chromepredict models), .onnx file or train folder."),
]
ExpressionOpt = Annotated[
    str | None,
    typer.Option(
        "--expression", help="Expression table (RSEM, salmon, kallisto, featureCounts or gene id + value)."
    ),
]
ExpressionColumnOpt = Annotated[
    str | None,
    typer.Option("--expression-column", help="The expression table's value column (when ambiguous)."),
]


def report() -> Report:
    return Report(quiet=state["quiet"], console=err)


def track_inputs(tracks, mark, gtf, gene_type, all_genes, threads):
    from chromepredict.sources import TrackInputs

    return TrackInputs(
        [str(t) for t in tracks or []],
        mark or [],
        gtf,
        None if all_genes else gene_type,
        threads or default_threads(),
    )


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chromepredict {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", callback=_set_quiet, help="No progress or status lines (warnings still show)."
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Predict gene expression from histone-mark bigWigs and explain it (DeepChrome)."""


CsvDirOpt = Annotated[
    str | None, typer.Option("--csv-dir", help="Folder with DeepChrome train.csv, valid.csv (, test.csv).")
]
RemcOpt = Annotated[
    str | None,
    typer.Option("--remc-root", help="Folder of <EID>/classification/ folders: one model per cell type."),
]
CsvOpt = Annotated[
    str | None, typer.Option("--csv", help="A DeepChrome CSV (genomic order; with --gtf for 5′→3′ models).")
]
TargetOpt = Annotated[
    str, typer.Option(help="class: high/low by the median rule; level: log2(1 + expression).")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the networks (initialisation, batches).")]
SplitSeedOpt = Annotated[int, typer.Option("--split-seed", help="Seed of the train/valid/test split.")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]


@app.command()
def extract(
    tracks: Tracks = None,
    gtf: Gtf = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="Output .npz (array + gene table).")
    ] = "features.npz",
    tsv: Annotated[str | None, typer.Option("--tsv", help="Also write a long-format TSV here.")] = None,
    mark: MarkOpt = None,
    flank: FlankOpt = 5000,
    bin_size: BinOpt = 100,
    orientation: OrientationOpt = "5to3",
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Read TSS-centred bins from bigWigs into an array [genes, marks, bins]."""
    from chromepredict.commands import extract as command
    from chromepredict.features import WindowSpec

    inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads)
    command.run(report(), inputs, WindowSpec(flank, bin_size, orientation), output, tsv)


@app.command()
def predict(
    tracks: Tracks = None,
    gtf: Gtf = None,
    model: ModelOpt = DEFAULT_MODEL,
    output: Annotated[
        str, typer.Option("--output", "-o", help="Output TSV; - for stdout (the default).")
    ] = "-",
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="p_high at or above this is called high.")
    ] = 0.5,
    expression: ExpressionOpt = None,
    expression_column: ExpressionColumnOpt = None,
    bed: Annotated[
        str | None,
        typer.Option(
            "--bed",
            help="Also write a BED9 track here (TSS, score = p_high × 1000, red high / blue low); "
            "with --samplesheet any value adds <sample>/predictions.bed.",
        ),
    ] = None,
    samplesheet: Annotated[
        str | None,
        typer.Option(
            "--samplesheet", help="CSV sample,mark,bigwig[,expression]: predict every sample; -o is a folder."
        ),
    ] = None,
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Score every gene with a pretrained or trained model (CPU, onnxruntime only)."""
    from chromepredict.commands import predict as command

    if samplesheet is None:
        inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads)
        command.run(report(), model, inputs, output, threshold, expression, expression_column, bed)
        return
    if tracks or mark or expression:
        raise UserError(
            "--samplesheet names every track and expression table; give no bigWigs, --mark or --expression"
        )
    if output == "-":
        raise UserError("--samplesheet writes a folder; give it with -o OUTDIR")
    summary = command.run_samplesheet(
        report(), model, samplesheet, gtf, output, threshold, None if all_genes else gene_type,
        threads or default_threads(), bed is not None,
    )  # fmt: skip
    if (summary["status"] != "ok").any():
        raise typer.Exit(1)


@app.command()
def train(
    tracks: Tracks = None,
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    expression_column: ExpressionColumnOpt = None,
    csv_dir: CsvDirOpt = None,
    remc_root: RemcOpt = None,
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Output folder (one subfolder per cell type with --remc-root)."),
    ] = "model",
    target: TargetOpt = "class",
    architecture: Annotated[
        str,
        typer.Option(
            help="deepchrome (default recipe, see docs/benchmarks.md) or deepchrome-2016 (as published)."
        ),
    ] = "deepchrome",
    transform: Annotated[
        str | None, typer.Option(help="Override the input transform: raw, log1p or track-log1p.")
    ] = None,
    seed: SeedOpt = 0,
    split_seed: SplitSeedOpt = 0,
    device: DeviceOpt = "auto",
    max_epochs: Annotated[
        int | None,
        typer.Option("--max-epochs", min=1, help="Cap on epochs per network (default: the recipe's)."),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option("--members", min=1, help="Networks in the seed ensemble (default: the recipe's, 5)."),
    ] = None,
    genome_build: Annotated[
        str | None,
        typer.Option("--genome-build", help="Recorded in the card (default: recognised from the tracks)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Model name for the card (default: output folder name).")
    ] = None,
    samplesheet: Annotated[
        str | None,
        typer.Option(
            "--samplesheet", help="CSV sample,mark,bigwig,expression: one model per sample (or --pooled)."
        ),
    ] = None,
    pooled: Annotated[
        bool, typer.Option("--pooled", help="With --samplesheet: one model on all samples (cross-cell-type).")
    ] = False,
    mark: MarkOpt = None,
    flank: FlankOpt = 5000,
    bin_size: BinOpt = 100,
    orientation: OrientationOpt = "5to3",
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train a model from tracks + expression, a samplesheet, a CSV folder, or every REMC cell type."""
    from chromepredict.commands import train as command
    from chromepredict.features import WindowSpec
    from chromepredict.sources import samplesheet_training_sets, training_sets

    inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads) if tracks or mark else None
    out = report()
    if pooled and samplesheet is None:
        raise UserError("--pooled pools the samples of a --samplesheet; give one")

    def sets_of():
        spec = WindowSpec(flank, bin_size, orientation)
        if samplesheet is not None:
            if inputs or csv_dir or remc_root or expression:
                raise UserError(
                    "--samplesheet names every track and expression table; give no other data source"
                )
            genes = None if all_genes else gene_type
            return samplesheet_training_sets(
                out, samplesheet, gtf, genes, threads or default_threads(), split_seed, pooled, spec
            )
        return training_sets(out, inputs, expression, expression_column, csv_dir, remc_root, split_seed, spec)

    settings = command.Settings(architecture, target, seed, device, transform, max_epochs, members)
    command.run(out, sets_of, output, settings, name, {"genome_build": genome_build})


@app.command()
def evaluate(
    tracks: Tracks = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Pretrained name, .onnx file or train output folder.")
    ] = "",
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    expression_column: ExpressionColumnOpt = None,
    csv: CsvOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder.")] = "evaluation",
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """A model's ROC/PR AUC (class) or Spearman/Pearson/R² (level) on genes with known expression."""
    from chromepredict.commands import evaluate as command

    if not model:
        raise UserError(
            "--model is required: a pretrained name (chromepredict models), a .onnx file or a train folder"
        )
    inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads) if tracks or mark else None
    result = command.run(report(), model, inputs, csv, gtf, expression, expression_column, output)
    if "roc_auc" in result:
        line = f"ROC AUC {result['roc_auc']:.4f}, PR AUC {result['pr_auc']:.4f}"
    else:
        line = f"Spearman {result['spearman']:.4f}, Pearson {result['pearson']:.4f}, R² {result['r2']:.4f}"
    typer.echo(f"{result['model']} on {result['n_genes']} genes: {line}")
    if "caveat" in result:
        typer.echo(f"caveat: {result['caveat']}")


@app.command()
def benchmark(
    tracks: Tracks = None,
    gtf: Gtf = None,
    expression: ExpressionOpt = None,
    expression_column: ExpressionColumnOpt = None,
    csv_dir: CsvDirOpt = None,
    remc_root: RemcOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder.")] = "benchmark",
    target: TargetOpt = "class",
    architecture: Annotated[
        list[str] | None, typer.Option(help="CNN recipe(s) to include (repeatable).")
    ] = None,
    seed: SeedOpt = 0,
    split_seed: SplitSeedOpt = 0,
    device: DeviceOpt = "auto",
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """The paper's comparison: CNN vs SVM, random forest and linear baselines, test score per cell type."""
    from chromepredict.commands import benchmark as command
    from chromepredict.commands.train import Settings
    from chromepredict.sources import training_sets

    inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads) if tracks or mark else None
    out = report()
    default = ("deepchrome", "deepchrome-2016") if target == "class" else ("deepchrome",)

    def sets_of():
        return training_sets(
            out, inputs, expression, expression_column, csv_dir, remc_root, split_seed, need_test=True
        )

    settings = Settings(target=target, seed=seed, device=device)
    table = command.run(out, sets_of, output, settings, tuple(architecture or default))
    metric = "test_auc" if target == "class" else "test_spearman"
    typer.echo(table.pivot(index="method", columns="cell_type", values=metric).round(4).to_string())


@app.command()
def explain(
    tracks: Tracks = None,
    model: ModelOpt = DEFAULT_MODEL,
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder.")] = "explanations",
    gtf: Gtf = None,
    csv: CsvOpt = None,
    genes: Annotated[
        str | None,
        typer.Option(
            "--genes", help="Per-gene attributions: comma-separated ids/names, or @FILE (one per line)."
        ),
    ] = None,
    bigwig: Annotated[
        bool,
        typer.Option(
            "--bigwig", help="Also write the --genes attributions as one bigWig per mark (genome browsers)."
        ),
    ] = False,
    restarts: Annotated[
        int, typer.Option(min=1, help="Random restarts of the class optimisation (averaged).")
    ] = 5,
    seed: SeedOpt = 0,
    lam: Annotated[
        float, typer.Option("--lambda", min=0.0, help="L2 penalty λ of the class optimisation.")
    ] = 0.009,
    steps: Annotated[int, typer.Option(min=1, help="RMSprop steps of the class optimisation.")] = 1000,
    lr: Annotated[float, typer.Option(min=0.0, help="RMSprop learning rate.")] = 0.1,
    mark: MarkOpt = None,
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Class optimisation maps; with tracks or --csv also bin influence; with --genes per-gene attributions."""
    from chromepredict.commands import explain as command

    inputs = track_inputs(tracks, mark, gtf, gene_type, all_genes, threads) if tracks or mark else None
    summary = command.run(
        report(), model, output, inputs, csv, gtf, genes, bigwig, restarts, seed, lam, steps, lr
    )
    for name, entry in summary["classes"].items():
        typer.echo(
            f"{name}: marks above the mean active-bin count: {', '.join(entry['flagged_marks']) or 'none'}"
        )
    report().info(f"wrote {output}/")


@app.command()
def models(quiet: QuietOpt = False) -> None:
    """List the pretrained models: name, target, cell types, marks, cross-validated score."""
    from chromepredict.commands import models as command

    typer.echo(command.listing(), nl=False)


@app.command()
def demo(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Folder for the demo's outputs.")
    ] = "chromepredict-demo",
    export: Annotated[
        str | None,
        typer.Option(
            "--export", help="Instead, copy the example data and a two-sample samples.csv into this folder."
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Predict on the bundled real example data (Roadmap E003, 369 genes) with the pretrained E003 model."""
    from chromepredict.commands import demo as command

    typer.echo(command.export(export) if export else command.run(report(), output))


def _terminated(signum, frame) -> None:
    """SIGTERM/SIGHUP (a scheduler's kill, a closed terminal) unwind like Ctrl-C, so that no
    half-written output is left behind."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Console-script entry point."""
    import signal

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminated)
    app()
