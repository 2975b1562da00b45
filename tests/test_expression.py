"""chromepredict.io.expression: quantifier formats, column choice, transcripts → genes, matching to a GTF.

Expected numbers are worked out by hand in each test from the small tables written here.
"""

import gzip
import json
import math

import pandas as pd
import pytest

from chromepredict.io.expression import Expression, read_expression
from chromepredict.system.errors import UserError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def one_line_error(call, match):
    with pytest.raises(UserError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def gtf_genes(rows):
    return pd.DataFrame(rows, columns=["gene_id", "gene_name"])


# RSEM: length comes first and disagrees with TPM (long genes have low TPM)
RSEM = (
    "gene_id\ttranscript_id(s)\tlength\teffective_length\texpected_count\tTPM\tFPKM\n"
    "ENSG00000000001.5\tENST00000000001.1\t5000\t4800\t900\t0.5\t0.4\n"
    "ENSG00000000002.3\tENST00000000002.2\t100\t60\t30\t40\t35\n"
    "ENSG00000000003.1\tENST00000000003.1,ENST00000000013.1\t3000\t2800\t10\t1\t0.9\n"
    "ENSG00000000004.2\tENST00000000004.4\t200\t150\t50\t20\t18\n"
    "ENSG00000000005.7\tENST00000000005.1\t4000\t3800\t300\t2\t1.8\n"
)


def test_rsem_uses_tpm_not_length(tmp_path):
    expr = read_expression(write(tmp_path, "s1.genes.results", RSEM))
    assert expr.table_format == "RSEM genes.results"
    assert expr.column == "TPM"
    # TPM 0.5, 40, 1, 20, 2 → median 2; by length (5000, 100, 3000, 200, 4000) it would be 1, 0, 0, 0, 1
    assert expr.median == 2
    assert expr.labels.to_dict() == {
        "ENSG00000000001": 0,
        "ENSG00000000002": 1,
        "ENSG00000000003": 0,
        "ENSG00000000004": 1,
        "ENSG00000000005": 0,
    }
    assert expr.values["ENSG00000000004"] == 20
    assert "column TPM" in expr.notes[0]
    assert (
        expr.describe()
        == "s1.genes.results: RSEM genes.results, column TPM; 5 genes, median 2, 2 high / 3 low"
    )


def test_rsem_isoforms_summed_per_gene(tmp_path):
    text = (
        "transcript_id\tgene_id\tlength\teffective_length\texpected_count\tTPM\tFPKM\tIsoPct\n"
        "ENST00000000001.1\tENSG00000000001.5\t900\t700\t10\t3\t2\t60\n"
        "ENST00000000011.1\tENSG00000000001.5\t800\t600\t10\t2\t1\t40\n"
        "ENST00000000002.1\tENSG00000000002.1\t700\t500\t1\t7\t6\t100\n"
        "ENST00000000003.1\tENSG00000000003.1\t600\t400\t1\t1\t1\t100\n"
    )
    expr = read_expression(write(tmp_path, "s1.isoforms.results", text))
    assert expr.values.to_dict() == {"ENSG00000000001": 5, "ENSG00000000002": 7, "ENSG00000000003": 1}
    assert expr.median == 5
    assert any("summed TPM of 4 transcripts into 3 genes" in n for n in expr.notes)


SALMON_HEADER = "Name\tLength\tEffectiveLength\tTPM\tNumReads\n"


def test_salmon_gene_level(tmp_path):
    text = SALMON_HEADER + (
        "ENSG00000000001.2\t9000\t8800\t1.5\t200\n"
        "ENSG00000000002.1\t300\t120\t30\t60\n"
        "ENSG00000000003.4\t5000\t4800\t4\t300\n"
    )
    expr = read_expression(write(tmp_path, "quant.genes.sf", text))
    assert expr.table_format == "salmon quant.genes.sf"
    assert expr.column == "TPM"
    assert expr.values.to_dict() == {"ENSG00000000001": 1.5, "ENSG00000000002": 30, "ENSG00000000003": 4}
    assert expr.median == 4
    assert expr.labels.to_dict() == {"ENSG00000000001": 0, "ENSG00000000002": 1, "ENSG00000000003": 0}


SALMON_TX = SALMON_HEADER + (
    "ENST00000000001.1\t1000\t800\t10\t50\n"
    "ENST00000000002.3\t2000\t1800\t5\t90\n"
    "ENST00000000003.1\t1500\t1300\t2\t20\n"
    "ENST00000000004.1\t1200\t1000\t8\t40\n"
    "ENST00000000009.1\t1200\t1000\t100\t40\n"
)


def test_salmon_transcript_level_needs_a_map(tmp_path):
    path = write(tmp_path, "quant.sf", SALMON_TX)
    message = one_line_error(lambda: read_expression(path), "transcript-level")
    assert "quant.genes.sf" in message and "transcript" in message


def test_salmon_transcript_level_summed_with_a_map(tmp_path):
    path = write(tmp_path, "quant.sf", SALMON_TX)
    mapping = {  # versions differ from the table's on purpose; ENST…9 is not in the map
        "ENST00000000001.2": "ENSG00000000001.1",
        "ENST00000000002.1": "ENSG00000000001.1",
        "ENST00000000003.1": "ENSG00000000002.1",
        "ENST00000000004.1": "ENSG00000000003.1",
    }
    expr = read_expression(path, transcript_to_gene=lambda: mapping)
    # gene 1 = 10 + 5, gene 2 = 2, gene 3 = 8 → median 8
    assert expr.values.to_dict() == {"ENSG00000000001": 15, "ENSG00000000002": 2, "ENSG00000000003": 8}
    assert expr.median == 8
    assert expr.labels.to_dict() == {"ENSG00000000001": 1, "ENSG00000000002": 0, "ENSG00000000003": 0}
    note = next(n for n in expr.notes if n.startswith("summed"))
    assert "4 transcripts into 3 genes" in note and "1 transcripts without a gene dropped" in note


def test_kallisto_is_transcript_level_whatever_its_ids(tmp_path):
    # ids that do not look like Ensembl transcripts: kallisto quantifies transcripts all the same
    text = "target_id\tlength\teff_length\test_counts\ttpm\ntxA\t900\t700\t100\t6\ntxB\t800\t600\t5\t1\n"
    path = write(tmp_path, "abundance.tsv", text)
    expr = read_expression(
        path, transcript_to_gene=lambda: {"txA": "ENSG00000000007", "txB": "ENSG00000000007"}
    )
    assert expr.values.to_dict() == {"ENSG00000000007": 7}


def test_kallisto_uses_tpm(tmp_path):
    text = (
        "target_id\tlength\teff_length\test_counts\ttpm\n"
        "ENST00000000001.1\t3000\t2800\t500\t2\n"
        "ENST00000000002.1\t400\t220\t20\t12\n"
        "ENST00000000003.1\t2500\t2300\t100\t3\n"
    )
    path = write(tmp_path, "abundance.tsv", text)
    mapping = {"ENST00000000001": "ENSG00000000001", "ENST00000000002": "ENSG00000000002"}
    mapping["ENST00000000003"] = "ENSG00000000002"
    expr = read_expression(path, transcript_to_gene=lambda: mapping)
    assert expr.table_format == "kallisto abundance.tsv"
    assert expr.column == "tpm"
    assert expr.values.to_dict() == {"ENSG00000000001": 2, "ENSG00000000002": 15}  # not est_counts
    one_line_error(lambda: read_expression(path), "transcript-level")


FEATURECOUNTS = (
    '# Program:featureCounts v2.0.6; Command:"featureCounts" "-a" "genes.gtf" "-o" "counts.txt"\n'
    "Geneid\tChr\tStart\tEnd\tStrand\tLength\t{samples}\n"
    "ENSG00000000001.3\tchr1;chr1\t100;500\t300;1300\t+;+\t1000\t{a}\n"
    "ENSG00000000002.1\tchr1\t2000\t3999\t-\t2000\t{b}\n"
    "ENSG00000000003.2\tchr2\t10\t509\t+\t500\t{c}\n"
)


def test_featurecounts_counts_to_tpm(tmp_path):
    path = write(tmp_path, "counts.txt", FEATURECOUNTS.format(samples="/data/s1.bam", a=100, b=100, c=100))
    expr = read_expression(path)
    assert expr.table_format == "featureCounts"
    assert expr.column == "/data/s1.bam"
    # reads per kb: 100/1 = 100, 100/2 = 50, 100/0.5 = 200; sum 350 → ×1e6/350
    assert expr.values["ENSG00000000001"] == pytest.approx(1e6 * 100 / 350)
    assert expr.values["ENSG00000000002"] == pytest.approx(1e6 * 50 / 350)
    assert expr.values["ENSG00000000003"] == pytest.approx(1e6 * 200 / 350)
    assert expr.median == pytest.approx(1e6 * 100 / 350)
    assert expr.labels.to_dict() == {"ENSG00000000001": 0, "ENSG00000000002": 0, "ENSG00000000003": 1}
    assert any("TPM" in n and "Length" in n for n in expr.notes)


def test_featurecounts_several_samples(tmp_path):
    text = FEATURECOUNTS.format(samples="a.bam\tb.bam", a="10\t0", b="10\t30", c="10\t5")
    path = write(tmp_path, "counts.txt", text)
    message = one_line_error(lambda: read_expression(path), "--expression-column")
    assert "a.bam" in message and "b.bam" in message
    expr = read_expression(path, column="b.bam")
    # b.bam per kb: 0/1 = 0, 30/2 = 15, 5/0.5 = 10; sum 25
    assert expr.values.to_dict() == pytest.approx(
        {"ENSG00000000001": 0.0, "ENSG00000000002": 600_000.0, "ENSG00000000003": 400_000.0}
    )


def test_two_column_table(tmp_path):
    expr = read_expression(write(tmp_path, "e.csv", "gene,level\nENSG00000000001,8\nENSG00000000002,0\n"))
    assert expr.table_format == "two-column table"
    assert expr.column == "level"
    assert expr.median == 4
    assert expr.labels.to_dict() == {"ENSG00000000001": 1, "ENSG00000000002": 0}


def test_two_column_table_without_header_gzipped(tmp_path):
    path = tmp_path / "e.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("# made by hand\nENSG00000000001.1\t3\nENSG00000000002.1\t9\nENSG00000000003.1\t1\n")
    expr = read_expression(path)
    assert expr.values.to_dict() == {"ENSG00000000001": 3, "ENSG00000000002": 9, "ENSG00000000003": 1}
    assert expr.median == 3


MATRIX = "gene_id,E123,E003\nENSG00000000001,1,50\nENSG00000000002,9,2\nENSG00000000003,5,7\n"


def test_matrix_needs_a_column(tmp_path):
    path = write(tmp_path, "matrix.csv", MATRIX)
    message = one_line_error(lambda: read_expression(path), "--expression-column")
    assert "E123" in message and "E003" in message
    expr = read_expression(path, column="E003")
    assert expr.column == "E003"
    assert expr.values.to_dict() == {"ENSG00000000001": 50, "ENSG00000000002": 2, "ENSG00000000003": 7}
    assert expr.labels.to_dict() == {"ENSG00000000001": 1, "ENSG00000000002": 0, "ENSG00000000003": 0}
    message = one_line_error(lambda: read_expression(path, column="E999"), "no column 'E999'")
    assert "E123" in message


def test_generic_table_prefers_tpm_and_skips_lengths(tmp_path):
    text = "Gene,length,FPKM,TPM\nENSG00000000001,900,1,2\nENSG00000000002,100,5,6\nENSG00000000003,50,9,1\n"
    expr = read_expression(write(tmp_path, "t.csv", text))
    assert expr.column == "TPM"
    assert expr.median == 2
    one_line_error(
        lambda: read_expression(write(tmp_path, "l.tsv", "gene_id\tlength\nENSG00000000001\t5\n")),
        "no numeric expression column",
    )


def test_duplicate_ids_merged_by_mean(tmp_path):
    text = (
        "gene_id\tgene_name\ttpm\n"
        "ENSG00000000001.1\tA\t2\n"
        "ENSG00000000001.2\tA\t4\n"
        "ENSG00000000002.1\tB\t10\n"
        "ENSG00000000002.1_PAR_Y\tB\t0\n"
        "ENSG00000000003.1\tC\t1\n"
    )
    expr = read_expression(write(tmp_path, "d.tsv", text))
    assert expr.values.to_dict() == {"ENSG00000000001": 3, "ENSG00000000002": 5, "ENSG00000000003": 1}
    assert expr.names.to_dict() == {"ENSG00000000001": "A", "ENSG00000000002": "B", "ENSG00000000003": "C"}
    assert any(n.startswith("2 duplicate gene ids") and "mean" in n for n in expr.notes)
    assert expr.warnings == []  # versions and a _PAR_Y copy of their own value: no conflict


def test_two_tables_stacked_are_warned_and_repeats_that_agree_are_not(tmp_path):
    """Ids repeated with values more than 2-fold apart, for over a tenth of the ids: a warning (two
    samples' tables stacked); identical repeats, or a few conflicting ones, only the note."""
    ids = [f"ENSG{i:011d}" for i in range(100)]
    first = [f"{g}\t{i + 1}\n" for i, g in enumerate(ids)]
    other = [f"{g}\t{(i + 1) * (8 if i < 11 else 1)}\n" for i, g in enumerate(ids)]  # 11 ids 8-fold apart
    stacked = read_expression(write(tmp_path, "s.tsv", "gene_id\ttpm\n" + "".join(first + other)))
    assert len(stacked.warnings) == 1
    assert (
        "11 of 100 gene ids occur in several rows with values more than 2-fold apart" in stacked.warnings[0]
    )
    assert "s.tsv" in stacked.warnings[0] and "stacked" in stacked.warnings[0]
    genes = pd.DataFrame({"gene_id": ids[:3], "gene_name": ["A", "B", "C"]})
    assert stacked.match(genes).warnings == stacked.warnings  # every command that matches says it
    other = [
        f"{g}\t{(i + 1) * (8 if i < 10 else 1)}\n" for i, g in enumerate(ids)
    ]  # 10 of 100: not over a tenth
    few = read_expression(write(tmp_path, "f.tsv", "gene_id\ttpm\n" + "".join(first + other)))
    repeated = read_expression(write(tmp_path, "r.tsv", "gene_id\ttpm\n" + "".join(first + first)))
    for expr in (few, repeated):
        assert expr.warnings == [] and any("100 duplicate gene ids (repeated rows)" in n for n in expr.notes)


@pytest.mark.slow
def test_stacked_tables_are_said_by_predict_and_refused_by_strict(cli, tracks, example, tmp_path):
    table = tmp_path / "both.tsv"
    pd.concat(
        [pd.read_csv(example["expression"], sep="\t"), pd.read_csv(example["expression"].parent / "E123-expression.tsv.gz", sep="\t")]
    ).to_csv(table, sep="\t", index=False)  # fmt: skip
    args = ["predict", *tracks, "--gtf", example["gtf"], "--expression", table, "-q"]
    code, _, stderr = cli(*args, "-o", tmp_path / "p.tsv")
    assert (
        code == 0
        and "warning: " in stderr
        and "both.tsv: 6,964 of 19,795 gene ids occur in several rows" in stderr
    )
    code, _, stderr = cli(*args, "-o", tmp_path / "q.tsv", "--strict")
    assert code == 2 and "two samples' tables stacked" in stderr and not (tmp_path / "q.tsv").exists()
    for name in ("E003", "E123"):  # the bundled tables' identical repeats: silent
        assert read_expression(example["expression"].parent / f"{name}-expression.tsv.gz").warnings == []


def test_a_table_of_every_gene_type_is_said_where_its_median_makes_labels(cli, tracks, example, tmp_path):
    """A GENCODE-wide table (lncRNAs and pseudogenes beside the protein-coding genes) moves the
    median that splits high from low: said by predict and evaluate of a class model with the counts,
    not by a level model (no median) nor for the protein-coding table itself."""
    n = 3000
    lines = [
        f'chr2\tHAVANA\tgene\t{10_000_000 + 1000 * i}\t{10_000_500 + 1000 * i}\t.\t+\t.\tgene_id "ENSG9{i:010d}.1"; '
        f'gene_type "lncRNA"; gene_name "LNC{i}";\n'
        for i in range(n)
    ]
    gtf = tmp_path / "all-types.gtf"
    with gzip.open(example["gtf"], "rt") as given:
        gtf.write_text(given.read() + "".join(lines))
    table = pd.read_csv(example["expression"], sep="\t")
    extra = pd.DataFrame(
        {"gene_id": [f"ENSG9{i:010d}.1" for i in range(n)], "gene_name": [f"LNC{i}" for i in range(n)]}
    )
    extra["rpkm"] = [0.0 if i % 10 < 7 else 0.5 for i in range(n)]  # mostly unexpressed, as lncRNAs are
    wide = tmp_path / "wide.tsv"
    pd.concat([table, extra]).to_csv(wide, sep="\t", index=False)
    median = float(table["rpkm"].median())
    assert float(pd.concat([table, extra])["rpkm"].median()) < median  # what the check is about
    said = "wide.tsv: 3,002 of its 22,795 genes are not protein_coding in the GTF"  # and 2 of the GTF's own

    runs = iter(range(10))

    def stderr_of(*args):
        code, _, stderr = cli(*args, *tracks, "--gtf", gtf, "-o", tmp_path / f"out{next(runs)}")
        assert code == 0, stderr
        return stderr

    stderr = stderr_of("predict", "--expression", wide)
    assert (
        said in stderr
        and f"{median:.3g} over its protein_coding genes alone, which would label 32 of the 369" in stderr
    )
    assert said in stderr_of("evaluate", "-m", "E003-E123", "--expression", wide)
    assert "not protein_coding" not in stderr_of("predict", "--model", "E003-level", "--expression", wide)
    assert "not protein_coding" not in stderr_of("predict", "--expression", example["expression"])


def test_match_by_id_and_levels(tmp_path):
    text = "gene_id\ttpm\nENSG00000000001.4\t3\nENSG00000000002.1\t0\nENSG00000000003.1\t7\n"
    expr = read_expression(write(tmp_path, "e.tsv", text))
    genes = gtf_genes([("ENSG00000000003.9", "C"), ("ENSG00000000009.1", "Z"), ("ENSG00000000001.1", "A")])
    matched = expr.match(genes)
    assert matched.by == "gene_id"
    assert (matched.n_matched, matched.n_unmatched) == (2, 1)
    assert matched.values.iloc[0] == 7 and math.isnan(matched.values.iloc[1]) and matched.values.iloc[2] == 3
    # median 3: 7 → high, 3 → low (not above the median)
    assert matched.labels.iloc[0] == 1 and math.isnan(matched.labels.iloc[1]) and matched.labels.iloc[2] == 0
    assert matched.levels.iloc[0] == pytest.approx(3.0)  # log2(1 + 7)
    assert matched.levels.iloc[2] == pytest.approx(2.0)  # log2(1 + 3)


def test_match_falls_back_to_gene_names(tmp_path):
    # ids from another annotation (Entrez); names match the GTF's, in another case
    text = "gene_id\tgene_name\tfpkm\n7105\tTspan6\t40\n64102\ttnmd\t1\n8813\tDPM1\t30\n57147\tSCYL3\t2\n"
    expr = read_expression(write(tmp_path, "entrez.tsv", text))
    genes = gtf_genes(
        [
            ("ENSG00000000003", "TSPAN6"),
            ("ENSG00000000005", "TNMD"),
            ("ENSG00000000419", "DPM1"),
            ("ENSG00000999999", "NOTHERE"),
        ]
    )
    matched = expr.match(genes)
    assert matched.by == "gene_name"
    assert (matched.n_matched, matched.n_unmatched) == (3, 1)
    assert matched.values.iloc[:3].tolist() == [40, 1, 30]
    assert math.isnan(matched.values.iloc[3])
    # median of 40, 1, 30, 2 = 16
    assert matched.labels.iloc[:3].tolist() == [1, 0, 1]
    assert matched.notes[0] == (
        "gene ids of entrez.tsv do not match the GTF's; matched 3 genes by gene name instead"
    )


def test_match_by_symbol_ids(tmp_path):
    expr = read_expression(write(tmp_path, "sym.tsv", "gene\tTPM\nTSPAN6\t5\nTNMD\t1\n"))
    matched = expr.match(gtf_genes([("ENSG00000000003", "TSPAN6"), ("ENSG00000000005", "TNMD")]))
    assert matched.by == "gene_name"
    assert matched.values.tolist() == [5, 1]


def test_ambiguous_names_left_unmatched(tmp_path):
    text = "id\tsymbol\ttpm\nHGNC:1\tAAA\t5\nHGNC:2\tDUP\t6\nHGNC:3\tdup\t7\nHGNC:4\tBBB\t1\n"
    expr = read_expression(write(tmp_path, "amb.tsv", text))
    genes = gtf_genes([("ENSG1", "AAA"), ("ENSG2", "DUP"), ("ENSG3", "BBB")])
    matched = expr.match(genes)
    assert matched.by == "gene_name"
    assert matched.values.iloc[0] == 5 and matched.values.iloc[2] == 1
    assert math.isnan(matched.values.iloc[1])
    assert (matched.n_matched, matched.n_unmatched) == (2, 1)
    assert any(n.startswith("1 genes left unmatched") and "amb.tsv" in n for n in matched.notes)


def test_names_repeated_in_the_gtf_left_unmatched(tmp_path):
    text = "id\tsymbol\ttpm\nHGNC:1\tAAA\t5\nHGNC:4\tBBB\t1\nHGNC:5\tCCC\t2\n"
    expr = read_expression(write(tmp_path, "amb.tsv", text))
    genes = gtf_genes([("ENSG1", "AAA"), ("ENSG2", "AAA"), ("ENSG3", "BBB"), ("ENSG4", "CCC")])
    matched = expr.match(genes)
    assert matched.by == "gene_name"
    assert matched.values.isna().tolist() == [True, True, False, False]
    assert any(n.startswith("2 genes left unmatched") and "GTF" in n for n in matched.notes)


def test_few_missing_values_dropped(tmp_path):
    rows = [f"ENSG{i:011d}\t{i}" for i in range(1, 201)]
    rows[9] = "ENSG00000000010\tNA"
    path = write(tmp_path, "na.tsv", "gene_id\tTPM\n" + "\n".join(rows) + "\n")
    expr = read_expression(path)
    assert len(expr.values) == 199
    assert "ENSG00000000010" not in expr.values.index
    # values 1..200 without 10: 199 values, the 100th smallest is 101
    assert expr.median == 101
    assert any("dropped 1 rows" in n for n in expr.notes)


def test_many_missing_values_are_an_error(tmp_path):
    path = write(tmp_path, "na.tsv", "gene_id\trpkm\nENSG1\t1\nENSG2\tNA\nENSG3\tn/a\nENSG4\t4\n")
    message = one_line_error(lambda: read_expression(path), "'rpkm' has 2 of 4 values missing")
    assert str(path) in message


def test_negative_values_are_an_error(tmp_path):
    path = write(tmp_path, "log.tsv", "gene_id\tvalue\nENSG1\t1.5\nENSG2\t-0.3\n")
    one_line_error(lambda: read_expression(path), "negative")


def test_missing_file(tmp_path):
    one_line_error(lambda: read_expression(tmp_path / "nope.tsv"), "not found")


def test_bundled_example_median(example):
    expr = read_expression(example["expression"])
    assert isinstance(expr, Expression)
    assert expr.column == "rpkm"
    assert expr.median == pytest.approx(3.33)
    assert expr.labels["ENSG00000000003"] == 1  # TSPAN6, rpkm 43.985
    assert expr.labels["ENSG00000000005"] == 0  # TNMD, rpkm 1.642
    assert expr.names["ENSG00000000003"] == "TSPAN6"


def test_salmon_with_gencode_fasta_headers(tmp_path):
    # salmon run without --gencode keeps the whole FASTA header, which carries the gene id and name
    text = SALMON_HEADER + (
        "ENST00000456328.2|ENSG00000290825.1|-|-|DDX11L2-202|DDX11L2|1657|lncRNA|\t1657\t1400\t3\t10\n"
        "ENST00000450305.2|ENSG00000290825.1|-|-|DDX11L2-201|DDX11L2|632|lncRNA|\t632\t400\t4\t5\n"
        "ENST00000488147.1|ENSG00000227232.5|-|-|WASH7P-201|WASH7P|1351|pseudogene|\t1351\t1100\t1\t5\n"
    )
    expr = read_expression(write(tmp_path, "quant.sf", text))
    assert expr.values.to_dict() == {"ENSG00000290825": 7, "ENSG00000227232": 1}
    assert expr.names.to_dict() == {"ENSG00000290825": "DDX11L2", "ENSG00000227232": "WASH7P"}
    assert expr.median == 4


def test_a_0_1_column_is_read_as_labels(tmp_path):
    """A column of 0s and 1s is high/low labels (1 = high), not values to split at their median."""
    path = tmp_path / "labels.tsv"
    path.write_text("gene_id\tlabel\n" + "".join(f"ENSG{i:011d}\t{int(i % 3 == 0)}\n" for i in range(30)))
    expr = read_expression(path)
    assert expr.is_labels and "0/1 labels (1 = high)" in expr.describe()
    assert expr.labels.sum() == 10 and (expr.labels == expr.values).all()


@pytest.mark.slow
def test_labels_give_an_auc_at_predict_and_refuse_a_level_model(cli, tracks, example, tmp_path):
    from chromepredict.io.expression import read_expression as read

    values = read(example["expression"]).values
    table = tmp_path / "labels.tsv"
    table.write_text(
        "gene_id\thigh\n" + "".join(f"{g}\t{int(v > values.median())}\n" for g, v in values.items())
    )
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--expression", table, "-o", tmp_path / "p.tsv"
    )
    assert code == 0 and "read as high/low labels" in stderr and "ROC AUC 0." in stderr
    code, _, stderr = cli(
        "train",
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        table,
        "--target",
        "level",
        "-o",
        tmp_path / "m",
    )
    assert code == 2 and "needs expression values" in stderr and "not 0/1 labels" in stderr


