"""Prediction speed and memory, in one run:

1. the network alone: the default model's ONNX graph in onnxruntime (``LoadedModel.score_inputs``,
   1 and 2 threads) and the same ensemble rebuilt in torch eager
   (``chromepredict.results.explain.torch_network``), genes/s on 20,000 random inputs in the
   batches ``LoadedModel.predict`` scores;
2. end to end: ``chromepredict predict`` (default threads, and ``-p 1``) on the genome-wide
   synthetic case (benchmarks/synthetic.py) against deeptools ``computeMatrix reference-point -p 2``
   extracting the same matrix, interleaved, best of 3, and the ratio;
3. peak memory of that ``predict``: maximum RSS with ``-p 1`` (``/usr/bin/time -v``), and with the
   default threads the peak over time of the summed RSS (and PSS) of the process and its children,
   sampled every 10 ms from /proc;
4. where the time of one ``predict`` goes (``benchmarks/phases.py``).

    python -m benchmarks.predict_speed [--work /tmp/chromepredict-bench] [--computematrix PATH]
                                       [--repeats 3] [--skip network,e2e,memory,phases]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.extract_vs_computematrix import timed
from benchmarks.synthetic import build
from chromepredict import DEFAULT_MODEL
from chromepredict.io.marks import CORE_MARKS
from chromepredict.models.onnx_io import BATCH  # as LoadedModel.predict scores them
from chromepredict.models.zoo import open_model
from chromepredict.system.report import Report


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def network_speed(n_genes: int, repeats: int) -> None:
    """genes/s of the default model's graph in onnxruntime and of the same ensemble in torch eager."""
    import torch

    from chromepredict.results.explain import torch_network

    model = open_model(DEFAULT_MODEL, Report.silent())
    ensemble = torch_network(model)
    n_marks, n_bins = len(model.marks), model.spec.n_bins
    x = np.random.default_rng(0).normal(size=(n_genes, n_marks, n_bins)).astype(np.float32)
    mask = np.ones((n_genes, n_marks), dtype=np.float32)
    members = len(ensemble.members)
    print(f"model {model.name}: {members} networks in one graph; {n_genes:,} genes, batches of {BATCH}")
    results = {}
    for threads in (1, 2):
        scorer = open_model(DEFAULT_MODEL, Report.silent(), threads)
        torch.set_num_threads(threads)

        def run_torch():
            with torch.no_grad():
                for i in range(0, n_genes, BATCH):
                    ensemble(torch.from_numpy(x[i : i + BATCH]), torch.from_numpy(mask[i : i + BATCH]))

        run_ort = partial(scorer.score_inputs, x, mask)
        results[f"onnxruntime, {threads} thread{'s' * (threads > 1)}"] = n_genes / best_of(repeats, run_ort)
        results[f"torch eager, {threads} thread{'s' * (threads > 1)}"] = n_genes / best_of(repeats, run_torch)
    reference = results["torch eager, 1 thread"]
    for name, speed in results.items():
        print(f"{name:26s} {speed:10,.0f} genes/s   ×{speed / reference:.2f} vs torch eager 1 thread")


def end_to_end(work: Path, computematrix: str, repeats: int) -> None:
    """predict (default threads, -p 1) against computeMatrix -p 2, interleaved, best of ``repeats``."""
    tracks = synthetic_tracks(work)
    predict = [
        sys.executable,
        "-m",
        "chromepredict",
        "-q",
        "predict",
        *tracks,
        "--gtf",
        str(work / "genes.gtf"),
    ]
    commands = {
        "computeMatrix reference-point -p 2": [
            computematrix, "reference-point", "--referencePoint", "TSS", "-b", "5000", "-a", "5000",
            "--binSize", "100", "--missingDataAsZero", "--averageTypeBins", "mean", "-p", "2",
            "-S", *tracks, "-R", str(work / "genes.bed"), "-o", str(work / "computematrix.gz"),
        ],
        "chromepredict predict (default threads)": [*predict, "-o", str(work / "predictions.tsv")],
        "chromepredict predict -p 1": [*predict, "-p", "1", "-o", str(work / "predictions-p1.tsv")],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(timed(command))
    best = {name: min(values) for name, values in times.items()}
    reference = best["computeMatrix reference-point -p 2"]
    print(f"\nend to end, {os.cpu_count()} cores, best of {repeats} (all runs: seconds)")
    for name, seconds in best.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:40s} {seconds:6.2f} s   ×{reference / seconds:.2f} vs computeMatrix   ({runs})")


def synthetic_tracks(work: Path) -> list[str]:
    return [str(work / f"synthetic-{m}.bw") for m in CORE_MARKS]


def phases(arguments: list[str]) -> None:
    """The phase breakdown of one run (``benchmarks/phases.py``, in a fresh process)."""
    print()
    subprocess.run([sys.executable, "-m", "benchmarks.phases", *arguments], check=True)


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc/<pid>/task/*/children)."""
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                queue.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (from status) or Pss (from smaps_rollup) of one process, KiB; 0 once it is gone."""
    path, key = (f"/proc/{pid}/status", "VmRSS:") if field == "rss" else (f"/proc/{pid}/smaps_rollup", "Pss:")
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_peak(command: list[str], field: str, interval: float = 0.01) -> tuple[float, int]:
    """Run ``command``; the peak of the summed ``field`` over its process tree (MiB) and the most processes seen."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak, most = 0, 0
    while process.poll() is None:
        pids = tree_pids(process.pid)
        peak = max(peak, sum(memory_kib(p, field) for p in pids))
        most = max(most, len(pids))
        time.sleep(interval)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return peak / 1024, most


def memory(work: Path) -> None:
    tracks = synthetic_tracks(work)
    predict = [sys.executable, "-m", "chromepredict", "-q", "predict", *tracks, "--gtf", str(work / "genes.gtf"),
               "-o", str(work / "predictions-mem.tsv")]  # fmt: skip
    result = subprocess.run(
        ["/usr/bin/time", "-v", *predict, "-p", "1"], check=True, capture_output=True, text=True
    )
    max_rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    print(f"\npeak memory of one genome-wide predict ({len(tracks)} tracks, synthetic case)")
    print(f"-p 1, /usr/bin/time -v maximum RSS:                        {max_rss / 1024:6.0f} MiB")
    for field in ("rss", "pss"):
        peak, most = tree_peak(predict, field)
        print(
            f"default threads, peak of summed {field.upper()} over the process tree: {peak:6.0f} MiB "
            f"(up to {most} processes, sampled every 10 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/chromepredict-bench"))
    parser.add_argument("--computematrix", default="/tmp/dt-venv/bin/computeMatrix")
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: network, e2e, memory, phases"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    if not (args.work / "genes.gtf").is_file():
        build(args.work)
    if "network" not in skip:
        network_speed(args.genes, args.repeats)
    if "e2e" not in skip:
        end_to_end(args.work, args.computematrix, args.repeats)
    if "memory" not in skip:
        memory(args.work)
    if "phases" not in skip:
        phases(
            [
                "predict",
                *synthetic_tracks(args.work),
                "--gtf",
                str(args.work / "genes.gtf"),
                "-o",
                str(args.work / "predictions-phases.tsv"),
            ]
        )


if __name__ == "__main__":
    main()
