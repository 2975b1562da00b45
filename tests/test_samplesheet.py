"""Samplesheets: the reader, predict for many samples (identical to single runs), train per sample
and pooled, BED output and the Snakemake workflow."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromepredict.io.samplesheet import read_samplesheet
from chromepredict.system.errors import UserError


def exported_workflow(folder: Path) -> Path:
    """The Snakemake workflow shipped in the package, exported as a user would (no checkout needed)."""
    result = subprocess.run([shutil.which("chromepredict"), "workflow", "--export", str(folder)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder / "Snakefile"


def sheet(tmp_path, tracks, samples=("A", "B"), expression=None, extra_rows=()):
    """A samplesheet over the bundled E003 tracks, with relative paths (copied beside the sheet)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    rows = ["sample,mark,bigwig,expression"]
    for path in tracks:
        shutil.copy(path, data / Path(path).name)
    for name in samples:
        for i, path in enumerate(tracks):
            mark = Path(path).name.split("-")[1].split(".")[0]
            rows.append(f"{name},{mark},data/{Path(path).name},{expression if expression and i == 0 else ''}")
    rows.extend(extra_rows)
    path = tmp_path / "samples.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_reader_resolves_paths_and_orders_marks(tmp_path, tracks):
    samples = read_samplesheet(sheet(tmp_path, tracks[::-1], samples=("x1", "y.2")))
    assert [s.name for s in samples] == ["x1", "y.2"]
    assert list(samples[0].tracks) == ["H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"]
    assert all(Path(p).is_file() and Path(p).is_absolute() for p in samples[0].tracks.values())


@pytest.mark.parametrize(
    "text, message",
    [
        ("sample,bigwig\nA,x.bw\n", r"lacks column\(s\) mark"),
        ("sample,mark,bigwig\n", "has no rows"),
        ("sample,mark,bigwig\nA b,H3K4me3,x.bw\n", "letters, digits"),
        ("sample,mark,bigwig\n..,H3K4me3,x.bw\n", "not start with '.'"),
        ("sample,mark,bigwig\nsummary.tsv,H3K4me3,x.bw\n", "name of a run's own file"),
        ("sample,mark,bigwig\nLogs,H3K4me3,x.bw\n", "name of a run's own file"),
        ("sample,mark,bigwig\nA,H3K4me9,x.bw\n", "mark 'H3K4me9' is not recognised"),
        ("sample,mark,bigwig\nA,H3K4me3,x.bw\nA,h3k4me3,y.bw\n", "has H3K4me3 twice"),
        (
            "sample,mark,bigwig,expression\nA,H3K4me3,x.bw,a.tsv\nA,H3K27me3,y.bw,b.tsv\n",
            "two expression tables",
        ),
        ("sample,mark,bigwig\nA,H3K4me3,\n", "no bigwig path"),
        ("", "cannot read the samplesheet \\(it is empty\\)"),
        ("\n\n  \n", "cannot read the samplesheet"),
        ("just one line without commas", "cannot read the samplesheet|lacks column"),
        ("sample,mark,bigwig\nA,H3K4me3,x.bw,extra\n", "line 2: more fields than the header"),
        (
            "sample,mark,bigwig,expresion\nA,H3K4me3,x.bw,a.tsv\n",
            "column 'expresion' looks like 'expression' misspelt",
        ),
        (
            "sample,mark,bigwig\nE003,H3K4me3,x.bw\ne003,H3K4me3,y.bw\n",
            "line 3: samples E003 and e003 differ only in case",
        ),
    ],
)
def test_reader_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        read_samplesheet(path)


def test_a_column_of_the_users_own_is_ignored(tmp_path, tracks):
    """Metadata beside the four columns (a condition, a replicate) is not a misspelt column."""
    path = tmp_path / "s.csv"
    path.write_text("sample,condition,mark,bigwig,replicate\n" + f"A,treated,H3K4me3,{tracks[3]},1\n")
    (sample,) = read_samplesheet(path)
    assert sample.name == "A" and list(sample.tracks) == ["H3K4me3"]


def test_a_separator_at_the_end_of_each_row_is_read(tmp_path, tracks):
    """``A,H3K4me3,x.bw,`` under a three-column header (a spreadsheet's empty last column): the
    columns stay where they are, not shifted by a first column taken as row names."""
    path = sheet(tmp_path, tracks)
    lines = path.read_text().splitlines()
    for end in (",", ",,"):
        path.write_text("\n".join([lines[0], *(line + end for line in lines[1:])]) + "\n")
        samples = read_samplesheet(path)
        assert [s.name for s in samples] == ["A", "B"] and all(len(s.tracks) == len(tracks) for s in samples)
    short = [",".join(line.split(",")[:3]) for line in lines[1:]]  # no expression field at all
    path.write_text("\n".join([lines[0], *short]) + "\n")
    assert all(s.expression is None for s in read_samplesheet(path))  # shorter than the header: empty


