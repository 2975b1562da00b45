"""``chromepredict extract``: the feature matrix [genes, marks, bins] of any set of tracks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

from chromepredict.cli.app import command
from chromepredict.cli.options import TrackOptions, WindowOptions, text_option
from chromepredict.cli.rules import FREE, Rule
from chromepredict.system.report import Report

#: Names a table reader would open: -o holds a NumPy archive, never a table.
_TABLE_SUFFIXES = (".tsv", ".csv", ".txt", ".tab", ".tsv.gz", ".csv.gz", ".txt.gz", ".bed", ".xlsx")


def _npz_name(values: Mapping[str, object]) -> str | None:
    """-o given a table's name: the fix (-o NAME.npz, and --tsv for the table), else None."""
    output = str(values["output"])
    if output.lower().endswith(_TABLE_SUFFIXES):
        table = output.rsplit(".", 2 if output.lower().endswith(".gz") else 1)[0]
        tsv = "" if values["tsv"] else f" (and --tsv {output} for the long table)"
        return f"-o {output}: extract's -o is a NumPy .npz archive, not a table; give -o {table}.npz{tsv}"
    return None


RULES = {
    "tracks": FREE, "gtf": FREE, "mark": FREE, "gene_type": FREE, "all_genes": FREE, "threads": FREE, "strict": FREE,
    "flank": FREE, "bin_size": FREE, "orientation": FREE, "output": Rule(check=_npz_name), "tsv": FREE,
}  # fmt: skip


@command(RULES, short_help="Read TSS-centred bins from bigWigs into an array [genes, marks, bins].")
def extract(
    report: Report,
    inputs: TrackOptions,
    window: WindowOptions,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE", help="Output .npz (array + gene table).")
    ] = "features.npz",
    tsv: Annotated[
        str | None,
        text_option("--tsv", "FILE", "Also write a long-format TSV here (its JSON sidecar beside it)."),
    ] = None,
) -> None:
    """Read TSS-centred bins from bigWigs into an array [genes, marks, bins] (.npz, and a long TSV)."""
    from chromepredict.io.features import FEATURES_NPZ, FEATURES_TSV
    from chromepredict.system.files import SIDECAR, check_outputs, delivered_together, sidecar_path

    tracks, spec = inputs.inputs(), window.spec()
    sidecar = sidecar_path(tsv) if tsv is not None else None
    check_outputs(
        tracks.paths,
        files=[
            ("-o", output, FEATURES_NPZ),
            ("--tsv", tsv, FEATURES_TSV),
            ("its JSON sidecar", sidecar, SIDECAR),
        ],
    )
    data = tracks.read(spec, report=report)
    report.provenance(data.provenance)
    with delivered_together():  # the .npz, the TSV and its sidecar, or none
        data.save_npz(output)
        if tsv is not None:
            data.write_tsv(tsv)
    n, m, b = data.features.shape
    report.info(f"wrote {output} ({n} genes × {m} marks × {b} bins, orientation {data.spec.orientation})")
