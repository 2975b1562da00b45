"""What the mark-identity check (chromepredict.io.identity) says on correct and on mislabelled input.

    python -m benchmarks.mark_identity [--views /tmp/chromepredict-views] [--data ../shared/data/roadmap]
                                       [--repeats 20]

Every view of E003 and E123 that the check reads (``scripts/views.py``; coarse views are not
checked) and the bundled example tracks are read once as chromepredict reads them (TSS ± 5 kb,
100-bp bins, 5′→3′); the tracks' labels, genes, marks and scale are then varied on those windows.
Each figure is given twice: against the shipped reference (calibrated on both cell types) and
leave-one-cell-type-out (each cell type's inputs against a reference calibrated on the other's
views alone).

1. False alarms: inputs with at least one warning among correct inputs — every view, the bundled
   data, every view times 1e-6, 1e-3, 1e3, 1e6 and CPM-like (÷ the track's total, × 1e6), random
   gene subsets (``--repeats`` per size and view), every subset of 1–4 marks.
2. Detection, per view family: for every ordered pair (true mark A, given as B), the share of
   views where a warning names A's track when A and B are swapped, and when A is given as B with
   B's own track absent.
3. Why at least MIN_GENES genes: how far the statistics scatter on random gene subsets of each size
   (the largest standard deviation over views and marks), and the false alarms without the minimum.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from chromepredict.io import identity
from chromepredict.io.datasets import example_data
from chromepredict.io.marks import CORE_MARKS
from scripts.mark_reference import DATA, VIEWS, Sample, view_samples

SIZES = (100, 150, 200, 300)
FACTORS = {"×1e-6": 1e-6, "×1e-3": 1e-3, "×1e3": 1e3, "×1e6": 1e6}


def family(sample: Sample) -> str | None:
    kinds = {identity.FAMILIES.get(t.profile.kind) for t in sample.tracks}
    return kinds.pop() if len(kinds) == 1 else None


def warned(checked: list[identity.Checked], ref: identity.Reference) -> list[str]:
    return identity.warnings_for(checked, ref)


def cpm_factor(sample: Sample) -> np.ndarray:
    """Per track, 1e6 ÷ its total in the windows (CPM-like: each track its own factor)."""
    totals = sample.features.sum(axis=(0, 2), dtype=np.float64)
    return (1e6 / np.where(totals > 0, totals, 1.0)).astype(np.float32)


def false_alarms(samples: dict[str, Sample], ref_for, repeats: int, rng) -> list[tuple[str, int, int, int]]:
    """Rows (what, inputs, tracks checked, inputs with a warning)."""
    rows = []

    def tally(what: str, inputs):
        n = tracks = alarms = 0
        for sample, checked in inputs:
            n += 1
            tracks += len(checked)
            alarms += bool(warned(checked, ref_for(sample)))
        rows.append((what, n, tracks, alarms))

    views = {k: s for k, s in samples.items() if not k.startswith("example")}
    for cell in ("E003", "E123"):
        tally(f"views of {cell}", ((s, s.checked()) for k, s in views.items() if k.startswith(cell)))
    tally(
        "bundled example (E003, E123)",
        ((s, s.checked()) for k, s in samples.items() if k.startswith("example")),
    )
    for label, factor in FACTORS.items():
        tally(f"views {label}", ((s, s.checked(factor=factor)) for s in views.values()))
    cpm = []
    for s in views.values():
        scaled = Sample.__new__(Sample)
        scaled.__dict__.update(s.__dict__, features=s.features * cpm_factor(s)[None, :, None])
        cpm.append((s, scaled.checked()))
    tally("views, CPM-like (each track ÷ its total)", cpm)
    for size in SIZES:
        tally(
            f"views, {repeats} random sets of {size} genes",
            (
                (s, s.checked(rows=np.sort(rng.choice(len(s.minus), size, replace=False))))
                for s in views.values()
                for _ in range(repeats)
            ),
        )
    for k in range(1, 5):
        tally(
            f"views, every subset of {k} marks",
            (
                (s, s.checked(labels={m: m for m in subset}))
                for s in views.values()
                for subset in itertools.combinations(CORE_MARKS, k)
            ),
        )
    return rows


def detection(samples: dict[str, Sample], ref_for) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """(family, case, true mark, given as) → (views where A's track is named, views)."""
    out: dict[tuple[str, str, str, str], list[int]] = {}
    for key, sample in samples.items():
        fam = family(sample)
        if key.startswith("example") or fam is None:
            continue
        for a, b in itertools.permutations(CORE_MARKS, 2):
            name = f"{sample.name}:{a}"
            cases = {
                "swap": {**{m: m for m in CORE_MARKS}, a: b, b: a},
                "absent": {**{m: m for m in CORE_MARKS if m != b}, a: b},
            }
            for case, labels in cases.items():
                said = warned(sample.checked(labels=labels), ref_for(sample))
                tally = out.setdefault((fam, case, a, b), [0, 0])
                tally[0] += any(name in w for w in said)
                tally[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def subsets(samples: dict[str, Sample], repeats: int, rng) -> list[tuple[Sample, np.ndarray]]:
    """``repeats`` random gene subsets of 25, 50, 100 and 200 genes of every view."""
    views = [s for k, s in samples.items() if not k.startswith("example")]
    return [
        (s, np.sort(rng.choice(len(s.minus), size, replace=False)))
        for size in (25, 50, 100, 200)
        for s in views
        for _ in range(repeats)
    ]


def scatter(drawn: list[tuple[Sample, np.ndarray]]) -> list[tuple[int, str, str]]:
    """(genes, median and largest standard deviation of a statistic over the subsets of one view and
    mark) per subset size, every track checked whatever its genes with signal."""
    rows = []
    for size in sorted({len(r) for _, r in drawn}):
        values: dict[tuple[str, str], list[float]] = {}
        for sample, genes in drawn:
            if len(genes) == size:
                for c in sample.checked(rows=genes, min_genes=1):
                    for statistic, value in c.stats.items():
                        values.setdefault((c.name, statistic), []).append(value)
        spread = np.array([np.std(v) for v in values.values() if len(v) > 1])
        rows.append((size, f"{np.median(spread):.2f}", f"{spread.max():.2f}"))
    return rows


def minimum(drawn: list[tuple[Sample, np.ndarray]], ref_for) -> list[tuple[int, int, int, int]]:
    """(least genes with signal, inputs, tracks checked, inputs with a warning) on the random subsets."""
    rows = []
    for least in (1, 25, 50, identity.MIN_GENES):
        tracks = alarms = 0
        for sample, genes in drawn:
            checked = sample.checked(rows=genes, min_genes=least)
            tracks += len(checked)
            alarms += bool(warned(checked, ref_for(sample)))
        rows.append((least, len(drawn), tracks, alarms))
    return rows


def markdown(rows, header) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def detection_tables(found, title: str) -> str:
    parts = []
    for fam in ("signal", "peaks"):
        for case, what in (("swap", "A and B swapped"), ("absent", "A given as B, B's track absent")):
            rows = []
            for a in CORE_MARKS:
                cells = []
                for b in CORE_MARKS:
                    hit, n = found.get((fam, case, a, b), (0, 0))
                    cells.append("—" if a == b else f"{hit}/{n}")
                rows.append((f"**{a}**", *cells))
            parts.append(f"{title}, {fam} views, {what} (rows: true mark A; columns: given as B)\n")
            parts.append(markdown(rows, ["A \\ B", *CORE_MARKS]) + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=Path, default=VIEWS)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with genes.gtf")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    samples = {f"{c}/{v}": s for (c, v), s in view_samples(args.views, args.data / "genes.gtf").items()}
    for cell in ("E003", "E123"):
        example = example_data(cell)
        files = {next(m for m in CORE_MARKS if m in p.name): p for p in example["tracks"]}
        samples[f"example/{cell}"] = Sample(f"example/{cell}", files, example["gtf"])
    shipped = identity.reference()
    by_cell = {
        cell: identity.calibrate(
            [c for k, s in samples.items() if k.startswith(other) for c in [s.checked()] if c]
        )
        for cell, other in (("E003", "E123"), ("E123", "E003"))
    }

    def loco(sample: Sample) -> identity.Reference:
        return by_cell["E003" if "E003" in sample.name else "E123"]

    for title, ref_for in (("shipped reference", lambda s: shipped), ("leave one cell type out", loco)):
        rng = np.random.default_rng(0)
        print(f"\n### False alarms on correct input ({title})\n")
        rows = false_alarms(samples, ref_for, args.repeats, rng)
        print(markdown(rows, ["correct input", "inputs", "tracks checked", "inputs with a warning"]))
        print(f"\n### Detection ({title})\n")
        print(detection_tables(detection(samples, ref_for), title))
        drawn = subsets(samples, args.repeats, rng)
        print(f"\n### The least number of genes with signal ({title}; random sets of 25–200 genes)\n")
        print(
            markdown(
                minimum(drawn, ref_for), ["least genes", "inputs", "tracks checked", "inputs with a warning"]
            )
        )
    print("\n### How the statistics scatter on random gene subsets (SD over subsets of one track, log2)\n")
    print(
        markdown(
            scatter(subsets(samples, args.repeats, np.random.default_rng(1))),
            ["genes", "median SD", "largest SD"],
        )
    )


if __name__ == "__main__":
    main()