@pytest.mark.slow
def test_truth_the_predictions_run_against_is_said(cli, tracks, example, tmp_path):
    """Labels with 1 = low, and ranks (1 = highest): the score falls below chance and one warning
    asks whether they are inverted; the true labels and values are not remarked on."""
    from chromepredict.io.expression import read_expression as read

    values = read(example["expression"]).values
    tables = {
        "true.tsv": ("high", (values > values.median()).astype(int)),
        "inverted.tsv": ("high", (values <= values.median()).astype(int)),
        "ranks.tsv": ("rank", values.rank(ascending=False, method="first").astype(int)),
    }
    for name, (column, column_values) in tables.items():
        table = tmp_path / name
        table.write_text(f"gene_id\t{column}\n" + "".join(f"{g}\t{v}\n" for g, v in column_values.items()))
        code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--expression", table,
                              "-o", tmp_path / f"{name}.predictions.tsv")  # fmt: skip
        assert code == 0, stderr
        said = "the calls run against these labels" in stderr or "fall as the measured ones rise" in stderr
        assert said == (name != "true.tsv"), (name, stderr)
    code, _, stderr = cli("evaluate", "--model", "E003-E123", *tracks, "--gtf", example["gtf"],
                          "--expression", tmp_path / "inverted.tsv", "-o", tmp_path / "ev")  # fmt: skip
    assert code == 0 and "the calls run against these labels" in stderr, stderr
    warnings = json.loads((tmp_path / "ev" / "metrics.json").read_text())["warnings"]
    assert any("the calls run against these labels" in w for w in warnings)


