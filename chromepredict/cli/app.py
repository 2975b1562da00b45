"""The Typer app: options, help text and exit codes only. Each command's work is in ``commands/``.

Options are defined once, in :mod:`chromepredict.cli.options`; :func:`command` adds a group's options
to every command that takes it. Every failure ends as one ``error:`` line on stderr: exit code 2
for usage and input mistakes (a bad option value included), 1 for what the system refused during
a run (a full disk, memory) and for a samplesheet with a failed sample.
"""

import contextlib
import dataclasses
import errno
import inspect
import os
import sys
import typing
from typing import Annotated

import typer
import typer.core
from rich.console import Console

from chromepredict import __version__
from chromepredict.cli.options import (
    Architecture,
    ClassMapOptions,
    CompareModelOption,
    CsvSourceOptions,
    ExpressionOptions,
    FitOptions,
    ModelOption,
    RequiredModelOption,
    TrackOptions,
    TransformName,
    WindowOptions,
    text_option,
)
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report

#: click's base exception, whichever click (typer's own copy, or click itself) this typer uses.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
#: OS errors a run can meet on the way that are the system's, not a mistake in the inputs.
_SYSTEM_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error",
    errno.EMFILE: "too many open files for this process",
    errno.ENFILE: "too many open files on this system",
}


def _fail(message: str, code: int) -> typing.NoReturn:
    Report(console=Console(stderr=True)).error(message)
    sys.exit(code)


def _system_error(exc: OSError) -> str:
    what = _SYSTEM_ERRORS.get(exc.errno, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space or choose another output location"
    elif exc.errno in (errno.EMFILE, errno.ENFILE):
        fix = "raise the limit of open files (ulimit -n 1024) or use fewer cores (-p)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the inputs readable and the output location writable, or choose another one"
    else:
        fix = "check the file and the disk"
    return f"{what}{where}; nothing was written: {fix}, then run again"


class _Group(typer.core.TyperGroup):
    """Every way a run can fail ends as one line on stderr with the exit code of its kind."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except UserError as exc:
            _fail(str(exc), 2)
        except _ClickException as exc:
            if (
                type(exc).__name__ == "NoArgsIsHelpError"
            ):  # bare `chromepredict`: the help, as --help shows it
                typer.echo(exc.ctx.get_help())
                sys.exit(0)
            command = getattr(getattr(exc, "ctx", None), "command_path", "chromepredict")
            message = exc.format_message().replace("Value error, ", "")  # pydantic's prefix (typer ≥ 0.20)
            if "No such option: --version" in message:  # chromepredict's own option, given after a command
                message = "--version is an option of chromepredict itself: chromepredict --version"
            _fail(f"{message} (see {command} --help)", 2)
        except typer.Abort:
            _fail("interrupted; nothing was written", 130)
        except MemoryError:
            _fail("out of memory; score fewer genes at a time or use a smaller window", 1)
        except OSError as exc:
            if os.environ.get("CHROMEPREDICT_DEBUG"):
                raise
            _fail(_system_error(exc), 1)
        except Exception as exc:  # a defect: still one line, with the way to see more
            if os.environ.get("CHROMEPREDICT_DEBUG"):
                raise
            text = " ".join(str(exc).split())
            _fail(
                f"unexpected {type(exc).__name__}: {text} (a defect in chromepredict: please report it; "
                "CHROMEPREDICT_DEBUG=1 shows the traceback)",
                1,
            )
        if code == 130:  # typer ≥ 0.20 turns Ctrl-C into exit 130 without a word
            _fail("interrupted; nothing was written", 130)
        sys.exit(code or 0)


class _Command(typer.core.TyperCommand):
    """Arguments show their placeholder alone (typer would add the Python type, ``<list[str]>``)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, typer.core.TyperArgument) and param.metavar:
                param.display_type_rich = lambda ctx=None: None
        return params


app = typer.Typer(
    cls=_Group,
    name="chromepredict",
    help="Predict gene expression from histone-mark bigWigs and explain it (DeepChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_QUIET = inspect.Parameter(
    "quiet",
    inspect.Parameter.KEYWORD_ONLY,
    annotation=Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or status lines (warnings still show).")
    ],
    default=False,
)


