"""The Typer app: options, help text, progress display and exit codes. No science here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import click
import typer
import typer.core
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chromepredict import __version__
from chromepredict.errors import UserError


class _Group(typer.core.TyperGroup):
    """Turns a UserError from any command into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            ctx.exit(2)


err = Console(stderr=True)
app = typer.Typer(
    cls=_Group,
    name="chromepredict",
    help="Predict gene expression (high/low) from histone-mark bigWigs and explain it (DeepChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
state = {"quiet": False}

Tracks = Annotated[
    list[Path] | None,
    typer.Argument(help="bigWig per core mark; the mark is read from the file name.", show_default=False),
]
Gtf = Annotated[Path | None, typer.Option("--gtf", help="Gene annotation (GTF, may be gzipped).")]
MarkOpt = Annotated[
    list[str] | None,
    typer.Option("--mark", help="Name a track's mark explicitly: MARK=PATH (repeatable)."),
]
FlankOpt = Annotated[int, typer.Option(help="Window half-width around the TSS, bp.")]
BinOpt = Annotated[int, typer.Option("--bin-size", help="Bin width, bp.")]
OrientationOpt = Annotated[
    str,
    typer.Option(help="5to3: bins run 5′→3′ of the gene (minus strand reversed); genomic: genome order."),
]
GeneTypeOpt = Annotated[str, typer.Option("--gene-type", help="Keep genes of this gene_type/gene_biotype.")]
AllGenesOpt = Annotated[bool, typer.Option("--all-genes", help="Keep every gene, whatever its type.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", "-p", min=1, help="Processes reading bigWigs.")]


def info(message: str) -> None:
    """A status line on stderr unless --quiet."""
    if not state["quiet"]:
        err.print(message, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(label: str, total: int) -> Iterator:
    """A Rich progress bar on stderr; yields a callback advancing it by n."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=state["quiet"],
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chromepredict {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or status on stderr.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Predict gene expression (high/low) from histone-mark bigWigs and explain it (DeepChrome)."""
    state["quiet"] = quiet


def load_track_features(
    tracks: list[Path] | None,
    gtf: Path | None,
    marks: list[str] | None,
    flank: int,
    bin_size: int,
    orientation: str,
    gene_type: str,
    all_genes: bool,
    threads: int,
):
    """bigWigs + GTF → FeatureSet, reporting genes on chromosomes the tracks lack."""
    from chromepredict.annotation import read_tss
    from chromepredict.features import WindowSpec
    from chromepredict.marks import assign_marks
    from chromepredict.signal import extract, track_chroms

    spec = WindowSpec(flank, bin_size, orientation)
    if gtf is None:
        raise UserError("--gtf is required with bigWig tracks; give the gene annotation (GTF)")
    files = assign_marks([str(t) for t in tracks or []], marks or [])
    for path in files.values():
        track_chroms(path)  # fail fast on a missing or non-bigWig file
    genes = read_tss(gtf, None if all_genes else gene_type)
    info(
        f"{len(genes)} genes from {gtf}; marks: " + ", ".join(f"{m}={Path(p).name}" for m, p in files.items())
    )
    with progress_bar("reading bigWigs", len(genes) * len(files)) as advance:
        data, dropped = extract(genes, files, spec, threads=threads, progress=advance)
    if len(dropped):
        examples = ", ".join(
            f"{g} ({c})" for g, c in zip(dropped["gene_id"][:3], dropped["chrom"][:3], strict=False)
        )
        chroms = ", ".join(sorted(dropped["chrom"].unique())[:5])
        info(
            f"[yellow]warning:[/] {len(dropped)} genes skipped: their chromosome is not in every "
            f"bigWig ({chroms}); e.g. {examples}"
        )
    return data


@app.command()
def extract(
    tracks: Tracks = None,
    gtf: Gtf = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .npz (array + gene table).")] = Path(
        "features.npz"
    ),
    tsv: Annotated[Path | None, typer.Option("--tsv", help="Also write a long-format TSV here.")] = None,
    mark: MarkOpt = None,
    flank: FlankOpt = 5000,
    bin_size: BinOpt = 100,
    orientation: OrientationOpt = "5to3",
    gene_type: GeneTypeOpt = "protein_coding",
    all_genes: AllGenesOpt = False,
    threads: ThreadsOpt = 1,
) -> None:
    """Read TSS-centred bins from bigWigs into an array [genes, marks, bins]."""
    data = load_track_features(tracks, gtf, mark, flank, bin_size, orientation, gene_type, all_genes, threads)
    data.save_npz(output)
    if tsv is not None:
        data.write_tsv(tsv)
    n, m, b = data.features.shape
    info(f"wrote {output} ({n} genes × {m} marks × {b} bins, orientation {data.spec.orientation})")


def main() -> None:
    """Console-script entry point."""
    app()