def test_a_samplesheet_saved_by_excel_reads(tmp_path, tracks):
    """Excel writes CSV with a byte-order mark and CRLF line ends; a workbook itself is named as such."""
    path = sheet(tmp_path, tracks)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())
    assert [s.name for s in read_samplesheet(path)] == ["A", "B"]
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(UserError, match="not a samplesheet; save it as text"):
        read_samplesheet(path)


@pytest.mark.slow
def test_predict_samplesheet_equals_single_runs(cli, tmp_path, tracks, example, trained_model):
    path = sheet(
        tmp_path, tracks, expression=str(example["expression"]), extra_rows=["C,H3K4me3,data/missing.bw,"]
    )
    out = tmp_path / "out"
    code, _, stderr = cli(
        "predict",
        "--samplesheet",
        path,
        "--gtf",
        example["gtf"],
        "--model",
        trained_model,
        "-o",
        out,
        "--bed",
    )
    assert code == 1  # sample C failed; A and B finished
    assert "C: " in stderr and "missing.bw" in stderr
    summary = pd.read_csv(out / "summary.tsv", sep="\t").set_index("sample")
    # A's AUC is on the model's training genes: status warning, the warning's text in the summary
    assert summary.loc["C", "status"] == "failed" and summary.loc["A", "status"] == "warning"
    assert "not a test" in summary.loc["A", "warnings"]
    assert summary.loc["A", "genes"] == 369 and summary.loc["A", "high"] + summary.loc["A", "low"] == 369
    assert summary.loc["A", "auc"] > 0.8
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", trained_model, "-o", tmp_path / "single.tsv"
    )
    assert code == 0, stderr
    single = pd.read_csv(tmp_path / "single.tsv", sep="\t", comment="#").set_index("gene_id")
    for name in ("A", "B"):
        many = pd.read_csv(out / name / "predictions.tsv", sep="\t", comment="#").set_index("gene_id")
        np.testing.assert_allclose(many["p_high"], single.loc[many.index, "p_high"], atol=1e-6)
        assert (out / name / "predictions.bed").is_file()
    matrix = pd.read_csv(out / "p_high.tsv", sep="\t").set_index("gene_id")
    assert list(matrix.columns) == ["A", "B"] and len(matrix) == 369
    np.testing.assert_allclose(matrix["A"], single.loc[matrix.index, "p_high"], atol=1e-6)
    mqc = (out / "summary_mqc.tsv").read_text().splitlines()
    assert mqc[0] == "# id: 'chromepredict'" and "# plot_type: 'table'" in mqc
    mqc = pd.read_csv(out / "summary_mqc.tsv", sep="\t", comment="#").set_index("sample")
    assert (
        mqc.loc["A", "warnings"]
        == summary.loc["A", "n_warnings"]
        == len(summary.loc["A", "warnings"].split(" | "))
    )
    assert (out / "samples.png").stat().st_size > 5000


def corrupt_copy(source, target):
    """A bigWig with its data blocks overwritten (pybigtools panics on it rather than raising)."""
    data = bytearray(Path(source).read_bytes())
    middle = len(data) // 3
    data[middle : middle + 4000] = b"\xab" * 4000
    Path(target).write_bytes(data)


