"""The model card: schema and version checked on load, sealed together with the model."""

import json
import shutil

import pytest

from chromepredict.models.card import CARD_FORMAT, read_card
from chromepredict.models.onnx_io import load_model
from chromepredict.system.errors import UserError


@pytest.fixture
def copy(trained_model, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(trained_model, folder)
    return folder


def edit_card(folder, change):
    path = folder / "model.card.json"
    card = json.loads(path.read_text())
    change(card)
    path.write_text(json.dumps(card, indent=2))


def test_a_sealed_card_loads(trained_model):
    card, data = read_card(trained_model / "model.onnx")
    assert card.format_version == CARD_FORMAT and len(card.integrity) == 64
    assert data == (trained_model / "model.onnx").read_bytes()


def test_tampered_transform_statistics_are_refused(copy, cli, tracks, example, tmp_path):
    def times_ten(card):
        card["transform"]["log_mean"] = [10 * v for v in card["transform"]["log_mean"]]

    edit_card(copy, times_ten)
    with pytest.raises(UserError, match="integrity check failed"):
        load_model(copy)
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", copy, "-o", tmp_path / "p.tsv"
    )
    assert code == 2 and "integrity check failed" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.tsv").exists()


def test_tampered_mark_order_is_refused(copy):
    edit_card(copy, lambda card: card["inputs"]["marks"].reverse())
    with pytest.raises(UserError, match="integrity check failed"):
        load_model(copy)


def test_replaced_model_file_is_refused(copy):
    onnx = copy / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    with pytest.raises(UserError, match="sha256 differs"):
        load_model(copy)


@pytest.mark.parametrize("version", [1, 4, "2", None])
def test_unknown_format_versions_are_refused(copy, version):
    edit_card(copy, lambda card: card.update(format_version=version))
    with pytest.raises(UserError, match="format_version"):
        load_model(copy)


@pytest.mark.parametrize("field", ["target", "inputs", "transform", "integrity", "training_data"])
def test_missing_fields_are_refused(copy, field):
    edit_card(copy, lambda card: card.pop(field))
    with pytest.raises(UserError, match=f"field '{field}' is missing"):
        load_model(copy)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("inputs", "flank"), "5000", "'inputs.flank' should be a whole number"),
        (("inputs", "marks"), "H3K4me3", "'inputs.marks' should be a list"),
        (
            ("metrics", "held_out", "test", "roc_auc"),
            "high",
            "'metrics.held_out.test.roc_auc' should be a number",
        ),
        (("training_data", "gene_ids"), None, "'training_data.gene_ids' should be a list"),
        (("best_epochs",), [1.5], "'best_epochs[0]' should be a whole number"),
        (("recipe", "lr"), "fast", "'recipe.lr' should be a number"),
        (("recipe",), {"lr": 0.001}, "'recipe.network' is missing"),
    ],
)
def test_mistyped_fields_are_refused_naming_the_field(copy, path, value, message):
    """Every field is checked on load, nested ones too: one line naming the field, never a KeyError later."""

    def change(card):
        node = card
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    edit_card(copy, change)
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_model(copy)


def test_a_deeply_nested_card_is_one_line(copy):
    (copy / "model.card.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError, match="not a chromepredict model card"):
        load_model(copy)


def test_a_format_2_card_still_loads(tmp_path):
    """Models trained with chromepredict 0.2 (card format 2) still load and predict."""
    from conftest import DATA

    card, _ = read_card(DATA / "format2" / "model.onnx")
    assert card.format_version == CARD_FORMAT and card.metrics.held_out["test"]["roc_auc"] > 0
    assert card.genome_builds == ("hg19",)


def test_not_json(copy):
    (copy / "model.card.json").write_text("{not json")
    with pytest.raises(UserError, match="not a chromepredict model card"):
        load_model(copy)


def test_every_shipped_card_round_trips_through_the_typed_card():
    """Every field of a shipped card is read into ModelCard and written back unchanged."""
    from chromepredict.models.card import ModelCard
    from chromepredict.models.zoo import pretrained_dir

    paths = sorted(pretrained_dir().glob("*/model.card.json"))
    assert len(paths) >= 7
    for path in paths:
        data = json.loads(path.read_text())
        assert ModelCard.from_json(data, path).to_json() == data, path.parent.name
