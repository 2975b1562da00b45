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
   B's own track absent; and windows read backwards (a GTF's strands inverted, its TSS kept).
3. Why at least MIN_GENES genes with signal: the false alarms on random gene subsets with a lower
   minimum, and how far the statistics scatter on subsets of each size.
4. Other settings (PSEUDO, MIN_GAP, FAR), leave one cell type out: false alarms and detection.
5. Tracks that are not signal (TrackProfile.not_signal) among the views' and the bundled tracks.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from chromepredict.io import identity
from chromepredict.io.datasets import example_data
from chromepredict.io.marks import CORE_MARKS
from scripts.mark_reference import DATA, VIEWS, Sample, calibrated, view_samples

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
    tally(
        "views, CPM-like (each track ÷ its total)",
        ((s, s.checked(factor=cpm_factor(s))) for s in views.values()),
    )
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


def backwards(samples: dict[str, Sample], repeats: int, rng) -> list[tuple[str, int, int]]:
    """Rows (what, inputs, inputs said to be read backwards): every window of a view or of the
    bundled data read the other way, on all genes and on random sets of 100 and 200 genes."""
    said = "fall from upstream of the TSS into the gene"
    ref = identity.reference()
    views = {k: s for k, s in samples.items() if not k.startswith("example")}
    cases = {
        "views, all genes": [s.checked(backwards=True) for s in views.values()],
        "bundled example (E003, E123)": [
            s.checked(backwards=True) for k, s in samples.items() if k.startswith("example")
        ],
    }
    for size in (100, 200):
        cases[f"views, {repeats} random sets of {size} genes"] = [
            s.checked(rows=np.sort(rng.choice(len(s.minus), size, replace=False)), backwards=True)
            for s in views.values()
            for _ in range(repeats)
        ]
    return [
        (what, len(inputs), sum(any(said in w for w in warned(c, ref)) for c in inputs))
        for what, inputs in cases.items()
    ]


def _rewritten_gtf(source: Path, target: Path, inverted: bool) -> Path:
    """The bundled GTF with each record's strand inverted around its TSS (``inverted``), or with
    every record a 1-bp TSS on the + strand (a TSS list whose strands were lost)."""
    out = []
    for line in gzip.decompress(source.read_bytes()).decode().splitlines(keepends=True):
        fields = line.rstrip("\n").split("\t")
        if line.startswith("#") or len(fields) != 9:
            out.append(line)
            continue
        start, end, strand = int(fields[3]), int(fields[4]), fields[6]
        tss, length = (start if strand == "+" else end), end - start
        if not inverted:
            start, end, strand = tss, tss, "+"
        elif strand == "+":
            start, end, strand = max(1, tss - length), tss, "-"
        else:
            start, end, strand = tss, tss + length, "+"
        fields[3], fields[4], fields[6] = str(start), str(end), strand
        out.append("\t".join(fields) + "\n")
    target.write_text("".join(out))
    return target


