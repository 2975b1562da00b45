"""Genome-wide synthetic case: ~20,000 protein-coding genes on hg19 and five bigWigs with signal
around every TSS (TSS ± 10 kb, fully covered by runs of 20–200 bp), plus a GTF and a BED of the
same TSSs for deeptools. Deterministic with its seed.

    python -m benchmarks.synthetic OUTDIR [--genes 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyBigWig

from chromepredict.io.marks import CORE_MARKS

HG19 = {
    "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
    "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
    "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540,
    "chr15": 102531392, "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983,
    "chr20": 63025520, "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
}  # fmt: skip
REACH = 10_000


def make_genes(n_genes: int, rng: np.random.Generator) -> list[tuple[str, int, str]]:
    """(chrom, 1-based TSS, strand), spread over chromosomes by length, TSSs ≥ 1 kb from the ends."""
    sizes = np.array(list(HG19.values()), dtype=float)
    per_chrom = rng.multinomial(n_genes, sizes / sizes.sum())
    genes = []
    for (chrom, size), n in zip(HG19.items(), per_chrom, strict=False):
        for tss in np.sort(rng.choice(np.arange(1000, size - 1000), size=n, replace=False)):
            genes.append((chrom, int(tss), "+" if rng.random() < 0.5 else "-"))
    return genes


def write_bigwig(path: Path, genes: list[tuple[str, int, str]], rng: np.random.Generator) -> None:
    """Signal over TSS ± 10 kb of every gene as variable-length runs (merged where windows overlap)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(HG19.items()))
    for chrom in HG19:
        tss = np.array([t for c, t, _ in genes if c == chrom], dtype=np.int64)
        if not len(tss):
            continue
        lo = np.maximum(tss - REACH, 0)
        hi = np.minimum(tss + REACH, HG19[chrom])
        # merge overlapping reaches into disjoint regions
        starts, ends = [int(lo[0])], [int(hi[0])]
        for a, b in zip(lo[1:], hi[1:], strict=False):
            if a <= ends[-1]:
                ends[-1] = max(ends[-1], int(b))
            else:
                starts.append(int(a))
                ends.append(int(b))
        run_starts, run_ends = [], []
        for a, b in zip(starts, ends, strict=False):
            cuts = np.cumsum(rng.integers(20, 200, size=(b - a) // 20 + 1)) + a
            cuts = cuts[cuts < b]
            run_starts.append(np.concatenate([[a], cuts]))
            run_ends.append(np.concatenate([cuts, [b]]))
        s, e = np.concatenate(run_starts), np.concatenate(run_ends)
        values = rng.gamma(0.6, 4.0, size=len(s)).round(2)
        bw.addEntries([chrom] * len(s), s.tolist(), ends=e.tolist(), values=values.tolist())
    bw.close()


def build(out: Path, n_genes: int = 20_000, seed: int = 0) -> dict[str, Path]:
    """Write genes.gtf, genes.bed (deeptools reference points) and one bigWig per mark into ``out``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    genes = make_genes(n_genes, rng)
    with open(out / "genes.gtf", "w") as gtf, open(out / "genes.bed", "w") as bed:
        for i, (chrom, tss, strand) in enumerate(genes):
            gene_id = f"ENSGSYN{i:08d}"
            start, end = (tss, tss + 2000) if strand == "+" else (tss - 2000, tss)
            gtf.write(
                f'{chrom}\tsynthetic\tgene\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{gene_id}"; '
                f'gene_type "protein_coding"; gene_name "SYN{i}";\n'
            )
            # deeptools' reference point is the BED start (+) or end (-); chromepredict's window
            # starts at TSS - flank with the 1-based TSS, so the BED start is the 1-based TSS here
            bed.write(
                f"{chrom}\t{tss if strand == '+' else tss - 2000}\t{tss + 2000 if strand == '+' else tss}\t{gene_id}\t0\t{strand}\n"
            )
    tracks = {}
    for mark in CORE_MARKS:
        tracks[mark] = out / f"synthetic-{mark}.bw"
        write_bigwig(tracks[mark], genes, rng)
    return tracks


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    build(args.out, args.genes, args.seed)
