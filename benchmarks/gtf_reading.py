"""Reading a full-size GTF: `read_tss` (gene lines filtered before pyranges parses attributes) against
pyranges.read_gtf on the whole file, in one run. The GTF is the GENCODE v29 excerpt of tests/data
(119 genes with transcripts, exons, CDS, UTRs) tiled 500 times along the genome: 2.5 M lines,
about the size of a full GENCODE annotation.

    python -m benchmarks.gtf_reading [--work /tmp/chromepredict-bench]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import subprocess
import sys
from pathlib import Path

EXCERPT = Path(__file__).parents[1] / "tests" / "data" / "gencode_human.gtf.gz"
CODE = {
    "chromepredict read_tss (protein-coding genes)": "from chromepredict.io.annotation import read_tss; n = len(read_tss(PATH))",
    "pyranges.read_gtf (whole file)": "import pyranges as pr; n = len(pr.read_gtf(PATH, as_df=True))",
}


def tile(out: Path, copies: int = 500) -> None:
    with gzip.open(EXCERPT, "rt") as handle:
        records = [line.split("\t") for line in handle if not line.startswith("#")]
    with open(out, "w") as gtf:
        for k in range(copies):
            for fields in records:
                shifted = [*fields]
                shifted[3], shifted[4] = str(int(fields[3]) + k * 300_000), str(int(fields[4]) + k * 300_000)
                shifted[8] = fields[8].replace("ENSG", f"ENSG{k:03d}")
                gtf.write("\t".join(shifted))


def run(code: str, path: Path) -> tuple[float, float]:
    """Seconds and peak memory (GiB) of one fresh interpreter running ``code``."""
    script = f"import time, resource; t = time.perf_counter(); PATH = {str(path)!r}; {code}; print(time.perf_counter() - t)"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return float(out.strip().splitlines()[-1]), max(peak, before) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / "gencode-tiled.gtf"
    if not path.is_file():
        tile(path)
    with open(path) as handle:
        lines = sum(1 for _ in handle)
    print(f"{path}: {lines:,} lines, {path.stat().st_size / 2**30:.2f} GiB")
    for name, code in CODE.items():
        seconds, peak = run(code, path)
        print(f"{name:48s} {seconds:6.1f} s   peak memory of the runs so far {peak:.2f} GiB")


if __name__ == "__main__":
    main()
