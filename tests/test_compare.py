"""compare through the real CLI: pairs of samples, what-if knockouts, the exact decomposition of
delta over the marks, and the usual one-line errors."""

import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromepredict.results.compare import shapley

MARKS = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")


def read(path):
    return pd.read_csv(path, sep="\t", comment="#")


def contributions(table):
    return table[[f"contribution_{m}" for m in MARKS]].to_numpy()


def test_shapley_is_exact_and_fair():
    """Efficiency (the values add up to v(all) − v(none)), and for an additive game each player gets
    its own effect."""
    rng = np.random.default_rng(0)
    n, genes = 4, 6
    effects = rng.normal(size=(genes, n))
    cross = rng.normal(size=genes)
    values = {
        s: (effects * np.array(s)).sum(axis=1) + cross * s[0] * s[2]
        for s in itertools.product((False, True), repeat=n)
    }
    phi = shapley(values, n)
    np.testing.assert_allclose(phi.sum(axis=1), values[(True,) * n] - values[(False,) * n], atol=1e-12)
    np.testing.assert_allclose(
        phi[:, [1, 3]], effects[:, [1, 3]], atol=1e-12
    )  # players 1, 3 interact with none
    np.testing.assert_allclose(
        phi[:, 0], effects[:, 0] + cross / 2, atol=1e-12
    )  # the interaction split fairly


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from typer.testing import CliRunner

    from chromepredict.cli import app

    folder = tmp_path_factory.mktemp("compare") / "ex"
    result = CliRunner().invoke(app, ["demo", "--export", str(folder)])
    assert result.exit_code == 0, result.stderr
    return folder


@pytest.mark.slow
def test_two_cell_types_compared(cli, exported, tmp_path):
    out = tmp_path / "changes"
    code, _, stderr = cli(
        "compare", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz",
        "--pair", "E003:E123", "-o", out,
    )  # fmt: skip
    assert code == 0, stderr
    table = read(out / "E003_vs_E123.tsv")
    assert len(table) == 369
    for column in ("gene_id", "gene_name", "level_E003", "level_E123", "delta", "flip", "measured_delta"):
        assert column in table
    np.testing.assert_allclose(table["delta"], table["level_E123"] - table["level_E003"], atol=2e-6)
    np.testing.assert_allclose(
        contributions(table).sum(axis=1), table["delta"], atol=1e-5
    )  # exact decomposition
    flips = table["flip"].to_numpy()
    assert set(flips) <= {"up", "down", "none"}  # a word in every row, never an empty field
    assert (flips[: (flips != "none").sum()] != "none").all()  # genes that flip first
    assert "Spearman of delta with the measured change" in stderr and "not a test" in stderr
    assert "tables swapped" not in stderr  # delta rises with the measured change: nothing to ask
    assert "signal in every gene's window" not in stderr  # two samples' own tracks
    summary = read(out / "summary.tsv")
    assert summary.loc[0, "comparison"] == "E003_vs_E123" and summary.loc[0, "spearman_measured"] > 0.4
    bedgraph = (out / "E003_vs_E123.bedgraph").read_text().splitlines()
    assert bedgraph[0].startswith("track type=bedGraph") and len(bedgraph) == 370
    assert (out / "E003_vs_E123.png").stat().st_size > 5000
    code, _, stderr = cli(
        "compare", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz",
        "--reference", "E003", "-o", tmp_path / "all",
    )  # fmt: skip
    assert code == 0, stderr
    assert {p.name for p in (tmp_path / "all").glob("*.tsv")} == {
        "E003_vs_E003_three_marks.tsv", "E003_vs_E123.tsv", "summary.tsv"
    }  # fmt: skip
    assert "differ in their marks (H3K4me1, H3K9me3 in one only): compared on the marks they share" in stderr
    assert (
        "E003 and E003_three_marks hold the same H3K27me3, H3K36me3, H3K4me3 signal in every gene's window"
        in stderr
    )  # the demo's three-mark sample reads E003's files
    three = read(tmp_path / "all" / "E003_vs_E003_three_marks.tsv")
    assert (three[["contribution_H3K4me1", "contribution_H3K9me3"]] == 0).all().all()
    np.testing.assert_allclose(three["delta"], 0, atol=1e-6)  # the same tracks: nothing changes


