import gzip
import re

import pandas as pd
import pytest
from conftest import DATA

from chromepredict.io.annotation import (
    GENE_COLUMNS,
    GeneTable,
    is_primary_chrom,
    match_chroms,
    read_genes,
    read_tss,
    transcript_gene_map,
)
from chromepredict.system.errors import UserError

GENCODE = DATA / "gencode_human.gtf.gz"
#: Hand-made: UCSC refGene style (transcripts only, gene_id = symbol, copies on alt contigs/chrY).
UCSC = DATA / "gtf" / "ucsc_refgene.gtf"
#: Hand-made: GENCODE style, a PAR gene with its chrY copy as ENSG..._PAR_Y.
GENCODE_PAR = DATA / "gtf" / "gencode_par.gtf"


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


def test_one_locus_per_gene_ucsc_style():
    table = read_genes(UCSC, gene_type=None)
    assert isinstance(table, GeneTable)
    genes = table.genes
    assert list(genes.columns) == GENE_COLUMNS
    assert genes["gene_id"].is_unique and len(genes) == 8
    rows = genes.set_index("gene_id")
    loci = {g: (r.chrom, r.tss, r.strand) for g, r in rows.iterrows()}
    # TAP2: chr6 transcripts end at 32806547/32806557 (minus strand); the chr6_ssto_hap7 copy
    # has three transcripts ending up to 33020000 and must not leak into the TSS.
    assert loci["TAP2"] == ("chr6", 32806557, "-")
    assert loci["GENEE"] == ("chr1", 8000, "-")  # chr1 over chrUn_gl000220 (which has more records)
    assert loci["CD99"] == ("chrX", 2691187, "+")  # chrX over chrY (which has more records)
    assert loci["GENEA"] == ("chr1", 1000, "+")  # two transcripts on chr1 +, one on chr5 -
    assert loci["GENEB"] == ("chr2", 3500, "-")  # same chromosome: two on -, one on +
    assert loci["GENEC"] == ("chr2", 700, "+")  # one each on chr10 and chr2: chr2 (natural order)
    assert loci["GENED"] == ("chr19_KI270938v1_alt", 100, "+")  # only on an alt contig: kept
    assert loci["RP11-34P13.3"] == ("chr1", 29554, "+")  # not an Ensembl id: ".3" stays
    assert table.resolved == {"alt_contig": 2, "par": 1, "multi_locus": 3}
    assert len(table.notes) == 2
    assert "2 genes also on alt/unplaced contigs" in table.notes[0]
    assert "TAP2: chr6 - over chr6_ssto_hap7 -" in table.notes[0]
    assert "1 gene on chrX and chrY" in table.notes[1] and "CD99" in table.notes[1]
    # several real loci: a choice the user must hear of (a warning, never hidden)
    assert len(table.warnings) == 1 and "3 genes on several chromosomes or strands" in table.warnings[0]
    assert "\n" not in table.summary and table.summary.count(";") >= 1


def test_choice_does_not_depend_on_file_order(tmp_path):
    header, *records = UCSC.read_text().splitlines(keepends=True)
    reversed_gtf = tmp_path / "reversed.gtf"
    reversed_gtf.write_text(header + "".join(reversed(records)))
    forward = read_tss(UCSC, gene_type=None).set_index("gene_id").sort_index()
    backward = read_tss(reversed_gtf, gene_type=None).set_index("gene_id").sort_index()
    pd.testing.assert_frame_equal(forward, backward)


def test_ucsc_gtf_has_no_gene_type():
    with pytest.raises(UserError, match="--all-genes"):
        read_tss(UCSC)


def test_par_y_copy_is_dropped():
    table = read_genes(GENCODE_PAR)
    assert table.genes.to_dict("records") == [
        {"gene_id": "ENSG00000186092", "gene_name": "OR4F5", "chrom": "chr1", "tss": 65419, "strand": "+"},
        {"gene_id": "ENSG00000182378", "gene_name": "PLCXD1", "chrom": "chrX", "tss": 276322, "strand": "+"},
    ]
    assert table.resolved == {"par": 1}
    assert read_tss(GENCODE_PAR).equals(table.genes)


def test_nothing_resolved_on_a_clean_gtf():
    table = read_genes(GENCODE, gene_type=None)
    assert table.resolved == {} and table.notes == [] and table.summary == ""


