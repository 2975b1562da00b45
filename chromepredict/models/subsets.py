"""Every mix of two windows through a model at once: the graph ``compare`` scores, derived at load
time from the model's own ONNX graph (the shipped files stay as they are).

``compare`` needs the model's value for each of the 2ⁿ windows that take n marks from window B and
the others from window A. A network's first convolution is linear in its input channels, so its
output for a mix is its output for A plus, for each mark taken from B, the convolution of that
mark's B − A alone. The derived graph computes those n + 1 convolutions once per gene, forms the 2ⁿ
sums with a grouped 1×1 convolution and runs only what follows the first layer (its max-pool and
ReLU, then the model's own head and ensemble nodes, reused as they are) 2ⁿ times. Same values as
scoring each mix through the whole network, up to float rounding (the sums are added in another
order).

The derivation reads the layers that precede the head: a Conv over the marks, then in one chain
a max-pool, additions of a per-gene bias and a ReLU, as :func:`chromepredict.models.onnx_io.export_onnx`
writes both networks of :mod:`chromepredict.models.networks` (the mask-aware one folded, its mask
channels a bias after the pool; the published one with the ReLU before the pool). A graph of
another shape (the unfolded exports of chromepredict 0.2) gets ``None``: ``compare`` then scores
the mixes through the whole network.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from chromepredict.models import onnx_proto
from chromepredict.models.onnx_proto import Message
from chromepredict.models.onnx_proto import attribute as _attribute
from chromepredict.models.onnx_proto import node as _node

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

#: Rows (gene × mix) per onnxruntime call: small enough that a call's tensors stay in the CPU's
#: caches, large enough that the call overhead does not count.
ROWS_PER_CALL = 128
#: The generating convolution's input channels per filter are padded to a multiple of this, so
#: onnxruntime runs it in its blocked (NCHWc) layout.
CHANNEL_BLOCK = 8


def mixes(n: int) -> np.ndarray:
    """[2ⁿ, n] 0/1: mix k takes mark j from B where bit j of k is set (mix 0 is A, the last is B)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float32)


class _Unsupported(Exception):
    """The graph is not of the shape the derivation reads."""


@dataclass
class _Layer:
    """One network's first layer and the chain after it, up to where the head starts."""

    conv: Message  # the Conv node
    weight: np.ndarray  # [filters, marks, kernel]
    biases: list[str]  # per-gene bias tensors [genes, filters, 1] added before the pool's maximum
    pool: Message  # the MaxPool node
    relu: bool
    chain: list[Message]  # the nodes from the Conv to the cut, the Conv included
    cut: str  # the tensor the head reads [genes, filters, pooled]


class _Graph:
    """The original graph with lookups by tensor name."""

    def __init__(self, model: Message):
        self.graph = model.graph
        self.nodes = list(model.graph.node)
        self.initializers = {i.name: onnx_proto.to_array(i) for i in model.graph.initializer}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def only_consumer(self, name: str) -> Message:
        consumers = self.consumers.get(name, [])
        if len(consumers) != 1:
            raise _Unsupported(f"{name} feeds {len(consumers)} nodes")
        return consumers[0]

    def depends_on(self, name: str, source: str) -> bool:
        """Whether tensor ``name`` is computed from graph input ``source``."""
        stack, seen = [name], set()
        while stack:
            tensor = stack.pop()
            if tensor == source:
                return True
            if tensor in seen or tensor not in self.producer:
                continue
            seen.add(tensor)
            stack.extend(self.producer[tensor].input)
        return False

    def constant(self, name: str) -> np.ndarray:
        if name in self.initializers:
            return self.initializers[name]
        node = self.producer.get(name)
        value = None if node is None or node.op_type != "Constant" else _attribute(node, "value")
        if value is None:
            raise _Unsupported(f"{name} is not a constant tensor")
        return onnx_proto.to_array(value)


