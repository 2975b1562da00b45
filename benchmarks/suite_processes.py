"""Where the test suite's time goes in whole-command processes: run the suite with every Python
process that runs chromepredict's command line logging its wall time and arguments at exit, then
sum them by command and by test module.

    python -m benchmarks.suite_processes [PYTEST ARGS...]

The logging is a ``sitecustomize`` module put first on PYTHONPATH for this run only (processes the
tests start inherit it, Snakemake's jobs and fresh venvs included); nothing in the package changes.
Worker seconds are the summed durations pytest reports (``--durations=0``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

#: Logs a process's wall time at exit when it ran chromepredict's command line: chromepredict.cli
#: imported, pytest not (pytest and its workers run commands in process, which their durations hold).
SITECUSTOMIZE = """
import atexit, os, sys, time
_start = time.perf_counter()
_COMMANDS = {"predict", "train", "explain", "compare", "evaluate", "extract", "benchmark", "models", "demo", "workflow"}
def _log():
    if "chromepredict.cli" not in sys.modules or "_pytest" in sys.modules:
        return
    command = next((a for a in sys.argv[1:] if a in _COMMANDS), "other")
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(os.environ["CHROMEPREDICT_PROCESS_LOG"], "a") as log:
        log.write(f"{time.perf_counter() - _start:.3f}\\t{test}\\t{command}\\n")
atexit.register(_log)
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "sitecustomize.py").write_text(SITECUSTOMIZE)
        log = Path(folder) / "processes.tsv"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")])),
            "CHROMEPREDICT_PROCESS_LOG": str(log),
        }
        args = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--durations=0",
            *sys.argv[1:],
        ]
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        rows = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    durations = [
        float(m.group(1)) for m in re.finditer(r"^([0-9.]+)s (?:call|setup|teardown) ", result.stdout, re.M)
    ]
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:])
    total = sum(float(seconds) for seconds, _, _ in rows)
    print(f"\nworker seconds (pytest's durations): {sum(durations):.0f}")
    print(f"chromepredict processes: {len(rows)}, {total:.0f} s in all")
    for title, key in (("by command", 2), ("by test module", 1)):
        sums: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            sums[row[key].split("::")[0]].append(float(row[0]))
        print(f"\n{title}: seconds, processes")
        for name, times in sorted(sums.items(), key=lambda item: -sum(item[1]))[:12]:
            print(f"  {name:45s} {sum(times):7.1f} {len(times):4d}")


if __name__ == "__main__":
    main()