@pytest.mark.slow
def test_knockouts_move_genes_the_expected_way(cli, tracks, example, tmp_path):
    """Knocking out H3K4me3 lowers genes on average; knocking out H3K27me3 raises the genes that carry
    the most of it at the TSS (bivalent promoters in H1 cells)."""
    out = tmp_path / "ko"
    code, _, stderr = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3,H3K27me3", "-o", out
    )
    assert code == 0, stderr
    k4 = read(out / "knockout_H3K4me3.tsv")
    assert k4["delta"].mean() < -0.3 and (k4["flip"] == "up").sum() == 0
    np.testing.assert_allclose(contributions(k4).sum(axis=1), k4["delta"], atol=1e-5)
    assert (k4[[f"contribution_{m}" for m in MARKS if m != "H3K4me3"]] == 0).all().all()
    k27 = read(out / "knockout_H3K27me3.tsv").set_index("gene_id")
    from chromepredict.io.sources import from_tracks

    data = from_tracks(dict(zip(MARKS, tracks, strict=True)), example["gtf"])
    at_tss = pd.Series(data.features[:, 0, 45:55].mean(axis=1), index=data.genes["gene_id"])
    top = at_tss.sort_values().index[-len(at_tss) // 10 :]
    assert k27.loc[top, "delta"].mean() > 0.3
    code, _, _ = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3+H3K27me3", "-o", tmp_path / "both"
    )
    both = read(tmp_path / "both" / "knockout_H3K4me3+H3K27me3.tsv")
    np.testing.assert_allclose(contributions(both).sum(axis=1), both["delta"], atol=1e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pair", "E003:E999"], "no sample E999 in"),
        (["--pair", "E003"], "is not A:B"),
        (["--reference", "X"], "--reference X: no sample X"),
        ([], "give the samples to compare"),
    ],
)
def test_pair_errors_are_one_line(cli, exported, tmp_path, args, message):
    code, _, stderr = cli(
        "compare", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz", *args,
        "-o", tmp_path / "x",
    )  # fmt: skip
    assert code == 2 and message in stderr and not (tmp_path / "x").exists()


def _renamed_sheet(exported, folder, rows):
    """A samplesheet of (sample, mark, track file of the export) rows."""
    sheet = folder / "sheet.csv"
    sheet.write_text("sample,mark,bigwig\n" + "".join(f"{n},{m},{exported / f}\n" for n, m, f in rows))
    return sheet


def test_pairs_whose_files_would_collide_or_that_share_no_mark_are_refused(cli, exported, tmp_path):
    sheet = _renamed_sheet(exported, tmp_path, [
        ("X", "H3K4me3", "E003-H3K4me3.bw"), ("X_vs_Y", "H3K4me3", "E003-H3K4me3.bw"),
        ("Z", "H3K4me3", "E123-H3K4me3.bw"), ("Y_vs_Z", "H3K4me3", "E123-H3K4me3.bw"),
        ("K27", "H3K27me3", "E123-H3K27me3.bw"),
    ])  # fmt: skip
    for pairs, message in [
        (["X_vs_Y:Z", "X:Y_vs_Z"], "would both be named X_vs_Y_vs_Z"),
        (["X:K27"], "share no mark of model"),
    ]:
        args = [a for p in pairs for a in ("--pair", p)]
        code, _, stderr = cli("compare", "--samplesheet", sheet, "--gtf", exported / "genes.gtf.gz", *args,
                              "-o", tmp_path / "x")  # fmt: skip
        assert code == 2 and message in stderr and not (tmp_path / "x").exists(), stderr


def test_a_sample_name_too_long_for_a_file_name_is_refused_up_front(cli, exported, tmp_path):
    sheet = _renamed_sheet(exported, tmp_path, [("A" * 101, "H3K4me3", "E003-H3K4me3.bw"),
                                                ("B", "H3K4me3", "E123-H3K4me3.bw")])  # fmt: skip
    code, _, stderr = cli("compare", "--samplesheet", sheet, "--gtf", exported / "genes.gtf.gz",
                          "--pair", f"{'A' * 101}:B", "-o", tmp_path / "x")  # fmt: skip
    assert code == 2 and "at most 100" in stderr and not (tmp_path / "x").exists()


def test_knockout_errors_are_one_line(cli, tracks, example, tmp_path):
    three = [t for t in tracks if any(m in t for m in ("H3K4me3", "H3K36me3", "H3K27me3"))]
    code, _, stderr = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K27ac", "-o", tmp_path / "x"
    )
    assert code == 2 and "H3K27ac is not a mark of model" in stderr
    code, _, stderr = cli(
        "compare", *three, "--gtf", example["gtf"], "--knockout", "H3K9me3", "-o", tmp_path / "x"
    )
    assert code == 2 and "no track of H3K9me3 is given" in stderr
    code, _, stderr = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K99xx", "-o", tmp_path / "x"
    )
    assert code == 2 and "is not a mark" in stderr
    for empty in ("", ","):
        code, _, stderr = cli(
            "compare", *tracks, "--gtf", example["gtf"], "--knockout", empty, "-o", tmp_path / "x"
        )
        assert code == 2 and "names no mark" in stderr
    code, _, stderr = cli("compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3", "-o", "-")
    assert code == 2 and "writes a folder" in stderr
    assert not (tmp_path / "x").exists() and not Path("-").exists()


