import gzip

import pytest
from conftest import DATA

from chromepredict.annotation import match_chroms, read_tss
from chromepredict.errors import UserError

GENCODE = DATA / "gencode_human.gtf.gz"


def test_gene_level_tss_from_gencode():
    genes = read_tss(GENCODE, gene_type=None)
    assert len(genes) == 119
    assert not genes["gene_id"].str.contains(r"\.").any()  # version suffix stripped
    ddx = genes.set_index("gene_name").loc["DDX11L1"]
    assert (ddx.gene_id, ddx.chrom, ddx.tss, ddx.strand) == ("ENSG00000223972", "chr1", 11869, "+")
    wash = genes.set_index("gene_name").loc["WASH7P"]  # minus strand: TSS is the gene end
    assert (wash.tss, wash.strand) == (29570, "-")


def test_protein_coding_filter():
    coding = read_tss(GENCODE)
    assert 0 < len(coding) < 119
    assert "OR4F5" in set(coding["gene_name"])
    assert "DDX11L1" not in set(coding["gene_name"])


def test_transcripts_used_when_no_gene_records(tmp_path):
    with gzip.open(GENCODE, "rt") as handle:
        lines = [line for line in handle if not line.startswith("#") and line.split("\t")[2] == "transcript"]
    path = tmp_path / "tx.gtf"
    path.write_text("".join(lines))
    from_tx = read_tss(path, gene_type=None).set_index("gene_id")
    from_genes = read_tss(GENCODE, gene_type=None).set_index("gene_id")
    common = from_genes.index.intersection(from_tx.index)
    assert len(common) > 100
    assert (from_tx.loc[common, "tss"] == from_genes.loc[common, "tss"]).mean() > 0.95


def test_chromosome_aliases():
    assert match_chroms(["chr1", "chrM", "chrX"], {"1", "MT", "X"}) == {
        "chr1": "1",
        "chrM": "MT",
        "chrX": "X",
    }
    assert match_chroms(["1", "MT"], {"chr1", "chrM"}) == {"1": "chr1", "MT": "chrM"}
    assert match_chroms(["chr1_random"], {"chr1"}) == {}


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "no records"),
        ("# only a comment\n", "no records"),
        ("gene_id\tvalue\nA\t1\n", "not a GTF file"),
        ("chr1\tx\tgene\t1\t10\t.\t+\t.\tnonsense without quotes\n", "malformed GTF|no gene_id"),
        ('chr1\tx\texon\t1\t10\t.\t+\t.\tgene_id "A";\n', "neither gene nor transcript"),
    ],
)
def test_bad_gtf(tmp_path, content, message):
    path = tmp_path / "bad.gtf"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_tss(path)


def test_missing_and_binary_gtf(tmp_path, example):
    with pytest.raises(UserError, match="not found"):
        read_tss(tmp_path / "nope.gtf")
    with pytest.raises(UserError, match="cannot read as GTF|not a GTF"):
        read_tss(example["tracks"][0])


def test_unknown_gene_type(example):
    with pytest.raises(UserError, match="--all-genes"):
        read_tss(example["gtf"], gene_type="lincRNA")
