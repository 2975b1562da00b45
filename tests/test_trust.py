"""Trust under real use, through the real CLI: odd values in tracks (written with pyBigWig), genes
without data, warnings that --strict turns into errors, one-line failures (a full disk, a damaged
file, a BAM given as a track, an absurd window, bad option values), workers that die with their
run, and shipped models that cannot be edited in place."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

CLI = [sys.executable, "-m", "chromepredict"]


def rewrite(source, target, change=lambda chrom, rows: rows, chroms=None):
    """Copy a bigWig record by record with pyBigWig (an independent writer), ``change(chrom, rows)``
    editing each chromosome's (start, end, value) rows; ``chroms`` keeps the header's chromosomes."""
    reader = pyBigWig.open(str(source))
    header = list(reader.chroms().items())
    writer = pyBigWig.open(str(target), "w")
    writer.addHeader(chroms or header)
    for chrom, _ in chroms or header:
        rows = change(chrom, list(reader.intervals(chrom) or []))
        if rows:
            writer.addEntries(
                [chrom] * len(rows),
                [r[0] for r in rows],
                ends=[r[1] for r in rows],
                values=[float(r[2]) for r in rows],
            )
    writer.close()
    reader.close()
    return str(target)


def copies(tracks, folder, **changes):
    """The five example tracks copied into ``folder``; ``changes`` maps a mark to a ``change``."""
    folder.mkdir(exist_ok=True)
    out = []
    for track in tracks:
        mark = next(m for m in ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3") if m in track)
        target = folder / Path(track).name
        if mark in changes:
            rewrite(track, target, changes[mark])
        else:
            shutil.copy(track, target)
        out.append(str(target))
    return out


def run(*args, env=None, **kwargs):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env, **kwargs)


def one_error_line(result, code=2):
    """The run failed with ``code`` and one ``error:`` line, its last (status lines may come before)."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr + result.stdout and "panicked" not in result.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def mib2(example):
    """MIB2 (chr1, + strand): its TSS, for placing odd values in its window."""
    from chromepredict.io.annotation import read_tss

    genes = read_tss(example["gtf"]).set_index("gene_name")
    return int(genes.loc["MIB2", "tss"])


# ---- values without meaning ----------------------------------------------------------------------


def test_infinite_values_count_as_zero_with_a_warning(cli, tracks, example, tmp_path, mib2):
    """An inf at a gene's TSS gives that gene a real p_high (inf counts as 0, like NaN), and a warning
    naming the file and the bases; a level model's BED score stays in range."""

    def add_inf(chrom, rows):
        if chrom != "chr1":
            return rows
        return [(a, b, np.inf if a <= mib2 < b else v) for a, b, v in rows]

    odd = copies(tracks, tmp_path / "odd", H3K4me3=add_inf)
    for model, column in (("E003-E123", "p_high"), ("E003-E123-level", "level")):
        out = tmp_path / f"{model}.tsv"
        code, _, stderr = cli("predict", *odd, "--gtf", example["gtf"], "--model", model, "-o", out, "--bed")
        assert code == 0, stderr
        assert "E003-H3K4me3.bw: holds non-finite values (NaN or ±inf; 100 bases of them" in stderr
        table = pd.read_csv(out, sep="\t", comment="#").set_index("gene_name")
        assert np.isfinite(table[column]).all() and table.loc["MIB2", column] == table.loc["MIB2", column]
        scores = [int(line.split("\t")[4]) for line in out.with_suffix(".bed").read_text().splitlines()[1:]]
        assert len(scores) == len(table) and min(scores) >= 0 and max(scores) <= 1000
    clean = tmp_path / "clean.tsv"
    code, _, _ = cli("predict", *copies(tracks, tmp_path / "clean"), "--gtf", example["gtf"], "-o", clean)
    both = pd.read_csv(clean, sep="\t", comment="#").set_index("gene_name")
    with_inf = pd.read_csv(tmp_path / "E003-E123.tsv", sep="\t", comment="#").set_index("gene_name")
    assert abs(both.loc["MIB2", "p_high"] - with_inf.loc["MIB2", "p_high"]) < 0.5  # one bin set to 0


