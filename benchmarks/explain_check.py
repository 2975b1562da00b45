"""Check the class optimisation maps of the pretrained models against the paper: which marks are
flagged (active-bin count above the mean) for high and for low expression, and how that depends on
λ, the number of restarts and the seed. Runs ``chromepredict explain`` for every model and setting
and reads its TSVs; copies the default-setting figures and active-bin tables to docs/figures/, and
the bin influence and one gene's attributions (E003 model on the bundled E003 tracks).

    python -m benchmarks.explain_check [--out docs/figures] [--models E003 E123 E003-E123] [--threads 1]

torch runs on ``--threads`` threads (default 1: the optimisation's batches are 1–5 windows, where
more threads only wait on each other).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from chromepredict.io.datasets import example_data

ROOT = Path(__file__).parents[1]
#: (λ, restarts, seed); the first is the default of ``chromepredict explain``.
SETTINGS = [(0.009, 5, 0), (0.009, 5, 1), (0.009, 1, 0), (0.003, 5, 0), (0.001, 5, 0)]
GENES = ("ENSG00000131591", "ENSG00000197530")


def explain(args: list[str], out: Path, threads: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "chromepredict", "-q", "explain", *args, "-o", str(out)]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def marks_where(table: pd.DataFrame, name: str, column: str, test) -> str:
    rows = table[(table["class"] == name) & test(table[column])]
    return ", ".join(rows["mark"]) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--models", nargs="*", default=["E003", "E123", "E003-E123"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        for lam, restarts, seed in SETTINGS:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "x"
                setting = ["--model", name, "--lambda", str(lam), "--restarts", str(restarts), "--seed", str(seed)]  # fmt: skip
                explain(setting, folder, args.threads)
                bins = pd.read_csv(folder / "active_bins.tsv", sep="\t")
                reached = pd.read_csv(folder / "class_map_restarts.tsv", sep="\t")
                if (lam, restarts, seed) == SETTINGS[0]:
                    for png in ("class_map_high.png", "class_map_low.png"):
                        shutil.copy(folder / png, args.out / f"{name}_{png}")
                    shutil.copy(folder / "active_bins.tsv", args.out / f"{name}_active_bins.tsv")
            value = reached.columns[-1]  # probability (class models) or level_change (level models)
            flagged = {c: marks_where(bins, c, "above_mean", lambda s: s.astype(str).str.lower() == "true") for c in ("high", "low")}  # fmt: skip
            stable = {c: marks_where(bins, c, "flagged_in_restarts", lambda s: s >= 0.8) for c in ("high", "low")}  # fmt: skip
            counts = {
                c: " / ".join(str(n) for n in bins[bins["class"] == c]["active_bins"])
                for c in ("high", "low")
            }
            rows.append(
                {
                    "model": name,
                    "λ": lam,
                    "restarts": restarts,
                    "seed": seed,
                    "high: flagged": flagged["high"],
                    "low: flagged": flagged["low"],
                    f"min {value} (high)": round(reached[reached["class"] == "high"][value].min(), 3),
                    f"min {value} (low)": round(reached[reached["class"] == "low"][value].min(), 3),
                    "flagged in ≥ 80 % of single restarts (high | low)": f"{stable['high']} | {stable['low']}",
                    "active bins high | low": f"{counts['high']} | {counts['low']}",
                }
            )
            print(
                pd.DataFrame(rows[-1:]).to_csv(sep="\t", index=False, header=len(rows) == 1),
                end="",
                flush=True,
            )
    marks = ", ".join(bins[bins["class"] == "high"]["mark"])
    print(f"\n(active bins in mark order: {marks})\n")
    print(pd.DataFrame(rows).to_markdown(index=False))

    # bin influence over the bundled E003 genes and two genes' attributions, E003 model
    example = example_data()
    tracks = [str(t) for t in example["tracks"]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "x"
        explain(["--model", "E003", *tracks, "--gtf", str(example["gtf"]), "--genes", ",".join(GENES)], folder, args.threads)  # fmt: skip
        for png in ("bin_influence.png", f"attribution_{GENES[1]}.png"):
            shutil.copy(folder / png, args.out / f"E003_{png}")
        influence = pd.read_csv(folder / "bin_influence.tsv", sep="\t")
        attributions = pd.read_csv(folder / "attributions.tsv", sep="\t")
    peak = influence.loc[influence["trend"].idxmax()]
    print(
        f"\nbin influence (E003 model, bundled E003 genes): trend peaks at {peak['centre_bp']:+.0f} bp "
        f"from the TSS; trend at the ends {influence['trend'].iloc[0]:.3f} / {influence['trend'].iloc[-1]:.3f}, "
        f"peak {peak['trend']:.3f}"
    )
    for gene, part in attributions.groupby("gene_id", sort=False):
        per_mark = part.groupby("mark", sort=False)["attribution"].sum()
        print(
            f"{gene} ({part['gene_name'].iloc[0]}): attributions sum to {part['attribution'].sum():+.3f}; "
            + ", ".join(f"{m} {v:+.3f}" for m, v in per_mark.items())
        )


if __name__ == "__main__":
    main()