def test_a_corrupt_or_crashing_sample_fails_alone(cli, tmp_path, tracks, example, trained_model, monkeypatch):
    """A corrupt bigWig (a panic in pybigtools' Rust core) and a worker process that dies fail only
    their own sample: the others are written and the summary says which failed and why."""
    from chromepredict.api import models as command

    path = sheet(tmp_path, tracks, samples=("A", "B", "C"))
    k4 = next(t for t in tracks if "H3K4me3" in t)
    corrupt_copy(k4, tmp_path / "data" / "bad.bw")
    text = path.read_text().replace(f"B,H3K4me3,data/{Path(k4).name}", "B,H3K4me3,data/bad.bw")
    for track in tracks:  # sample C reads its own copies, so that the crash can pick it out
        shutil.copy(track, tmp_path / "data" / f"C-{Path(track).name}")
        text = text.replace(f"C,{Path(track).name.split('-')[1].split('.')[0]},data/", "C,MARK,data/C-", 1)
        text = text.replace("C,MARK,", f"C,{Path(track).name.split('-')[1].split('.')[0]},")
    path.write_text(text)
    real = command.score_sample

    def crash(model, inputs, *args):  # sample C's process dies as if killed for memory
        import os

        if any("/C-" in m for m in inputs.files.values()):
            os._exit(9)
        return real(model, inputs, *args)

    monkeypatch.setattr(command, "score_sample", crash)
    out = tmp_path / "out"
    code, _, stderr = cli(
        "predict",
        "--samplesheet",
        path,
        "--gtf",
        example["gtf"],
        "--model",
        trained_model,
        "-o",
        out,
        "-p",
        2,
    )
    assert code == 1
    summary = pd.read_csv(out / "summary.tsv", sep="\t").set_index("sample")
    assert list(summary["status"]) == ["ok", "failed", "failed"]
    assert "bad.bw" in summary.loc["B", "error"] and "damaged" in summary.loc["B", "error"]
    assert "process died" in summary.loc["C", "error"]
    assert len(pd.read_csv(out / "A" / "predictions.tsv", sep="\t", comment="#")) == 369
    assert not (out / "B").exists() and not (out / "C" / "predictions.tsv").exists()


def test_bed_reads_back_with_an_independent_parser(cli, tmp_path, tracks, example, trained_model):
    bed = tmp_path / "p.bed"
    code, _, stderr = cli(
        "predict",
        *tracks,
        "--gtf",
        example["gtf"],
        "--model",
        trained_model,
        "-o",
        tmp_path / "p.tsv",
        "--bed",
    )
    assert code == 0, stderr
    lines = bed.read_text().splitlines()
    assert lines[0].startswith('track name="chromepredict') and 'itemRgb="On"' in lines[0]
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t", comment="#").set_index("gene_name")
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 369 and all(len(r) == 9 for r in rows)
    for chrom, start, end, name, score, strand, _thick_start, _thick_end, rgb in rows[:50]:
        gene = table.loc[name]
        assert (chrom, int(start), int(end), strand) == (
            gene["chrom"],
            gene["tss"] - 1,
            gene["tss"],
            gene["strand"],
        )
        assert int(score) == round(gene["p_high"] * 1000)
        assert rgb == ("215,48,39" if gene["call"] == "high" else "69,117,180")
    starts = [(r[0], int(r[1])) for r in rows]
    assert starts == sorted(starts)  # sorted for browsers


def sparser_copy(source, target):
    """A bigWig keeping every other record of ``source`` (a shallower library, more empty bins)."""
    import pyBigWig

    reader, writer = pyBigWig.open(str(source)), pyBigWig.open(str(target), "w")
    writer.addHeader(list(reader.chroms().items()))
    for chrom in reader.chroms():
        kept = (reader.intervals(chrom) or [])[::2]
        if kept:
            writer.addEntries([chrom] * len(kept), [a for a, _, _ in kept], ends=[b for _, b, _ in kept],
                              values=[float(v) for _, _, v in kept])  # fmt: skip
    writer.close()


@pytest.mark.slow
def test_train_per_sample_and_pooled(cli, tmp_path, tracks, example):
    path = sheet(tmp_path, tracks, expression=str(example["expression"]))
    k4 = next(t for t in tracks if "H3K4me3" in t)
    sparser_copy(k4, tmp_path / "data" / "sparse.bw")  # sample B's H3K4me3 differs from A's
    path.write_text(path.read_text().replace(f"B,H3K4me3,data/{Path(k4).name}", "B,H3K4me3,data/sparse.bw"))
    code, _, stderr = cli(
        "train", "--samplesheet", path, "--gtf", example["gtf"], "-o", tmp_path / "each", "--max-epochs", "1"
    )
    assert code == 0, stderr
    assert (tmp_path / "each" / "A" / "model.onnx").is_file() and (
        tmp_path / "each" / "B" / "model.onnx"
    ).is_file()
    assert list(pd.read_csv(tmp_path / "each" / "summary.tsv", sep="\t")["name"]) == ["A", "B"]
    code, _, stderr = cli(
        "train",
        "--samplesheet",
        path,
        "--gtf",
        example["gtf"],
        "-o",
        tmp_path / "pooled",
        "--pooled",
        "--max-epochs",
        "1",
    )
    assert code == 0, stderr
    import json

    card = json.loads((tmp_path / "pooled" / "model.card.json").read_text())
    assert card["training_data"]["splits"]["train"]["genes"] == 2 * 222  # both samples' training genes
    test = pd.read_csv(tmp_path / "pooled" / "test_predictions.tsv", sep="\t")
    assert set(test["sample"]) == {"A", "B"}
    low, high = card["training_profile"]["H3K4me3"]["empty_bins"]  # from each sample, not the pool
    assert high - low > 0.1