def test_transcript_only_gtf_spans_transcripts_per_locus(tmp_path):
    path = tmp_path / "tx.gtf"
    lines = [line for line in GENCODE_PAR.read_text().splitlines(keepends=True) if "\ttranscript\t" in line]
    path.write_text("".join(lines))
    genes = read_tss(path).set_index("gene_id")
    assert tuple(genes.loc["ENSG00000182378", ["chrom", "tss"]]) == ("chrX", 276322) and len(genes) == 2


@pytest.mark.parametrize(
    "chrom, primary",
    [
        ("chr1", True),
        ("1", True),
        ("chr19", True),
        ("chrX", True),
        ("Y", True),
        ("chrM", True),
        ("MT", True),
        ("NC_000001.11", True),
        ("chr6_ssto_hap7", False),
        ("chr17_ctg5_hap1", False),
        ("chrUn_gl000220", False),
        ("chr1_KI270706v1_random", False),
        ("chr19_KI270938v1_alt", False),
        ("chrUn", False),
        ("chrEBV", False),
        ("GL000220.1", False),
        ("KI270706.1", False),
        ("JH584299.1", False),
        ("NT_187361.1", False),
    ],
)
def test_primary_chromosomes(chrom, primary):
    assert is_primary_chrom(chrom) is primary


def test_transcript_gene_map_on_gencode():
    mapping = transcript_gene_map(GENCODE)
    assert len(mapping) == 470  # zcat | awk '$3=="transcript"' | wc -l
    assert len(set(mapping.values())) == 119
    # looked up by hand in the GTF (zcat | grep), versions stripped on both sides
    assert mapping["ENST00000456328"] == "ENSG00000223972"  # DDX11L1-202
    assert mapping["ENST00000332831"] == "ENSG00000284662"  # OR4F16
    assert mapping["ENST00000379116"] == "ENSG00000162572"  # SCNN1D
    assert mapping["ENST00000378756"] == "ENSG00000197785"  # ATAD3A
    assert not any("." in key for key in mapping)


def test_transcript_gene_map_par_and_symbols():
    assert transcript_gene_map(GENCODE_PAR) == {
        "ENST00000381657": "ENSG00000182378",  # the _PAR_Y copy maps to the same ids
        "ENST00000641515": "ENSG00000186092",
    }
    ucsc = transcript_gene_map(UCSC)
    assert ucsc["NM_000544"] == "TAP2" and ucsc["NR_600001"] == "RP11-34P13.3"


def test_transcript_gene_map_falls_back_to_exons(tmp_path):
    path = tmp_path / "exons.gtf"
    lines = [line for line in UCSC.read_text().splitlines(keepends=True) if "\texon\t" in line]
    path.write_text("".join(lines))
    assert transcript_gene_map(path) == transcript_gene_map(UCSC)


def test_transcript_gene_map_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        transcript_gene_map(tmp_path / "nope.gtf")
    genes_only = tmp_path / "genes.gtf"
    genes_only.write_text('chr1\tx\tgene\t1\t10\t.\t+\t.\tgene_id "A";\n')
    with pytest.raises(UserError, match="no transcript records"):
        transcript_gene_map(genes_only)


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
    with pytest.raises(
        UserError, match="not a GTF; it is a bigWig: it is a track: pass it as a bigWig argument"
    ):
        read_tss(example["tracks"][0])


GENE = 'chr1\tHAVANA\tgene\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{id}"; gene_type "protein_coding";\n'


def test_invalid_records_are_skipped_with_a_count(tmp_path):
    """A gene with strand '.' or start after end has no TSS to place: skipped and counted, never guessed."""
    path = tmp_path / "g.gtf"
    path.write_text(
        GENE.format(start=100, end=200, strand="+", id="A")
        + GENE.format(start=300, end=400, strand=".", id="B")
        + GENE.format(start=500, end=450, strand="-", id="C")
        + GENE.format(start=600, end=700, strand="?", id="D")
        + GENE.format(start=0, end=700, strand="+", id="E")
        + GENE.format(start=800, end=900, strand="+", id="F").replace("chr1", "", 1)
    )
    table = read_genes(path, None)
    assert list(table.genes["gene_id"]) == ["A"]
    assert any("2 gene/transcript records skipped: strand other than + or −" in w for w in table.warnings)
    assert any("1 gene/transcript records skipped: start after end" in w for w in table.warnings)
    assert any("2 gene/transcript records skipped: no chromosome or start 0" in w for w in table.warnings)


