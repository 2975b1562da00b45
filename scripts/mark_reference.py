"""Calibrate the mark-identity reference shipped in ``chromepredict/data/mark_identity.json``.

    python -m scripts.mark_reference [--views /tmp/chromepredict-views] [--data ../shared/data/roadmap]

Reads every view of every cell type (``scripts/views.py`` builds them; coarse views are not checked
and so not used), computes the shape statistics of :mod:`chromepredict.io.identity` for each track
from the windows chromepredict reads (TSS ± 5 kb, 100-bp bins, 5′→3′, protein-coding genes of
``genes.gtf``), and writes each mark's range per family and the orders between marks that hold in
every view, also on random sets of the fewest genes the check reads (:func:`calibrated`).
``benchmarks/mark_identity.py`` measures what the check says with it.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

from chromepredict.io import identity
from chromepredict.io.annotation import read_genes
from chromepredict.io.extraction import read_windows
from chromepredict.io.features import WindowSpec
from chromepredict.io.marks import mark_order
from chromepredict.io.tracks import Track
from scripts.views import list_views, load_view

VIEWS = Path("/tmp/chromepredict-views")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "roadmap"
REFERENCE = Path(__file__).resolve().parents[1] / "chromepredict" / "data" / "mark_identity.json"


class Sample:
    """The windows of one cell type's tracks through one pipeline, as chromepredict reads them."""

    def __init__(self, name: str, files: dict[str, Path], gtf: Path, spec: WindowSpec = WindowSpec()):
        self.name = name
        marks = mark_order(files)
        self.tracks = [Track.open(str(files[m]), m) for m in marks]
        genes = read_genes(gtf, "protein_coding").genes
        self.features = read_windows(genes, self.tracks, spec).features
        self.minus = (genes["strand"] == "-").to_numpy()
        self.spec = spec

    def checked(
        self,
        labels: dict[str, str] | None = None,
        rows: np.ndarray | None = None,
        factor: float | np.ndarray = 1.0,
        min_genes: int = identity.MIN_GENES,
        backwards: bool = False,
    ) -> list[identity.Checked]:
        """The checkable tracks, named ``CELL/VIEW:MARK`` and each given as ``labels[its mark]``
        (default: its own mark; a mark missing from ``labels`` is left out), on the genes at
        ``rows``, times ``factor`` (one, or one per track); ``backwards``: every window read the
        other way (a GTF's strands inverted, its TSS kept)."""
        labels = labels or {t.mark: t.mark for t in self.tracks}
        keep = [m for m, t in enumerate(self.tracks) if t.mark in labels]
        features = self.features[:, keep] if rows is None else self.features[np.ix_(rows, keep)]
        if backwards:
            features = features[:, :, ::-1]
        minus = self.minus if rows is None else self.minus[rows]
        tracks = [
            (f"{self.name}:{t.mark}", labels[t.mark], t.profile.kind) for t in (self.tracks[m] for m in keep)
        ]
        genomic = self.spec.orientation == "genomic"
        scale = np.broadcast_to(np.asarray(factor, dtype=np.float32), (len(self.tracks),))[keep]
        return identity.checkable(
            features * scale[None, :, None], minus, self.spec.edges(), genomic, tracks, min_genes
        )


def view_samples(
    views: Path, gtf: Path, cell_types: list[str] | None = None
) -> dict[tuple[str, str], Sample]:
    """Every complete view of ``views`` (of ``cell_types``, default all) as a :class:`Sample`."""
    found = list_views(views)
    return {
        (cell, view): Sample(f"{cell}/{view}", load_view(views, cell, view), gtf)
        for cell in sorted(found)
        if cell_types is None or cell in cell_types
        for view in found[cell]
    }


#: Random sets of MIN_GENES genes drawn from each view for the calibration (and their seed).
SUBSETS, SEED = 20, 1


def calibrated(samples: list[Sample], subsets: int = SUBSETS, seed: int = SEED) -> identity.Reference:
    """The reference from ``samples``, whose orders must also hold on ``subsets`` random sets of
    MIN_GENES genes of each (the fewest the check reads)."""
    rng = np.random.default_rng(seed)
    few = []
    for sample in samples:
        n = len(sample.minus)
        for _ in range(subsets):
            few.append(sample.checked(rows=np.sort(rng.choice(n, min(identity.MIN_GENES, n), replace=False))))
    return identity.calibrate([s.checked() for s in samples], [c for c in few if c])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=Path, default=VIEWS)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with genes.gtf")
    parser.add_argument("--out", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    samples = view_samples(args.views, args.data / "genes.gtf")
    if not samples:
        print(f"error: no views in {args.views}; build them with python -m scripts.views", file=sys.stderr)
        return 1
    checked = [s for s in samples.values() if s.checked()]
    reference = calibrated(checked)
    about = {
        "about": "Shape statistics of correctly named tracks (chromepredict.io.identity): each core mark's "
        "range per family of track, and the orders between two marks, one of them the mark a statistic "
        "characterises, that held by at least MIN_GAP in every sample.",
        "regenerate": "python -m scripts.views --data ../shared/data/roadmap --out /tmp/chromepredict-views; "
        "python -m scripts.mark_reference",
        "calibrated_on": sorted(s.name for s in checked),
        "gene_sets": f"ranges: all genes of each; orders: also {SUBSETS} random sets of {identity.MIN_GENES} "
        f"genes of each (seed {SEED})",
        "date": datetime.date.today().isoformat(),
    }
    args.out.write_text(reference.to_json(about), encoding="utf-8")
    print(f"{len(samples)} samples → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
