"""Time `chromepredict extract` against deeptools `computeMatrix reference-point` on the same windows
of the genome-wide synthetic case (benchmarks/synthetic.py), in one run, and check the matrices agree.

    python -m benchmarks.extract_vs_computematrix [--work /tmp/chromepredict-bench] [--computematrix PATH]

deeptools needs Python ≥ 3.12 here; put it in its own venv, e.g.
    /root/.pyenv/versions/3.12.1/bin/python -m venv /tmp/dt-venv && /tmp/dt-venv/bin/pip install deeptools
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.synthetic import build
from chromepredict.io.features import FeatureSet
from chromepredict.io.marks import CORE_MARKS


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_computematrix(path: Path, n_marks: int, n_bins: int) -> tuple[list[str], np.ndarray]:
    names, rows = [], []
    with gzip.open(path, "rt") as handle:
        next(handle)  # @{json header}
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            names.append(fields[3])
            rows.append(np.array(fields[6:], dtype=float))
    matrix = np.nan_to_num(np.array(rows)).reshape(len(rows), n_marks, n_bins)
    return names, matrix


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument(
        "--computematrix", default=shutil.which("computeMatrix") or "/tmp/dt-venv/bin/computeMatrix"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = args.work
    if not (work / "genes.gtf").is_file():
        print(f"building the synthetic case in {work} …", file=sys.stderr)
        build(work)
    tracks = [str(work / f"synthetic-{m}.bw") for m in CORE_MARKS]
    chromepredict = [
        sys.executable,
        "-m",
        "chromepredict",
        "-q",
        "extract",
        *tracks,
        "--gtf",
        str(work / "genes.gtf"),
    ]
    computematrix = [
        args.computematrix, "reference-point", "--referencePoint", "TSS", "-b", "5000", "-a", "5000",
        "--binSize", "100", "--missingDataAsZero", "--averageTypeBins", "mean", "-p", "2",
        "-S", *tracks, "-R", str(work / "genes.bed"), "-o", str(work / "computematrix.gz"),
    ]  # fmt: skip
    runs = {
        "computeMatrix -p 2": computematrix,
        "extract -p 1": [*chromepredict, "-o", str(work / "extract-p1.npz"), "-p", "1"],
        "extract (default)": [*chromepredict, "-o", str(work / "extract-default.npz")],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):  # interleaved, so that every tool sees the same conditions
        for name, command in runs.items():
            times[name].append(timed(command))
    ours = FeatureSet.load_npz(work / "extract-p1.npz")
    default = FeatureSet.load_npz(work / "extract-default.npz")
    assert np.array_equal(ours.features, default.features), "-p 1 and the default threads differ"
    names, theirs = read_computematrix(work / "computematrix.gz", len(CORE_MARKS), ours.spec.n_bins)
    order = ours.genes.set_index("gene_id").index.get_indexer(names)
    diff = np.abs(ours.features[order] - theirs).max(axis=(1, 2))
    best = {k: min(v) for k, v in times.items()}
    print(
        f"genes: {len(ours.genes)} × {len(CORE_MARKS)} marks × {ours.spec.n_bins} bins; cores: {os.cpu_count()} "
        "(default threads: the available cores, at most 8)"
    )
    for name, seconds in best.items():
        ratio = best["computeMatrix -p 2"] / seconds
        runs_s = ", ".join(f"{t:.2f}" for t in times[name])
        print(
            f"{name:18s} best of {args.repeats}: {seconds:6.2f} s   speed-up vs computeMatrix ×{ratio:.2f}   ({runs_s})"
        )
    print(
        f"max |chromepredict − computeMatrix| over all bins: {diff.max():.3g}; genes differing by > 1e-3: {(diff > 1e-3).sum()}"
    )


if __name__ == "__main__":
    main()