def test_samples_of_two_builds_are_refused(cli, exported, tmp_path, tracks):
    """A sample whose tracks are of another genome build than the other's: one line, nothing written."""
    import pyBigWig

    from chromepredict.io.assembly import KNOWN_SIZES

    rows = ["sample,mark,bigwig"]
    for mark, track in zip(MARKS, tracks, strict=True):
        rows.append(f"A,{mark},{track}")
        reader = pyBigWig.open(track)
        target = tmp_path / f"hg38-{mark}.bw"
        writer = pyBigWig.open(str(target), "w")
        sizes = [(c, KNOWN_SIZES["hg38"][c]) for c in reader.chroms() if c in KNOWN_SIZES["hg38"]]
        writer.addHeader(sizes)
        for chrom, _ in sizes:
            intervals = reader.intervals(chrom) or []
            if intervals:
                writer.addEntries([chrom] * len(intervals), [i[0] for i in intervals], ends=[i[1] for i in intervals],
                                  values=[float(i[2]) for i in intervals])  # fmt: skip
        writer.close()
        rows.append(f"B,{mark},{target}")
    sheet = tmp_path / "s.csv"
    sheet.write_text("\n".join(rows) + "\n")
    code, _, stderr = cli("compare", "--samplesheet", sheet, "--gtf", exported / "genes.gtf.gz", "--pair", "A:B",
                          "-o", tmp_path / "x")  # fmt: skip
    assert code == 2 and "A is hg19 and B is hg38: compare samples of one genome build" in stderr
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def difference_model(exported, tmp_path_factory):
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = tmp_path_factory.mktemp("difference") / "model"
    args = ["train", "--samplesheet", str(exported / "samples.csv"), "--gtf", str(exported / "genes.gtf.gz"),
            "--target", "difference", "--pair", "E003:E123", "-o", str(out), "--max-epochs", "8", "--members", "2", "-q"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.slow
def test_a_difference_model_learns_the_change_and_serves_compare(cli, exported, difference_model, tmp_path):
    import json

    from chromepredict.models.card import read_card

    card, _ = read_card(difference_model / "model.onnx")
    assert card.target == "difference" and card.pairs == (("E003", "E123"),)
    assert card.metrics.held_out["test"]["spearman"] > 0.4  # held-out chromosomes, 2 networks, 8 epochs
    test = read(difference_model / "test_predictions.tsv")
    assert list(test.columns) == ["gene_id", "delta", "measured_delta"]
    code, stdout, stderr = cli(
        "evaluate", "--model", difference_model, "--samplesheet", exported / "samples.csv",
        "--gtf", exported / "genes.gtf.gz", "--pair", "E003:E123", "-o", tmp_path / "ev",
    )  # fmt: skip
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["headline"] == "held_out" and metrics["held_out"]["genes"] == len(test)
    assert abs(metrics["held_out"]["spearman"] - card.metrics.held_out["test"]["spearman"]) < 1e-6
    assert "sign_auc" in metrics["held_out"] and stdout.startswith("model on the ")
    code, _, stderr = cli(
        "compare", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz",
        "--pair", "E003:E123", "--model", difference_model, "-o", tmp_path / "c",
    )  # fmt: skip
    assert code == 0, stderr
    table = read(tmp_path / "c" / "E003_vs_E123.tsv")
    np.testing.assert_allclose(contributions(table).sum(axis=1), table["delta"], atol=1e-5)
    code, _, stderr = cli("predict", *sorted(exported.glob("E003-*.bw")), "--gtf", exported / "genes.gtf.gz",
                          "--model", difference_model, "-o", tmp_path / "p.tsv")  # fmt: skip
    assert code == 0, stderr  # one window: the level its network learnt beside the change


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "difference"], "--target difference learns from pairs of samples"),
        (
            ["--target", "difference", "--pair", "E003:E003_three_marks"],
            "needs an expression table for both samples",
        ),
        (["--pair", "E003:E123"], "--pair is for --target difference"),
        (
            ["--target", "difference", "--pair", "E003:E123", "--pair", "E123:E003"],
            "one change seen both ways",
        ),
        (["--target", "difference", "--pair", "E003:E123", "--pooled"], "--pooled is for one-sample targets"),
    ],
)
def test_difference_training_errors(cli, exported, tmp_path, args, message):
    code, _, stderr = cli("train", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz",
                          *args, "-o", tmp_path / "m")  # fmt: skip
    assert code == 2 and message in stderr and not (tmp_path / "m").exists()


def _sheet_with_expression(exported, folder, rewrite):
    """A copy of the exported samplesheet whose E123 expression table is ``rewrite(table)``."""
    folder.mkdir()
    table = pd.read_csv(exported / "E123-expression.tsv.gz", sep="\t")
    rewrite(table).to_csv(folder / "E123.tsv", sep="\t", index=False)
    sheet = pd.read_csv(exported / "samples.csv").fillna("")
    sheet["bigwig"] = [str(exported / b) for b in sheet["bigwig"]]
    sheet["expression"] = [
        str(folder / "E123.tsv") if e.startswith("E123") else (str(exported / e) if e else "")
        for e in sheet["expression"]
    ]
    sheet.to_csv(folder / "samples.csv", index=False)
    return folder / "samples.csv"


def _labels(table):
    return table.assign(rpkm=(table["rpkm"] > table["rpkm"].median()).astype(int)).rename(
        columns={"rpkm": "label"}
    )


def _other_annotation(table):
    return table.assign(gene_id="ENSMUSG" + table["gene_id"].str[4:], gene_name="x" + table["gene_name"])


