"""Would static int8 quantisation keep the default model's calls? (issue 26: tried, not shipped)

onnxruntime's static quantisation (QDQ format, int8 weights per channel, uint8 activations with
scales fixed by a calibration pass, so a gene's value does not depend on the other genes of its
batch) is applied to the shipped default model, the calibration windows being every pipeline view
of both cell types. Per view and cell type (30 cells of 369 genes): the share of calls (P(high) ≥
0.5) the quantised graph shares with the shipped one, the largest |ΔP(high)| and the ΔAUC against
the labels; then the network alone in onnxruntime, one thread, 20,000 real windows (the views'
windows, repeated), the two graphs interleaved, median of ``--repeats``. The issue's bar for
shipping an approximation: ≥ 99 % of calls shared in every view, |ΔAUC| ≤ 0.003. Results:
docs/benchmarks.md ("Int8 quantisation, tried"). Needs the ``train`` extra (``onnx``).

    python -m benchmarks.quantisation [--ops Conv,MaxPool,Relu,Gemm] [--calibration minmax]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

from chromepredict import DEFAULT_MODEL
from chromepredict.models.metrics import roc_auc
from chromepredict.models.zoo import open_model
from chromepredict.system.report import Report
from scripts.build_pretrained import load, truth_of
from scripts.views import VIEWS

METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}
BATCH = 1024


class Windows(CalibrationDataReader):
    """Every view cell's network inputs, one calibration batch each."""

    def __init__(self, cells: dict) -> None:
        self.batches = iter([{"features": x, "mask": m} for x, m, _ in cells.values()])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def run(session: ort.InferenceSession, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """P(high) of every window, in ``predict``'s batches."""
    return np.concatenate(
        [
            session.run(None, {"features": x[i : i + BATCH], "mask": mask[i : i + BATCH]})[0][:, 1]
            for i in range(0, len(x), BATCH)
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/roadmap"))
    parser.add_argument("--views-dir", type=Path, default=Path("/tmp/chromepredict-views"))
    parser.add_argument("--ops", default="Conv,MaxPool,Relu,Gemm", help="the node types quantised")
    parser.add_argument("--calibration", choices=sorted(METHODS), default="minmax")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model = open_model(DEFAULT_MODEL, Report.silent())
    cells = {}
    for eid in model.card.cell_types:
        for view, part in load(args.data, args.views_dir, eid, tuple(VIEWS)).items():
            x, mask = model.all_inputs(part)
            cells[(eid, view)] = (x, mask, truth_of(part, "class"))
    quantised = Path(tempfile.mkdtemp()) / "model-int8.onnx"
    quantize_static(
        str(model.path),
        str(quantised),
        Windows(cells),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=METHODS[args.calibration],
        op_types_to_quantize=args.ops.split(","),
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    shipped, int8 = (
        ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
        for p in (model.path, quantised)
    )

    shared, deltas = [], []
    for (eid, view), (x, mask, truth) in cells.items():
        before, after = run(shipped, x, mask), run(int8, x, mask)
        same = float(np.mean((before >= 0.5) == (after >= 0.5)))
        delta = roc_auc(truth, after) - roc_auc(truth, before)
        shared.append(same)
        deltas.append(delta)
        print(
            f"{eid} {view:12} calls shared {same:.1%} ({round((1 - same) * len(x))} changed), "
            f"max |ΔP| {np.abs(after - before).max():.3f}, ΔAUC {delta:+.4f}"
        )

    x = np.concatenate([c[0] for c in cells.values()])
    x = np.resize(x, (20_000, *x.shape[1:]))
    mask = np.ones(x.shape[:2], np.float32)
    seconds: dict[str, list[float]] = {"shipped": [], "int8": []}
    for _ in range(args.repeats):
        for name, session in (("shipped", shipped), ("int8", int8)):
            start = time.perf_counter()
            run(session, x, mask)
            seconds[name].append(time.perf_counter() - start)
    fast, slow = statistics.median(seconds["int8"]), statistics.median(seconds["shipped"])
    print(
        f"quantised {args.ops} ({args.calibration}): calls shared mean {np.mean(shared):.1%}, "
        f"worst view {min(shared):.1%}, {sum(s >= 0.99 for s in shared)} of {len(shared)} cells ≥ 99 %; "
        f"ΔAUC mean {np.mean(deltas):+.4f}, largest |ΔAUC| {np.max(np.abs(deltas)):.4f}; "
        f"network alone {fast:.3f} s against {slow:.3f} s for 20,000 genes (×{fast / slow:.2f}, one thread, "
        f"median of {args.repeats})"
    )


if __name__ == "__main__":
    main()
