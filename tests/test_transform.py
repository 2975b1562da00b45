"""Input transforms: statistics survive the card round trip; track-log1p follows the track's unit
and never depends on which other genes are transformed."""

import json

import numpy as np
import pytest
from conftest import DATA

from chromepredict.io.datasets import read_deepchrome_csv
from chromepredict.models.transform import TRANSFORMS, InputTransform
from chromepredict.system.errors import UserError


@pytest.fixture(scope="module")
def counts():
    data = read_deepchrome_csv(DATA / "roadmap_E003" / "train.csv.gz")
    return data.features, data.scales


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_round_trip_through_json(counts, kind):
    features, scales = counts
    fitted = InputTransform(kind).fit([(features, scales)])
    from dataclasses import asdict

    from chromepredict.models.card import Transform

    card = Transform(fitted.kind, tuple(fitted.log_mean), tuple(fitted.log_sd))
    again = InputTransform.from_card(Transform(**json.loads(json.dumps(asdict(card)))))
    np.testing.assert_array_equal(fitted.apply(features, scales), again.apply(features, scales))
    assert fitted.apply(features, scales).dtype == np.float32


def test_track_log1p_is_log_of_signal_over_scale(counts):
    features, scales = counts
    fitted = InputTransform("track-log1p").fit([(features, scales)])
    expected = np.log1p(features[0, 3, 50] / scales[3])  # H3K4me3, bin 51 of the first gene, by hand
    assert fitted.logged(features[:1], scales)[0, 3, 50] == pytest.approx(expected)
    standardised = (expected - fitted.log_mean[3]) / fitted.log_sd[3]
    assert fitted.apply(features[:1], scales)[0, 3, 50] == pytest.approx(standardised, rel=1e-5)


@pytest.mark.parametrize("factor", [0.36, 10.0])
def test_track_log1p_follows_the_tracks_unit(counts, factor):
    """The same signal in another unit, with its track's scale in that unit, gives the same input."""
    features, scales = counts
    fitted = InputTransform("track-log1p").fit([(features, scales)])
    np.testing.assert_allclose(
        fitted.apply(features * factor, scales * factor), fitted.apply(features, scales), atol=1e-5
    )


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_a_gene_is_transformed_alone(counts, kind):
    features, scales = counts
    fitted = InputTransform(kind).fit([(features, scales)])
    np.testing.assert_array_equal(fitted.apply(features[5:7], scales), fitted.apply(features, scales)[5:7])


def test_per_window_scales(counts):
    features, scales = counts
    fitted = InputTransform("track-log1p").fit([(features, scales)])
    per_window = np.tile(scales, (len(features), 1))
    np.testing.assert_array_equal(fitted.logged(features, per_window), fitted.logged(features, scales))


def test_select_marks(counts):
    features, scales = counts
    fitted = InputTransform("log1p").fit([(features, scales)])
    np.testing.assert_array_equal(fitted.select([3]).apply(features[:, [3]]), fitted.apply(features)[:, [3]])


def test_unknown_transform():
    with pytest.raises(UserError, match="--transform 'zscore' is unknown"):
        InputTransform("zscore")


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_negative_values_count_as_zero_as_in_training(counts, kind):
    """Training clips the features at 0 for every transform; prediction must see the same input."""
    features, scales = counts
    fitted = InputTransform(kind).fit([(features, scales)])
    negative = features[:3].copy()
    negative[:, :, ::7] = -5.0
    zeroed = np.where(negative < 0, 0, negative)
    np.testing.assert_array_equal(fitted.apply(negative, scales), fitted.apply(zeroed, scales))