@pytest.mark.slow
def test_pooled_levels_of_tables_in_different_units_are_said(cli, tmp_path, tracks, example):
    """One level model pooled over B's table at 30× A's values would learn two scales: said for
    --target level (and in its card); the class target, where each sample has its own median, and
    one unit for both stay silent."""
    path = sheet(tmp_path, tracks, expression=str(example["expression"]))
    table = pd.read_csv(example["expression"], sep="\t")
    table.assign(rpkm=table["rpkm"] * 30).to_csv(tmp_path / "x30.tsv", sep="\t", index=False)
    mixed = tmp_path / "mixed.csv"
    lines = path.read_text().splitlines()
    b = next(i for i, line in enumerate(lines) if line.startswith("B,"))
    lines[b] = lines[b].rsplit(",", 1)[0] + f",{tmp_path / 'x30.tsv'}"
    mixed.write_text("\n".join(lines) + "\n")
    said = "pooled A and B: the typical values of"
    for name, (samples, target, expected) in {
        "mixed level": (mixed, "level", True),
        "mixed class": (mixed, "class", False),
        "one unit level": (path, "level", False),
    }.items():
        out = tmp_path / name.replace(" ", "-")
        code, _, stderr = cli("train", "--samplesheet", samples, "--gtf", example["gtf"], "--pooled", "--target",
                              target, "-o", out, "--max-epochs", "1", "--members", "1")  # fmt: skip
        assert code == 0, stderr
        assert (said in stderr) == expected, (name, stderr)
    card = (tmp_path / "mixed-level" / "model.card.json").read_text()
    assert "One model of their levels would learn two scales" in card


def test_train_samplesheet_needs_expression(cli, tmp_path, tracks, example):
    code, _, stderr = cli(
        "train", "--samplesheet", sheet(tmp_path, tracks), "--gtf", example["gtf"], "-o", tmp_path / "m"
    )
    assert code == 2 and "needs an expression table per sample" in stderr


def test_level_bed_lines_do_not_depend_on_the_other_genes(cli, tmp_path, tracks, example):
    """A level model's BED line for a gene is the same from a 25-gene GTF as from the full GTF
    (its score and colour come from the card's training scale, not from this run's genes)."""
    import gzip

    lines = gzip.decompress(Path(example["gtf"]).read_bytes()).decode().splitlines(keepends=True)
    genes = [line for line in lines if "\tgene\t" in line]
    small = tmp_path / "small.gtf"
    small.write_text("".join(genes[:25]))
    beds = []
    for name, gtf in (("full", example["gtf"]), ("small", small)):
        bed = tmp_path / f"{name}.bed"
        code, _, stderr = cli(
            "predict", *tracks, "--gtf", gtf, "--model", "E003-E123-level", "-o", tmp_path / f"{name}.tsv",
            "--bed",
        )  # fmt: skip
        assert code == 0, stderr
        beds.append({line.split("\t")[3]: line for line in bed.read_text().splitlines()[1:]})
    full, few = beds
    assert len(few) == 25
    assert all(full[name] == line for name, line in few.items())
    scores = [int(line.split("\t")[4]) for line in full.values()]
    assert 0 < min(scores) < 500 < max(scores) < 1000


@pytest.mark.slow
def test_level_model_samplesheet(cli, tmp_path, tracks, example):
    """A level model over a samplesheet: level.tsv (genes × samples) equals single runs, and a heat map."""
    path = sheet(tmp_path, tracks, samples=("A", "B"))
    out = tmp_path / "out"
    code, _, stderr = cli(
        "predict", "--samplesheet", path, "--gtf", example["gtf"], "--model", "E003-E123-level", "-o", out
    )
    assert code == 0, stderr
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", "E003-E123-level", "-o", tmp_path / "one.tsv"
    )
    assert code == 0, stderr
    single = pd.read_csv(tmp_path / "one.tsv", sep="\t", comment="#").set_index("gene_id")["level"]
    matrix = pd.read_csv(out / "level.tsv", sep="\t").set_index("gene_id")
    assert list(matrix.columns) == ["A", "B"] and not (out / "p_high.tsv").exists()
    np.testing.assert_allclose(matrix["A"], single.loc[matrix.index], atol=1e-6)
    assert (out / "samples.png").stat().st_size > 5000


