"""explain on the bundled E003 data, on an idle machine and beside a second CPU-bound process.

    python -m benchmarks.explain_speed [--repeats 3] [--threads 1 2]

Runs ``chromepredict explain --model E003-E123 <the five E003 tracks> --gtf … --genes LIN28A,MIB2``
at its defaults (class maps 5 restarts × 1,000 steps, bin influence, two genes' attributions), once
per ``-p`` value, each with the machine otherwise idle and then with one busy-looping process
beside it (another job on a shared machine), interleaved; prints the median of ``--repeats`` and the
ratio loaded / idle. torch's threads follow ``-p`` (default 1).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chromepredict.io.datasets import example_data

BUSY = "while True: pass"


def explain_once(threads: int, folder: Path) -> float:
    example = example_data()
    command = [
        sys.executable, "-m", "chromepredict", "-q", "explain", "--model", "E003-E123",
        *map(str, example["tracks"]), "--gtf", str(example["gtf"]), "--genes", "LIN28A,MIB2",
        "-p", str(threads), "-o", str(folder),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    times: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for threads in args.threads:
                for load in ("idle", "beside a busy process"):
                    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if load != "idle" else None
                    try:
                        elapsed = explain_once(threads, Path(tmp) / f"x{repeat}{threads}{len(load)}")
                    finally:
                        if busy is not None:
                            busy.kill()
                            busy.wait()
                    times.setdefault((threads, load), []).append(elapsed)
    print(f"explain, median of {args.repeats} (runs in s)\n")
    print("| -p (torch threads) | idle | beside a busy process | loaded / idle |")
    print("| --- | --- | --- | --- |")
    for threads in args.threads:
        idle, loaded = (times[threads, load] for load in ("idle", "beside a busy process"))
        cells = [f"{statistics.median(t):.1f} s ({', '.join(f'{x:.1f}' for x in t)})" for t in (idle, loaded)]
        ratio = statistics.median(loaded) / statistics.median(idle)
        print(f"| {threads} | {cells[0]} | {cells[1]} | ×{ratio:.2f} |")


if __name__ == "__main__":
    main()
