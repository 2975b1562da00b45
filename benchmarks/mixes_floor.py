"""How fast could ``compare``'s exact mixes ever be? The head's share of the mixes' network.

``compare`` scores 2ⁿ mixes of two windows per gene (exact Shapley contributions). Its derived
graph (``chromepredict.models.subsets``) runs the first convolution once per gene, then the sums,
max-pool and the model's head once per mix. Whatever kernel forms the sums and the pool, the head's
matrix products stay: this script times them alone — every Gemm of the model's graph that reads the
windows (not the mask-only bias, once per gene), in numpy on one BLAS thread, on [genes × 2ⁿ, K]
rows — against the whole derived graph on one onnxruntime thread, for the same genes (random
windows; the network's cost does not depend on the values).

    python -m benchmarks.mixes_floor [--model E003-E123-difference] [--genes 20000] [--repeats 3]

Prints CPU seconds (one thread, best of ``--repeats``) of the derived graph, of the head's Gemms,
their GFLOPS, and the head's share. docs/benchmarks.md ("Fast at the limit") turns them into the
fewest predicts ``compare`` could take with the sums and the pool at no cost.
"""

from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.predict_speed import best_of
from chromepredict import DEFAULT_COMPARE_MODEL
from chromepredict.models import onnx_proto
from chromepredict.models.zoo import open_model
from chromepredict.system.report import Report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_COMPARE_MODEL)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = open_model(args.model, Report.silent())  # one thread: LoadedModel's default
    n = len(model.marks)
    mixer = model.mixer(tuple(range(n)))
    assert mixer is not None, f"{args.model}: a graph the mixes cannot be derived from"
    rng = np.random.default_rng(0)
    shape = (args.genes, n, model.spec.n_bins)
    first = rng.gamma(0.5, 1.0, shape).astype(np.float32)
    second = rng.gamma(0.5, 1.0, shape).astype(np.float32)
    mask = np.ones(shape[:2], np.float32)
    graph_s = best_of(args.repeats, lambda: mixer(first, second, mask))

    graph = onnx_proto.load(model.graph).graph
    initializers = {i.name: onnx_proto.to_array(i) for i in graph.initializer}
    matrices = [  # the head's [K, N], as each Gemm multiplies (transB: its B is stored [N, K])
        initializers[node.input[1]].T.copy()
        if onnx_proto.attribute(node, "transB", 0)
        else initializers[node.input[1]]
        for node in graph.node
        if node.op_type == "Gemm" and node.input[0] != "mask"  # a Gemm of the mask: once per gene
    ]
    rows = args.genes * 2**n
    block = 4096  # rows per product: the tensors stay small, as in the derived graph's calls
    inputs = [rng.normal(size=(block, w.shape[0])).astype(np.float32) for w in matrices]

    def head() -> None:
        for x, w in zip(inputs, matrices, strict=True):
            for _ in range(rows // block):
                np.matmul(x, w)

    with threadpool_limits(1):
        head_s = best_of(args.repeats, head)
    flops = 2.0 * (rows // block) * block * sum(w.size for w in matrices)
    print(
        f"{args.model}: {len(matrices)} Gemm nodes [K, N] {[w.shape for w in matrices]}, {n} marks, {2**n} mixes"
    )
    print(
        f"derived mixes graph, whole: {graph_s:.2f} s for {args.genes} genes (one thread, best of {args.repeats})"
    )
    print(
        f"the head's Gemms alone: {head_s:.2f} s ({flops / head_s / 1e9:.0f} GFLOPS, numpy, one BLAS thread), "
        f"{head_s / graph_s:.0%} of the derived graph"
    )


if __name__ == "__main__":
    main()
