"""Genome-wide ``compare`` against one ``predict``, in one run:

1. ``chromepredict compare --samplesheet S --gtf G --pair S01:S02`` (default model, default threads;
   two samples of the genome-wide synthetic case, benchmarks/synthetic.py, five tracks each) and
   ``chromepredict predict`` of S01's tracks, interleaved, ``--repeats`` pairs: the median of the
   pairs' ratios, in predicts;
2. peak memory of that ``compare``: maximum RSS of the largest process (``/usr/bin/time -v``) and
   the peak over time of the summed RSS of the process and its children (sampled every 10 ms);
3. a check of the output (contributions add up to delta) and where the time of one ``compare``
   and of one ``predict`` goes (``benchmarks/phases.py``).

S02 is sample 2 of benchmarks/samples_speed.py (other random signal over the same genes), written
once into WORK/samples/.

    python -m benchmarks.compare_speed [--work /tmp/chromepredict-bench] [--repeats 3]
                                       [--skip ratio,memory,phases] [--model NAME|PATH]

``--model`` compares with another model than compare's default (a pretrained name, or a folder or
``.onnx`` of another version of a model, to time its cost in the same run).
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

from benchmarks.predict_speed import phases, synthetic_tracks, tree_peak
from benchmarks.samples_speed import sample_tracks
from benchmarks.synthetic import build


def pair_sheet(work: Path) -> Path:
    """A samplesheet of S01 (the synthetic case's tracks) and S02."""
    samples = sample_tracks(work, 2)
    sheet = work / "pair.csv"
    rows = [(name, mark, str(path)) for name, tracks in samples.items() for mark, path in tracks.items()]
    pd.DataFrame(rows, columns=["sample", "mark", "bigwig"]).to_csv(sheet, index=False)
    return sheet


def timed(command: list[str], out: Path | None = None) -> float:
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: ratio, memory, phases")
    parser.add_argument("--model", help="compare's model (default: compare's default)")
    args = parser.parse_args()
    skip, work = set(args.skip.split(",")), args.work
    if not (work / "genes.gtf").is_file():
        build(work)
    sheet, gtf, out = pair_sheet(work), str(work / "genes.gtf"), work / "compare-out"
    compare = ["compare", "--samplesheet", str(sheet), "--gtf", gtf, "--pair", "S01:S02", "-o", str(out)]
    if args.model:
        compare += ["--model", args.model]
    predict = ["predict", *synthetic_tracks(work), "--gtf", gtf, "-o", str(work / "predictions-compare.tsv")]
    cli = [sys.executable, "-m", "chromepredict", "-q"]

    if "ratio" not in skip:
        times = {"compare": [], "predict": []}
        for _ in range(args.repeats):
            times["compare"].append(timed([*cli, *compare], out))
            times["predict"].append(timed([*cli, *predict]))
        ratios = np.array(times["compare"]) / np.array(times["predict"])
        print(f"compare of two genome-wide samples against one predict, {args.repeats} interleaved pairs")
        for name, values in times.items():
            print(f"{name:8s} median {np.median(values):6.2f} s   ({', '.join(f'{t:.2f}' for t in values)})")
        print(f"compare / predict: median of the pairs' ratios ×{np.median(ratios):.2f} "
              f"({', '.join(f'{r:.2f}' for r in ratios)}): {np.median(ratios):.2f} predicts")  # fmt: skip

    if "memory" not in skip:
        shutil.rmtree(out, ignore_errors=True)
        result = subprocess.run(
            ["/usr/bin/time", "-v", *cli, *compare], check=True, capture_output=True, text=True
        )
        largest = int(
            next(line for line in result.stderr.splitlines() if "Maximum resident" in line).split()[-1]
        )
        shutil.rmtree(out, ignore_errors=True)
        peak, most = tree_peak([*cli, *compare], "rss")
        print(f"\npeak memory of one genome-wide compare: largest process {largest / 1024:.0f} MiB "
              f"(/usr/bin/time -v); summed RSS of the process tree {peak:.0f} MiB (up to {most} processes)")  # fmt: skip

    if "phases" not in skip:
        shutil.rmtree(out, ignore_errors=True)
        phases(compare)
        table = pd.read_csv(out / "S01_vs_S02.tsv", sep="\t", comment="#")
        contributions = table[[c for c in table if c.startswith("contribution_")]].sum(axis=1)
        print(f"S01_vs_S02: {len(table):,} genes; max |sum of contributions − delta| "
              f"{np.abs(contributions - table['delta']).max():.1e} (6 decimals in the table)")  # fmt: skip
        phases(predict)


if __name__ == "__main__":
    main()