def command(**settings):
    """Register a command. Its parameters annotated with an option group (a dataclass of
    :mod:`chromepredict.cli.options`) are replaced by the group's options and receive one instance; a
    parameter annotated :class:`Report` receives the run's report (``-q`` before or after the
    command name; ``--strict`` from the track options)."""

    def decorate(func):
        hints = typing.get_type_hints(func, include_extras=True)
        params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
        groups, report_name, required = {}, None, []
        for name, own in inspect.signature(func).parameters.items():
            kind = hints[name]
            if kind is Report:
                report_name = name
            elif dataclasses.is_dataclass(kind):
                groups[name] = kind
                types = typing.get_type_hints(kind, include_extras=True)
                for field in dataclasses.fields(kind):
                    default = inspect.Parameter.empty
                    if field.default is dataclasses.MISSING:
                        required.append(field.name)
                    else:
                        default = field.default
                    params.append(
                        inspect.Parameter(
                            field.name,
                            inspect.Parameter.KEYWORD_ONLY,
                            annotation=types[field.name],
                            default=default,
                        )
                    )
            else:
                params.append(own.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=kind))
        params.append(_QUIET)

        def wrapper(ctx: typer.Context, **values):
            for name in required:  # typer 0.16 with click ≥ 8.2 lets a missing required option through
                if values.get(name) is None:
                    raise UserError(
                        f"Missing option '--{name.replace('_', '-')}' (see {ctx.command_path} --help)"
                    )
            quiet = values.pop("quiet") or bool(ctx.find_root().params.get("quiet"))
            call = {
                name: kind(**{f.name: values.pop(f.name) for f in dataclasses.fields(kind)})
                for name, kind in groups.items()
            }
            strict = any(getattr(group, "strict", False) for group in call.values())
            report = Report(quiet=quiet, strict=strict, console=Console(stderr=True))
            for group in call.values():
                if isinstance(group, TrackOptions) and (note := group.cap_threads()):
                    report.info(note)
            if report_name is not None:
                call[report_name] = report
            return func(**call, **values)

        wrapper.__name__, wrapper.__doc__, wrapper.__module__ = func.__name__, func.__doc__, func.__module__
        wrapper.__signature__ = inspect.Signature(params)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return app.command(cls=_Command, **settings)(wrapper)

    return decorate


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chromepredict {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or status lines (warnings still show).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Predict gene expression from histone-mark bigWigs and explain it (DeepChrome)."""


OutputFolder = Annotated[str, typer.Option("--output", "-o", metavar="DIR", help="Output folder.")]
Csv = text_option("--csv", "FILE", "A DeepChrome CSV (genomic order; with --gtf for 5′→3′ models).")
Samplesheet = text_option("--samplesheet", "FILE", "CSV sample,mark,bigwig[,expression]: one row per track.")
Pairs = Annotated[
    list[str] | None,
    typer.Option("--pair", metavar="A:B", show_default=False,
                 help="Samples A and B of --samplesheet: B compared with A (repeatable; train/evaluate pool them)."),
]  # fmt: skip


def show_table(table, tsv: bool) -> None:
    """A table on stdout: a rich table on a terminal, tab-separated when piped or with ``tsv``."""
    if tsv or not sys.stdout.isatty():
        typer.echo(table.to_csv(sep="\t", index=False), nl=False)
        return
    from rich.table import Table

    view = Table(*map(str, table.columns), header_style="bold")
    for row in table.astype(str).itertuples(index=False):
        view.add_row(*row)
    Console().print(view)


TsvFlag = Annotated[
    bool, typer.Option("--tsv", help="Tab-separated output even on a terminal (the default when piped).")
]


@command()
def extract(
    report: Report,
    inputs: TrackOptions,
    window: WindowOptions,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE", help="Output .npz (array + gene table).")
    ] = "features.npz",
    tsv: text_option("--tsv", "FILE", "Also write a long-format TSV here.") = None,
) -> None:
    """Read TSS-centred bins from bigWigs into an array [genes, marks, bins]."""
    from chromepredict.cli.commands import extract as run

    run.run(report, inputs.inputs(), window.spec(), output, tsv)


@command()
def predict(
    report: Report,
    inputs: TrackOptions,
    chosen: ModelOption,
    labels: ExpressionOptions,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="FILE|DIR",
            help="Output TSV, - for stdout (the default); with --samplesheet, a folder.",
        ),
    ] = "-",
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, metavar="P", show_default=False,
            help="Class models: p_high at or above this is called high (default 0.5).",
        ),
    ] = None,
    bed: Annotated[
        bool,
        typer.Option(
            "--bed", help="Also write a BED9 track beside each predictions TSV (same name, .bed): TSS, "
            "score = p_high × 1000, red high / blue low.",
        ),
    ] = False,
    samplesheet: Samplesheet = None,
) -> None:  # fmt: skip
    """Score every gene with a pretrained or trained model (CPU, onnxruntime only)."""
    from chromepredict.cli.commands import predict as run

    if samplesheet is None:
        run.run(report, chosen.model, inputs.inputs(), output, threshold, labels.expression,
                labels.expression_column, bed)  # fmt: skip
        return
    if inputs.given or labels.expression:
        raise UserError(
            "--samplesheet names every track and expression table; give no bigWigs, --mark or --expression"
        )
    if output == "-":
        raise UserError("--samplesheet writes a folder; give it with -o OUTDIR")
    summary = run.run_samplesheet(
        report, chosen.model, samplesheet, inputs.gtf, output, threshold, inputs.genes, inputs.cores, bed
    )
    if (summary["status"] == "failed").any():
        raise typer.Exit(1)


@command()
def train(
    report: Report,
    inputs: TrackOptions,
    labels: ExpressionOptions,
    csvs: CsvSourceOptions,
    fitting: FitOptions,
    window: WindowOptions,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="DIR", help="Output folder (one subfolder per cell type with --remc-root)."
        ),
    ] = "model",
    architecture: Annotated[
        Architecture,
        typer.Option(help="deepchrome: the default recipe (docs/benchmarks.md); deepchrome-2016: as published."),
    ] = Architecture.deepchrome,
    transform: Annotated[
        TransformName | None, typer.Option(help="Override the recipe's input transform.", show_default=False)
    ] = None,
    max_epochs: Annotated[
        int | None,
        typer.Option("--max-epochs", min=1, metavar="INT", help="Cap on epochs per network (default: the recipe's)."),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option("--members", min=1, metavar="INT", help="Networks in the seed ensemble (default: the recipe's, 5)."),
    ] = None,
    genome_build: text_option("--genome-build", "NAME", "Recorded in the card (default: recognised from the tracks).") = None,
    name: text_option("--name", "TEXT", "Model name for the card (default: output folder name).") = None,
    samplesheet: Samplesheet = None,
    pooled: Annotated[
        bool, typer.Option("--pooled", help="With --samplesheet: one model on all samples (cross-cell-type).")
    ] = False,
    pair: Pairs = None,
) -> None:  # fmt: skip
    """Train a model from tracks + expression, a samplesheet, a CSV folder, or every REMC cell type."""
    from chromepredict.cli.commands import train as run
    from chromepredict.io.training_sets import (
        SampleReader,
        pair_training_sets,
        samplesheet_training_sets,
        training_sets,
    )
    from chromepredict.models.training import Settings

    if pooled and samplesheet is None:
        raise UserError("--pooled pools the samples of a --samplesheet; give one")
    spec = window.spec()
    tracks = inputs.inputs() if inputs.given else None

    from chromepredict.models.targets import get_target

    target = get_target(fitting.target.value)
    if target.paired and not (pair and samplesheet):
        raise UserError(
            f"--target {target.name} learns from pairs of samples: give --samplesheet S and --pair A:B"
        )
    if pooled and target.paired:
        raise UserError(
            "--pooled is for one-sample targets; --target difference already learns from every --pair given"
        )
    if pair and not target.paired:
        raise UserError(
            f"--pair is for --target difference (the change between two samples); --target {target.name} learns from one sample"
        )

    def sets_of():
        if samplesheet is not None:
            if tracks or csvs.csv_dir or csvs.remc_root or labels.expression:
                raise UserError(
                    "--samplesheet names every track and expression table; give no other data source"
                )
            if pair:
                reader = SampleReader(inputs.gtf, inputs.genes, inputs.cores, spec, report)
                return pair_training_sets(samplesheet, pair, reader, fitting.split_seed)
            return samplesheet_training_sets(
                report, samplesheet, inputs.gtf, inputs.genes, inputs.cores, fitting.split_seed, pooled, spec
            )
        return training_sets(report, tracks, labels.expression, labels.expression_column, csvs.csv_dir,
                             csvs.remc_root, fitting.split_seed, spec)  # fmt: skip

    settings = Settings(
        architecture.value, fitting.target.value, fitting.seed, fitting.device.value,
        transform.value if transform else None, max_epochs, members,
    )  # fmt: skip
    sources = [*(tracks.paths if tracks else []), labels.expression, csvs.csv_dir, csvs.remc_root]
    if samplesheet is not None:
        from chromepredict.io.samplesheet import sheet_files

        sources.extend([*sheet_files(samplesheet), inputs.gtf])
    run.run(report, sets_of, output, settings, name, genome_build, sources)


@command()
def evaluate(
    report: Report,
    inputs: TrackOptions,
    chosen: RequiredModelOption,
    labels: ExpressionOptions,
    csv: Csv = None,
    output: OutputFolder = "evaluation",
    samplesheet: Samplesheet = None,
    pair: Pairs = None,
) -> None:  # fmt: skip
    """A model's ROC/PR AUC (class), Spearman/Pearson/R² (level) on genes with known expression, or
    the Spearman of the change (difference models, on pairs of samples)."""
    from chromepredict.cli.commands import evaluate as run

    if samplesheet is not None or pair:
        if samplesheet is None or not pair or inputs.given or csv or labels.expression:
            raise UserError(
                "a change is evaluated on --samplesheet S with --pair A:B (and no other data source)"
            )
        result = run.run_pairs(
            report, chosen.model, samplesheet, inputs.gtf, inputs.genes, inputs.cores, pair, output
        )
        typer.echo(run.headline(result))
        return
    tracks = inputs.inputs() if inputs.given else None
    result = run.run(
        report, chosen.model, tracks, csv, inputs.gtf, labels.expression, labels.expression_column, output
    )
    typer.echo(run.headline(result))


@command()
def benchmark(
    report: Report,
    inputs: TrackOptions,
    labels: ExpressionOptions,
    csvs: CsvSourceOptions,
    fitting: FitOptions,
    output: OutputFolder = "benchmark",
    architecture: Annotated[
        list[Architecture] | None,
        typer.Option(help="CNN recipe(s) to include (repeatable; default: both for class, deepchrome for level)."),
    ] = None,
    tsv: TsvFlag = False,
) -> None:  # fmt: skip
    """The paper's comparison: CNN vs SVM, random forest and linear baselines, test score per cell type."""
    from chromepredict.cli.commands import benchmark as run
    from chromepredict.io.training_sets import training_sets
    from chromepredict.models.training import Settings

    tracks = inputs.inputs() if inputs.given else None

    def sets_of():
        return training_sets(report, tracks, labels.expression, labels.expression_column, csvs.csv_dir,
                             csvs.remc_root, fitting.split_seed, need_test=True)  # fmt: skip

    settings = Settings(target=fitting.target.value, seed=fitting.seed, device=fitting.device.value)
    sources = [*(tracks.paths if tracks else []), labels.expression, csvs.csv_dir, csvs.remc_root]
    table = run.run(report, sets_of, output, settings, tuple(a.value for a in architecture or ()), sources)
    show_table(run.pivot(table), tsv)


@command()
def explain(
    report: Report,
    inputs: TrackOptions,
    chosen: ModelOption,
    maps: ClassMapOptions,
    output: OutputFolder = "explanations",
    csv: Csv = None,
    genes: text_option("--genes", "IDS|@FILE", "Per-gene attributions: comma-separated ids/names, or @FILE.") = None,
    bigwig: Annotated[
        bool,
        typer.Option("--bigwig", help="Also write the --genes attributions as one bigWig per mark (genome browsers)."),
    ] = False,
) -> None:  # fmt: skip
    """Class optimisation maps; with tracks or --csv also bin influence; with --genes per-gene attributions.

    torch runs on -p threads (default 1: these small networks run fastest on one thread)."""
    from chromepredict.cli.commands import explain as run

    tracks = inputs.inputs() if inputs.given else None
    summary = run.run(
        report, chosen.model, output, tracks, csv, inputs.gtf, genes, bigwig, maps, inputs.threads or 1
    )
    for name, entry in summary["classes"].items():
        typer.echo(
            f"{name}: marks above the mean active-bin count: {', '.join(entry['flagged_marks']) or 'none'}"
        )
    report.info(f"wrote {output}/")


@command()
def compare(
    report: Report,
    inputs: TrackOptions,
    chosen: CompareModelOption,
    output: OutputFolder = "comparison",
    samplesheet: Samplesheet = None,
    pair: Pairs = None,
    reference: text_option("--reference", "A", "Compare every other sample of --samplesheet with A.") = None,
    knockout: Annotated[
        list[str] | None,
        typer.Option(
            "--knockout", metavar="MARK[,MARK…]",
            help="With tracks: the sample against itself with each mark set to no signal (MARK+MARK: together).",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, metavar="P", show_default=False,
            help="Class models: p_high at or above this is called high (default 0.5).",
        ),
    ] = None,
) -> None:  # fmt: skip
    """Which genes change between conditions and which marks drive it; or what-if mark knockouts.

    delta is B − A in the model's unit; contribution_<MARK> columns are the exact Shapley
    decomposition of delta over the marks (they add up to delta)."""
    from chromepredict.cli.commands import compare as run

    if samplesheet is not None:
        if inputs.given or knockout:
            raise UserError("--samplesheet names every track; compare its samples with --pair/--reference, "
                            "or give one sample's tracks with --knockout")  # fmt: skip
        run.run_pairs(report, chosen.model, samplesheet, inputs.gtf, inputs.genes, inputs.cores, pair or [],
                      reference, output, threshold)  # fmt: skip
    elif knockout:
        if pair or reference:
            raise UserError("--pair and --reference compare the samples of a --samplesheet; give one")
        run.run_knockouts(report, chosen.model, inputs.inputs(), knockout, output, threshold)
    else:
        raise UserError(
            "give --samplesheet S with --pair A:B (or --reference A), or tracks with --knockout MARK"
        )
    report.info(f"wrote {output}/")


@command()
def models(tsv: TsvFlag = False) -> None:
    """List the pretrained models: name, target, cell types, marks, cross-validated score."""
    from chromepredict.cli.commands import models as run

    show_table(run.listing(), tsv)


@command()
def demo(
    report: Report,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="DIR", help="Folder for the demo's outputs.")
    ] = "chromepredict-demo",
    export: text_option("--export", "DIR", "Instead, copy the example data and a samples.csv into this folder.") = None,
) -> None:  # fmt: skip
    """Predict on the bundled real example data (Roadmap E003, 369 genes) with the pretrained E003 model."""
    from chromepredict.cli.commands import demo as run

    typer.echo(run.export(export) if export else run.run(report, output))