@pytest.mark.parametrize(
    "rewrite, message",
    [(_labels, "holds 0/1 labels, not expression values"), (_other_annotation, "genes have a value in both")],
)
@pytest.mark.slow
def test_a_measured_change_that_cannot_be_trusted_is_said(cli, exported, tmp_path, rewrite, message):
    sheet = _sheet_with_expression(exported, tmp_path / "sheet", rewrite)
    args = ["compare", "--samplesheet", sheet, "--gtf", exported / "genes.gtf.gz", "--pair", "E003:E123"]
    code, _, stderr = cli(*args, "-o", tmp_path / "c", "-q")
    assert code == 0 and message in stderr  # --quiet never hides it
    table = read(tmp_path / "c" / "E003_vs_E123.tsv")
    assert (
        "measured_delta" not in table
        and read(tmp_path / "c" / "summary.tsv")["spearman_measured"].isna().all()
    )
    code, _, stderr = cli(*args, "-o", tmp_path / "strict", "--strict")
    assert code == 2 and message in stderr and not (tmp_path / "strict").exists()


@pytest.mark.slow
def test_one_file_under_both_samples_of_a_pair_is_said(cli, exported, tmp_path):
    """A samplesheet slip: E003's H3K4me3 row names E123's file (or a copy of it). compare says that
    the change owes nothing to H3K4me3; train --target difference --strict refuses the pair."""
    shutil.copy(exported / "E123-H3K4me3.bw", tmp_path / "copy-H3K4me3.bw")
    for slipped in (exported / "E123-H3K4me3.bw", tmp_path / "copy-H3K4me3.bw"):
        sheet = pd.read_csv(exported / "samples.csv").fillna("")
        sheet["bigwig"] = [
            str(slipped if (n, m) == ("E003", "H3K4me3") else exported / b)
            for n, m, b in zip(sheet["sample"], sheet["mark"], sheet["bigwig"], strict=True)
        ]
        sheet["expression"] = [str(exported / e) if e else "" for e in sheet["expression"]]
        sheet.to_csv(tmp_path / "slip.csv", index=False)
        args = [
            "--samplesheet",
            tmp_path / "slip.csv",
            "--gtf",
            exported / "genes.gtf.gz",
            "--pair",
            "E003:E123",
            "--strict",
        ]
        code, _, stderr = cli("compare", *args, "-o", tmp_path / "c")
        assert code == 2 and "E003 and E123 hold the same H3K4me3 signal in every gene's window" in stderr
        assert not (tmp_path / "c").exists()
    code, _, stderr = cli("train", *args, "--target", "difference", "-o", tmp_path / "m")
    assert code == 2 and "the change owes nothing to H3K4me3" in stderr and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_two_samples_expression_tables_swapped_are_said(cli, exported, tmp_path):
    """Each sample of the pair names the other's table: delta runs clearly against the measured
    change (Spearman about −0.74), which is asked about; --strict refuses."""
    sheet = pd.read_csv(exported / "samples.csv").fillna("")
    sheet["bigwig"] = [str(exported / b) for b in sheet["bigwig"]]
    swap = {
        "E003-expression.tsv.gz": "E123-expression.tsv.gz",
        "E123-expression.tsv.gz": "E003-expression.tsv.gz",
    }
    sheet["expression"] = [str(exported / swap.get(e, e)) if e else "" for e in sheet["expression"]]
    sheet.to_csv(tmp_path / "swapped.csv", index=False)
    args = [
        "compare",
        "--samplesheet",
        tmp_path / "swapped.csv",
        "--gtf",
        exported / "genes.gtf.gz",
        "--pair",
        "E003:E123",
    ]
    code, _, stderr = cli(*args, "-o", tmp_path / "c", "-q")
    assert code == 0 and "warning: E003_vs_E123: Spearman -0.74 of delta with the measured change" in stderr
    assert "are the two samples' expression tables swapped?" in stderr
    assert "tables swapped" in read(tmp_path / "c" / "summary.tsv").loc[0, "warnings"]
    code, _, stderr = cli(*args, "-o", tmp_path / "strict", "--strict")
    assert code == 2 and "tables swapped" in stderr and not (tmp_path / "strict").exists()


def test_pair_evaluation_and_benchmark_refuse_a_single_sample_target(cli, exported, tmp_path):
    sheet, gtf = exported / "samples.csv", exported / "genes.gtf.gz"
    for model in ("E003", "E003-E123-level"):
        code, _, stderr = cli("evaluate", "--samplesheet", sheet, "--gtf", gtf, "--pair", "E003:E123",
                              "--model", model, "-o", tmp_path / "e")  # fmt: skip
        assert code == 2 and "predicts one sample's" in stderr and not (tmp_path / "e").exists()
    csvs = Path(__file__).parent / "data" / "roadmap_E003"
    code, _, stderr = cli("benchmark", "--csv-dir", csvs, "--target", "difference", "-o", tmp_path / "b")
    assert code == 2 and "learns from pairs of samples" in stderr and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "rewrite, message",
    [(_labels, "not 0/1 labels"), (lambda table: table, "the same for every gene")],
)
def test_difference_training_refuses_labels_and_a_change_that_is_the_same_everywhere(
    cli, exported, tmp_path, rewrite, message
):
    """E123's table as 0/1 labels, or E003's own table given for E123 (no gene changes)."""
    sheet = _sheet_with_expression(exported, tmp_path / "s", rewrite)
    if message.startswith("the same"):
        e003 = pd.read_csv(exported / "E003-expression.tsv.gz", sep="\t")
        e003.to_csv(tmp_path / "s" / "E123.tsv", sep="\t", index=False)
    code, _, stderr = cli("train", "--samplesheet", sheet, "--gtf", exported / "genes.gtf.gz", "--target", "difference",
                          "--pair", "E003:E123", "-o", tmp_path / "m")  # fmt: skip
    assert code == 2 and message in stderr and not (tmp_path / "m").exists(), stderr