@pytest.mark.slow
def test_negative_values_are_named_with_their_share(cli, tracks, example, tmp_path):
    """A log2-ratio track (half its bases negative): a warning naming the file, the share of bases,
    and what to give instead; --strict refuses it."""

    def log_ratio(chrom, rows):
        return [(a, b, np.log2((v + 1) / 3)) for a, b, v in rows]

    odd = copies(tracks, tmp_path / "odd", H3K27me3=log_ratio)
    out = tmp_path / "p.tsv"
    code, _, stderr = cli("predict", *odd, "--gtf", example["gtf"], "-o", out)
    assert code == 0, stderr
    line = next(line for line in stderr.splitlines() if "negative values" in line)
    assert "E003-H3K27me3.bw" in line and "% of sampled bases" in line and "fold enrichment" in line
    result = run("predict", *odd, "--gtf", example["gtf"], "-o", tmp_path / "s.tsv", "--strict")
    assert "negative values" in one_error_line(result) and not (tmp_path / "s.tsv").exists()
    code, _, stderr = cli("extract", *odd, "--gtf", example["gtf"], "-o", tmp_path / "f.npz")
    assert code == 0, stderr
    with np.load(tmp_path / "f.npz") as saved:  # extract writes what the models read: 0, not < 0
        assert saved["features"].min() == 0


def test_a_track_of_tiny_or_huge_values_scales_like_any_other(cli, tracks, example, tmp_path):
    """Values of 1e-10 (fractions of reads) or 1e36 are finite and scale away: the same calls as
    the track itself, and no warning of non-finite values (a huge track's summary sum overflows)."""
    base = tmp_path / "base.tsv"
    assert cli("predict", *tracks, "--gtf", example["gtf"], "-o", base)[0] == 0
    for factor in (1e-10, 1e36):
        scaled = copies(
            tracks,
            tmp_path / f"x{factor}",
            H3K4me3=lambda c, rows, f=factor: [(a, b, v * f) for a, b, v in rows],
        )
        out = tmp_path / f"{factor}.tsv"
        code, _, stderr = cli("predict", *scaled, "--gtf", example["gtf"], "-o", out)
        assert code == 0 and "non-finite" not in stderr, stderr
        calls = [pd.read_csv(p, sep="\t", comment="#")["call"] for p in (base, out)]
        assert (calls[0] == calls[1]).mean() > 0.99, factor


