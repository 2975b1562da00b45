"""explain through the real CLI on a small model trained on real data."""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from chromepredict.io.marks import CORE_MARKS

TOY = DATA / "toy"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = tmp_path_factory.mktemp("explain") / "model"
    result = CliRunner().invoke(app, ["train", "--csv-dir", str(DATA / "roadmap_E003"), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def run_explain(cli, model, out, *extra):
    code, stdout, stderr = cli(
        "explain", "--model", model, "-o", out, "--restarts", "2", "--steps", "60", "--seed", "4", *extra
    )
    assert code == 0, stderr
    return stdout


@pytest.mark.slow
def test_explain_files_columns_and_ranges(cli, small_model, tmp_path):
    out = tmp_path / "ex"
    stdout = run_explain(
        cli, small_model, out, "--csv", TOY / "test.csv", "--genes", "ENSG00000172936,172938"
    )
    assert "high: marks above the mean" in stdout
    maps = pd.read_csv(out / "class_maps.tsv", sep="\t")
    assert list(maps.columns) == ["class", "mark", "bin", "value"]
    assert len(maps) == 2 * 5 * 100 and maps["value"].between(0, 1).all()
    assert maps.groupby("class")["value"].max().eq(1).all()
    active = pd.read_csv(out / "active_bins.tsv", sep="\t", dtype={"above_mean": str})
    assert list(active.columns) == ["class", "mark", "active_bins", "above_mean", "flagged_in_restarts"]
    assert set(active["above_mean"]) <= {"true", "false"} and active["active_bins"].between(0, 100).all()
    assert set(active["mark"]) == set(CORE_MARKS)
    for _, group in active.groupby("class"):  # flagged exactly when above the class's mean count
        expected = group["active_bins"] > group["active_bins"].mean()
        assert (group["above_mean"] == np.where(expected, "true", "false")).all()
    assert active["flagged_in_restarts"].between(0, 1).all()
    influence = pd.read_csv(out / "bin_influence.tsv", sep="\t")
    assert len(influence) == 91 and (influence["influence"] >= 0).all()
    attributions = pd.read_csv(out / "attributions.tsv", sep="\t", dtype={"gene_id": str})
    assert list(attributions.columns) == ["gene_id", "gene_name", "mark", "bin", "signal", "attribution"]
    assert set(attributions["gene_id"]) == {"ENSG00000172936", "ENSG00000172938"}
    for name in ("class_map_high", "class_map_low", "bin_influence", "attribution_ENSG00000172936"):
        assert (out / f"{name}.png").stat().st_size > 5000


@pytest.mark.slow
def test_optimised_inputs_reach_their_class(cli, small_model, tmp_path):
    # without the L2 penalty (the paper's λ = 0.009 keeps the maps near the training average, see
    # docs/explanations.md) the optimiser itself must drive P(class) to near 1
    run_explain(cli, small_model, tmp_path / "ex", "--lambda", "0", "--steps", "200")
    restarts = pd.read_csv(tmp_path / "ex" / "class_map_restarts.tsv", sep="\t")
    assert len(restarts) == 4
    assert (restarts["probability"] > 0.99).all(), restarts


@pytest.mark.slow
def test_class_maps_are_deterministic_with_a_seed(cli, small_model, tmp_path):
    run_explain(cli, small_model, tmp_path / "a")
    run_explain(cli, small_model, tmp_path / "b")
    for name in ("class_maps.tsv", "active_bins.tsv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_integrated_gradients_completeness(small_model):
    """Attributions of a gene add up to P(high | gene) − P(high | no signal), computed by onnxruntime."""
    from chromepredict.io.datasets import read_deepchrome_csv
    from chromepredict.io.features import FeatureSet, WindowSpec
    from chromepredict.models.zoo import open_model
    from chromepredict.results import explain
    from chromepredict.system.report import Report

    model = open_model(str(small_model), Report.silent())
    net = explain.torch_network(model)
    data = read_deepchrome_csv(TOY / "test.csv").subset(np.arange(3))
    inputs, _ = model.inputs(data)
    baseline = explain.no_signal_baseline(model.transform, 5, 100)
    attribution = explain.integrated_gradients(net, inputs, baseline, steps=128)
    empty = FeatureSet(
        np.zeros((1, 5, 100), np.float32), data.genes.head(1), data.marks, WindowSpec(5000, 100, "genomic")
    )
    gap = model.predict(data) - model.predict(empty)[0]  # the ONNX graph, not the torch rebuild
    np.testing.assert_allclose(attribution.sum(axis=(1, 2)), gap, atol=0.02)


@pytest.mark.parametrize("name", ["E003", "E003-E123-level"])
def test_seen_bins_are_read_from_the_network(name):
    """The pooling of the shipped networks drops the last convolution position: bin 99 is never
    seen. One probe is enough (a class model's probabilities sum to 1, so their sum has no gradient)."""
    from chromepredict.models.zoo import open_model
    from chromepredict.results import explain
    from chromepredict.system.report import Report

    net = explain.torch_network(open_model(name, Report.silent()))
    for probes in (1, 64):
        seen = explain.seen_bins(net, 5, 100, probes=probes)
        assert seen[:99].all() and not seen[99]


def test_unknown_gene_and_genes_without_data(cli, small_model, tmp_path):
    code, _, stderr = cli("explain", "--model", small_model, "-o", tmp_path / "x", "--genes", "ABC")
    assert code == 2 and "need the genes' signal" in stderr
    code, _, stderr = cli(
        "explain",
        "--model",
        small_model,
        "-o",
        tmp_path / "x",
        "--csv",
        TOY / "test.csv",
        "--genes",
        "NOPE",
        "--steps",
        "1",
        "--restarts",
        "1",
    )
    assert code == 2 and "NOPE" in stderr
    empty = tmp_path / "none.txt"
    empty.write_text("\n")
    for genes, message in (
        (f"@{tmp_path / 'missing.txt'}", "gene list not found"),
        (f"@{tmp_path}", "is a folder"),
    ):
        code, _, stderr = cli("explain", "--model", small_model, "-o", tmp_path / "x", "--csv", TOY / "test.csv",
                              "--genes", genes)  # fmt: skip
        assert code == 2 and message in stderr
    for genes in ("", ",", f"@{empty}"):
        code, _, stderr = cli("explain", "--model", small_model, "-o", tmp_path / "x", "--csv", TOY / "test.csv",
                              "--genes", genes)  # fmt: skip
        assert code == 2 and "names no gene" in stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_explain_pretrained_model_with_tracks(cli, tracks, example, tmp_path):
    out = tmp_path / "ex"
    code, stdout, stderr = cli(
        "explain", "--model", "E003", "-o", out, *tracks, "--gtf", example["gtf"],
        "--genes", "MIB2", "--restarts", "1", "--steps", "20",
    )  # fmt: skip
    assert code == 0, stderr
    assert "low: marks above the mean" in stdout
    influence = pd.read_csv(out / "bin_influence.tsv", sep="\t")
    # bins near the TSS stand out (paper Fig. 4b): the trend peaks within 1 kb of it
    assert abs(influence.loc[influence["trend"].idxmax(), "centre_bp"]) <= 1000
    assert (out / "attribution_MIB2.png").is_file()  # named as the user asked for the gene


@pytest.mark.parametrize("gtf_names", ["chr1", "1"])
@pytest.mark.slow
def test_attribution_bigwigs_read_back_with_an_independent_reader(
    cli, trained_model, tracks, example, tmp_path, gtf_names
):
    """--bigwig: per-mark attribution tracks in genome coordinates, checked with pyBigWig; with a
    GTF that writes chromosomes as Ensembl does (1, not chr1), the tracks keep the bigWigs' names."""
    import gzip

    import pyBigWig

    out = tmp_path / "ex"
    genes = "ENSG00000131591,ENSG00000197530"  # C1orf159 on the minus strand, MIB2 on the plus strand
    annotation = example["gtf"]
    if gtf_names == "1":
        annotation = tmp_path / "ensembl.gtf"
        text = gzip.decompress(example["gtf"].read_bytes()).decode()
        annotation.write_text("".join(line.removeprefix("chr") for line in text.splitlines(keepends=True)))
    code, _, stderr = cli(
        "explain", "--model", trained_model, "-o", out, *tracks, "--gtf", annotation,
        "--genes", genes, "--bigwig", "--restarts", "1", "--steps", "5",
    )  # fmt: skip
    assert code == 0, stderr
    table = pd.read_csv(out / "attributions.tsv", sep="\t")
    from chromepredict.io.annotation import read_tss

    gtf = read_tss(example["gtf"]).set_index("gene_id")
    for mark in CORE_MARKS:
        bw = pyBigWig.open(str(out / f"attribution_{mark}.bw"))
        for gene_id in genes.split(","):
            gene = gtf.loc[gene_id]
            values = (
                table[(table["gene_id"] == gene_id) & (table["mark"] == mark)]
                .sort_values("bin")["attribution"]
                .to_numpy()
            )
            if gene["strand"] == "-":
                values = values[::-1]  # bins run 5′→3′; the track is in genome order
            starts = gene["tss"] - 5000 + 100 * np.arange(100)
            read = np.array([bw.values(gene["chrom"], int(a) + 50, int(a) + 51)[0] for a in starts])
            np.testing.assert_allclose(read, values, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_attribution_bigwigs_of_a_gene_at_a_chromosome_end_stay_inside_it(cli, tracks, example, tmp_path):
    """A gene whose window passes the end of its chromosome (as chrM's genes do): the bins inside
    are written and the file opens; the bins beyond the end are left out (they broke the file)."""
    import gzip

    import pyBigWig

    end = pyBigWig.open(str(tracks[0])).chroms("chr1")
    edge = f'chr1\tX\tgene\t{end - 620}\t{end}\t.\t-\t.\tgene_id "EDGE1"; gene_type "protein_coding"; gene_name "EDGE1";\n'
    gtf = tmp_path / "edge.gtf"
    gtf.write_text(gzip.decompress(example["gtf"].read_bytes()).decode() + edge)
    out = tmp_path / "ex"
    code, _, stderr = cli("explain", "--model", "E003-E123", *tracks, "--gtf", gtf, "--genes", "EDGE1",
                          "--bigwig", "--no-class-maps", "-o", out)  # fmt: skip
    assert code == 0, stderr
    table = pd.read_csv(out / "attributions.tsv", sep="\t")
    for mark in CORE_MARKS:
        bw = pyBigWig.open(str(out / f"attribution_{mark}.bw"))
        assert bw is not None and bw.chroms() == {"chr1": end}, mark
        values = (
            table[table["mark"] == mark].sort_values("bin")["attribution"].to_numpy()[::-1]
        )  # genome order
        starts = end - 5000 + 100 * np.arange(100)  # the TSS is the chromosome's last base (minus strand)
        inside = starts + 100 <= end
        read = np.array([bw.values("chr1", int(a) + 50, int(a) + 51)[0] for a in starts[inside]])
        np.testing.assert_allclose(read, values[inside], rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_explain_a_level_model(cli, tracks, example, tmp_path):
    model = tmp_path / "level"
    code, _, stderr = cli(
        "train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
        "--target", "level", "-o", model, "--max-epochs", "2",
    )  # fmt: skip
    assert code == 0, stderr
    out = tmp_path / "ex"
    code, stdout, stderr = cli(
        "explain", "--model", model, "-o", out, *tracks, "--gtf", example["gtf"], "--genes", "MIB2",
        "--restarts", "1", "--steps", "30",
    )  # fmt: skip
    assert code == 0, stderr
    restarts = pd.read_csv(out / "class_map_restarts.tsv", sep="\t")
    assert "level_reached" in restarts.columns
    assert (out / "attribution_MIB2.png").is_file()


@pytest.mark.slow
def test_genes_are_checked_before_the_optimisation(cli, small_model, tmp_path, monkeypatch):
    """An unknown gene fails at once (the optimisation is never started); versioned ids and names
    are accepted, and the message counts genes, not their aliases."""
    from chromepredict.results import explain

    def never(*args, **kwargs):
        raise AssertionError("class maps computed before the genes were checked")

    monkeypatch.setattr(explain, "class_maps", never)
    code, _, stderr = cli(
        "explain", "--model", small_model, "-o", tmp_path / "x", "--csv", TOY / "test.csv", "--genes", "NOPE"
    )
    assert code == 2 and "NOPE not among the 9 genes of the input" in stderr
    monkeypatch.undo()
    code, _, stderr = cli(
        "explain", "--model", small_model, "-o", tmp_path / "y", "--csv", TOY / "test.csv",
        "--genes", "ENSG00000172936.13", "--steps", "2", "--restarts", "1",
    )  # fmt: skip
    assert code == 0, stderr
    assert set(pd.read_csv(tmp_path / "y" / "attributions.tsv", sep="\t")["gene_id"]) == {"ENSG00000172936"}


@pytest.mark.slow
def test_explain_takes_the_subsets_of_marks_predict_scores(cli, tracks, example, tmp_path):
    """Three of five marks: explained like predict scores them (the others masked as not measured);
    their attributions are 0 and their signal empty; --no-class-maps skips the optimisation."""
    three = [t for t in tracks if any(m in t for m in ("H3K4me3", "H3K36me3", "H3K27me3"))]
    out = tmp_path / "x"
    code, stdout, stderr = cli(
        "explain", "--model", "E003", *three, "--gtf", example["gtf"], "-o", out, "--genes", "MIB2,LIN28A",
        "--no-class-maps",
    )  # fmt: skip
    assert code == 0, stderr
    assert "scoring from 3 of 5 marks" in stderr
    assert not (out / "class_maps.tsv").exists() and (out / "bin_influence.tsv").is_file()
    table = pd.read_csv(out / "attributions.tsv", sep="\t")
    absent = table["mark"].isin(["H3K4me1", "H3K9me3"])
    assert (table.loc[absent, "attribution"] == 0).all() and table.loc[absent, "signal"].isna().all()
    assert (table.loc[~absent, "attribution"] != 0).any()
    assert {"attribution_MIB2.png", "attribution_LIN28A.png"} <= {p.name for p in out.iterdir()}


def test_two_genes_never_share_an_attribution_figure():
    from chromepredict.results.explanation import figure_names

    genes = pd.DataFrame({"gene_id": ["ENSG1", "ENSG2", "ENSG3", "ENSG4"]})
    names = figure_names({0: "A/B", 1: "A_B", 2: "Mib2", 3: "MIB2"}, genes)
    assert len(set(names.values())) == 4 and len({n.lower() for n in names.values()}) == 4
    assert names[0] == "attribution_A_B_ENSG1.png" and names[3] == "attribution_MIB2_ENSG4.png"
    assert figure_names({0: "MIB2"}, genes) == {0: "attribution_MIB2.png"}