def test_difference_training_refuses_samples_with_different_marks(cli, exported, tmp_path):
    sheet = pd.read_csv(exported / "samples.csv").fillna("")
    sheet["bigwig"] = [str(exported / b) for b in sheet["bigwig"]]
    sheet["expression"] = [str(exported / e) if e else "" for e in sheet["expression"]]
    three = sheet["sample"] == "E003_three_marks"
    sheet.loc[three.idxmax(), "expression"] = str(exported / "E003-expression.tsv.gz")
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    code, _, stderr = cli("train", "--samplesheet", tmp_path / "samples.csv", "--gtf", exported / "genes.gtf.gz",
                          "--target", "difference", "--pair", "E003_three_marks:E123", "-o", tmp_path / "m")  # fmt: skip
    assert code == 2 and "different marks" in stderr and not (tmp_path / "m").exists(), stderr


@pytest.mark.slow
def test_a_pair_samples_expression_warnings_are_said_and_strict_refuses(cli, exported, tmp_path):
    """E123's table with mouse-style ids (matched by name): the warning reaches train and evaluate
    --pair, and --strict turns it into a refusal."""
    sheet = _sheet_with_expression(
        exported, tmp_path / "s", lambda table: table.assign(gene_id="ENSMUSG" + table["gene_id"].str[4:])
    )
    gtf = exported / "genes.gtf.gz"
    code, _, stderr = cli("train", "--samplesheet", sheet, "--gtf", gtf, "--target", "difference", "--pair",
                          "E003:E123", "--strict", "-o", tmp_path / "m")  # fmt: skip
    assert code == 2 and "another species" in stderr and not (tmp_path / "m").exists()
    code, _, stderr = cli("evaluate", "--model", "E003-E123-difference", "--samplesheet", sheet, "--gtf", gtf,
                          "--pair", "E003:E123", "-o", tmp_path / "e")  # fmt: skip
    assert code == 0 and "E123: gene ids of E123.tsv are ENSMUSG" in stderr, stderr


def test_a_difference_model_needs_pairs_to_be_evaluated(cli, tracks, example, tmp_path):
    code, _, stderr = cli("evaluate", "--model", "E003-E123-difference", *tracks, "--gtf", example["gtf"],
                          "--expression", example["expression"], "-o", tmp_path / "e")  # fmt: skip
    assert code == 2 and "predicts the change between two samples" in stderr and not (tmp_path / "e").exists()


@pytest.mark.slow
def test_difference_training_is_byte_identical_with_the_same_seed(exported, difference_model, tmp_path):
    """The pair loop (two windows per gene, one mask for both) is as deterministic as the others."""
    from typer.testing import CliRunner

    from chromepredict.cli import app

    args = ["train", "--samplesheet", str(exported / "samples.csv"), "--gtf", str(exported / "genes.gtf.gz"),
            "--target", "difference", "--pair", "E003:E123", "-o", str(tmp_path / "again"), "--max-epochs", "8",
            "--members", "2", "-q"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "again" / "model.onnx").read_bytes() == (difference_model / "model.onnx").read_bytes()


def _counts(table):
    """RPKM turned into read counts (whole numbers, another scale): what featureCounts' raw column holds."""
    return table.assign(rpkm=np.round(table["rpkm"] * 40).astype(int)).rename(columns={"rpkm": "count"})


def _log2(table):
    return table.assign(rpkm=np.log2(1 + table["rpkm"])).rename(columns={"rpkm": "log2_rpkm"})


def _tpm(table):
    """Another normalised unit of the same scale (TPM from RPKM): not a mismatch."""
    return table.assign(rpkm=table["rpkm"] / table["rpkm"].sum() * 1e6).rename(columns={"rpkm": "TPM"})


@pytest.mark.parametrize(
    "rewrite, message",
    [(_counts, "raw read counts"), (_log2, "log scale"), (_tpm, None), (lambda table: table, None)],
)
@pytest.mark.slow
def test_a_pair_in_different_units_is_said_wherever_pairs_are_scored(
    cli, exported, tmp_path, rewrite, message
):
    """E123's table as raw counts or log2 values against E003's RPKM: compare and evaluate --pair say
    it (and --strict refuses); TPM against RPKM, and the tables as exported, are one unit: nothing said."""
    sheet = _sheet_with_expression(exported, tmp_path / "s", rewrite)
    gtf = exported / "genes.gtf.gz"
    runs = {
        "compare": ["compare", "--samplesheet", sheet, "--gtf", gtf, "--pair", "E003:E123", "-o", tmp_path / "c"],
        "evaluate": ["evaluate", "--model", "E003-E123-difference", "--samplesheet", sheet, "--gtf", gtf,
                     "--pair", "E003:E123", "-o", tmp_path / "e"],
    }  # fmt: skip
    for command, args in runs.items():
        code, _, stderr = cli(*args)
        assert code == 0, stderr
        said = "the change between them mixes units" in " ".join(stderr.split())
        assert said == (message is not None), (command, stderr)
        if message:
            assert message in stderr
    if message:
        code, _, stderr = cli(*runs["compare"][:-1], tmp_path / "strict", "--strict")
        assert code == 2 and not (tmp_path / "strict").exists()