@pytest.mark.slow
def test_genes_on_chromosomes_without_data_get_no_call(cli, tracks, example, tmp_path):
    """chrX dropped by the pipeline (still in the header): its genes are left out, named, and never
    trained on; chr19 missing from one track only: those genes are scored without that mark."""

    def without(chrom_name):
        return lambda chrom, rows: [] if chrom == chrom_name else rows

    odd = copies(
        tracks,
        tmp_path / "odd",
        **{m: without("chrX") for m in ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")},
    )
    rewrite(tracks[0], Path(odd[0]), lambda chrom, rows: [] if chrom in ("chrX", "chr19") else rows)
    out = tmp_path / "p.tsv"
    code, _, stderr = cli("predict", *odd, "--gtf", example["gtf"], "-o", out)
    assert code == 0, stderr
    table = pd.read_csv(out, sep="\t", comment="#")
    assert "chrX" not in set(table["chrom"]) and len(table) == 369 - 26
    assert "26 genes on chrX left out: no track holds any data" in stderr
    assert (
        "E003-H3K27me3.bw (H3K27me3) holds no data on chr19: its 59 genes there have no H3K27me3 signal (scored without it"
        in stderr
    )
    model = tmp_path / "m"
    code, _, stderr = cli(
        "train", *odd, "--gtf", example["gtf"], "--expression", example["expression"], "-o", model,
        "--max-epochs", 1, "--members", 1,
    )  # fmt: skip
    assert code == 0, stderr
    card = json.loads((model / "model.card.json").read_text())
    total = sum(s["genes"] for s in card["training_data"]["splits"].values())
    assert total == 369 - 26 - 59  # neither the chrX genes nor the partly measured chr19 genes


def test_a_track_cut_short_is_said_and_a_sparse_one_is_not(cli, tracks, example, tmp_path):
    """H3K4me3 without data past the middle of chr1, chr17 and chr19 (a BAM of part of the genome,
    an interrupted conversion): its genes there read as without signal, said with the places. Silent
    on the example as given and on peak-like tracks (each mark's top tenth of records per
    chromosome), whose data also end short of some genes, but in short runs."""
    middle = {"chr1": 124_625_310, "chr17": 40_597_605, "chr19": 29_564_491}
    cut = copies(
        tracks, tmp_path / "cut", H3K4me3=lambda c, rows: [r for r in rows if r[0] < middle.get(c, 1 << 40)]
    )
    code, _, stderr = cli("predict", *cut, "--gtf", example["gtf"], "-o", tmp_path / "cut.tsv")
    assert code == 0, stderr
    said = [line for line in stderr.splitlines() if "cut short" in line]
    assert (
        len(said) == 1
        and "(H3K4me3) holds no data on chr1 after 115.1 Mb, chr17 after 39.6 Mb, chr19 after 23.9 Mb, where 64 genes"
        in said[0]
    ), stderr

    def peaks(chrom, rows):
        top = np.quantile([r[2] for r in rows], 0.9) if rows else 0.0
        return [r for r in rows if r[2] > 0 and r[2] >= top]

    sparse = copies(
        tracks,
        tmp_path / "sparse",
        **dict.fromkeys(("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), peaks),
    )
    for name, files in (("example", tracks), ("sparse", sparse)):
        code, _, stderr = cli("predict", *files, "--gtf", example["gtf"], "-o", tmp_path / f"{name}.tsv")
        assert code == 0 and "cut short" not in stderr, (name, stderr)


def test_a_gtf_of_another_build_gets_no_confident_calls(cli, tracks, example, tmp_path):
    """GRCh38 chr1 genes on hg19 tracks that hold no chr1 data: no call for any of them."""
    from conftest import DATA

    odd = copies(
        tracks,
        tmp_path / "odd",
        **{
            m: (lambda c, r: [] if c == "chr1" else r)
            for m in ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")
        },
    )
    result = run(
        "predict", *odd, "--gtf", DATA / "gencode_human.gtf.gz", "--all-genes", "-o", tmp_path / "p.tsv"
    )
    assert result.returncode == 0, result.stderr
    body = [line for line in (tmp_path / "p.tsv").read_text().splitlines() if not line.startswith("#")]
    assert body == ["gene_id\tgene_name\tchrom\ttss\tstrand\tp_high\tcall"]
    assert "119 genes on chr1 left out: no track holds any data" in result.stderr


# ---- --strict and warnings a pipeline can act on -------------------------------------------------


@pytest.mark.parametrize("command", ["predict", "extract", "evaluate", "explain"])
@pytest.mark.slow
def test_strict_turns_a_warning_into_an_error_and_writes_nothing(tracks, example, tmp_path, command):
    three = [t for t in tracks if any(m in t for m in ("H3K4me3", "H3K36me3", "H3K27me3"))]
    header = "##description: GENCODE v19 (GRCh38) genes\n"  # a GTF that says another build: a warning
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(header + gzip.decompress(example["gtf"].read_bytes()).decode())
    out = tmp_path / "out"
    extra = {
        "predict": ["-o", out], "extract": ["-o", out],
        "evaluate": ["--model", "E003", "--expression", example["expression"], "-o", out],
        "explain": ["--model", "E003", "--no-class-maps", "-o", out],
    }[command]  # fmt: skip
    relaxed = run(command, *three, "--gtf", gtf, *extra)
    assert relaxed.returncode == 0 and "warning: the GTF says hg38 but the tracks are hg19" in relaxed.stderr
    shutil.rmtree(out) if out.is_dir() else out.unlink()
    out.with_suffix(".json").unlink(missing_ok=True)  # predict's sidecar
    line = one_error_line(run(command, *three, "--gtf", gtf, *extra, "--strict"))
    assert (
        "--strict" in line
        and not out.exists()
        and sorted(p.name for p in tmp_path.iterdir()) == ["genes.gtf"]
    )


@pytest.mark.slow
def test_samplesheet_summary_says_each_samples_warnings(cli, tracks, example, tmp_path):
    """A sample whose expression matches no gene: status warning, the reason beside its empty AUC;
    a clean sample: ok. --strict refuses the sheet and writes nothing."""
    table = tmp_path / "other.tsv"
    table.write_text("gene_id\tTPM\nNOPE1\t5\nNOPE2\t1\nNOPE3\t0\n")
    rows = ["sample,mark,bigwig,expression"]
    for name, expression in (("clean", ""), ("nomatch", str(table))):
        rows += [
            f"{name},{m},{t},{expression}"
            for m, t in zip(("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), tracks, strict=True)
        ]
    sheet = tmp_path / "s.csv"
    sheet.write_text("\n".join(rows) + "\n")
    code, _, stderr = cli("predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out")
    assert code == 0, stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t").set_index("sample")
    assert summary.loc["clean", "status"] == "ok" and summary.loc["nomatch", "status"] == "warning"
    assert (
        pd.isna(summary.loc["nomatch", "auc"])
        and "no gene has a value in" in summary.loc["nomatch", "score_note"]
    )
    assert "no gene has a value in" in summary.loc["nomatch", "warnings"]
    result = run(
        "predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "strict", "--strict"
    )
    assert "no gene has a value" in one_error_line(result) and not (tmp_path / "strict").exists()


# ---- one line, always ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "-p", "0"], "--threads"),
        (["predict", "--threshold", "2"], "--threshold"),
        (["train", "--max-epochs", "zero"], "--max-epochs"),
        (["explain", "--steps", "-1"], "--steps"),
        (["predict", "--no-such-option"], "No such option"),
        (["evaluate", "--csv", "x.csv"], "--model"),
    ],
)
def test_usage_errors_are_one_line(args, message):
    line = one_error_line(run(*args))
    assert message in line and "--help" in line


def test_a_bam_given_as_a_track_is_named_with_its_conversion(tracks, example, tmp_path):
    bam = tmp_path / "H3K4me3.bw"
    with gzip.open(bam, "wb") as handle:  # BGZF is gzip: a BAM starts with BAM\1 once decompressed
        handle.write(b"BAM\x01" + bytes(64))
    line = one_error_line(run("predict", *tracks[:3], bam, "--gtf", example["gtf"]))
    assert "it is a BAM file of aligned reads: make a bigWig with deepTools: bamCoverage" in line


def test_a_gzipped_bigwig_is_named_with_the_fix(tracks, example, tmp_path):
    packed = tmp_path / "E003-H3K4me3.bw.gz"
    packed.write_bytes(gzip.compress(Path(tracks[3]).read_bytes()))
    line = one_error_line(run("predict", *tracks[:3], packed, "--gtf", example["gtf"]))
    assert "it is a gzip of a bigWig: unpack it (gunzip" in line


def test_a_damaged_bigwig_is_one_line_even_with_rust_backtraces(tracks, example, tmp_path):
    data = bytearray(Path(tracks[3]).read_bytes())
    middle = len(data) // 3
    data[middle : middle + 4000] = b"\xab" * 4000
    bad = tmp_path / "E003-H3K4me3.bw"
    bad.write_bytes(data)
    others = [t for t in tracks if "H3K4me3" not in t]
    env = {**os.environ, "RUST_BACKTRACE": "1"}
    line = one_error_line(run("predict", *others, bad, "--gtf", example["gtf"], "-p", 1, env=env))
    assert "E003-H3K4me3.bw: cannot read this bigWig" in line and "damaged" in line


def test_a_bigwig_without_any_data_is_named_as_such_not_damaged(tracks, example, tmp_path):
    empty = tmp_path / "E003-H3K4me3.bw"
    writer = pyBigWig.open(str(empty), "w")
    writer.addHeader([("chr1", 249_250_621)])  # a header and no records, as a writer leaves a track
    writer.close()
    others = [t for t in tracks if "H3K4me3" not in t]
    line = one_error_line(run("predict", *others, empty, "--gtf", example["gtf"], "-o", tmp_path / "p.tsv"))
    assert "a bigWig without any data" in line and "damaged" not in line


def test_an_absurd_window_is_refused_before_allocating(tracks, example, tmp_path):
    line = one_error_line(
        run(
            "extract",
            *tracks,
            "--gtf",
            example["gtf"],
            "--flank",
            100_000_000,
            "--bin-size",
            1,
            "-o",
            tmp_path / "f.npz",
        )
    )
    assert "GiB" in line and "use a smaller --flank" in line and not (tmp_path / "f.npz").exists()


@pytest.mark.slow
def test_outputs_never_replace_inputs(tracks, example, tmp_path):
    gtf = tmp_path / "genes.gtf.gz"
    shutil.copy(example["gtf"], gtf)
    before = gtf.read_bytes()
    assert "an input of this run" in one_error_line(run("predict", *tracks, "--gtf", gtf, "-o", gtf))
    track = tmp_path / "E003-H3K4me3.bw"
    shutil.copy(tracks[3], track)
    others = [t for t in tracks if "H3K4me3" not in t]
    assert "an input of this run" in one_error_line(run("extract", *others, track, "--gtf", gtf, "-o", track))
    assert gtf.read_bytes() == before and track.read_bytes() == Path(tracks[3]).read_bytes()


def test_a_run_folder_of_another_command_is_never_replaced(cli, tmp_path):
    for folder in ("ex", "other"):
        code, _, stderr = cli("demo", "--export", tmp_path / folder)
        assert code == 0, stderr
    before = sorted(p.name for p in (tmp_path / "other").iterdir())
    result = run("predict", "--samplesheet", tmp_path / "ex" / "samples.csv", "--gtf", tmp_path / "ex" / "genes.gtf.gz",
                 "-o", tmp_path / "other")  # fmt: skip
    assert "demo --export" in one_error_line(result)  # it holds no input of this run: the manifest refuses
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == before


@pytest.mark.parametrize("leftover", ["part", "old"])
@pytest.mark.parametrize("shape", ["folder", "file"])
def test_a_users_part_or_old_beside_the_output_is_never_removed(cli, tmp_path, leftover, shape):
    """``.NAME.part`` / ``.NAME.old`` are the run's own names; one that chromepredict did not write
    (a folder of the user's files, or a plain file) makes the run refuse and stays as it was."""
    side = tmp_path / f".res.{leftover}"
    if shape == "folder":
        (side / "sub").mkdir(parents=True)
        (side / "sub" / "notes.txt").write_text("mine")
    else:
        side.write_text("mine")
    code, _, stderr = cli("demo", "--export", tmp_path / "res")
    assert code == 2 and "chromepredict did not write" in stderr and "move it away" in stderr
    assert not (tmp_path / "res").exists()
    assert (side / "sub" / "notes.txt" if shape == "folder" else side).read_text() == "mine"


def test_a_part_folder_left_by_a_killed_run_is_cleared(cli, tmp_path):
    part = tmp_path / ".res.part"
    (part / "E003").mkdir(parents=True)
    (part / ".chromepredict-part").touch()  # what a run puts there before it writes
    (part / "E003" / "predictions.tsv").write_text("half")
    code, _, stderr = cli("demo", "--export", tmp_path / "res")
    assert code == 0, stderr
    assert not part.exists() and (tmp_path / "res" / "samples.csv").is_file()
    assert (
        ".chromepredict-part"
        not in json.loads((tmp_path / "res" / "chromepredict-run.json").read_text())["files"]
    )


@pytest.mark.slow
def test_a_single_file_output_replaces_only_an_earlier_output_of_its_kind(cli, tracks, example, tmp_path):
    """A file a run folder lists (a trained model, an exported samplesheet), and a file of another
    kind (a samplesheet, a bigWig) are refused with nothing written; an empty file and an earlier
    output of the same option are replaced."""
    code, _, stderr = cli("demo", "--export", tmp_path / "ex")
    assert code == 0, stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(tmp_path / "ex" / "samples.csv", mine / "table.tsv")
    shutil.copy(tracks[0], mine / "track.bw")
    guarded = [tmp_path / "ex" / "samples.csv", tmp_path / "ex" / "chromepredict-run.json", mine / "table.tsv",
               mine / "track.bw"]  # fmt: skip
    for target in guarded:
        before = target.read_bytes()
        result = run("predict", *tracks, "--gtf", example["gtf"], "-o", target, "--bed")
        assert "choose another output path" in one_error_line(result), target
        assert target.read_bytes() == before and not target.with_suffix(".bed").exists()
    others = {
        "plan.md": "# Analysis plan\n\nDo not lose this.\n",  # a first word like ours ('#')
        "genes.bed": "track name=mine\nchr1\t1\t2\ta\t0\t+\t1\t2\t0,0,0\nchr1\t5\t6\tb\t0\t+\t5\t6\t0,0,0\n",
    }
    for name, text in others.items():
        (mine / name).write_text(text)
    for option, target in [("-o", mine / "plan.md"), ("--bed", mine / "genes.tsv")]:
        result = run("predict", *tracks, "--gtf", example["gtf"], "-o", target, "--bed")
        assert f"{option} " in one_error_line(result) and "not an earlier chromepredict" in result.stderr
    assert all((mine / name).read_text() == text for name, text in others.items())
    assert not (mine / "genes.tsv").exists()
    empty = mine / "empty.tsv"
    empty.touch()
    for _ in range(2):  # an empty file, then the earlier output itself
        assert run("predict", *tracks, "--gtf", example["gtf"], "-o", empty, "--bed").returncode == 0
    assert empty.read_text().startswith("gene_id\tgene_name") and empty.with_suffix(".bed").is_file()


@pytest.mark.slow
def test_predict_and_extract_replace_only_their_own_earlier_outputs(tracks, example, tmp_path):
    import numpy as np

    np.savez(tmp_path / "user.npz", features=np.zeros(3), notes=np.zeros(2))
    assert "feature .npz" in one_error_line(
        run("extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "user.npz")
    )
    for _ in range(2):  # a new .npz and long table, then the re-run replaces them
        assert (
            run(
                "extract",
                *tracks,
                "--gtf",
                example["gtf"],
                "-o",
                tmp_path / "f.npz",
                "--tsv",
                tmp_path / "f.tsv",
            ).returncode
            == 0
        )
        assert run("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "p.tsv").returncode == 0
    before = (tmp_path / "f.tsv").read_bytes(), (tmp_path / "p.tsv").read_bytes()
    assert "predictions table" in one_error_line(
        run("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "f.tsv")
    )
    result = run(
        "extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "g.npz", "--tsv", tmp_path / "p.tsv"
    )
    assert "long feature table" in one_error_line(result)
    assert ((tmp_path / "f.tsv").read_bytes(), (tmp_path / "p.tsv").read_bytes()) == before
    assert not (tmp_path / "g.npz").exists()


@pytest.mark.slow
def test_a_gz_predictions_name_gets_gzip_and_the_bed_its_stem(tracks, example, tmp_path):
    for _ in range(2):  # written, then replaced by the re-run
        assert (
            run("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "p.tsv.gz", "--bed").returncode
            == 0
        )
    with gzip.open(tmp_path / "p.tsv.gz", "rt") as handle:
        assert handle.readline().startswith("gene_id\tgene_name")
    assert sorted(os.listdir(tmp_path)) == ["p.bed", "p.json", "p.tsv.gz"]
    assert (
        run(
            "extract",
            *tracks,
            "--gtf",
            example["gtf"],
            "-o",
            tmp_path / "f.npz",
            "--tsv",
            tmp_path / "f.tsv.gz",
        ).returncode
        == 0
    )
    with gzip.open(tmp_path / "f.tsv.gz", "rt") as handle:
        assert handle.readline().startswith("gene_id\tmark")


def test_bed_beside_a_device_is_refused(tracks, example):
    result = run("predict", *tracks, "--gtf", example["gtf"], "-o", "/dev/null", "--bed")
    assert "is not a file" in one_error_line(result) and not Path("/dev/null.bed").exists()


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_an_input_that_is_not_a_regular_file_is_named(tracks, tmp_path, kind):
    if kind == "folder":
        gtf = tmp_path
    elif kind == "fifo":
        gtf = tmp_path / "genes.gtf"
        os.mkfifo(gtf)
    else:
        gtf = Path("/dev/null")
    line = one_error_line(run("predict", *tracks, "--gtf", gtf, "-o", tmp_path / "p.tsv"))
    assert ("is a folder" if kind == "folder" else "device, pipe or socket") in line
    assert "not found" not in line


@pytest.mark.slow
def test_files_a_samplesheet_names_are_inputs_of_train(cli, tmp_path):
    code, _, stderr = cli("demo", "--export", tmp_path / "ex")
    assert code == 0, stderr
    table = tmp_path / "ex" / "E123-expression.tsv.gz"
    before = table.read_bytes()
    result = run("train", "--samplesheet", tmp_path / "ex" / "samples.csv", "--gtf", tmp_path / "ex" / "genes.gtf.gz",
                 "-o", table)  # fmt: skip
    assert "an input of this run" in one_error_line(result) and table.read_bytes() == before


def test_an_unreadable_input_is_a_usage_error_before_anything_is_read(
    cli, tracks, example, tmp_path, monkeypatch
):
    """Root reads every file, so the denial is simulated at the open of the one track."""
    import builtins

    real_open, denied = builtins.open, os.path.realpath(tracks[2])

    def refusing(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.path.realpath(path) == denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing)
    code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "p.tsv")
    assert code == 2 and stderr.count("\n") == 1
    assert f"{tracks[2]}: cannot be read (Permission denied)" in stderr and not (tmp_path / "p.tsv").exists()


# ---- a full disk -----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only; skipped where the machine does not allow mounting one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                           capture_output=True).returncode:  # fmt: skip
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Fill a file system until about ``leave`` bytes are free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(folder / "ballast", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("command", ["predict", "samplesheet", "train"])
@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(small_disk, tracks, example, tmp_path, command):
    fill(small_disk, leave=8 * 1024)
    if command == "predict":
        result = run("predict", *tracks, "--gtf", example["gtf"], "-o", small_disk / "p.tsv")
    elif command == "samplesheet":
        sheet = tmp_path / "s.csv"
        sheet.write_text("sample,mark,bigwig\n" + "".join(f"A,{m},{t}\n" for m, t in zip(
            ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), tracks, strict=True)))  # fmt: skip
        result = run("predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", small_disk / "out")
    else:
        result = run("train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"],
                     "-o", small_disk / "model", "--max-epochs", 1, "--members", 1)  # fmt: skip
    line = one_error_line(result, code=result.returncode)
    assert result.returncode in (1, 2) and ("no space left" in line or "failed" in line)
    assert sorted(p.name for p in small_disk.iterdir()) == ["ballast"]  # nothing half-written, no .part


# ---- workers die with their run -------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.slow
def test_sigkill_of_a_samplesheet_run_leaves_no_worker_behind(tracks, example, tmp_path):
    rows = ["sample,mark,bigwig"]
    for i in range(12):
        rows += [
            f"S{i},{m},{t}"
            for m, t in zip(("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), tracks, strict=True)
        ]
    sheet = tmp_path / "s.csv"
    sheet.write_text("\n".join(rows) + "\n")
    process = subprocess.Popen([*CLI, "predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out", "-p", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and process.poll() is None and len(workers) < 2:
        workers = children(process.pid)
        time.sleep(0.05)
    assert workers, "no worker started"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(alive(w) for w in workers), "a worker outlived its run"
    code = subprocess.run([*CLI, "predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out",
                           "-p", "2"], capture_output=True, text=True)  # fmt: skip
    assert code.returncode == 0, code.stderr  # the next run clears the killed run's .part folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.csv"]


# ---- shipped models ------------------------------------------------------------------------------


def test_an_edited_pretrained_model_is_refused_even_when_resealed(tmp_path, monkeypatch):
    """Editing a shipped card and recomputing its seal defeats `integrity`, not the package's record."""
    from chromepredict.models import zoo
    from chromepredict.models.card import integrity
    from chromepredict.system.errors import UserError
    from chromepredict.system.report import Report

    copy = tmp_path / "pretrained"
    shutil.copytree(zoo.pretrained_dir(), copy)
    card_file = copy / "E003" / "model.card.json"
    card = json.loads(card_file.read_text())
    card["transform"]["log_mean"][0] += 1.0
    card["integrity"] = integrity((copy / "E003" / "model.onnx").read_bytes(), card)
    card_file.write_text(json.dumps(card, indent=2) + "\n")
    monkeypatch.setattr(zoo, "pretrained_dir", lambda: copy)
    zoo.open_model("E123", Report.silent())  # the others still open
    with pytest.raises(UserError, match="differs from the one shipped with chromepredict .*reinstall"):
        zoo.open_model("E003", Report.silent())


@pytest.mark.slow
def test_an_expression_table_of_another_species_is_warned_even_when_names_match(
    cli, tracks, example, tmp_path
):
    table = pd.read_csv(example["expression"], sep="\t")
    table["gene_id"] = [f"ENSMUSG{i:011d}" for i in range(len(table))]
    mouse = tmp_path / "mouse.tsv"
    table.to_csv(mouse, sep="\t", index=False)
    code, _, stderr = cli(
        "-q", "predict", *tracks, "--gtf", example["gtf"], "--expression", mouse, "-o", tmp_path / "p.tsv"
    )
    assert code == 0 and "ENSMUSG… and the GTF's ENSG…" in stderr
    result = run(
        "train", *tracks, "--gtf", example["gtf"], "--expression", mouse, "--strict", "-o", tmp_path / "m"
    )
    assert "another species" in one_error_line(result) and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_all_equal_expression_values_are_a_reason_not_a_defect(cli, tracks, example, tmp_path):
    table = pd.read_csv(example["expression"], sep="\t")
    table[table.columns[-1]] = 5.0
    equal = tmp_path / "equal.tsv"
    table.to_csv(equal, sep="\t", index=False)
    result = run(
        "train",
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        equal,
        "--target",
        "level",
        "-o",
        tmp_path / "m",
    )
    assert "same expression value" in one_error_line(result) and not (tmp_path / "m").exists()
    code, _, stderr = cli("predict", "--model", "E003-E123-level", *tracks, "--gtf", example["gtf"], "--expression", equal,
                          "-o", tmp_path / "p.tsv")  # fmt: skip
    assert code == 0 and "all have the same value" in stderr and "Spearman nan" not in stderr


def test_the_window_checks_need_enough_genes_to_say_what_a_track_is(cli, tracks, example, tmp_path):
    """A one-gene GTF gets no 'unlike the training data' verdict from its own window (CASZ1's
    H3K27me3 window alone lies outside the training range; LIN28A's too for E123): with --strict
    these genes are scored as they are within the whole example."""
    with gzip.open(example["gtf"], "rt") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    for gene, model in (("ENSG00000130940", "E003-E123"), ("ENSG00000131914", "E123")):
        gtf = tmp_path / f"{gene}.gtf"
        gtf.write_text("".join(line for line in lines if f'gene_id "{gene}' in line))
        code, _, stderr = cli(
            "predict", *tracks, "--gtf", gtf, "--model", model, "--strict", "-o", tmp_path / f"{gene}.tsv"
        )
        assert code == 0, stderr
