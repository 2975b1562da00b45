"""Where a command's time goes: run ``chromepredict ARGS`` in this process with timers around the
functions of each phase (the real code path, nothing re-implemented), and print wall and CPU
seconds per phase. CPU includes the reading worker processes (they end within their phase).

    python -m benchmarks.phases predict TRACKS --gtf G -o OUT
    python -m benchmarks.phases compare --samplesheet S --gtf G --pair A:B -o OUT

Phases run one after the other except where noted (the figure is part of writing); a function
called within a timed one (or in its worker threads) counts in the outer one; "other" is the rest
of the run (argument parsing, checks of inputs and outputs, building tables).
"""

from __future__ import annotations

import contextlib
import importlib
import resource
import sys
import threading
import time

#: (label, module, attribute) of the timed functions; "Class.method" for methods.
TIMED = [
    ("GTF", "chromepredict.io.sources", "read_genes"),
    ("GTF", "chromepredict.io.annotation", "read_genes"),
    ("open tracks, profiles", "chromepredict.io.tracks", "Track.open"),
    ("read windows", "chromepredict.io.sources", "read_windows"),
    ("gate checks", "chromepredict.models.gate", "_check_signal"),
    ("transform", "chromepredict.models.onnx_io", "LoadedModel.inputs"),
    ("transform", "chromepredict.models.onnx_io", "LoadedModel.all_inputs"),
    ("transform + network", "chromepredict.models.onnx_io", "LoadedModel.predict"),
    ("network", "chromepredict.models.onnx_io", "LoadedModel.score_inputs"),
    ("derive the mixes graph", "chromepredict.models.onnx_io", "LoadedModel.mixer"),
    ("network", "chromepredict.models.subsets", "MixScorer.__call__"),
    ("Shapley", "chromepredict.results.compare", "shapley"),
    ("write", "chromepredict.results.predictions", "write_table"),
    ("write", "chromepredict.results.compare", "write"),
    ("  of which the figure", "chromepredict.results.plots", "comparison_figure"),
]


def cpu_seconds() -> float:
    """CPU of this process and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Timers:
    def __init__(self):
        self.totals: dict[str, list[float]] = {}
        self.depth = 0

    def wrap(self, label: str, function):
        def timed(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():  # within a timed phase
                return function(*args, **kwargs)
            outer = self.depth == 0 or label.startswith(" ")
            self.depth += 1
            wall, cpu = time.perf_counter(), cpu_seconds()
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1
                if outer:
                    entry = self.totals.setdefault(label, [0.0, 0.0])
                    entry[0] += time.perf_counter() - wall
                    entry[1] += cpu_seconds() - cpu

        return timed

    def install(self) -> None:
        """Wrap the timed functions; those a version of chromepredict lacks are left out, so that an
        older checkout can be timed the same way (``PYTHONPATH=CHECKOUT python -m benchmarks.phases``)."""
        for label, module, name in TIMED:
            try:
                owner = importlib.import_module(module)
                *path, attribute = name.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = owner.__dict__[attribute]
            except (ImportError, AttributeError, KeyError):
                continue
            if isinstance(original, classmethod):
                wrapped = classmethod(self.wrap(label, original.__func__))
            else:
                wrapped = self.wrap(label, original)
            setattr(owner, attribute, wrapped)


def main() -> None:
    start_wall, start_cpu = time.perf_counter(), cpu_seconds()
    from chromepredict.cli import main as cli  # the imports a run pays before it starts

    for _, module, _ in TIMED:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    imports = (time.perf_counter() - start_wall, cpu_seconds() - start_cpu)
    timers = Timers()
    timers.install()
    sys.argv = ["chromepredict", "-q", *sys.argv[1:]]
    wall, cpu = time.perf_counter(), cpu_seconds()
    with contextlib.suppress(SystemExit):
        cli()
    run = (time.perf_counter() - wall, cpu_seconds() - cpu)
    rows = {"imports": imports, **{k: tuple(v) for k, v in timers.totals.items()}}
    counted = [v for k, v in rows.items() if k != "imports" and not k.startswith(" ")]
    rows["other"] = (run[0] - sum(w for w, _ in counted), run[1] - sum(c for _, c in counted))
    print(f"phases of one in-process run of chromepredict {' '.join(sys.argv[2:3])} (seconds)")
    for label, (w, c) in rows.items():
        print(f"  {label:24s} wall {w:6.2f}   cpu {c:6.2f}")
    total = (imports[0] + run[0], imports[1] + run[1])
    print(f"  {'total':24s} wall {total[0]:6.2f}   cpu {total[1]:6.2f}")


if __name__ == "__main__":
    main()
