"""``chromepredict workflow --export``: the Snakemake workflow shipped in the package, copied into a
folder to run (a bioconda install has no git checkout to take it from)."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.rules import FREE

FILES = ("Snakefile", "config.yaml", "environment.yaml")
RULES = {"export": FREE}


@command(RULES, short_help="Export the Snakemake workflow shipped with chromepredict.")
def workflow(
    export: Annotated[
        str,
        typer.Option("--export", metavar="DIR", help="Copy the Snakemake workflow (Snakefile, config, conda environment) here."),
    ],
) -> None:  # fmt: skip
    """Export the Snakemake workflow: one job per sample, the run's summary and MultiQC table, BED
    tracks, and the model's class maps once."""
    typer.echo(export_workflow(export))


def export_workflow(folder: str) -> str:
    """Copy the workflow's files into ``folder``; returns what to print."""
    from chromepredict.system.files import atomic_dir

    shipped = Path(str(files("chromepredict") / "workflow"))
    with atomic_dir(folder, "workflow --export") as tmp:
        for name in FILES:
            try:
                shutil.copyfile(shipped / name, tmp / name)
            except OSError as exc:  # a full disk: name the file being written
                raise OSError(exc.errno, exc.strerror, str(Path(folder) / name)) from None
    return (
        f"the Snakemake workflow written to {folder}/ ({', '.join(FILES)}); run it with\n"
        f"  snakemake -s {folder}/Snakefile --cores 2 --config samplesheet=samples.csv gtf=genes.gtf outdir=results\n"
        f"(add --use-conda to run each rule in {folder}/environment.yaml; settings in {folder}/config.yaml)"
    )