@pytest.mark.slow
def test_a_log_transformed_table_is_said_where_levels_are_learnt_or_scored(cli, tracks, example, tmp_path):
    """log2(1 + RPKM) given as the expression: a level model would log it twice — said by train
    (and kept in the card), evaluate and predict with a level model; a class model, whose high/low
    a log does not change, and the table before the log say nothing."""
    from chromepredict.io.expression import read_expression as read

    values = read(example["expression"]).values
    logged = tmp_path / "log.tsv"
    logged.write_text(
        "gene_id\tlog2_rpkm\n" + "".join(f"{g}\t{math.log2(1 + v):.4f}\n" for g, v in values.items())
    )
    said = "would be logged twice"
    model = tmp_path / "level"
    for table, expected in ((example["expression"], False), (logged, True)):
        code, _, stderr = cli("train", *tracks, "--gtf", example["gtf"], "--expression", table, "--target", "level",
                              "-o", model, "--max-epochs", 2, "--members", 1, "-q")  # fmt: skip
        assert code == 0 and (said in stderr) == expected, stderr
    card = json.loads((model / "model.card.json").read_text())
    assert any(said in w for w in card["training_data"]["warnings"])
    code, _, stderr = cli("evaluate", "--model", model, *tracks, "--gtf", example["gtf"], "--expression", logged,
                          "-o", tmp_path / "ev")  # fmt: skip
    assert code == 0 and said in stderr, stderr
    for name, expected in (("E003-E123-level", True), ("E003-E123", False)):
        code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--model", name, "--expression", logged,
                              "-o", tmp_path / f"{name}.tsv")  # fmt: skip
        assert code == 0 and (said in stderr) == expected, (name, stderr)


