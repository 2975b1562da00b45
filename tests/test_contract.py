"""One contract over every shipped model and both training recipes (scikit-learn's
``parametrize_with_checks`` pattern): what users rely on, checked the same way for all of them.

- batch invariance: a gene's value does not depend on the batch it is scored in;
- gene-order invariance: permuting the genes permutes the values, nothing else;
- mark subsets: a mark left out (mask 0) is ignored, whatever values it holds, and scoring a
  subset through the package equals feeding the network that mask;
- ONNX equals the network: onnxruntime's output equals a forward pass written here in numpy from
  the network's weights (an independent implementation, not a replay of stored outputs);
- card round-trip: a card written and read back is the same card.
"""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from chromepredict.io.features import FeatureSet
from chromepredict.io.trackinfo import TrackProfile
from chromepredict.models.card import ModelCard, read_card
from chromepredict.models.zoo import names, open_model
from chromepredict.system.report import Report

SHIPPED = names()
RECIPES = ["deepchrome", "deepchrome-2016"]


@pytest.fixture(scope="module")
def recipe_models(tmp_path_factory):
    """Each recipe trained briefly on the real E003 CSVs through the real CLI."""
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = {}
    for recipe in RECIPES:
        folder = tmp_path_factory.mktemp("contract") / recipe
        args = ["train", "--csv-dir", str(DATA / "roadmap_E003"), "-o", str(folder), "--architecture", recipe,
                "--max-epochs", "2", "--members", "2", "-q"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.stderr
        out[recipe] = folder
    return out


@pytest.fixture(params=[*SHIPPED, *RECIPES])
def model(request, recipe_models):
    spec = request.param if request.param in SHIPPED else str(recipe_models[request.param])
    return open_model(spec, Report.silent())


def windows(model, n=40, seed=0) -> FeatureSet:
    """Realistic raw windows: counts with a peak near the TSS, each track's own scale."""
    rng = np.random.default_rng(seed)
    marks, spec = model.marks, model.spec
    shape = (n, len(marks), spec.n_bins)
    peak = np.exp(-0.5 * ((np.arange(spec.n_bins) - spec.n_bins / 2) / 8) ** 2)
    features = rng.poisson(3 * peak * rng.gamma(1.0, 1.0, size=shape[:2])[..., None] + 0.5, size=shape)
    genes = pd.DataFrame({"gene_id": [f"g{i}" for i in range(n)], "gene_name": "", "chrom": "chr1",
                          "tss": 10_000 + 1000 * np.arange(n), "strand": "+"})  # fmt: skip
    profiles = {m: TrackProfile(scale=1.0 + i) for i, m in enumerate(marks)}
    return FeatureSet(features.astype(np.float32), genes, tuple(marks), spec, profiles=profiles)


def test_batch_invariance(model):
    data = windows(model)
    whole = model.predict(data, batch_size=512)
    for size in (1, 7):
        np.testing.assert_array_equal(model.predict(data, batch_size=size), whole)


def test_gene_order_invariance(model):
    data = windows(model)
    order = np.random.default_rng(1).permutation(len(data.genes))
    np.testing.assert_allclose(
        model.predict(data.subset(order)), model.predict(data)[order], rtol=0, atol=1e-6
    )


def test_a_masked_mark_is_ignored_and_subsets_are_the_mask(model):
    if not model.mark_subsets:
        pytest.skip("the published recipe needs every mark")
    data = windows(model)
    kept = tuple(m for m in model.marks if m != "H3K4me3")
    subset = model.predict(data.select_marks(kept))
    x, mask = model.inputs(data)
    hidden = model.marks.index("H3K4me3")
    mask[:, hidden] = 0
    for fill in (0.0, 50.0):
        x[:, hidden] = fill
        feed = {"features": x, "mask": mask}
        direct = model.target.floor(model.target.value(model.session.run([model.card.outputs.name], feed)[0]))
        np.testing.assert_allclose(direct, subset, rtol=0, atol=1e-6)


def _numpy_member(member, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One network's forward pass in numpy from its torch weights (eval mode: no dropout)."""
    from numpy.lib.stride_tricks import sliding_window_view
    from torch import nn

    weights = {k: v.detach().numpy().astype(np.float64) for k, v in member.state_dict().items()}
    if member.masked:
        present = np.broadcast_to(mask[:, :, None], x.shape)
        x = np.concatenate([x * present, present], axis=1)
    w, b = weights["conv.weight"], weights["conv.bias"]
    patches = sliding_window_view(x, w.shape[2], axis=2)  # [genes, channels, positions, kernel]
    h = np.maximum(np.einsum("gcpk,fck->gfp", patches, w) + b[None, :, None], 0)
    pool = next(m for m in member.features if isinstance(m, nn.MaxPool1d)).kernel_size
    keep = h.shape[2] // pool * pool
    h = h[:, :, :keep].reshape(h.shape[0], h.shape[1], -1, pool).max(axis=3).reshape(h.shape[0], -1)
    head = member.head if member.masked else member.classifier
    linears = [name for name, m in head.named_children() if isinstance(m, nn.Linear)]
    for i, name in enumerate(linears):
        prefix = "head" if member.masked else "classifier"
        h = h @ weights[f"{prefix}.{name}.weight"].T + weights[f"{prefix}.{name}.bias"]
        if i < len(linears) - 1:
            h = np.maximum(h, 0)
    return h


def test_onnx_equals_a_numpy_forward_pass_of_the_weights(model):
    import torch

    from chromepredict.results import explain

    ensemble = explain.torch_network(model)  # the weights, from the ONNX file
    data = windows(model, n=25, seed=3)
    x, mask = model.inputs(data)
    outputs = [
        torch.from_numpy(_numpy_member(m, x.astype(np.float64), mask.astype(np.float64)))
        for m in ensemble.members
    ]
    expected = model.target.floor(
        model.target.value(model.target.combine(outputs, ensemble.level_mean, ensemble.level_sd).numpy())
    )
    np.testing.assert_allclose(model.predict(data), expected, rtol=1e-5, atol=1e-5)


def test_the_card_round_trips(model):
    card, _ = read_card(model.path)
    again = ModelCard.from_json(card.to_json(), "round trip")
    assert again == card
    import json

    raw = json.loads(model.path.with_suffix(".card.json").read_text())
    if raw["format_version"] == card.format_version:  # a current card is written exactly as it reads
        assert raw == card.to_json()
