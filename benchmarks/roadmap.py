"""The shared Roadmap development data as the benchmarks read it (not part of the package)."""

from __future__ import annotations

import argparse
from pathlib import Path

from chromepredict.io.expression import read_expression
from chromepredict.io.features import FeatureSet, WindowSpec
from chromepredict.io.labelling import with_expression
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.sources import from_tracks

DEFAULT_DATA = Path(__file__).parents[1] / ".." / "shared" / "data" / "roadmap"


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared roadmap/ folder")


def load_cell_type(
    root: Path, eid: str, orientation: str = "5to3", gene_type: str | None = "protein_coding"
) -> FeatureSet:
    """One cell type's genes from its bigWigs and genes.gtf, labelled by the median rule."""
    tracks = {m: str(root / eid / f"{m}.bw") for m in CORE_MARKS}
    data = from_tracks(tracks, root / "genes.gtf", WindowSpec(orientation=orientation), gene_type)
    return with_expression(data, read_expression(root / eid / "expression.tsv"))