@command()
def workflow(
    export: Annotated[
        str, typer.Option("--export", metavar="DIR", help="Copy the Snakemake workflow (Snakefile, config, conda environment) here.")
    ],
) -> None:  # fmt: skip
    """Export the Snakemake workflow shipped with chromepredict: one job per sample, summary, MultiQC table."""
    from chromepredict.cli.commands import workflow as run

    typer.echo(run.export(export))


def _terminated(signum, frame) -> None:
    """SIGTERM/SIGHUP (a scheduler's kill, a closed terminal) unwind like Ctrl-C, so that no
    half-written output is left behind."""
    raise SystemExit(128 + signum)


#: Open files a run needs at most: its tracks, each worker's copies and pipes, modules being imported.
OPEN_FILES = 256
#: Below this many, even a one-process run of five tracks can fail half-way: refused up front.
MIN_OPEN_FILES = 64


def _open_files() -> None:
    """Raise this process's limit of open files towards :data:`OPEN_FILES` (up to the hard limit, as
    any process may); a hard limit below :data:`MIN_OPEN_FILES` is one line and exit 1 before
    anything is read — never a track blamed as damaged, never a traceback from the error path."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
    if soft != resource.RLIM_INFINITY and soft < MIN_OPEN_FILES:
        sys.stderr.write(
            f"error: this shell allows {soft} open files per process (ulimit -n {soft}); chromepredict "
            f"needs at least {MIN_OPEN_FILES}: raise the limit (ulimit -n 1024), then run again\n"
        )
        sys.exit(1)


def main() -> None:
    """Console-script entry point."""
    import signal

    _open_files()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminated)
    app()
