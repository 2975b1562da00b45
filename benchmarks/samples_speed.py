"""Many samples: a 10-sample samplesheet (``sample,mark,bigwig``) through
``chromepredict predict --samplesheet S --gtf G -o OUT`` with the default threads, on the genome-wide
synthetic case (benchmarks/synthetic.py): wall time and samples per minute, against one
single-sample ``predict`` in the same run; then a check that ``OUT/<sample>/predictions.tsv`` equals
a single-sample ``predict`` of that sample's tracks (to 1e-6).

Sample 1 is the synthetic case's own five bigWigs; samples 2–10 are new bigWigs over the same genes
with other random signal (seeded by sample and mark), written once into WORK/samples/ (about 10 s per track),
so that no two samples share a file or a reader's cache.

    python -m benchmarks.samples_speed [--work /tmp/chromepredict-bench] [--samples 10] [--check S03]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.synthetic import build, make_genes, write_bigwig
from chromepredict.io.marks import CORE_MARKS


def sample_tracks(work: Path, n_samples: int) -> dict[str, dict[str, Path]]:
    """Sample name → mark → bigWig; writes the missing ones."""
    genes = make_genes(20_000, np.random.default_rng(0))  # the genes of build(work) with its defaults
    samples = {"S01": {m: work / f"synthetic-{m}.bw" for m in CORE_MARKS}}
    for k in range(2, n_samples + 1):
        folder = work / "samples" / f"S{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        samples[f"S{k:02d}"] = {}
        for m, mark in enumerate(CORE_MARKS):
            path = folder / f"{mark}.bw"
            if not path.is_file():
                write_bigwig(path.with_suffix(".tmp"), genes, np.random.default_rng([1000 + k, m]))
                path.with_suffix(".tmp").rename(path)
            samples[f"S{k:02d}"][mark] = path
    return samples


def read_predictions(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", comment="#")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--check", default="S03", help="the sample compared with a single-sample predict")
    args = parser.parse_args()
    work = args.work
    if not (work / "genes.gtf").is_file():
        build(work)
    samples = sample_tracks(work, args.samples)
    sheet = work / "samples.csv"
    rows = [(name, mark, str(path)) for name, tracks in samples.items() for mark, path in tracks.items()]
    pd.DataFrame(rows, columns=["sample", "mark", "bigwig"]).to_csv(sheet, index=False)
    out = work / "samples-out"
    shutil.rmtree(out, ignore_errors=True)
    cli = [sys.executable, "-m", "chromepredict", "-q", "predict", "--gtf", str(work / "genes.gtf")]

    start = time.perf_counter()
    subprocess.run([*cli, "--samplesheet", str(sheet), "-o", str(out)], check=True)
    wall = time.perf_counter() - start

    single = work / f"single-{args.check}.tsv"
    marks = [f"--mark={m}={p}" for m, p in samples[args.check].items()]
    start = time.perf_counter()
    subprocess.run([*cli, *marks, "-o", str(single)], check=True)
    one = time.perf_counter() - start

    print(f"{len(samples)} samples × {len(CORE_MARKS)} tracks, 20,000 genes each, default threads")
    print(f"predict --samplesheet: {wall:6.1f} s   {60 * len(samples) / wall:5.1f} samples/min")
    print(
        f"one single-sample predict: {one:6.2f} s   ({60 / one:5.1f} samples/min; "
        f"the samplesheet run takes ×{wall / (one * len(samples)):.2f} of {len(samples)} such runs)"
    )
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    print(f"summary.tsv: {(summary['status'] == 'ok').sum()} of {len(summary)} samples ok")
    ours, theirs = read_predictions(out / args.check / "predictions.tsv"), read_predictions(single)
    assert list(ours["gene_id"]) == list(theirs["gene_id"]), "gene order differs"
    diff = np.abs(ours["p_high"].to_numpy() - theirs["p_high"].to_numpy()).max()
    same_calls = (ours["call"] == theirs["call"]).all()
    others = [np.abs(read_predictions(out / s / "predictions.tsv")["p_high"] - ours["p_high"]).max()
              for s in samples if s != args.check]  # fmt: skip
    print(
        f"{args.check}: samplesheet vs single-sample predict, max |Δ p_high| = {diff:.2g} over "
        f"{len(ours):,} genes, calls identical: {same_calls}; (the other samples differ from it by "
        f"up to {max(others):.2f}, so a mix-up would show)"
    )
    if diff > 1e-6 or not same_calls:
        raise SystemExit("samplesheet output differs from the single-sample predict")


if __name__ == "__main__":
    main()
