"""Text inputs as users' tools save them, through the real CLI: expression tables, GTFs,
samplesheets and gene lists in Latin-1, UTF-16 (with or without a byte-order mark), with Windows
line ends, semicolons and decimal commas are read; an Excel workbook or a binary file is one line
naming the problem and the fix — never a codec's or a parser's own message."""

import gzip
import zipfile

import numpy as np
import pandas as pd
import pytest


def expression_rows(example, n: int | None = None) -> pd.DataFrame:
    table = pd.read_csv(example["expression"], sep="\t")
    return table if n is None else table.head(n)


def score_line(err: str) -> str:
    """The figure and gene counts of predict's ROC AUC line (without the table's path)."""
    line = next(line for line in err.splitlines() if line.startswith("ROC AUC"))
    return line.split(" in ")[0] + line[line.rindex(" (") :]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, example, tracks):
    """The ROC AUC line of predict with the bundled (UTF-8, tab) expression table."""
    from typer.testing import CliRunner

    from chromepredict.cli import app

    out = tmp_path_factory.mktemp("ref") / "p.tsv"
    args = [
        "predict",
        *tracks,
        "--gtf",
        str(example["gtf"]),
        "--expression",
        str(example["expression"]),
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return score_line(result.stderr)


@pytest.mark.parametrize(
    "encoding, newline, separator, decimal",
    [
        ("latin-1", "\n", "\t", "."),
        ("utf-16", "\n", "\t", "."),  # with a byte-order mark
        ("utf-16-le", "\r\n", "\t", "."),  # without one, Windows line ends
        ("utf-8-sig", "\r\n", ";", ","),  # a European spreadsheet's CSV
        ("cp1252", "\n", ";", ","),
    ],
)
def test_expression_tables_as_tools_save_them_give_the_same_score(
    cli, tracks, example, tmp_path, reference, encoding, newline, separator, decimal
):
    table = expression_rows(example)
    table.loc[0, "gene_name"] = "Gène-é"  # a character outside ASCII
    path = tmp_path / "expression.csv"
    text = table.to_csv(sep=separator, index=False, decimal=decimal, lineterminator=newline)
    path.write_bytes(text.encode(encoding))
    code, _, err = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--expression", path, "-o", tmp_path / "p.tsv"
    )
    assert code == 0, err
    assert score_line(err) == reference
    if decimal == ",":
        assert "decimal commas" in err


@pytest.mark.parametrize("what", ["workbook", "binary"])
def test_a_workbook_or_binary_expression_table_is_one_line(cli, tracks, example, tmp_path, what):
    path = tmp_path / ("expression.xlsx" if what == "workbook" else "expression.tsv")
    if what == "workbook":
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("[Content_Types].xml", "<Types/>")
            book.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(bytes(range(256)) * 4)
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--expression", path)
    lines = err.strip().splitlines()
    assert code == 2 and len([line for line in lines if line.startswith("error:")]) == 1
    assert ("Excel workbook" in err and "save it as text" in err) if what == "workbook" else "not text" in err
    assert "codec" not in err and "defect" not in err and "Traceback" not in err


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-16-be"])
def test_gtfs_and_samplesheets_in_other_encodings_are_read(cli, tracks, example, tmp_path, encoding):
    with gzip.open(example["gtf"], "rt") as handle:
        text = handle.read().replace('gene_name "MIB2"', 'gene_name "MIB2-é"')
    gtf = tmp_path / "genes.gtf"
    gtf.write_bytes(text.encode(encoding))
    sheet = tmp_path / "samples.csv"
    marks = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
    rows = ["sample,mark,bigwig"] + [f"S1,{m},{t}" for m, t in zip(marks, tracks, strict=True)]
    sheet.write_bytes("\r\n".join(rows).encode(encoding))
    code, _, err = cli("predict", "--samplesheet", sheet, "--gtf", gtf, "-o", tmp_path / "out")
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "out" / "S1" / "predictions.tsv", sep="\t", comment="#")
    assert len(predictions) == 369 and "MIB2-é" in set(predictions["gene_name"])


@pytest.mark.slow
def test_gene_lists_in_other_encodings_are_read(cli, tracks, example, tmp_path):
    pytest.importorskip("torch")
    for encoding in ("utf-16", "latin-1"):
        genes = tmp_path / f"genes-{encoding}.txt"
        genes.write_bytes("LIN28A\r\nANGPTL6\r\n".encode(encoding))
        code, _, err = cli("explain", "--model", "E003", *tracks, "--gtf", example["gtf"], "--genes", f"@{genes}",
                           "--no-class-maps", "-o", tmp_path / f"maps-{encoding}")  # fmt: skip
        assert code == 0, err
        explained = pd.read_csv(tmp_path / f"maps-{encoding}" / "attributions.tsv", sep="\t")["gene_name"]
        assert set(explained) == {"LIN28A", "ANGPTL6"}