def test_a_log_scale_note_survives_pooling():
    """Pooled samples (train --samplesheet --pooled) keep any sample's log-scale note for the caveat."""
    from conftest import DATA

    from chromepredict.io.datasets import read_deepchrome_csv
    from chromepredict.io.features import FeatureSet
    from chromepredict.models.targets import get_target

    parts = [read_deepchrome_csv(DATA / "roadmap_E003" / f"{s}.csv.gz") for s in ("train", "valid")]
    parts[1].provenance.log_scale = "valid.tsv holds values on a log scale"
    pooled = FeatureSet.pooled(parts, ["a", "b"])
    assert get_target("level").log_caveat(pooled) == "valid.tsv holds values on a log scale"
    assert get_target("class").log_caveat(pooled) is None and parts[0].provenance.log_scale is None


@pytest.mark.slow
def test_a_table_in_another_unit_than_the_level_models_is_said_by_evaluate(cli, tracks, example, tmp_path):
    """RPKM × 1000 against a model trained on RPKM: R² measures the units (−2.3), which is said;
    the same table as TPM (a unit near RPKM), or × 1000 for a class model, says nothing."""
    table = pd.read_csv(example["expression"], sep="\t")
    scaled = {
        "x1000": table.assign(rpkm=table["rpkm"] * 1000),
        "tpm": table.assign(rpkm=table["rpkm"] / table["rpkm"].sum() * 1e6).rename(columns={"rpkm": "TPM"}),
    }
    said = "another unit or scale? R² and MAE would measure the units"
    for name, values in scaled.items():
        values.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
        code, _, stderr = cli("evaluate", "--model", "E003-E123-level", *tracks, "--gtf", example["gtf"],
                              "--expression", tmp_path / f"{name}.tsv", "-o", tmp_path / name)  # fmt: skip
        assert code == 0 and (said in stderr) == (name == "x1000"), stderr
    assert (
        "x1000.tsv: its mean log2(1 + value) is 10.0, the model's training genes' 2.4 (RPKM)"
        in kept_warnings(tmp_path / "x1000")
    )
    code, _, stderr = cli("evaluate", "--model", "E003-E123", *tracks, "--gtf", example["gtf"],
                          "--expression", tmp_path / "x1000.tsv", "-o", tmp_path / "class")  # fmt: skip
    assert code == 0 and said not in stderr


def kept_warnings(folder):
    """The warnings an evaluate run kept in its metrics.json, as one text."""
    return " ".join(json.loads((folder / "metrics.json").read_text())["warnings"])
