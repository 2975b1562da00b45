"""Gene identity through the real CLI: a model's own training genes are recognised in GTFs keyed
by symbols as in Ensembl-keyed ones, a --genes name shared by several genes means all of them, and
a GTF's build is read from the header styles users download."""

import gzip
import json
import re

import pandas as pd
import pytest


def symbol_keyed(example, path, suffix: str = ""):
    """The example GTF as UCSC/RefSeq write it: gene_id is the gene symbol (``suffix`` added to
    ids and names makes them other genes)."""
    with gzip.open(example["gtf"], "rt") as handle:
        text = handle.read()
    names = {}
    for line in text.splitlines():
        gene_id, gene_name = re.search(r'gene_id "([^"]+)"', line), re.search(r'gene_name "([^"]+)"', line)
        if gene_id and gene_name:
            names[gene_id.group(1)] = gene_name.group(1) + suffix
    text = re.sub(r'gene_id "([^"]+)"', lambda m: f'gene_id "{names.get(m.group(1), m.group(1))}"', text)
    if suffix:
        text = re.sub(r'gene_name "([^"]+)"', rf'gene_name "\1{suffix}"', text)
    path.write_text(text)
    return path


@pytest.mark.slow
def test_a_pretrained_models_own_genes_are_flagged_in_a_symbol_keyed_gtf(cli, tracks, example, tmp_path):
    gtf = symbol_keyed(example, tmp_path / "refgene.gtf")
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "--model", "E003", "--expression", example["expression"],
                       "-o", tmp_path / "p.tsv")  # fmt: skip
    assert code == 0, err
    assert "369 of the 369 genes with a value" in err and "not a test" in err
    code, out, err = cli("evaluate", "--model", "E003", *tracks, "--gtf", gtf, "--expression", example["expression"],
                         "-o", tmp_path / "eval")  # fmt: skip
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["training_genes"] == 369 and "caveat" in metrics


@pytest.mark.slow
def test_a_trained_models_genes_are_recognised_by_id_or_symbol_and_no_others(cli, tracks, example, tmp_path):
    """The card lists its training genes' ids and names: in an Ensembl-keyed and in a symbol-keyed
    GTF the same genes are flagged — its training and validation genes, never its test genes."""
    out = tmp_path / "model"
    code, _, err = cli("train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
                       "--max-epochs", 1, "--members", 1, "-o", out, "-q")  # fmt: skip
    assert code == 0, err
    card = json.loads((out / "model.card.json").read_text())
    n = len(card["training_data"]["gene_ids"])
    test_genes = len(pd.read_csv(out / "test_predictions.tsv", sep="\t"))
    assert n == len(card["training_data"]["gene_names"]) and n + test_genes == 369
    for gtf in (example["gtf"], symbol_keyed(example, tmp_path / "refgene.gtf")):
        code, _, err = cli("predict", *tracks, "--gtf", gtf, "--model", out, "--expression", example["expression"],
                           "-o", tmp_path / "p.tsv")  # fmt: skip
        assert code == 0 and f"{n} of the 369 genes with a value" in " ".join(err.split()), err


def test_genes_of_another_annotation_are_not_flagged(cli, tracks, example, tmp_path):
    """The control: symbols that are not the model's genes get no caveat (and, matched by name to
    nothing, no score either: the table's genes are other genes)."""
    gtf = symbol_keyed(example, tmp_path / "other.gtf", suffix="-OTHER")
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "--model", "E003", "--expression", example["expression"],
                       "-o", tmp_path / "p.tsv")  # fmt: skip
    assert code == 0 and "not a test" not in err


@pytest.mark.slow
def test_a_name_shared_by_two_genes_explains_both(cli, tracks, example, tmp_path):
    pytest.importorskip("torch")
    with gzip.open(example["gtf"], "rt") as handle:
        text = handle.read()
    line = next(line for line in text.splitlines() if "\tgene\t" in line and 'gene_name "MIB2"' in line)
    twin = line.replace('gene_id "ENSG00000197530', 'gene_id "ENSG00000999999').replace(
        "\tchr1\t", "\tchr1\t"
    )
    chrom, src, feature, start, end, *rest = twin.split("\t")
    twin = "\t".join([chrom, src, feature, str(int(start) + 2_000_000), str(int(end) + 2_000_000), *rest])
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(text + twin + "\n")
    code, _, err = cli("explain", "--model", "E003", *tracks, "--gtf", gtf, "--genes", "MIB2,LIN28A",
                       "--no-class-maps", "-o", tmp_path / "maps")  # fmt: skip
    assert code == 0, err
    assert "--genes MIB2: 2 genes have this name" in err and "ENSG00000999999" in err
    figures = sorted(p.name for p in (tmp_path / "maps").glob("attribution_*.png"))
    assert len(figures) == 3 and "attribution_LIN28A.png" in figures
    explained = pd.read_csv(tmp_path / "maps" / "attributions.tsv", sep="\t")["gene_id"].unique()
    assert {"ENSG00000999999", "ENSG00000197530"} <= set(explained)


@pytest.mark.parametrize(
    "header, warned",
    [
        ("#!genome-build GRCh38.p14\n#!genome-version GRCh38\n", True),
        ("#!genome-build-accession NCBI_Assembly:GCF_000001405.40\n", True),
        ("#!genome-build GRCh37.p13\n", False),
        (
            "##description: evidence-based annotation of the human genome (GRCh37), version 19 (Ensembl 74)\n",
            False,
        ),
    ],
)
def test_the_gtf_build_is_read_from_every_header_style(cli, tracks, example, tmp_path, header, warned):
    with gzip.open(example["gtf"], "rt") as handle:
        records = "".join(line for line in handle if not line.startswith("#"))
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(header + records)
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "-o", tmp_path / "p.tsv")
    assert code == 0, err
    assert ("the GTF says hg38 but the tracks are hg19" in " ".join(err.split())) == warned