@pytest.mark.slow
def test_readme_worked_example(tmp_path):
    """The README's worked example, command by command, through the installed executables; the
    exported workflow (a model other than the default named in its config) writes per sample the predictions
    and BED track, and summary.tsv and summary_mqc.tsv, as predict --samplesheet --bed writes them."""
    pytest.importorskip("snakemake")
    import pyBigWig

    def run(*args):
        result = subprocess.run([str(a) for a in args], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    exe = shutil.which("chromepredict")
    run(exe, "demo", "--export", "ex")
    predicted = run(exe, "predict", "--samplesheet", "ex/samples.csv", "--gtf", "ex/genes.gtf.gz", "-o", "results",
                    "--bed")  # fmt: skip
    assert "E003_three_marks: scoring from 3 of 5 marks" in predicted.stderr
    workflow = exported_workflow(tmp_path / "wf")
    assert sorted(p.name for p in workflow.parent.iterdir()) == [
        "Snakefile", "chromepredict-run.json", "config.yaml", "environment.yaml"
    ]  # fmt: skip
    assert "chromepredict" in (workflow.parent / "environment.yaml").read_text()
    run(shutil.which("snakemake"), "-s", "wf/Snakefile", "--cores", 2, "--config", "samplesheet=ex/samples.csv",
        "gtf=ex/genes.gtf.gz", "outdir=results-smk", "model=E123", "explain=true", "explain_genes=LIN28A",
        "explain_options=--steps 10 --restarts 1")  # fmt: skip
    assert (tmp_path / "results-smk" / "explain" / "class_map_high.png").is_file()  # once, for the model
    assert (tmp_path / "results-smk" / "E123" / "explain" / "attribution_LIN28A.png").is_file()
    assert not (tmp_path / "results-smk" / "E123" / "explain" / "class_map_high.png").exists()
    run(exe, "explain", "--model", "E003-E123", *sorted(tmp_path.glob("ex/E003-*.bw")), "--gtf", "ex/genes.gtf.gz",
        "--genes", "LIN28A,ANGPTL6", "--bigwig", "-o", "maps", "--steps", 10, "--restarts", 1)  # fmt: skip
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t").set_index("sample")
    assert list(summary.index) == ["E003", "E003_three_marks", "E123"] and summary.loc["E003", "auc"] > 0.85
    assert pd.read_csv(tmp_path / "results" / "p_high.tsv", sep="\t").shape == (369, 4)
    run(
        exe,
        "compare",
        "--samplesheet",
        "ex/samples.csv",
        "--gtf",
        "ex/genes.gtf.gz",
        "--pair",
        "E003:E123",
        "-o",
        "changes",
    )
    run(exe, "compare", *sorted(tmp_path.glob("ex/E003-*.bw")), "--gtf", "ex/genes.gtf.gz", "--knockout", "H3K27me3",
        "-o", "what-if")  # fmt: skip
    assert (tmp_path / "changes" / "E003_vs_E123.tsv").is_file() and (
        tmp_path / "what-if" / "knockout_H3K27me3.tsv"
    ).is_file()
    # the workflow writes what predict --samplesheet --bed writes with its model: per sample, and the summaries
    run(exe, "predict", "--samplesheet", "ex/samples.csv", "--gtf", "ex/genes.gtf.gz", "--model", "E123", "--bed",
        "-o", "results-E123")  # fmt: skip
    names = ["summary.tsv", "summary_mqc.tsv"]
    names += [f"{sample}/predictions.{kind}" for sample in summary.index for kind in ("tsv", "bed")]
    for name in names:
        written = (tmp_path / "results-E123" / name).read_text()
        assert written == (tmp_path / "results-smk" / name).read_text(), name
    bed = (tmp_path / "results" / "E003" / "predictions.bed").read_text().splitlines()
    assert bed[0].startswith("track ") and len(bed) == 370
    attributions = pd.read_csv(tmp_path / "maps" / "attributions.tsv", sep="\t")
    assert set(attributions["gene_name"]) == {"LIN28A", "ANGPTL6"}
    track = pyBigWig.open(str(tmp_path / "maps" / "attribution_H3K4me3.bw"))
    lin28a = attributions[(attributions["gene_name"] == "LIN28A") & (attributions["mark"] == "H3K4me3")]
    assert track.chroms("chr1") and abs(np.nansum(track.values("chr1", 26732269, 26742269))) > 0
    assert lin28a["attribution"].sum() > 0  # H3K4me3 at LIN28A's promoter pushes it towards high