@pytest.mark.slow
def test_tables_logged_or_filtered_are_said_by_compare(cli, exported, tmp_path):
    """Both tables as log2 values (one unit, so not a mismatch) would log the measured change twice;
    E123's table filtered to expressed genes (RPKM > 1, as many pipelines write) leaves the silent
    genes out of the change. compare says each; the tables as exported say neither."""
    gtf = exported / "genes.gtf.gz"
    logged = _sheet_with_expression(exported, tmp_path / "log", _log2)
    sheet = pd.read_csv(logged)
    first = sheet["expression"].fillna("").str.endswith("E003-expression.tsv.gz")
    _log2(pd.read_csv(exported / "E003-expression.tsv.gz", sep="\t")).to_csv(
        tmp_path / "E003.tsv", sep="\t", index=False
    )
    sheet.loc[first, "expression"] = str(tmp_path / "E003.tsv")
    sheet.to_csv(logged, index=False)
    runs = {
        "log": (logged, "E003.tsv holds values on a log scale"),
        "filtered": (
            _sheet_with_expression(exported, tmp_path / "filtered", lambda t: t[t["rpkm"] > 1]),
            "E123.tsv: none of its 10,464 genes is below 1 rpkm (filtered to expressed genes?)",
        ),
        "as exported": (_sheet_with_expression(exported, tmp_path / "same", lambda t: t), None),
    }
    for name, (sheet_path, message) in runs.items():
        code, _, stderr = cli("compare", "--samplesheet", sheet_path, "--gtf", gtf, "--pair", "E003:E123",
                              "-o", tmp_path / f"c-{name}")  # fmt: skip
        text = " ".join(stderr.split())
        assert code == 0, stderr
        assert (message in text) if message else ("log scale" not in text and "below 1" not in text), (
            name,
            stderr,
        )


@pytest.mark.slow
def test_a_pair_is_scored_on_the_marks_both_samples_have(cli, exported, tmp_path):
    """evaluate --pair with one sample of three marks: both windows are scored on those three marks
    (as compare does), so the change is never one of marks; a warning says so."""
    sheet = pd.read_csv(exported / "samples.csv").fillna("")
    sheet["bigwig"] = [str(exported / b) for b in sheet["bigwig"]]
    sheet["expression"] = [str(exported / e) if e else "" for e in sheet["expression"]]
    three = sheet["sample"] == "E003_three_marks"
    sheet.loc[three.idxmax(), "expression"] = str(exported / "E003-expression.tsv.gz")
    sheet.to_csv(tmp_path / "samples.csv", index=False)
    gtf = exported / "genes.gtf.gz"
    code, _, stderr = cli("evaluate", "--model", "E003-E123-difference", "--samplesheet", tmp_path / "samples.csv",
                          "--gtf", gtf, "--pair", "E003_three_marks:E123", "-o", tmp_path / "e")  # fmt: skip
    assert code == 0 and "differ in their marks" in stderr, stderr
    code, _, stderr = cli("compare", "--samplesheet", tmp_path / "samples.csv", "--gtf", gtf,
                          "--pair", "E003_three_marks:E123", "-o", tmp_path / "c")  # fmt: skip
    assert code == 0, stderr
    evaluated = pd.read_csv(tmp_path / "e" / "predictions.tsv", sep="\t").set_index("gene_id")["delta"]
    compared = read(tmp_path / "c" / "E003_three_marks_vs_E123.tsv").set_index("gene_id")["delta"]
    np.testing.assert_allclose(evaluated.loc[compared.index], compared, atol=2e-6)


@pytest.mark.slow
def test_the_derived_graph_gives_the_contributions_of_whole_windows(exported):
    """compare's mixes through the graph derived from the model (first layer once per gene) against
    each mix through the whole network (the path for graphs it cannot derive): the same values,
    contributions and deltas, for a pair and a knockout, on the real E003 and E123 tracks."""
    from chromepredict.io.sources import TrackInputs
    from chromepredict.models import gate
    from chromepredict.models.zoo import open_model
    from chromepredict.results.compare import decompose, knocked_out
    from chromepredict.system.report import Report

    model = open_model("E003-E123-difference", Report.silent(), 2)
    read = {}
    for sample in ("E003", "E123"):
        files = {m: str(exported / f"{sample}-{m}.bw") for m in MARKS}
        read[sample] = gate.read(model, TrackInputs(files, str(exported / "genes.gtf.gz")), Report.silent())
    pairs = [
        (read["E003"], read["E123"], MARKS),
        (read["E003"], knocked_out(read["E003"], ("H3K4me3",)), ("H3K4me3",)),
    ]
    for first, second, marks in pairs:
        index = tuple(model.marks.index(m) for m in marks)
        fast = decompose(model, first, second, marks)
        assert model.mixer(index) is not None
        model._mixers[index] = None  # what a graph of another shape gets: every mix through the whole network
        whole = decompose(model, first, second, marks)
        for got, want in zip(fast, whole, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-5)
        assert np.abs(fast[2]).max() > 0.01  # marks move the value: the test can fail
        np.testing.assert_allclose(fast[2].sum(axis=1), fast[1] - fast[0], atol=1e-5)


