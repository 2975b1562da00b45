"""The graph compare scores every mix of two windows through (derived from a model's ONNX graph at
load time) against the whole network scoring each mix, for every kind of exported network."""

import itertools

import numpy as np
import onnxruntime as ort
import pytest
import torch

from chromepredict.models import onnx_proto
from chromepredict.models.networks import DeepChrome, Ensemble, MaskedChrome
from chromepredict.models.onnx_io import export_onnx
from chromepredict.models.subsets import MixScorer, derive, mixes
from chromepredict.models.targets import get_target
from chromepredict.models.zoo import open_model
from chromepredict.system.report import Report

N_MARKS, N_BINS = 5, 100


def exported(tmp_path, network: str, target: str) -> bytes:
    """A freshly initialised two-member ensemble exported as chromepredict exports trained ones."""
    torch.manual_seed(0)
    kind = get_target(target)
    if network == "masked":
        members = [MaskedChrome(outputs=kind.outputs(aux_level=True)) for _ in range(2)]
    else:
        members = [DeepChrome() for _ in range(2)]
    export_onnx(Ensemble(members, kind, 2.0, 1.5).eval(), N_MARKS, N_BINS, tmp_path / "model.onnx")
    return (tmp_path / "model.onnx").read_bytes()


def inputs(genes: int = 40, seed: int = 0):
    """Windows A and B multiplied by a shared mask with some marks unmeasured."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((genes, N_MARKS)) > 0.2).astype(np.float32)
    a, b = (rng.normal(size=(genes, N_MARKS, N_BINS)).astype(np.float32) * mask[:, :, None] for _ in range(2))
    return a, b, mask


def whole(session, a, b, mask, index, value) -> np.ndarray:
    """[genes, 2ⁿ]: each mix scored through the original graph."""
    names = {i.name for i in session.get_inputs()}
    columns = []
    for take in mixes(len(index)):
        x = a.copy()
        for j, m in enumerate(index):
            if take[j]:
                x[:, m] = b[:, m]
        feed = {"features": x, **({"mask": mask} if "mask" in names else {})}
        columns.append(value(session.run(None, feed)[0]))
    return np.stack(columns, axis=1)


def scorer(data: bytes, index, value, threads=1) -> MixScorer:
    derived = derive(data, N_MARKS, N_BINS, list(index))
    assert derived is not None
    session = ort.InferenceSession(derived, providers=["CPUExecutionProvider"])
    return MixScorer(session, len(index), any(i.name == "mask" for i in session.get_inputs()), value, threads)


@pytest.mark.parametrize(
    "network, target", [("masked", "class"), ("masked", "level"), ("deepchrome", "class")]
)
def test_every_mix_equals_the_whole_network(tmp_path, network, target):
    data = exported(tmp_path, network, target)
    value = get_target(target).value
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    a, b, mask = inputs()
    if network == "deepchrome":  # the published network needs every mark
        mask[:] = 1
    for index in ([0, 1, 2, 3, 4], [3], [0, 4], [1, 2, 3]):
        got = scorer(data, index, value)(a, b, mask)
        assert got.shape == (len(a), 2 ** len(index))
        np.testing.assert_allclose(got, whole(session, a, b, mask, index, value), atol=1e-5)
        assert not np.array_equal(got[:, 0], got[:, -1])  # A and B differ: the test can fail


@pytest.mark.slow
def test_shipped_models_and_threads(tmp_path):
    """Every shipped model's graph is read; the values do not depend on the thread count."""
    from chromepredict.models.zoo import names

    a, b, mask = inputs(genes=100, seed=1)
    for name in names():
        model = open_model(name, Report.silent())
        value = model.target.value
        got = scorer(model.graph, [0, 1, 2, 3, 4], value, threads=1)(a, b, mask)
        np.testing.assert_allclose(got, whole(model.session, a, b, mask, [0, 1, 2, 3, 4], value), atol=1e-5)
        two = scorer(model.graph, [0, 1, 2, 3, 4], value, threads=2)(a, b, mask)
        assert np.array_equal(got, two), name


def test_a_graph_of_another_shape_is_not_derived(tmp_path):
    """An older export (the mask concatenated to the features before one convolution) and a graph whose
    features feed something else than convolutions: None, so that compare scores whole windows."""
    from pathlib import Path

    old = (Path(__file__).parent / "data" / "format2" / "model.onnx").read_bytes()
    assert derive(old, N_MARKS, N_BINS, [0, 1]) is None
    model = onnx_proto.load(exported(tmp_path, "masked", "class"))
    model.graph.node.insert(0, onnx_proto.node("Relu", ["features"], ["relu_features"]))
    for node in model.graph.node:
        if node.op_type == "Mul":
            node.input[0] = "relu_features"
    assert derive(model.SerializeToString(), N_MARKS, N_BINS, [0, 1]) is None


def test_mixes_are_numbered_by_bits():
    table = mixes(3)
    assert table.shape == (8, 3)
    assert table[0].tolist() == [0, 0, 0] and table[-1].tolist() == [1, 1, 1]
    assert table[1].tolist() == [1, 0, 0] and table[4].tolist() == [0, 0, 1]
    assert {tuple(row) for row in table} == set(itertools.product((0, 1), repeat=3))