@pytest.mark.parametrize("start, column", [("12.5", 4), ("1e3", 4), ("chr1", 4)])
def test_a_non_integer_coordinate_names_its_line_and_column(tmp_path, start, column):
    path = tmp_path / "g.gtf"
    path.write_text("#!genome-build GRCh38\n" + GENE.format(start=100, end=200, strand="+", id="A")
                    + GENE.format(start=start, end=900, strand="+", id="B"))  # fmt: skip
    with pytest.raises(
        UserError, match=rf"line 3: start \(column {column}\) is '{start}', not a whole number"
    ):
        read_genes(path, None)


def test_an_empty_gene_type_filter_lists_the_types_the_file_has(tmp_path):
    path = tmp_path / "g.gtf"
    path.write_text(GENE.format(start=100, end=200, strand="+", id="A").replace("protein_coding", "lincRNA"))
    with pytest.raises(UserError, match=r"no genes of type 'lncRNA'; this GTF has lincRNA \(1\)"):
        read_genes(path, "lncRNA")


@pytest.mark.parametrize(
    "kind, content, message",
    [
        (
            "gff3",
            "##gff-version 3\nchr1\tx\tgene\t1\t10\t.\t+\t.\tID=A;Name=A\n",
            "it is a GFF3 annotation: convert it with gffread",
        ),
        ("bed", "chr1\t10\t20\tA\t0\t+\n", "it is a BED file of intervals: a BED has no gene ids"),
    ],
)
def test_other_formats_given_as_the_gtf_are_named(tmp_path, kind, content, message):
    path = tmp_path / f"genes.{kind}"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_genes(path, None)


def test_unknown_gene_type(example):
    with pytest.raises(UserError, match="--all-genes"):
        read_tss(example["gtf"], gene_type="lincRNA")


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_character_cut_by_the_format_check_is_still_text(tmp_path, gzipped):
    """The format is read from the first 4,096 bytes: a two-byte UTF-8 character across that
    boundary is text, not a binary file."""
    import gzip

    first = GENE.format(start=100, end=200, strand="+", id="A").encode()
    comment = b"#" + b"x" * (4094 - len(first)) + "é".encode() + b"\n"
    data = first + comment + GENE.format(start=300, end=400, strand="+", id="B").encode()
    assert data.index("é".encode()) == 4095  # its second byte is the 4,097th
    path = tmp_path / ("g.gtf.gz" if gzipped else "g.gtf")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    assert list(read_genes(path, None).genes["gene_id"]) == ["A", "B"]


def test_genes_with_transcript_lines_only_beside_gene_lines_are_kept(tmp_path):
    """A GTF whose genes have gene lines, but some only transcript lines (an annotation appended to
    GENCODE): every gene is placed, those from their transcripts, with a note; nothing said for a
    GTF whose genes all have gene lines."""
    with gzip.open(GENCODE, "rt") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    complete = read_tss(GENCODE, gene_type=None).set_index("gene_id")
    dropped = set(complete.index[::2])  # every other gene loses its gene line
    kept = [
        line for line in lines
        if not (line.split("\t")[2] == "gene" and line.split('gene_id "')[1].split(".")[0] in dropped)
    ]  # fmt: skip
    path = tmp_path / "mixed.gtf"
    path.write_text("".join(kept))
    table = read_genes(path, gene_type=None)
    mixed = table.genes.set_index("gene_id")
    assert set(mixed.index) == set(complete.index)
    assert (mixed.loc[complete.index, "tss"] == complete["tss"]).mean() > 0.95  # as in the fallback above
    assert any(f"{len(dropped)} genes have transcript records but no gene record" in n for n in table.notes)
    assert not any("transcript records but no gene record" in n for n in read_genes(GENCODE, None).notes)


def test_gene_type_is_read_from_either_attribute_in_one_file(tmp_path):
    """GENCODE's gene_type and Ensembl's gene_biotype in one GTF: both filter; records with neither
    are left out with a warning."""
    with gzip.open(GENCODE, "rt") as handle:
        genes = [line for line in handle if not line.startswith("#") and line.split("\t")[2] == "gene"]
    coding = set(read_tss(GENCODE)["gene_id"])
    renamed = [line.replace("gene_type", "gene_biotype") if k % 2 else line for k, line in enumerate(genes)]
    path = tmp_path / "both.gtf"
    path.write_text("".join(renamed))
    table = read_genes(path)
    assert set(table.genes["gene_id"]) == coding and not table.warnings
    untyped = [re.sub(r' gene_type "[^"]*";', "", line) if k == 0 else line for k, line in enumerate(genes)]
    path.write_text("".join(untyped))
    table = read_genes(path)
    assert any("1 gene with neither gene_type nor gene_biotype is left out" in w for w in table.warnings)


