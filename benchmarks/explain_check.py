"""Check the class optimisation maps of the pretrained models against the paper: which marks are
flagged (active-bin count above the mean) for high and for low expression, and how that depends on
λ, the number of restarts and the seed. Writes the default-setting figures to docs/figures/.

    python benchmarks/explain_check.py [--out docs/figures]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from chromepredict.workflows import explain_model

from chromepredict.datasets import example_data
from chromepredict.zoo import open_model

ROOT = Path(__file__).parents[1]


def flagged(summary: dict, name: str) -> str:
    return ", ".join(summary["classes"][name]["flagged_marks"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    settings = [(0.009, 5, 0), (0.009, 5, 1), (0.009, 1, 0), (0.003, 5, 0), (0.001, 5, 0)]
    for name in ("E003", "E123", "E003-E123"):
        model = open_model(name)
        for lam, restarts, seed in settings:
            with tempfile.TemporaryDirectory() as tmp:
                summary = explain_model(model, Path(tmp) / "x", lam=lam, restarts=restarts, seed=seed)
                stability = pd.read_csv(Path(tmp) / "x" / "flag_stability.tsv", sep="\t")
                if (lam, restarts, seed) == settings[0]:
                    for png in ("class_map_high.png", "class_map_low.png"):
                        shutil.copy(Path(tmp) / "x" / png, args.out / f"{name}_{png}")
                    shutil.copy(Path(tmp) / "x" / "active_bins.tsv", args.out / f"{name}_active_bins.tsv")
            stable = (
                stability[stability["flagged_in_restarts"] >= 0.8].groupby("class")["mark"].apply(", ".join)
            )
            rows.append(
                {
                    "model": name,
                    "lambda": lam,
                    "restarts": restarts,
                    "seed": seed,
                    "high: flagged": flagged(summary, "high"),
                    "low: flagged": flagged(summary, "low"),
                    "min P(high)": round(summary["classes"]["high"]["min_probability"], 3),
                    "min P(low)": round(summary["classes"]["low"]["min_probability"], 3),
                    "flagged in ≥ 80 % of restarts (high | low)": f"{stable.get('high', '')} | {stable.get('low', '')}",
                }
            )
    print(pd.DataFrame(rows).to_markdown(index=False))
    # bin influence on the bundled E003 genes, E003 model
    example = example_data()
    from chromepredict.annotation import read_tss
    from chromepredict.marks import assign_marks
    from chromepredict.signal import extract

    model = open_model("E003")
    data, _ = extract(
        read_tss(example["gtf"]), assign_marks([str(t) for t in example["tracks"]], []), model.spec
    )
    with tempfile.TemporaryDirectory() as tmp:
        summary = explain_model(
            model, Path(tmp) / "x", data, ["ENSG00000131591", "ENSG00000197530"], restarts=1, steps=1
        )
        for png in ("bin_influence.png", "attribution_ENSG00000197530.png"):
            shutil.copy(Path(tmp) / "x" / png, args.out / f"E003_{png}")
    print(
        f"\nbin influence (E003 model, {len(data.genes)} E003 genes): trend peaks at {summary['bin_influence_peak_bp']:+.0f} bp from the TSS"
    )


if __name__ == "__main__":
    main()
