"""Prediction speed: onnxruntime vs the same network in torch eager (CPU), and end-to-end
`chromepredict predict` on the genome-wide synthetic case against deeptools computeMatrix (which
only extracts the matrix), in one run.

    python benchmarks/predict_speed.py [--work /tmp/chromepredict-bench] [--computematrix PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).parent))
from extract_vs_computematrix import timed  # noqa: E402
from synthetic import build  # noqa: E402

from chromepredict.marks import CORE_MARKS  # noqa: E402
from chromepredict.model import DeepChrome  # noqa: E402

TOY = Path(__file__).parents[1] / "tests" / "data" / "toy"


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument("--computematrix", default="/tmp/dt-venv/bin/computeMatrix")
    parser.add_argument("--genes", type=int, default=20_000)
    args = parser.parse_args()
    if not (args.work / "genes.gtf").is_file():
        build(args.work)

    # 1. the network alone: same weights (a model from `chromepredict train`), same inputs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "chromepredict",
                "-q",
                "train",
                "--csv-dir",
                str(TOY),
                "-o",
                str(folder),
                "--max-epochs",
                "1",
            ],
            check=True,
        )
        saved = torch.load(folder / "model.pt")
        net = DeepChrome(saved["n_marks"], saved["n_bins"])
        net.load_state_dict(saved["state_dict"])
        net.eval()
        session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(args.genes, 5, 100)).astype(np.float32)
    print(f"threads: torch {torch.get_num_threads()}, cores {os.cpu_count()}")
    for batch in (4096, args.genes):

        def run_ort(batch=batch):
            for i in range(0, len(x), batch):
                session.run(["probabilities"], {"features": x[i : i + batch]})

        def run_torch(batch=batch):
            with torch.no_grad():
                for i in range(0, len(x), batch):
                    net.probabilities(torch.from_numpy(x[i : i + batch]))

        t_ort, t_torch = best_of(3, run_ort), best_of(3, run_torch)
        print(
            f"batch {batch:6d}: onnxruntime {args.genes / t_ort:10,.0f} genes/s, torch eager {args.genes / t_torch:10,.0f} genes/s, "
            f"ratio ×{t_torch / t_ort:.2f}"
        )

    # 2. end to end on the genome-wide synthetic case
    tracks = [str(args.work / f"synthetic-{m}.bw") for m in CORE_MARKS]
    predict = [
        sys.executable,
        "-m",
        "chromepredict",
        "-q",
        "predict",
        *tracks,
        "--gtf",
        str(args.work / "genes.gtf"),
        "-o",
        str(args.work / "predictions.tsv"),
    ]
    computematrix = [
        args.computematrix, "reference-point", "--referencePoint", "TSS", "-b", "5000", "-a", "5000",
        "--binSize", "100", "--missingDataAsZero", "--averageTypeBins", "mean", "-p", str(os.cpu_count()),
        "-S", *tracks, "-R", str(args.work / "genes.bed"), "-o", str(args.work / "computematrix.gz"),
    ]  # fmt: skip
    t_cm = min(timed(computematrix) for _ in range(2))
    t_predict = {p: min(timed([*predict, "-p", str(p)]) for _ in range(2)) for p in (1, 2)}
    print(f"computeMatrix -p 2 (matrix only)      {t_cm:6.2f} s")
    for p, seconds in t_predict.items():
        print(f"chromepredict predict -p {p} (end to end) {seconds:6.2f} s   ×{t_cm / seconds:.2f} faster")


if __name__ == "__main__":
    main()