def test_records_without_a_gene_id_are_skipped_with_a_count(tmp_path):
    """Two genes with ``gene_id ""`` are not merged into one gene 'NA': skipped, and said."""
    records = [
        ("gene", "chr1", 1_000, 9_000, "+", "A"),
        ("gene", "chr1", 100_000, 109_000, "+", ""),
        ("gene", "chr2", 5_000, 9_000, "-", ""),
        ("gene", "chr1", 20_000, 30_000, "-", "B"),
    ]
    table = read_genes(_gtf(tmp_path, records), gene_type=None)
    assert sorted(table.genes["gene_id"]) == ["A", "B"]
    assert any("2 gene/transcript records skipped: no gene_id, or an empty one" in w for w in table.warnings)
    assert not read_genes(GENCODE, gene_type=None).warnings
    nameless = [(f, c, s, e, st, "") for f, c, s, e, st, _ in records]  # no record has an id
    with pytest.raises(UserError, match="no gene_id attribute"):
        read_genes(_gtf(tmp_path, nameless), gene_type=None)


def _gtf(tmp_path, records: list[tuple]):
    """A GTF of (feature, chrom, start, end, strand, gene_id) records."""
    path = tmp_path / "loci.gtf"
    path.write_text("".join(
        f'{c}\tsrc\t{f}\t{s}\t{e}\t.\t{st}\t.\tgene_id "{g}"; transcript_id "{g}.{i}"; gene_name "{g}";\n'
        for i, (f, c, s, e, st, g) in enumerate(records)
    ))  # fmt: skip
    return path


@pytest.mark.parametrize("feature", ["gene", "transcript"])
def test_records_at_distant_loci_are_never_merged(tmp_path, feature):
    """One gene id at two loci of one chromosome: one locus is kept (the one with more records), never
    a span across both (its TSS would move by megabases), and the choice is a warning with examples."""
    records = [
        (feature, "chr1", 1_000, 9_000, "+", "DUP"),
        (feature, "chr1", 5_001_000, 5_009_000, "+", "DUP"),
        (feature, "chr1", 5_002_000, 5_012_000, "+", "DUP"),  # overlaps the one before: one locus
        (feature, "chr1", 20_000, 30_000, "-", "ONE"),
        (feature, "chr1", 25_000, 31_000, "-", "ONE"),  # overlapping records: one span, nothing said
    ]
    table = read_genes(_gtf(tmp_path, records), gene_type=None)
    loci = table.genes.set_index("gene_id")
    assert (loci.loc["DUP", "chrom"], loci.loc["DUP", "tss"]) == ("chr1", 5_001_000)
    assert loci.loc["ONE", "tss"] == 31_000
    assert table.resolved == {"distant": 1}
    assert len(table.warnings) == 1
    assert (
        "1 gene at distant loci" in table.warnings[0]
        and "DUP: chr1:5,001,000 over chr1:1,000" in table.warnings[0]
    )


def test_a_gene_at_two_loci_is_warned_through_predict(cli, tracks, example, tmp_path):
    import gzip

    gtf = tmp_path / "genes.gtf"
    with gzip.open(example["gtf"], "rt") as handle:
        text = handle.read()
    gtf.write_text(text)
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "-o", tmp_path / "clean.tsv")
    assert code == 0 and "distant loci" not in err  # the control: GENCODE genes, one locus each
    line = next(line for line in text.splitlines() if "\tgene\t" in line and 'gene_name "MIB2"' in line)
    chrom, src, feature, start, end, *rest = line.split("\t")
    moved = "\t".join([chrom, src, feature, str(int(start) + 5_000_000), str(int(end) + 5_000_000), *rest])
    gtf.write_text(text + moved + "\n")
    code, _, err = cli("predict", *tracks, "--gtf", gtf, "-o", tmp_path / "p.tsv")
    assert code == 0 and "1 gene at distant loci" in " ".join(err.split())
    assert "distant loci" in (tmp_path / "p.json").read_text()  # in the predictions' sidecar too
