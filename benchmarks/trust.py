"""Does anything but a gene's own tracks and the model decide its prediction? Three checks on the
bundled E003 example (369 genes, real Roadmap tracks), through the command line:

1. the gene list: the same genes from a 25-gene GTF, from the full GTF, and from the full GTF plus
   20,000 extra genes (low-signal windows; the synthetic benchmark's GTF) — max |Δ p_high| and calls
   that change;
2. the thread count: ``predict -p 1`` against ``-p 2`` (identical bytes?);
3. the seed: ``chromepredict train`` on the E003 tracks with seeds 0–4 (same split), pairwise share
   of identical calls over all 369 genes and the spread of the held-out test AUC — for the default
   recipe (a 5-network ensemble) and for a single network of it (``--members 1``, which is how the
   first shipped models were trained).

    python benchmarks/trust.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from chromepredict.datasets import example_data

SYNTHETIC_GTF = Path("/tmp/chromepredict-bench/genes.gtf")


def cli(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "chromepredict", "-q", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return result


def table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", comment="#").set_index("gene_id")


def gene_lists(work: Path, example: dict) -> None:
    lines = gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    genes = [line for line in lines if not line.startswith("#") and "\tgene\t" in line]
    (work / "small.gtf").write_text("".join(header + genes[:25]))
    if not SYNTHETIC_GTF.is_file():
        subprocess.run([sys.executable, str(Path(__file__).parent / "synthetic.py"), str(SYNTHETIC_GTF.parent)], check=True)
    extra = [line.replace('gene_id "', 'gene_id "SYN') for line in SYNTHETIC_GTF.read_text().splitlines(keepends=True)]
    (work / "big.gtf").write_text("".join(header + genes + extra))
    tracks = [str(t) for t in example["tracks"]]
    results = {}
    for name, gtf in (("full", example["gtf"]), ("small", work / "small.gtf"), ("big", work / "big.gtf")):
        cli("predict", *tracks, "--gtf", gtf, "-o", work / f"{name}.tsv")
        results[name] = table(work / f"{name}.tsv")
    full = results["full"]
    for name in ("small", "big"):
        other = results[name].loc[results[name].index.intersection(full.index)]
        delta = (other["p_high"] - full.loc[other.index, "p_high"]).abs().max()
        flipped = int((other["call"] != full.loc[other.index, "call"]).sum())
        print(f"{name} GTF ({len(results[name])} genes): {len(other)} shared genes, max |Δ p_high| {delta:.2g}, calls changed {flipped}")


def threads(work: Path, example: dict) -> None:
    tracks = [str(t) for t in example["tracks"]]
    outputs = [cli("predict", *tracks, "--gtf", example["gtf"], "-p", p).stdout for p in (1, 2)]
    print(f"predict -p 1 vs -p 2: identical output {outputs[0] == outputs[1]}")


def seeds(work: Path, example: dict, n: int, members: int | None) -> None:
    tracks = [str(t) for t in example["tracks"]]
    calls, aucs = [], []
    for seed in range(n):
        out = work / f"m{members}-{seed}"
        extra = ["--members", members] if members else []
        cli("train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"], "-o", out, "--seed", seed, *extra)
        test = pd.read_csv(out / "test_predictions.tsv", sep="\t")
        aucs.append(roc_auc_score(test["label"], test["p_high"]))
        cli("predict", *tracks, "--gtf", example["gtf"], "--model", out, "-o", work / f"p{members}-{seed}.tsv")
        calls.append(table(work / f"p{members}-{seed}.tsv")["call"])
    agree = [float((a == b).mean()) for a, b in itertools.combinations(calls, 2)]
    label = f"{members} network" if members else "default recipe (5 networks)"
    print(
        f"{label}, seeds 0–{n - 1}: identical calls {min(agree):.1%}–{max(agree):.1%} (mean {np.mean(agree):.1%}) of 369 genes; "
        f"test AUC {min(aucs):.3f}–{max(aucs):.3f} (max |Δ| {max(aucs) - min(aucs):.3f}; {len(test)} test genes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    example = example_data()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gene_lists(work, example)
        threads(work, example)
        seeds(work, example, args.seeds, None)
        seeds(work, example, args.seeds, 1)


if __name__ == "__main__":
    main()