# ---------------------------------------------------------------- issue 28: extra marks, honest footing


def _levels(exported, eid):
    table = pd.read_csv(exported / f"{eid}-expression.tsv.gz", sep="\t")
    return np.log2(1 + table.groupby("gene_id")["rpkm"].mean())


def _write_at_tss(path, genes, values, like):
    """A bigWig holding ``values[i]`` over TSS ± 1 kb of gene i (a window overlapping the previous
    one starts where it ends), with the chromosomes of the bigWig ``like``."""
    import pyBigWig

    reference = pyBigWig.open(str(like))
    writer = pyBigWig.open(str(path), "w")
    writer.addHeader(list(reference.chroms().items()))
    table = genes.assign(value=values)
    for chrom in reference.chroms():
        end, starts, ends, kept = 0, [], [], []
        for tss, value in (
            table[table["chrom"] == chrom].sort_values("tss")[["tss", "value"]].itertuples(index=False)
        ):
            start = max(int(tss) - 1001, end)
            if int(tss) + 999 > start:
                starts.append(start), ends.append(int(tss) + 999), kept.append(float(value))
                end = int(tss) + 999
        if starts:
            writer.addEntries([chrom] * len(starts), starts, ends=ends, values=kept)
    writer.close()


@pytest.fixture(scope="module")
def sixth_mark(exported, tmp_path_factory):
    """The exported E003/E123 samplesheet with a synthetic H3K27ac in both samples: flat in E003 and,
    in E123, exp(the measured change) at each TSS, so that its change at the TSS ranks the measured
    change (almost: neighbouring windows overlap); also one with an H3K27ac of noise."""
    from chromepredict.io.annotation import read_genes

    folder = tmp_path_factory.mktemp("sixth")
    genes = read_genes(exported / "genes.gtf.gz", "protein_coding").genes
    change = (_levels(exported, "E123") - _levels(exported, "E003")).reindex(genes["gene_id"]).to_numpy()
    like = exported / "E003-H3K4me3.bw"
    noise = np.random.default_rng(0).uniform(1, 10, size=(2, len(genes)))
    tracks = {
        "informative": (np.ones(len(genes)), np.exp(np.nan_to_num(change))),
        "noise": (noise[0], noise[1]),
    }
    sheets = {}
    base = pd.read_csv(exported / "samples.csv").fillna("")
    base["bigwig"] = [str(exported / b) for b in base["bigwig"]]
    base["expression"] = [str(exported / e) if e else "" for e in base["expression"]]
    base = base[base["sample"] != "E003_three_marks"]
    for kind, (first, second) in tracks.items():
        rows = []
        for eid, values in (("E003", first), ("E123", second)):
            path = folder / f"{eid}-{kind}-H3K27ac.bw"
            _write_at_tss(path, genes, values, like)
            rows.append({"sample": eid, "mark": "H3K27ac", "bigwig": str(path), "expression": ""})
        sheet = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
        sheets[kind] = folder / f"{kind}.csv"
        sheet.to_csv(sheets[kind], index=False)
        sheets[f"{kind} without expression"] = folder / f"{kind}-no-expression.csv"
        sheet.assign(expression="").to_csv(sheets[f"{kind} without expression"], index=False)
    return sheets


