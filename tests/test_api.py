"""The Python API (docs/api.md): the contract's names, the same tables, warnings and errors as the
command line, each public function, and the worked example of docs/api.md run as written."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chromepredict as cp

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


@pytest.fixture(scope="module")
def h1():
    return cp.example_data("E003")


@pytest.fixture(scope="module")
def sample(h1):
    return cp.read_sample(h1["tracks"], gtf=h1["gtf"], expression=h1["expression"])


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cp.ChromepredictWarning)
        return function(*args, **kwargs)


def test_every_public_name_is_typed_documented_and_listed():
    assert sorted(cp.__all__) == sorted(set(cp.__all__))
    for name in cp.__all__:
        value = getattr(cp, name)
        if callable(value) and not isinstance(value, type):
            assert value.__doc__ and len(value.__doc__) > 80, name
            assert value.__annotations__, name
    assert "gtf" in cp.read_sample.__doc__ and "marks" in cp.read_sample.__doc__
    assert issubclass(cp.UserError, ValueError) and issubclass(cp.ChromepredictWarning, UserWarning)


def test_objects_print_usefully(sample):
    model = cp.load_model("E003-E123")
    assert repr(model).startswith("<Model E003-E123: class, marks H3K27me3, H3K36me3") and "5,000 bp" in repr(
        model
    )
    assert (
        repr(sample)
        == "<Sample E003: 369 genes, marks H3K27me3, H3K36me3, H3K4me1, H3K4me3, H3K9me3, build hg19>"
    )
    assert model.target == "class" and model.window.flank == 5000 and sample.build == "hg19"


@pytest.mark.slow
def test_predict_equals_the_command_lines_table_value_for_value(cli, sample, h1, tmp_path):
    for name in ("E003-E123", "E003-E123-level"):
        out = tmp_path / f"{name}.tsv"
        code, _, err = cli("predict", *h1["tracks"], "--gtf", h1["gtf"], "--expression", h1["expression"],
                           "--model", name, "-o", out)  # fmt: skip
        assert code == 0, err
        written = pd.read_csv(out, sep="\t")
        table = quietly(cp.load_model(name).predict, sample)
        pd.testing.assert_frame_equal(table.reset_index(drop=True), written, check_dtype=False, atol=1e-6)
        about = json.loads(out.with_suffix(".json").read_text())
        assert (
            table.attrs["warnings"] == about["warnings"] and table.attrs["about"]["model"] == about["model"]
        )


def test_marks_by_name_and_warnings_kept_on_the_result(h1):
    files = {f.name.split("-")[1].split(".")[0]: f for f in h1["tracks"]}
    sample = cp.read_sample(marks={"H3K4me3": files["H3K4me3"], "H3K27me3": files["H3K27me3"]}, gtf=h1["gtf"])
    assert sample.marks == ("H3K27me3", "H3K4me3")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        table = cp.load_model("E003-E123").predict(sample)
    mine = [w for w in said if issubclass(w.category, cp.ChromepredictWarning)]
    assert any("scoring from 2 of 5 marks" in str(m.message) for m in mine)
    assert [str(m.message) for m in mine] == table.attrs["warnings"]
    assert {m.filename for m in mine} == {__file__}  # the warning points at the user's line


def test_api_messages_name_what_the_user_passed(h1):
    """Mistakes in ``marks=`` are said as ``marks=``, not as the command line's ``--mark``."""
    with pytest.raises(cp.UserError, match=r"^marks=\{'foo': .*'foo' is not recognised as a mark"):
        cp.read_sample(marks={"foo": h1["tracks"][0]}, gtf=h1["gtf"])
    h3k4me3 = next(t for t in h1["tracks"] if "H3K4me3" in t.name)
    with pytest.raises(cp.UserError, match="given twice, as H3K4me3 .its name. and with marks= H3K27me3"):
        cp.read_sample([h3k4me3], marks={"H3K27me3": h3k4me3}, gtf=h1["gtf"])


@pytest.mark.slow
def test_two_samples_under_one_name_are_refused_not_merged(h1, tmp_path):
    """Tracks of two conditions in files of the same names give two samples of one default name:
    a pair of them is refused (their expression tables would be keyed by that one name), and
    named apart they compare."""
    example = cp.example_data("E123")
    for folder, data in (("condA", h1), ("condB", example)):
        (tmp_path / folder).mkdir()
        for track in data["tracks"]:
            mark = track.name.split("-")[1].split(".")[0]
            (tmp_path / folder / f"{mark}_rep1.bw").symlink_to(track)
    tracks = {c: sorted((tmp_path / c).glob("*.bw")) for c in ("condA", "condB")}
    a = cp.read_sample(tracks["condA"], gtf=h1["gtf"], expression=h1["expression"])
    b = cp.read_sample(tracks["condB"], gtf=h1["gtf"], expression=example["expression"])
    assert a.name == b.name == "rep1"
    model = cp.load_model("E003-E123-difference")
    for call in (lambda: cp.compare(model, a, b), lambda: cp.evaluate_pairs(model, [(a, b)])):
        with pytest.raises(cp.UserError, match="two different samples are named rep1"):
            call()
    b = cp.read_sample(tracks["condB"], gtf=h1["gtf"], expression=example["expression"], name="rep1_B")
    table = quietly(cp.compare, model, a, b)
    assert table.attrs["summary"]["spearman_measured"] > 0.3