def _unsqueeze_axes(graph: _Graph, node) -> list[int]:
    axes = _attribute(node, "axes")
    return list(axes) if axes is not None else graph.constant(node.input[1]).tolist()


def _is_masking(graph: _Graph, node: Message) -> bool:
    """``features × Unsqueeze(mask, 2)``: a no-op on windows already multiplied by their mask."""
    if node.op_type != "Mul" or "features" not in node.input:
        return False
    other = graph.producer.get(next(i for i in node.input if i != "features"))
    return (
        other is not None
        and other.op_type == "Unsqueeze"
        and other.input[0] == "mask"
        and _unsqueeze_axes(graph, other) == [2]
    )


def _layer(graph: _Graph, conv) -> _Layer:
    if len(conv.input) < 2 or conv.input[1] not in graph.initializers:
        raise _Unsupported("a convolution without constant weights")
    weight = graph.initializers[conv.input[1]]
    if weight.ndim != 3 or _attribute(conv, "group", 1) != 1:
        raise _Unsupported("not a one-dimensional convolution over all marks")
    if _attribute(conv, "auto_pad", b"NOTSET") != b"NOTSET":
        raise _Unsupported("auto_pad")
    biases, pool, relu, chain, tensor = [], None, False, [conv], conv.output[0]
    while True:
        node = graph.only_consumer(tensor)
        if node.op_type == "Identity":
            pass
        elif node.op_type == "MaxPool" and pool is None:
            if (
                len(node.output) != 1
                or _attribute(node, "ceil_mode", 0)
                or _attribute(node, "auto_pad", b"NOTSET") != b"NOTSET"
            ):
                raise _Unsupported("a max-pool with indices, ceil_mode or auto_pad")
            pool = node
        elif node.op_type == "Add" and not relu:
            other = next(i for i in node.input if i != tensor)
            producer = graph.producer.get(other)
            if (
                graph.depends_on(other, "features")
                or producer is None
                or producer.op_type != "Unsqueeze"
                or _unsqueeze_axes(graph, producer) != [2]
            ):
                raise _Unsupported("an addition that is not a per-gene bias")
            biases.append(other)
        elif node.op_type == "Relu":
            relu = True
        else:
            break
        chain.append(node)
        tensor = node.output[0]
    if pool is None:
        raise _Unsupported("no max-pool after the convolution")
    return _Layer(conv, weight, biases, pool, relu, chain, tensor)


def derive(model_bytes: bytes, n_marks: int, n_bins: int, index: list[int]) -> bytes | None:
    """The ONNX model (serialized) that scores every mix of windows A and B in the marks
    at ``index`` (positions among the model's ``n_marks``), or None for a graph it cannot read.

    Inputs ``features_a``, ``features_b`` [genes, marks, bins] (already multiplied by their mask)
    and, when the model takes one, ``mask`` [genes, marks]; the output is the model's, with one row
    per gene × mix (gene-major, mixes in the order of :func:`mixes`)."""
    try:
        return _derive(onnx_proto.load(model_bytes), n_marks, n_bins, index).SerializeToString()
    except _Unsupported:
        return None


def _length(size: int, node: Message) -> int:
    """Output length of a 1-D Conv or MaxPool over ``size`` positions."""
    kernel = _attribute(node, "kernel_shape")[0]
    stride = (_attribute(node, "strides") or [1])[0]
    pads = _attribute(node, "pads") or [0, 0]
    dilation = (_attribute(node, "dilations") or [1])[0]
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1