def backwards_cost() -> list[tuple[str, str, str, int, str]]:
    """Rows (cell type, GTF, AUC, calls changed against the GTF as it is, said): the default model
    on the bundled tracks and expression with the bundled GTF, its strands inverted (TSS kept) and
    all on + (through ``chromepredict predict``)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for cell in ("E003", "E123"):
            data = example_data(cell)
            gtfs = {
                "as bundled": data["gtf"],
                "strands inverted, TSS kept": _rewritten_gtf(
                    data["gtf"], Path(folder) / "inverted.gtf", True
                ),
                "1-bp TSSs, all on +": _rewritten_gtf(data["gtf"], Path(folder) / "plus.gtf", False),
            }
            calls = {}
            for name, gtf in gtfs.items():
                out = Path(folder) / f"{cell}-{len(calls)}.tsv"
                done = subprocess.run(
                    [sys.executable, "-m", "chromepredict", "predict", *map(str, data["tracks"]), "--gtf", str(gtf),
                     "--expression", str(data["expression"]), "-o", str(out), "-q"],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                table = pd.read_csv(out, sep="\t").set_index("gene_id")["call"]
                calls[name] = table
                changed = int((table != calls["as bundled"].reindex(table.index)).sum())
                summary = json.loads(out.with_suffix(".json").read_text())["summary"]
                said = "read backwards" in done.stderr or "strands lost" in done.stderr
                rows.append((cell, name, f"{summary['auc']:.3f}", changed, "yes" if said else "no"))
    return rows


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


def not_signal(samples: dict[str, Sample]) -> list[tuple[str, int, int, int]]:
    """(kind of track, tracks, least distinct values sampled, tracks said not to be signal)."""
    kinds: dict[str, list] = {}
    for sample in samples.values():
        for track in sample.tracks:
            kinds.setdefault(track.profile.kind, []).append(track.profile)
    return [
        (kind, len(found), min(p.distinct_values for p in found), sum(p.not_signal() for p in found))
        for kind, found in sorted(kinds.items())
    ]


def markdown(rows, header) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def detection_tables(shipped, loco) -> str:
    parts = []
    for fam in ("signal", "peaks"):
        for case, what in (("swap", "A and B swapped"), ("absent", "A given as B, no track given as A")):
            rows = []
            n = next(v[1] for k, v in shipped.items() if k[:2] == (fam, case))
            for a in CORE_MARKS:
                cells = [
                    "—" if a == b else f"{shipped[fam, case, a, b][0]} · {loco[fam, case, a, b][0]}"
                    for b in CORE_MARKS
                ]
                rows.append((f"**{a}**", *cells))
            parts.append(
                f"{fam} views, {what}: of {n} views, found with the shipped reference · leave one cell type out "
                "(rows: the track's mark A; columns: given as B)\n"
            )
            parts.append(markdown(rows, ["A \\ B", *CORE_MARKS]) + "\n")
    return "\n".join(parts)


#: Looser and stricter settings than the shipped ones, measured leave one cell type out.
GRID = [(pseudo, gap, far) for pseudo in (0.05, 0.1) for gap in (0.5, 0.75) for far in (1.0, 1.5)]


def sensitivity(samples: dict[str, Sample], repeats: int) -> list[tuple]:
    """Leave one cell type out, per setting (PSEUDO, MIN_GAP, FAR): correct inputs with a warning,
    and swaps and lone mislabels found (all families and pairs)."""
    rows = []
    for pseudo, gap, far in GRID:
        with mock.patch.multiple(identity, PSEUDO=pseudo, MIN_GAP=gap, FAR=far):
            loco = leave_one_out(samples)
            alarms = sum(r[3] for r in false_alarms(samples, loco, repeats, np.random.default_rng(0)))
            found = detection(samples, loco)
        total = {
            case: [sum(v[i] for k, v in found.items() if k[1] == case) for i in (0, 1)]
            for case in ("swap", "absent")
        }
        shipped = (pseudo, gap, far) == (identity.PSEUDO, identity.MIN_GAP, identity.FAR)
        rows.append(
            (
                f"{pseudo}, {gap}, {far}" + (" (shipped)" if shipped else ""),
                alarms,
                "{}/{}".format(*total["swap"]),
                "{}/{}".format(*total["absent"]),
            )
        )
    return rows


def leave_one_out(samples: dict[str, Sample]):
    """Each cell type's inputs against a reference calibrated on the other cell type's views."""
    by_cell = {
        cell: calibrated([s for k, s in samples.items() if k.startswith(other) and s.checked()])
        for cell, other in (("E003", "E123"), ("E123", "E003"))
    }
    return lambda sample: by_cell["E003" if "E003" in sample.name else "E123"]


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
    refs = {"shipped": lambda s: shipped, "loco": leave_one_out(samples)}

    alarms = {k: false_alarms(samples, f, args.repeats, np.random.default_rng(0)) for k, f in refs.items()}
    print("\n### (a) False alarms: correct inputs with a warning\n")
    rows = [(*a[:3], a[3], b[3]) for a, b in zip(alarms["shipped"], alarms["loco"], strict=True)]
    print(
        markdown(
            rows,
            ["correct input", "inputs", "tracks checked", "shipped reference", "leave one cell type out"],
        )
    )

    print("\n### (b) Detection: views where a warning names the mislabelled track\n")
    print(detection_tables(*(detection(samples, f) for f in refs.values())))

    print("\n### (c) Windows read backwards (every window the other way: a GTF's strands inverted)\n")
    rows = backwards(samples, args.repeats, np.random.default_rng(0))
    print(markdown(rows, ["input, read backwards", "inputs", "said (shipped reference)"]))
    print("\nWhat it costs: the default model on the bundled data, through `chromepredict predict`\n")
    print(markdown(backwards_cost(), ["cell type", "GTF", "AUC", "calls changed", "said"]))

    drawn = subsets(samples, args.repeats, np.random.default_rng(0))
    least = {k: minimum(drawn, f) for k, f in refs.items()}
    print("\n### The least number of genes with signal: random sets of 25–200 genes of every view\n")
    rows = [(*a[:3], a[3], b[3]) for a, b in zip(least["shipped"], least["loco"], strict=True)]
    print(
        markdown(
            rows, ["least genes", "inputs", "tracks checked", "shipped reference", "leave one cell type out"]
        )
    )
    print(
        "\n### How the statistics scatter on random gene subsets (SD over the subsets of one track, log2)\n"
    )
    print(markdown(scatter(drawn), ["genes", "median SD", "largest SD"]))

    print("\n### Other settings, leave one cell type out (PSEUDO, MIN_GAP, FAR; REVERSAL 1.0)\n")
    rows = sensitivity(samples, max(1, args.repeats // 4))
    print(markdown(rows, ["setting", "correct inputs with a warning", "swaps found", "lone mislabels found"]))

    print("\n### Tracks that are not signal: the views' and the bundled tracks\n")
    print(
        markdown(not_signal(samples), ["kind", "tracks", "least distinct values sampled", "said not signal"])
    )


if __name__ == "__main__":
    main()
