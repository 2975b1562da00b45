"""``chromepredict explain``: why a model calls genes high or low — class maps, bin influence,
per-gene attributions (TSV, PNG, and bigWig tracks for genome browsers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import (
    ClassMapOptions,
    Csv,
    ModelOption,
    OutputFolder,
    TrackOptions,
    text_option,
)
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.report import Report


def _tracks(values) -> bool:
    return bool(values["tracks"] or values["mark"])


_SIGNAL = "--genes and --bigwig need the genes' signal: give bigWig tracks with --gtf, or --csv"
RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "model": FREE, "restarts": FREE, "seed": FREE, "lam": FREE, "steps": FREE, "lr": FREE, "output": FREE,
    "csv": Rule(excludes=("tracks", "mark"), message="give either bigWig tracks with --gtf, or --csv, not both"),
    "genes": Rule(check=lambda v: None if _tracks(v) or v["csv"] else _SIGNAL),
    "bigwig": Rule(
        check=lambda v: None if _tracks(v)
        else _SIGNAL if not v["csv"] else "--bigwig needs genome coordinates: give bigWig tracks with --gtf"
    ),
    "class_maps": Rule(
        always=True,
        check=lambda v: None if v["class_maps"] or _tracks(v) or v["csv"]
        else "--no-class-maps leaves nothing to explain without genes: give tracks with --gtf, or --csv",
    ),
}  # fmt: skip

THREADS = "CPU cores for torch's threads (default 1: these small networks run fastest on one thread)."


@command(
    RULES, helps={"threads": THREADS}, short_help="Why a model calls genes high or low: maps, attributions."
)
def explain(
    report: Report,
    inputs: TrackOptions,
    chosen: ModelOption,
    maps: ClassMapOptions,
    output: OutputFolder = "explanations",
    csv: Csv = None,
    genes: Annotated[str | None, text_option("--genes", "IDS|@FILE", "Per-gene attributions: comma-separated ids/names, or @FILE.")] = None,
    bigwig: Annotated[
        bool,
        typer.Option("--bigwig", help="Also write the --genes attributions as one bigWig per mark (genome browsers)."),
    ] = False,
) -> None:  # fmt: skip
    """Class optimisation maps; with tracks or --csv also bin influence; with --genes per-gene attributions.

    torch runs on -p threads (default 1: these small networks run fastest on one thread)."""
    from chromepredict import api
    from chromepredict.system.extras import require_torch
    from chromepredict.system.files import atomic_dir, check_output_dir, check_outputs

    require_torch("explain")
    tracks = inputs.inputs() if inputs.given else None
    with api.reporting_to(report):
        model = api.load_model(chosen.model)
        sources = [*(tracks.paths if tracks else []), csv, inputs.gtf, *model.loaded.paths]
        check_outputs(sources, folders=[("-o", output)])
        check_output_dir(output, "explain")
        wanted = gene_list(genes)
        with atomic_dir(
            output, "explain", report.warnings
        ) as tmp:  # the folder is locked from the run's start
            found = api.explain(
                model, api.Sample(tracks) if tracks is not None else None, genes=wanted,
                class_maps=maps.class_maps, csv=csv, gtf=inputs.gtf, lam=maps.lam, steps=maps.steps, lr=maps.lr,
                restarts=maps.restarts, seed=maps.seed, threads=inputs.threads or 1,
            )  # fmt: skip
            found.write(tmp, bigwig)
    for name, entry in found.summary["classes"].items():
        typer.echo(
            f"{name}: marks above the mean active-bin count: {', '.join(entry['flagged_marks']) or 'none'}"
        )
    report.info(f"wrote {output}/")


#: A gene list file's first line that is a column header, not a gene.
LIST_HEADERS = {
    "gene", "genes", "gene_id", "gene_ids", "gene_name", "gene_names", "symbol", "gene_symbol", "id", "name",
    "gene_stable_id", "ensembl_gene_id", "ensembl",
}  # fmt: skip


def gene_list(genes: str | None) -> list[str] | None:
    """``--genes``: comma-separated ids/names, or @FILE with one per line (in any text encoding)."""
    from chromepredict.system.formats import read_text

    if genes is None:
        return None
    if genes.startswith("@"):
        if not genes[1:].strip():
            raise UserError(
                "--genes @ names no file; write --genes @FILE, a file with one gene id or name per line"
            )
        path = Path(genes[1:])
        fix = "give a file with one gene id or name per line"
        require_file(path, "gene list", fix)
        text, _ = read_text(path, "gene list", fix)
        names = [line.strip() for line in text.splitlines() if line.strip()]
        if names and names[0].strip("\"'").lower().replace(" ", "_") in LIST_HEADERS:
            names = names[1:]  # a column header, as spreadsheets and R write one
    else:
        names = [g.strip() for g in genes.split(",") if g.strip()]
    if not names:
        raise UserError(f"--genes {genes!r} names no gene; give ids or names (--genes LIN28A,GAPDH) or @FILE")
    return names
