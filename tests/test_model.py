"""The exported (folded) form of the mask-aware network against the trained form, and back."""

import itertools

import numpy as np
import onnxruntime as ort
import pytest
import torch

from chromepredict.models.networks import Ensemble, MaskedChrome, folded, unfold_state_dict
from chromepredict.models.onnx_io import export_onnx
from chromepredict.models.targets import get_target

MASKS = torch.tensor([m for m in itertools.product((0.0, 1.0), repeat=5) if any(m)])  # all 31 subsets


def ensemble(name: str) -> Ensemble:
    torch.manual_seed(0)
    target = get_target(name)
    members = [MaskedChrome(outputs=target.outputs(aux_level=True)) for _ in range(2)]
    return Ensemble(members, target, 2.0, 1.5).eval()


def windows() -> torch.Tensor:
    """16 random windows, the same in every test."""
    return torch.randn(16, 5, 100, generator=torch.Generator().manual_seed(1))


def outputs(net, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack([net(x * m[None, :, None], m.expand(len(x), -1)) for m in MASKS])


@pytest.mark.parametrize("target", ["class", "level"])
def test_folded_equals_trained_for_every_mark_subset(target):
    trained = ensemble(target)
    x = windows()
    np.testing.assert_allclose(outputs(folded(trained), x), outputs(trained, x), atol=1e-5)


@pytest.mark.parametrize("target", ["class", "level"])
def test_unfolded_weights_rebuild_the_network_and_fold_back_exactly(target):
    trained = ensemble(target)
    state = folded(trained).state_dict()
    rebuilt = ensemble(target)
    rebuilt.load_state_dict(unfold_state_dict(state))
    x = windows()
    np.testing.assert_allclose(outputs(rebuilt, x), outputs(trained, x), atol=1e-5)
    again = folded(rebuilt).state_dict()
    assert all(torch.equal(state[k], again[k]) for k in state)  # re-exports write the same bytes
    assert unfold_state_dict(trained.state_dict()).keys() == trained.state_dict().keys()  # old files


def test_exported_graph_equals_torch_for_every_mark_subset(tmp_path):
    trained = ensemble("class")
    export_onnx(trained, 5, 100, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features", "mask"]
    x = windows()
    expected = outputs(trained, x)
    for m, want in zip(MASKS, expected, strict=True):
        feed = {"features": (x * m[None, :, None]).numpy(), "mask": m.expand(len(x), -1).numpy()}
        np.testing.assert_allclose(session.run(["probabilities"], feed)[0], want, atol=1e-6)