@pytest.mark.slow
def test_the_measured_change_is_scored_on_all_and_on_expressed_genes(cli, exported, tmp_path):
    """Spearman over all genes and over the genes expressed in either sample (> 1 RPKM), the sign AUC
    on 2-fold changes and the genes tied at zero: each recomputed here from the tables."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    code, _, stderr = cli(
        "compare", "--samplesheet", exported / "samples.csv", "--gtf", exported / "genes.gtf.gz",
        "--pair", "E003:E123", "-o", tmp_path / "c",
    )  # fmt: skip
    assert code == 0, stderr
    table = read(tmp_path / "c" / "E003_vs_E123.tsv").set_index("gene_id")
    summary = read(tmp_path / "c" / "summary.tsv").iloc[0]
    first = _levels(exported, "E003").reindex(table.index)
    second = _levels(exported, "E123").reindex(table.index)
    measured = second - first
    np.testing.assert_allclose(table["measured_delta"], measured, atol=1e-6)
    expressed = np.fmax(first, second) > 1  # log2(1 + 1): more than 1 RPKM in either sample
    changed = measured.abs() >= 1
    assert 0 < expressed.sum() < len(table) and (measured == 0).sum() > 0  # the example has both kinds
    assert summary["genes_measured"] == len(table) and summary["genes_expressed"] == expressed.sum()
    assert summary["spearman_measured"] == pytest.approx(
        spearmanr(measured, table["delta"]).statistic, abs=1e-4
    )
    assert summary["spearman_expressed"] == pytest.approx(
        spearmanr(measured[expressed], table["delta"][expressed]).statistic, abs=1e-4
    )
    assert summary["genes_2fold"] == changed.sum()
    assert summary["sign_auc_2fold"] == pytest.approx(
        roc_auc_score(measured[changed] > 0, table["delta"][changed]), abs=1e-4
    )
    assert summary["genes_zero_change"] == (measured == 0).sum()
    assert f"{summary['genes_zero_change']} genes tied at zero measured change" in stderr
    assert not any(c.startswith("extra_") for c in summary.index)  # no unused mark: nothing said
    assert "does not use" not in stderr


@pytest.mark.slow
def test_an_unused_mark_says_what_it_might_add(cli, exported, sixth_mark, tmp_path):
    """A mark the model ignores gets one number: the Spearman of its change at the TSS with the
    measured change (high for a mark that carries the change, near 0 for noise), or without
    expression tables its agreement with the model's delta."""
    gtf = exported / "genes.gtf.gz"
    found = {}
    for kind in ("informative", "noise"):
        code, _, stderr = cli("compare", "--samplesheet", sixth_mark[kind], "--gtf", gtf, "--pair", "E003:E123",
                              "-o", tmp_path / kind)  # fmt: skip
        assert code == 0, stderr
        assert "does not use H3K27ac: ignored" in stderr
        assert "H3K27ac (which model E003-E123-difference does not use)" in stderr
        summary = read(tmp_path / kind / "summary.tsv").iloc[0]
        found[kind] = summary["extra_H3K27ac_tss_spearman_measured"]
        table = read(tmp_path / kind / "E003_vs_E123.tsv")
        assert "contribution_H3K27ac" not in table  # the model does not use it
        np.testing.assert_allclose(contributions(table).sum(axis=1), table["delta"], atol=1e-5)
    assert found["informative"] > 0.9 and abs(found["noise"]) < 0.2, found
    code, _, stderr = cli("compare", "--samplesheet", sixth_mark["informative without expression"], "--gtf", gtf,
                          "--pair", "E003:E123", "-o", tmp_path / "bare")  # fmt: skip
    assert code == 0, stderr
    summary = read(tmp_path / "bare" / "summary.tsv").iloc[0]
    table = read(tmp_path / "bare" / "E003_vs_E123.tsv")
    assert pd.isna(summary["extra_H3K27ac_tss_spearman_measured"]) and pd.isna(summary["spearman_measured"])
    assert 0.3 < summary["extra_H3K27ac_tss_spearman_delta"] < 1  # the synthetic mark tracks the real change
    assert "no expression tables: how much it might add is not measured" in stderr


@pytest.mark.slow
def test_difference_training_with_a_sixth_mark(cli, exported, sixth_mark, difference_model, tmp_path):
    """train --target difference on six marks (a synthetic H3K27ac that carries the change): the card
    holds the mark, the held-out change is ranked better than by the five-mark model of the same recipe,
    compare decomposes delta over six marks, and a sample without H3K27ac is refused by name."""
    from chromepredict.models.card import read_card

    sheet, gtf, out = sixth_mark["informative"], exported / "genes.gtf.gz", tmp_path / "six"
    code, _, stderr = cli("train", "--samplesheet", sheet, "--gtf", gtf, "--target", "difference", "--pair",
                          "E003:E123", "-o", out, "--max-epochs", "8", "--members", "2", "-q")  # fmt: skip
    assert code == 0, stderr
    card, _ = read_card(out / "model.onnx")
    five, _ = read_card(difference_model / "model.onnx")
    assert card.inputs.marks == (*MARKS, "H3K27ac") and card.pairs == (("E003", "E123"),)
    assert card.training_data.splits == five.training_data.splits  # the same split of the same genes
    assert card.metrics.held_out["test"]["spearman"] > five.metrics.held_out["test"]["spearman"] + 0.1
    code, _, stderr = cli("compare", "--samplesheet", sheet, "--gtf", gtf, "--pair", "E003:E123", "--model", out,
                          "-o", tmp_path / "c")  # fmt: skip
    assert code == 0, stderr
    table = read(tmp_path / "c" / "E003_vs_E123.tsv")
    six = table[[f"contribution_{m}" for m in (*MARKS, "H3K27ac")]].to_numpy()
    np.testing.assert_allclose(six.sum(axis=1), table["delta"], atol=1e-5)
    assert "does not use" not in stderr and not any(
        c.startswith("extra_") for c in read(tmp_path / "c" / "summary.tsv")
    )
    code, _, stderr = cli("compare", "--samplesheet", exported / "samples.csv", "--gtf", gtf, "--pair", "E003:E123",
                          "--model", out, "-o", tmp_path / "x")  # fmt: skip
    assert code == 2 and "E003: model six was trained with H3K27ac, which is not given" in stderr
    assert not (tmp_path / "x").exists()