def test_a_ragged_table_is_named_by_its_line_not_the_parsers_words(cli, tracks, example, tmp_path):
    path = tmp_path / "expression.tsv"
    rows = expression_rows(example, 50).to_csv(sep="\t", index=False).splitlines()
    rows[20] += "\textra\tcolumns"
    path.write_text("\n".join(rows) + "\n")
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--expression", path)
    assert code == 2 and "line 21 has 5 columns where the lines before have 3" in err
    assert "C error" not in err and "tokenizing" not in err


def test_decimal_commas_are_read_only_where_unambiguous(tmp_path):
    """A tab-separated table keeps commas as they are (1,5 is not a number there: said, not guessed)."""
    from chromepredict.io.expression import read_expression
    from chromepredict.system.errors import UserError

    path = tmp_path / "e.tsv"
    path.write_text("gene_id\tTPM\n" + "".join(f"G{i}\t{i},5\n" for i in range(200)))
    with pytest.raises(UserError, match="decimal comma or a thousands separator"):
        read_expression(path)
    path.write_text("gene_id;TPM\n" + "".join(f"G{i};{i},5\n" for i in range(200)))
    values = read_expression(path).values
    np.testing.assert_allclose(values.sort_values().to_numpy(), np.arange(200) + 0.5)


def write_text(path, text):
    path.write_text(text)
    return path


def test_points_grouping_thousands_in_a_decimal_comma_table_are_read_as_such(tmp_path):
    """Excel's #.##0 in a decimal-comma locale: 5.827 is 5827 and 4.398,5 is 4398.5 (not 5.827, or
    non-numeric); a ';' table of decimal points keeps 5.827 as 5.827, also beside one stray comma."""
    from chromepredict.io.expression import read_expression

    values = [0.5, 12.25, 439.85, 5827.0, 1234567.0, 4398.5] * 40
    written = {
        0.5: "0,5",
        12.25: "12,25",
        439.85: "439,85",
        5827.0: "5.827",
        1234567.0: "1.234.567",
        4398.5: "4.398,5",
    }
    path = tmp_path / "de.csv"
    path.write_text("gene_id;TPM\n" + "".join(f"G{i};{written[v]}\n" for i, v in enumerate(values)))
    expression = read_expression(path)
    np.testing.assert_allclose(
        expression.values.loc[[f"G{i}" for i in range(len(values))]].to_numpy(), values
    )
    assert any("points grouping thousands: 1.234 read as 1234" in n for n in expression.notes)
    path.write_text("gene_id;TPM\n" + "".join(f"G{i};{v}\n" for i, v in enumerate([5.827, 0.5, 12.345] * 80)))
    expression = read_expression(path)
    np.testing.assert_allclose(expression.values.loc[["G0", "G1", "G2"]].to_numpy(), [5.827, 0.5, 12.345])
    assert not any("decimal commas" in n for n in expression.notes)
    rows = [f"G{i};{v}\n" for i, v in enumerate(["5.827", "0.123", "12.25"] * 80)] + ["G240;1,5\n"]
    expression = read_expression(write_text(path, "gene_id;TPM\n" + "".join(rows)))  # one stray comma
    np.testing.assert_allclose(
        expression.values.loc[["G0", "G1", "G2", "G240"]].to_numpy(), [5.827, 0.123, 12.25, 1.5]
    )


def test_a_gene_lists_header_line_is_not_a_gene(tmp_path):
    """A one-column file saved with its header (gene, Gene_ID, gene name, …) lists the genes below it;
    a list without one keeps its first gene."""
    from chromepredict.cli.explain import gene_list

    path = tmp_path / "genes.txt"
    for header in ("gene", "Gene_ID", "gene name", "SYMBOL", "Gene stable ID", '"gene"', "ensembl_gene_id"):
        path.write_text(f"{header}\nLIN28A\nANGPTL6\n")
        assert gene_list(f"@{path}") == ["LIN28A", "ANGPTL6"]
    path.write_text("LIN28A\nANGPTL6\n")
    assert gene_list(f"@{path}") == ["LIN28A", "ANGPTL6"]
