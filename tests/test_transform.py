"""Input transforms: fitted statistics survive the card round trip; sample-scaled ones ignore depth and unit."""

import json

import numpy as np
import pytest
from conftest import DATA

from chromepredict.datasets import read_deepchrome_csv
from chromepredict.errors import UserError
from chromepredict.transform import TRANSFORMS, InputTransform


@pytest.fixture(scope="module")
def counts():
    return read_deepchrome_csv(DATA / "roadmap_E003" / "train.csv.gz").features


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_round_trip_through_json(counts, kind):
    fitted = InputTransform(kind).fit(counts)
    again = InputTransform.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(fitted.apply(counts), again.apply(counts))
    assert fitted.apply(counts).dtype == np.float32


@pytest.mark.parametrize("kind", ["sample-log1p", "sample-quantile"])
@pytest.mark.parametrize("factor", [0.36, 10.0])
def test_sample_scaled_transforms_ignore_depth(counts, kind, factor):
    fitted = InputTransform(kind).fit(counts)
    np.testing.assert_allclose(fitted.apply(counts * factor), fitted.apply(counts), atol=1e-5)


def test_log1p_is_standardised_on_training_data(counts):
    out = InputTransform("log1p").fit(counts).apply(counts)
    np.testing.assert_allclose(out.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2)), 1, atol=1e-4)


def test_unknown_transform():
    with pytest.raises(UserError, match="sample-quantile"):
        InputTransform("zscore")
