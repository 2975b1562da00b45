"""Does anything but a gene's own tracks and the model decide its prediction? Three checks on the
bundled E003 example (369 genes, real Roadmap tracks), through the command line:

1. the gene list: the same genes from a 25-gene GTF, from the full GTF, and from the full GTF plus
   20,000 extra genes (low-signal windows; the synthetic benchmark's GTF) — max |Δ p_high| and calls
   that change;
2. the thread count: ``predict -p 1`` against ``-p 2`` (identical bytes?);
3. the seed: ``chromepredict train`` on the E003 tracks with seeds 0–4 (same split), pairwise share
   of identical calls over all 369 genes and over the held-out test genes, and the spread of the
   test AUC — for the default recipe (a 5-network ensemble) and for a single network of it
   (``--members 1``, which is how the first shipped models were trained);
4. why the epoch is picked by validation log loss: the same five seeds with each network's epoch
   picked by validation AUC instead (the earlier rule) and by log loss (the default), in process.

    python -m benchmarks.trust [--seeds 5]
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

from chromepredict.io.datasets import example_data

SYNTHETIC_GTF = Path("/tmp/chromepredict-bench/genes.gtf")


def cli(*args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "chromepredict", "-q", *map(str, args)], capture_output=True, text=True
    )
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
        subprocess.run(
            [sys.executable, str(Path(__file__).parent / "synthetic.py"), str(SYNTHETIC_GTF.parent)],
            check=True,
        )
    extra = [
        line.replace('gene_id "', 'gene_id "SYN')
        for line in SYNTHETIC_GTF.read_text().splitlines(keepends=True)
    ]
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
        print(
            f"{name} GTF ({len(results[name])} genes): {len(other)} shared genes, max |Δ p_high| {delta:.2g}, calls changed {flipped}"
        )


def threads(work: Path, example: dict) -> None:
    tracks = [str(t) for t in example["tracks"]]
    outputs = [cli("predict", *tracks, "--gtf", example["gtf"], "-p", p).stdout for p in (1, 2)]
    print(f"predict -p 1 vs -p 2: identical output {outputs[0] == outputs[1]}")


def agreement(label: str, calls_all: list, calls_test: list, aucs: list, n_test: int) -> None:
    """Pairwise identical calls (all genes, test genes) and test-AUC spread over seeds."""
    pairs = list(itertools.combinations(range(len(aucs)), 2))
    everywhere = [float(np.mean(np.asarray(calls_all[a]) == np.asarray(calls_all[b]))) for a, b in pairs]
    held_out = [float(np.mean(np.asarray(calls_test[a]) == np.asarray(calls_test[b]))) for a, b in pairs]
    print(
        f"{label}, seeds 0–{len(aucs) - 1}: identical calls {min(everywhere):.1%}–{max(everywhere):.1%} "
        f"(mean {np.mean(everywhere):.1%}) of {len(calls_all[0])} genes, {min(held_out):.1%}–{max(held_out):.1%} "
        f"of the {n_test} test genes; test AUC {min(aucs):.3f}–{max(aucs):.3f} (max |Δ| {max(aucs) - min(aucs):.3f})",
        flush=True,
    )


def selection(example: dict, n: int) -> None:
    """Seeds 0..n-1 of the default recipe with epochs picked by validation AUC and by log loss."""
    from dataclasses import replace

    import chromepredict.models.training as training
    from chromepredict.io.expression import read_expression
    from chromepredict.io.features import WindowSpec
    from chromepredict.io.labelling import with_expression
    from chromepredict.io.marks import assign_marks
    from chromepredict.io.sources import from_tracks
    from chromepredict.io.training_sets import split_tracks

    tracks = assign_marks([str(t) for t in example["tracks"]], [])
    data = with_expression(
        from_tracks(tracks, example["gtf"], WindowSpec()), read_expression(example["expression"])
    )
    split = split_tracks(data, 0)  # as train's default --split-seed
    arrays = {k: training.TrainingArrays.stack([v]) for k, v in split.splits.items()}
    default = training.RECIPES["deepchrome"]
    for rule in ("score", "loss"):
        training.RECIPES["deepchrome"] = replace(default, select_by=rule)
        calls_all, calls_test, aucs, epochs = [], [], [], []
        for seed in range(n):
            model = training.fit(arrays["train"], arrays["valid"], "deepchrome", "class", seed, "cpu")
            calls_all.append(model.predict(data) >= 0.5)
            test = model.predict(split.splits["test"])
            calls_test.append(test >= 0.5)
            aucs.append(roc_auc_score(split.splits["test"].labels, test))
            epochs.extend(model.best_epochs)
        name = "validation AUC" if rule == "score" else "validation log loss"
        agreement(f"epochs by {name} (epochs chosen {min(epochs)}–{max(epochs)})", calls_all, calls_test, aucs,
                  len(split.splits["test"].genes))  # fmt: skip
    training.RECIPES["deepchrome"] = default


def seeds(work: Path, example: dict, n: int, members: int | None) -> None:
    tracks = [str(t) for t in example["tracks"]]
    calls_all, calls_test, aucs = [], [], []
    for seed in range(n):
        out = work / f"m{members}-{seed}"
        extra = ["--members", members] if members else []
        cli(
            "train",
            *tracks,
            "--gtf",
            example["gtf"],
            "--expression",
            example["expression"],
            "-o",
            out,
            "--seed",
            seed,
            *extra,
        )
        test = pd.read_csv(out / "test_predictions.tsv", sep="\t")
        aucs.append(roc_auc_score(test["label"], test["p_high"]))
        calls_test.append((test["p_high"] >= 0.5).to_numpy())
        cli(
            "predict", *tracks, "--gtf", example["gtf"], "--model", out, "-o", work / f"p{members}-{seed}.tsv"
        )
        calls_all.append(table(work / f"p{members}-{seed}.tsv")["call"].to_numpy())
    label = f"train --members {members}" if members else "train, default recipe (5 networks)"
    agreement(label, calls_all, calls_test, aucs, len(test))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    example = example_data()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gene_lists(work, example)
        threads(work, example)
        seeds(work, example, args.seeds, None)
        seeds(work, example, args.seeds, 1)
        selection(example, args.seeds)


if __name__ == "__main__":
    main()