def _derive(model: Message, n_marks: int, n_bins: int, index: list[int]) -> Message:
    graph = _Graph(model)
    inputs = [i.name for i in model.graph.input if i.name not in graph.initializers]
    if "features" not in inputs or not set(inputs) <= {"features", "mask"}:
        raise _Unsupported("inputs")
    first = []
    for node in graph.consumers.get("features", []):
        if node.op_type == "Conv" and node.input[0] == "features":
            first.append(node)
        elif _is_masking(graph, node):
            first.extend(graph.consumers.get(node.output[0], []))
        else:
            raise _Unsupported(f"the features feed a {node.op_type}")
    if not first or any(n.op_type != "Conv" for n in first):
        raise _Unsupported("the (masked) features feed something else than convolutions")
    layers = [_layer(graph, conv) for conv in first]
    skipped = {id(n) for layer in layers for n in layer.chain}
    needed, head = {o.name for o in model.graph.output}, []
    for node in reversed(graph.nodes):
        if id(node) not in skipped and any(o in needed for o in node.output):
            head.append(node)
            needed.update(node.input)
    if needed & {"features", "mask"}:
        raise _Unsupported("the head reads the inputs")
    head.reverse()
    skipped.update(id(n) for n in head)

    n, block = len(index), CHANNEL_BLOCK
    count = 2**n
    channels = -(-(n + 1) // block) * block  # base + one per mark, padded to the block
    choose = np.zeros((count, channels), np.float32)
    choose[:, 0] = 1.0
    choose[:, 1 : n + 1] = mixes(n)

    def const(name, value):
        return _node("Constant", [], [name], value=np.asarray(value))

    nodes = [
        const("cp_index", np.array(index, np.int64)),
        _node("Gather", ["features_b", "cp_index"], ["cp_b"], axis=1),
        _node("Gather", ["features_a", "cp_index"], ["cp_a"], axis=1),
        _node("Sub", ["cp_b", "cp_a"], ["cp_change"]),  # [genes, n, bins]
        const("cp_pad", np.array([0, 0, 0, 0, 0, channels - n - 1, 0, 0], np.int64)),
    ]
    for i, layer in enumerate(layers):
        filters, marks, kernel = layer.weight.shape
        conv = {a: _attribute(layer.conv, a) for a in ("kernel_shape", "strides", "pads", "dilations")}
        conv = {a: v for a, v in conv.items() if v is not None}
        per_mark = layer.weight[:, index].transpose(1, 0, 2).reshape(n * filters, 1, kernel)
        generator = np.tile(choose, (filters, 1))[:, :, None, None]  # [filters × mixes, channels, 1, 1]
        pool = {a: _attribute(layer.pool, a) for a in ("kernel_shape", "strides", "pads", "dilations")}
        pool = {a: [1, *v] if a != "pads" else [0, v[0], 0, v[1]] for a, v in pool.items() if v is not None}
        if _attribute(layer.conv, "kernel_shape") is None:
            raise _Unsupported("a convolution without kernel_shape")
        pooled = _length(_length(n_bins, layer.conv), layer.pool)
        p = f"cp{i}_"
        base = f"{p}conv"
        nodes += [
            const(f"{p}per_mark", per_mark.astype(np.float32)),
            const(f"{p}generator", generator),
            _node("Conv", ["features_a", *layer.conv.input[1:]], [base], **conv),
        ]
        for k, bias in enumerate(layer.biases):
            nodes.append(_node("Add", [base, bias], [f"{p}bias{k}"]))
            base = f"{p}bias{k}"
        nodes += [
            _node("Conv", ["cp_change", f"{p}per_mark"], [f"{p}marks"], **conv, group=n),
            const(f"{p}shape1", np.array([0, 1, filters, -1], np.int64)),
            const(f"{p}shapen", np.array([0, n, filters, -1], np.int64)),
            _node("Reshape", [base, f"{p}shape1"], [f"{p}base4"]),
            _node("Reshape", [f"{p}marks", f"{p}shapen"], [f"{p}marks4"]),
            _node("Concat", [f"{p}base4", f"{p}marks4"], [f"{p}parts"], axis=1),
            _node("Pad", [f"{p}parts", "cp_pad"], [f"{p}padded"]),  # [genes, channels, filters, positions]
            _node("Transpose", [f"{p}padded"], [f"{p}byfilter"], perm=[0, 2, 1, 3]),
            const(f"{p}shape2", np.array([0, filters * channels, 1, -1], np.int64)),
            _node("Reshape", [f"{p}byfilter", f"{p}shape2"], [f"{p}in"]),
            # every mix of every filter: [genes, filters × mixes, 1, positions]
            _node("Conv", [f"{p}in", f"{p}generator"], [f"{p}mixed"], kernel_shape=[1, 1], group=filters),
        ]
        mixed = f"{p}mixed"
        if layer.relu:  # ReLU before the maximum: the same values (ReLU is monotone), fused with the conv
            nodes.append(_node("Relu", [mixed], [f"{p}relu"]))
            mixed = f"{p}relu"
        nodes += [
            _node("MaxPool", [mixed], [f"{p}pooled"], **pool),
            const(f"{p}shape3", np.array([0, filters, count, -1], np.int64)),
            _node("Reshape", [f"{p}pooled", f"{p}shape3"], [f"{p}pooled4"]),
            _node("Transpose", [f"{p}pooled4"], [f"{p}bymix"], perm=[0, 2, 1, 3]),
            const(f"{p}shape4", np.array([-1, filters, pooled], np.int64)),
            _node("Reshape", [f"{p}bymix", f"{p}shape4"], [f"{p}rows"]),
        ]
        nodes.append(_node("Identity", [f"{p}rows"], [layer.cut]))
    wanted = {name for node in nodes for name in node.input}
    bias_nodes = []
    for node in reversed(graph.nodes):
        if id(node) not in skipped and any(o in wanted for o in node.output):
            bias_nodes.append(node)
            wanted.update(node.input)
    bias_nodes.reverse()
    shapes: dict[str, list[int | str]] = {
        "features_a": ["genes", n_marks, "bins"],
        "features_b": ["genes", n_marks, "bins"],
    }
    if "mask" in inputs:
        shapes["mask"] = ["genes", n_marks]
    out = onnx_proto.messages()["ModelProto"](ir_version=model.ir_version)
    out.opset_import.extend(model.opset_import)
    derived = out.graph
    derived.name = "mixes"
    derived.node.extend(bias_nodes + nodes + head)
    used = {name for node in derived.node for name in node.input}
    derived.initializer.extend(i for i in model.graph.initializer if i.name in used)
    derived.input.extend(onnx_proto.value_info(name, 1, shape) for name, shape in shapes.items())
    for output in model.graph.output:  # one row per gene × mix
        tensor = output.type.tensor_type
        sizes = ["rows", *[d.dim_value or d.dim_param for d in tensor.shape.dim[1:]]]
        derived.output.append(onnx_proto.value_info(output.name, tensor.elem_type, sizes))
    return out


@dataclass
class MixScorer:
    """A derived graph in onnxruntime: the model's value for every mix of two windows, per gene."""

    session: InferenceSession  # of :func:`derive`'s graph, one intra-op thread
    n: int  # marks mixed
    masked: bool  # the graph takes a mask
    value: Callable[[np.ndarray], np.ndarray]  # the target's value per row of the graph's output
    threads: int = 1

    def __call__(self, first: np.ndarray, second: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """[genes, 2ⁿ] values (float64) for network inputs multiplied by ``mask``; column k is the mix
        of :func:`mixes`. Genes are scored in fixed blocks, ``threads`` blocks at a time: the
        values do not depend on the thread count."""
        count = 2**self.n
        step = max(1, ROWS_PER_CALL // count)
        output = self.session.get_outputs()[0].name

        def run(start: int) -> np.ndarray:
            feed = {"features_a": first[start : start + step], "features_b": second[start : start + step]}
            if self.masked:
                feed["mask"] = mask[start : start + step]
            return self.value(self.session.run([output], feed)[0])

        starts = range(0, len(first), step)
        if self.threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                blocks = list(pool.map(run, starts))
        else:
            blocks = [run(start) for start in starts]
        values = np.concatenate(blocks) if blocks else np.zeros(0)
        return values.astype(np.float64).reshape(len(first), count)
