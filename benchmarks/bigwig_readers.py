"""Per-window cost of the bigWig readers considered for extraction, on the synthetic case.

    python -m benchmarks.bigwig_readers [--work /tmp/chromepredict-bench] [--windows 5000]

Each reader produces the same 100 bin means (missing data as 0) for TSS ± 5 kb windows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pybigtools
import pyBigWig

from benchmarks.synthetic import build
from chromepredict.io.annotation import read_tss


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument("--windows", type=int, default=5000)
    args = parser.parse_args()
    if not (args.work / "genes.gtf").is_file():
        build(args.work)
    genes = read_tss(args.work / "genes.gtf").iloc[: args.windows]
    genes = genes[genes["tss"] > 5000]
    chroms, starts = genes["chrom"].tolist(), (genes["tss"] - 5000).tolist()
    path = str(args.work / "synthetic-H3K4me3.bw")
    bw, bt = pyBigWig.open(path), pybigtools.open(path)

    def pybigwig_values():
        out = np.array([bw.values(c, s, s + 10_000, numpy=True) for c, s in zip(chroms, starts)])
        return np.nan_to_num(out).reshape(len(starts), 100, 100).mean(axis=2)

    def pybigwig_stats():
        # stats(type="mean") averages over covered bases only; rescale by coverage to count gaps as 0
        mean = [
            bw.stats(c, s, s + 10_000, type="mean", nBins=100, exact=True) for c, s in zip(chroms, starts)
        ]
        cover = [
            bw.stats(c, s, s + 10_000, type="coverage", nBins=100, exact=True) for c, s in zip(chroms, starts)
        ]
        return np.nan_to_num(np.array(mean, dtype=float)) * np.nan_to_num(np.array(cover, dtype=float))

    def pybigtools_bins():
        return np.array(
            [
                bt.values(
                    c, s, s + 10_000, bins=100, summary="mean", exact=True, uncovered=0.0, fillna=0.0, oob=0.0
                )
                for c, s in zip(chroms, starts)
            ]
        )

    results = {}
    for name, reader in [("pyBigWig values+reshape", pybigwig_values), ("pyBigWig stats(nBins) ×2", pybigwig_stats), ("pybigtools values(bins)", pybigtools_bins)]:  # fmt: skip
        start = time.perf_counter()
        results[name] = reader()
        seconds = time.perf_counter() - start
        print(f"{name:26s} {seconds / len(starts) * 1e3:7.3f} ms/window")
    reference = results["pyBigWig values+reshape"]
    for name, values in results.items():
        print(f"max |{name} − pyBigWig values| = {np.abs(values - reference).max():.2g}")


if __name__ == "__main__":
    main()