def test_strict_and_errors_raise_the_command_lines_one_line(cli, h1, tmp_path):
    three = [t for t in h1["tracks"] if "H3K4me1" not in t.name and "H3K9me3" not in t.name]
    code, _, err = cli("predict", *three, "--gtf", h1["gtf"], "--strict", "-o", tmp_path / "p.tsv")
    cli_line = err.strip().splitlines()[-1].removeprefix("error: ")
    with pytest.raises(cp.UserError) as raised:
        cp.load_model("E003-E123").predict(cp.read_sample(three, gtf=h1["gtf"]), strict=True)
    assert code == 2 and str(raised.value).replace("(strict: ", "(--strict: ") == cli_line
    with pytest.raises(cp.UserError, match="missing.bw: bigWig file not found"):
        assert cp.read_sample(["H3K4me3-missing.bw"], gtf=h1["gtf"]).build
    with pytest.raises(cp.UserError, match="unknown model 'nope'"):
        cp.load_model("nope")
    with pytest.raises(cp.UserError, match="cannot tell which mark"):
        cp.read_sample(["sample.bw"], gtf=h1["gtf"])


@pytest.mark.slow
def test_samplesheet_compare_and_knockout_tables(cli, tmp_path):
    assert cli("demo", "--export", tmp_path / "ex")[0] == 0
    samples = cp.read_samplesheet(tmp_path / "ex" / "samples.csv", gtf=tmp_path / "ex" / "genes.gtf.gz")
    assert list(samples) == ["E003", "E003_three_marks", "E123"] and samples["E003"].expression
    model = cp.load_model("E003-E123-difference")
    table = quietly(cp.compare, model, samples["E003"], samples["E123"])
    contributions = table.filter(like="contribution_").sum(axis=1)
    np.testing.assert_allclose(contributions, table["delta"], atol=1e-5)
    assert table.attrs["summary"]["up"] + table.attrs["summary"]["down"] == (table["flip"] != "none").sum()
    code, _, err = cli("compare", "--samplesheet", tmp_path / "ex" / "samples.csv", "--gtf",
                       tmp_path / "ex" / "genes.gtf.gz", "--pair", "E003:E123", "-o", tmp_path / "c")  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(tmp_path / "c" / "E003_vs_E123.tsv", sep="\t")
    pd.testing.assert_frame_equal(table.reset_index(drop=True), written, check_dtype=False, atol=1e-6)
    knocked = cp.knockout(model, samples["E003"], ["H3K4me3"])
    assert knocked.attrs["name"] == "knockout_H3K4me3" and (knocked["delta"] <= 1e-9).mean() > 0.9
    assert type(cp.plot_comparison(knocked, model)).__name__ == "Figure"


def test_evaluate(sample):
    found = quietly(cp.evaluate, cp.load_model("E003"), sample)
    assert found.metrics["training_genes"] == 369 and found.metrics["all_genes"]["roc_auc"] > 0.85
    assert found.headline.startswith("E003 on 369 genes: ROC AUC") and len(found.table) == 369
    with pytest.raises(cp.UserError, match="predicts the change between two samples"):
        cp.evaluate(cp.load_model("E003-E123-difference"), sample)


@pytest.mark.slow
def test_explain_and_train(sample, h1, tmp_path):
    pytest.importorskip("torch")
    model = cp.load_model("E003")
    found = quietly(cp.explain, model, sample, genes=["LIN28A"], steps=20, restarts=1)
    assert set(found.attributions["gene_name"]) == {"LIN28A"} and len(found.active_bins) == 10
    assert type(found.plot("attribution_LIN28A.png")).__name__ == "Figure"
    found.write(tmp_path)
    assert (tmp_path / "class_map_high.png").is_file() and (tmp_path / "attributions.tsv").is_file()
    trained = quietly(cp.train, sample, target="level", max_epochs=2, members=1)
    assert trained.target == "level" and "test" in trained.card.metrics.held_out
    levels = quietly(trained.predict, sample)["level"]
    saved = cp.load_model(trained.save(tmp_path / "model"))
    np.testing.assert_allclose(quietly(saved.predict, sample)["level"], levels, atol=1e-6)


@pytest.mark.slow
def test_the_documented_example_runs(tmp_path, monkeypatch):
    """docs/api.md's code cells, run in order as a notebook would."""
    monkeypatch.chdir(tmp_path)
    cells = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(cells) >= 3
    namespace: dict = {}
    for cell in cells:
        exec(compile(cell, str(DOCS), "exec"), namespace)  # noqa: S102 (the documentation's own code)
    assert (tmp_path / "changes.png").stat().st_size > 10_000
