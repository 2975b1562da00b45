"""Tracks under another mark's name, and tracks that are not signal, through the real CLI: a file
named as another mark (``--mark``, samplesheet rows), one file given twice, the mark-identity
check from the tracks' TSS profiles (chromepredict.io.identity), peak masks and constants — each
said in one warning (stderr and the TSS header; --strict refuses) and silent on correct input."""

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from chromepredict.io import identity
from chromepredict.io.datasets import example_data
from chromepredict.io.marks import CORE_MARKS
from chromepredict.io.tracks import Track

IDENTITY = ("look swapped", "but looks like")  # what the signal check says
NAMES = "but its name says"  # what the file-name check says


def header(path: Path) -> str:
    """The warnings kept with a predictions table (its JSON sidecar), as one text."""
    return " ".join(json.loads(path.with_suffix(".json").read_text())["warnings"])


def neutral(cell: str, folder: Path) -> dict[str, str]:
    """The bundled tracks of a cell type copied under names that name no mark: mark → path."""
    folder.mkdir(exist_ok=True)
    out = {}
    for i, track in enumerate(example_data(cell)["tracks"]):
        mark = next(m for m in CORE_MARKS if m in track.name)
        out[mark] = str(shutil.copy(track, folder / f"{cell}-track{i}.bw"))
    return out


def marks_args(files: dict[str, str]) -> list[str]:
    return [a for mark, path in files.items() for a in ("--mark", f"{mark}={path}")]


def predict(cli, args, gtf, out: Path, *extra):
    code, _, stderr = cli("predict", *args, "--gtf", gtf, "-o", out, *extra)
    return code, stderr


def assert_refused_under_strict(cli, args, gtf, tmp_path: Path, said: str):
    out = tmp_path / "strict.tsv"
    code, stderr = predict(cli, args, gtf, out, "--strict")
    last = stderr.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and said in last and "--strict" in last, stderr
    assert not out.exists()


# ---- by file name --------------------------------------------------------------------------------


def test_a_mark_given_to_a_file_named_as_another_is_said(cli, tracks, example, tmp_path):
    """``--mark H3K27me3=…H3K4me3….bw`` and the reverse: each file named with both marks, in the
    warnings and the TSV header; --strict refuses and writes nothing."""
    by_mark = {next(m for m in CORE_MARKS if m in t): t for t in tracks}
    swapped = {**by_mark, "H3K27me3": by_mark["H3K4me3"], "H3K4me3": by_mark["H3K27me3"]}
    args = marks_args(swapped)
    out = tmp_path / "p.tsv"
    code, stderr = predict(cli, args, example["gtf"], out, "-q")
    assert code == 0, stderr
    for given, named in (("H3K27me3", "H3K4me3"), ("H3K4me3", "H3K27me3")):
        said = f"E003-{named}.bw is given as {given} (--mark) but its name says {named}"
        assert said in stderr and said in header(out)
    assert_refused_under_strict(cli, args, example["gtf"], tmp_path, NAMES)


def test_samplesheet_rows_whose_files_name_other_marks_are_said(cli, tracks, example, tmp_path):
    """Two rows swapped in a samplesheet: the sample's status is warning, its warnings name both
    files; the unswapped sample is ok."""
    rows = ["sample,mark,bigwig"]
    by_mark = {next(m for m in CORE_MARKS if m in t): t for t in tracks}
    for sample, swap in (("right", {}), ("swapped", {"H3K36me3": "H3K9me3", "H3K9me3": "H3K36me3"})):
        rows += [f"{sample},{swap.get(m, m)},{path}" for m, path in by_mark.items()]
    sheet = tmp_path / "s.csv"
    sheet.write_text("\n".join(rows) + "\n")
    code, _, stderr = cli("predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out")
    assert code == 0, stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t").set_index("sample")
    assert summary.loc["right", "status"] == "ok"
    said = summary.loc["swapped", "warnings"]
    assert summary.loc["swapped", "status"] == "warning"
    assert "E003-H3K9me3.bw is given as H3K36me3 (the samplesheet) but its name says H3K9me3" in said
    assert "E003-H3K36me3.bw is given as H3K9me3 (the samplesheet) but its name says H3K36me3" in said
    line = next(w for w in stderr.splitlines() if "E003-H3K9me3.bw is given as H3K36me3" in w)
    assert line.startswith("warning: swapped: ")


@pytest.mark.parametrize(
    "spell",
    [
        lambda path, tmp: path,  # the same spelling
        lambda path, tmp: str(Path(path).parent / "." / Path(path).name),  # another spelling
        lambda path, tmp: str((tmp / "link.bw").symlink_to(path) or tmp / "link.bw"),  # a symbolic link
    ],
)
def test_one_file_given_twice_is_refused(cli, tracks, example, tmp_path, spell):
    """Positionally and with --mark as another mark, or twice in one sample of a samplesheet."""
    k4me3 = next(t for t in tracks if "H3K4me3" in t)
    other = spell(k4me3, tmp_path)
    code, stderr = predict(cli, [k4me3, "--mark", f"H3K27me3={other}"], example["gtf"], tmp_path / "p.tsv")
    assert code == 2 and ("given twice" in stderr or "given for two marks" in stderr), stderr
    sheet = tmp_path / "s.csv"
    sheet.write_text(f"sample,mark,bigwig\ns,H3K4me3,{k4me3}\ns,H3K27me3,{other}\n")
    code, _, stderr = cli("predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out")
    assert code == 2 and "line 3" in stderr and "as H3K27me3 and as H3K4me3" in stderr, stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "p.tsv").exists()


def test_copies_of_one_file_under_two_marks_are_said(cli, example, tmp_path):
    """Two files with the same values in every window (a copy, not the file itself): one warning
    naming both; --strict refuses. Two different tracks never share every value (the other tests
    of this module run the bundled tracks and stay silent)."""
    files = neutral("E003", tmp_path / "t")
    copy = str(shutil.copy(files["H3K27me3"], tmp_path / "t" / "copy.bw"))
    given = {**files, "H3K9me3": copy}
    code, stderr = predict(cli, marks_args(given), example["gtf"], tmp_path / "p.tsv", "-q")
    assert code == 0, stderr
    line = next(w for w in stderr.splitlines() if "hold the same values" in w)
    assert Path(files["H3K27me3"]).name in line and "copy.bw" in line and "(H3K9me3)" in line
    assert "hold the same values" in header(tmp_path / "p.tsv")
    assert_refused_under_strict(cli, marks_args(given), example["gtf"], tmp_path, "hold the same values")


# ---- by signal -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["E003", "E123"])
@pytest.mark.parametrize("pair", [("H3K4me3", "H3K27me3"), ("H3K4me3", "H3K36me3"), ("H3K9me3", "H3K4me3")])
def test_swapped_tracks_are_said_from_their_signal(cli, example, tmp_path, cell, pair):
    """Files that name no mark, two of them given as each other's mark: one warning naming both,
    in stderr and the TSV header; --strict refuses."""
    files = neutral(cell, tmp_path / "t")
    a, b = pair
    swapped = {**files, a: files[b], b: files[a]}
    out = tmp_path / "p.tsv"
    code, stderr = predict(cli, marks_args(swapped), example["gtf"], out, "-q")
    assert code == 0, stderr
    line = next(w for w in stderr.splitlines() if "look swapped" in w)
    assert Path(files[a]).name in line and Path(files[b]).name in line and NAMES not in stderr
    assert "look swapped" in header(out)
    if cell == "E003" and pair == ("H3K4me3", "H3K27me3"):
        assert_refused_under_strict(cli, marks_args(swapped), example["gtf"], tmp_path, "look swapped")


def test_swapped_columns_of_a_deepchrome_csv_are_said_when_a_gtf_gives_strands(cli, example, tmp_path):
    """The published E003 CSV with its H3K4me3 and H3K27me3 columns swapped: said when --gtf gives
    the genes' strands (the profiles are read 5′→3′); the CSV as published says nothing."""
    from conftest import DATA

    table = pd.read_csv(DATA / "roadmap_E003" / "valid.csv.gz", header=None)
    table.to_csv(tmp_path / "valid.csv", header=False, index=False)
    table[[2, 5]] = table[[5, 2]].to_numpy()  # columns: gene, bin, H3K27me3, H3K36me3, H3K4me1, H3K4me3, …
    table.to_csv(tmp_path / "swapped.csv", header=False, index=False)
    for name, said in (("valid.csv", False), ("swapped.csv", True)):
        code, _, stderr = cli("evaluate", "--model", "E003-E123", "--csv", tmp_path / name, "--gtf", example["gtf"],
                              "-o", tmp_path / f"ev-{name}")  # fmt: skip
        assert code == 0 and ("look swapped" in stderr) == said, (name, stderr)
    assert "swapped.csv's H3K4me3 column" in stderr and "check the CSV's column order" in stderr


@pytest.mark.parametrize("cell", ["E003", "E123"])
def test_a_track_given_as_a_mark_it_is_not_is_said_without_the_right_one(cli, example, tmp_path, cell):
    """The H3K4me3 track given as H3K27me3, no H3K4me3 track: it looks like H3K4me3."""
    files = neutral(cell, tmp_path / "t")
    given = {"H3K27me3": files["H3K4me3"], "H3K36me3": files["H3K36me3"], "H3K9me3": files["H3K9me3"]}
    code, stderr = predict(cli, marks_args(given), example["gtf"], tmp_path / "p.tsv", "-q")
    assert code == 0, stderr
    assert f"{Path(files['H3K4me3']).name} is given as H3K27me3 but looks like H3K4me3" in stderr


@pytest.mark.parametrize("cell", ["E003", "E123"])
@pytest.mark.slow
def test_correct_tracks_are_not_said_whatever_their_names_marks_or_scale(cli, example, tmp_path, cell):
    """The bundled tracks, under their own names or neutral ones, all five marks or every pair of
    them, and ×1e-6: no warning at all."""
    data = example_data(cell)
    code, stderr = predict(cli, data["tracks"], example["gtf"], tmp_path / "own.tsv")
    assert code == 0 and "warning" not in stderr, stderr
    files = neutral(cell, tmp_path / "t")
    for pair in itertools.combinations(CORE_MARKS, 2):
        given = {m: files[m] for m in pair}
        code, _, stderr = cli(
            "extract", *marks_args(given), "--gtf", example["gtf"], "-o", tmp_path / "f.npz"
        )
        assert code == 0 and not any(s in stderr for s in IDENTITY), (pair, stderr)
    scaled = tmp_path / "scaled.bw"
    rewrite(files["H3K4me3"], scaled, lambda rows: [(a, b, v * 1e-6) for a, b, v in rows])
    code, stderr = predict(
        cli, marks_args({**files, "H3K4me3": str(scaled)}), example["gtf"], tmp_path / "s.tsv"
    )
    assert code == 0 and not any(s in stderr for s in IDENTITY), stderr


def _strands_rewritten(example, target: Path, record) -> Path:
    """The bundled GTF with each gene and transcript record's (start, end, strand) set by
    ``record(start, end, strand, tss)``."""
    import gzip

    out = []
    for line in gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True):
        fields = line.rstrip("\n").split("\t")
        if line.startswith("#") or len(fields) != 9:
            out.append(line)
            continue
        start, end, strand = int(fields[3]), int(fields[4]), fields[6]
        tss = start if strand == "+" else end
        fields[3], fields[4], fields[6] = map(str, record(start, end, strand, tss))
        out.append("\t".join(fields) + "\n")
    target.write_text("".join(out))
    return target


def _inverted(start, end, strand, tss):
    """The other strand, the TSS kept (the span turned around it)."""
    length = end - start
    return (max(1, tss - length), tss, "-") if strand == "+" else (tss, tss + length, "+")


@pytest.mark.parametrize("cell", ["E003", "E123"])
@pytest.mark.slow
def test_windows_read_backwards_are_said(cli, example, tmp_path, cell):
    """A GTF with every strand inverted and the TSS kept: the marks that rise into the gene body fall
    instead, which is said (and refused by --strict); the same genes on their own strands say nothing."""
    gtf = _strands_rewritten(example, tmp_path / "inverted.gtf", _inverted)
    tracks = example_data(cell)["tracks"]
    code, stderr = predict(cli, tracks, gtf, tmp_path / "p.tsv")
    said = "fall from upstream of the TSS into the gene"
    assert code == 0 and said in stderr and "the GTF's strands inverted, its TSS kept" in stderr, stderr
    assert "H3K36me3" in stderr.split(said)[0] and said in header(tmp_path / "p.tsv")
    assert_refused_under_strict(cli, tracks, gtf, tmp_path, said)
    code, stderr = predict(cli, tracks, gtf, tmp_path / "all.tsv", "--all-genes")
    assert code == 0 and said not in stderr  # looked for among protein-coding genes only (calibrated)
    own = _strands_rewritten(
        example, tmp_path / "own.gtf", lambda start, end, strand, tss: (start, end, strand)
    )
    code, stderr = predict(cli, tracks, own, tmp_path / "o.tsv")
    assert code == 0 and "warning" not in stderr, stderr


def test_a_gtf_shifted_by_kilobases_is_named_as_a_possible_cause(cli, tracks, example, tmp_path):
    """TSSs moved 2 kb: the promoter peak blurs and the tracks read as swapped; the advice names the
    GTF's positions beside the files."""
    gtf = _strands_rewritten(
        example, tmp_path / "shifted.gtf", lambda start, end, strand, tss: (start + 2000, end + 2000, strand)
    )
    code, stderr = predict(cli, tracks, gtf, tmp_path / "p.tsv")
    assert code == 0 and any(s in stderr for s in IDENTITY) and "check the GTF's TSS positions" in stderr, (
        stderr
    )


def test_a_gtf_whose_genes_are_all_on_one_strand_is_said(cli, tracks, example, tmp_path):
    """TSS records whose strands were all set to +: said; fewer than ONE_STRAND_GENES genes: not."""
    from chromepredict.io.annotation import ONE_STRAND_GENES, read_genes

    gtf = _strands_rewritten(example, tmp_path / "plus.gtf", lambda start, end, strand, tss: (tss, tss, "+"))
    code, stderr = predict(cli, tracks, gtf, tmp_path / "p.tsv")
    assert code == 0 and "plus.gtf: all 369 genes are on the + strand (strands lost?)" in stderr, stderr
    lines = gtf.read_text().splitlines(keepends=True)
    genes = [line for line in lines if "\tgene\t" in line]
    few = tmp_path / "few.gtf"
    few.write_text("".join(genes[: ONE_STRAND_GENES - 1]))
    assert not any("strand" in w for w in read_genes(few).warnings)
    assert not any("strand" in w for w in read_genes(example["gtf"]).warnings)


def test_the_signal_check_needs_enough_genes(cli, example, tmp_path):
    """With fewer than MIN_GENES genes a mean profile is a few genes': swapped tracks are not said."""
    import gzip

    lines = gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True)
    genes = [line for line in lines if "\tgene\t" in line]
    few = tmp_path / "few.gtf"
    few.write_text("".join(genes[: identity.MIN_GENES - 20]))
    files = neutral("E003", tmp_path / "t")
    swapped = {**files, "H3K4me3": files["H3K27me3"], "H3K27me3": files["H3K4me3"]}
    code, stderr = predict(cli, marks_args(swapped), few, tmp_path / "p.tsv")
    assert code == 0 and not any(s in stderr for s in IDENTITY), stderr


def test_the_shipped_reference_is_readable_physical_and_current(example):
    """Every core mark has a range per family; H3K4me3 is sharper at the TSS than every other mark;
    the bundled tracks (the counts100 view the reference was calibrated on) lie inside their marks'
    ranges, as computed by the code today (else: python -m scripts.mark_reference)."""
    from chromepredict.io.annotation import read_genes
    from chromepredict.io.extraction import read_windows
    from chromepredict.io.features import WindowSpec

    ref = identity.reference()
    genes = read_genes(example["gtf"], "protein_coding").genes
    minus = (genes["strand"] == "-").to_numpy()
    for cell in ("E003", "E123"):
        opened = [
            Track.open(str(t), next(m for m in CORE_MARKS if m in t.name))
            for t in example_data(cell)["tracks"]
        ]
        features = read_windows(genes, opened, WindowSpec()).features
        tracks = [(t.path, t.mark, t.profile.kind) for t in opened]
        for checked in identity.checkable(features, minus, WindowSpec().edges(), False, tracks):
            for statistic, (lo, hi) in ref.ranges["signal"][checked.mark].items():
                assert lo - 1e-3 <= checked.stats[statistic] <= hi + 1e-3, (cell, checked.mark, statistic)
    for family in ("signal", "peaks"):
        assert set(ref.ranges[family]) == set(CORE_MARKS)
        sharper = {
            lower for s, higher, lower, _ in ref.orders[family] if higher == "H3K4me3" and s == "sharpness"
        }
        assert sharper == set(CORE_MARKS) - {"H3K4me3"}
        assert all(gap >= identity.MIN_GAP for *_, gap in ref.orders[family])


def test_statistics_are_scale_free_and_read_5_to_3():
    """The same windows × 1e6 give the same statistics; a gene-body profile read in genomic order
    for minus-strand genes gives the same as 5′→3′."""
    edges = np.arange(101) * 100 - 5000
    x = edges[:-1] + 50
    body = np.where(x > 0, 1 + x / 5000, 0.5)[None, :] * np.ones((120, 1))  # rises into the gene
    one = identity.shape(body, edges)
    assert one["asymmetry"] > 0.5 and one == pytest.approx(identity.shape(body * 1e6, edges))
    minus = np.ones(120, dtype=bool)
    tracks = [("t", "H3K36me3", "signal")]
    genomic = identity.checkable(body[:, None, ::-1], minus, edges, True, tracks)
    assert genomic[0].stats == pytest.approx(one)


# ---- tracks that are not signal -----------------------------------------------------------------


def rewrite(source, target, change):
    """Copy a bigWig record by record with pyBigWig, ``change(rows)`` editing each chromosome's
    (start, end, value) rows."""
    reader = pyBigWig.open(str(source))
    writer = pyBigWig.open(str(target), "w")
    writer.addHeader(list(reader.chroms().items()))
    for chrom in reader.chroms():
        rows = change(list(reader.intervals(chrom) or []))
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


def _thinned(rows, p=0.05, seed=0):
    """A shallow library: each 100-bp bin's reads kept with probability ``p``."""
    rng = np.random.default_rng(seed)
    kept = [(a, b, rng.binomial(int(v), p)) for a, b, v in rows]
    return [r for r in kept if r[2] > 0]


def _binned(rows, size=1000):
    """Reads summed in genome-aligned bins of ``size`` bp (a coarse count matrix)."""
    sums: dict[int, float] = {}
    for a, b, v in rows:
        for start in range(a, b, 100):
            sums[start // size] = sums.get(start // size, 0.0) + v
    return [(k * size, (k + 1) * size, v) for k, v in sorted(sums.items())]


def _painted(rows):
    """Runs of adjacent records merged into peaks, each painted with its largest value."""
    peaks: list[list[float]] = []
    for a, b, v in rows:
        if peaks and peaks[-1][1] == a:
            peaks[-1][1], peaks[-1][2] = b, max(peaks[-1][2], v)
        else:
            peaks.append([a, b, v])
    return [tuple(p) for p in peaks if p[1] - p[0] >= 300]


NOT_SIGNAL = {
    "a 0/1 peak mask": lambda rows: [(a, b, 1.0 if v > 0 else 0.0) for a, b, v in rows],
    "a constant 1.0": lambda rows: [(a, b, 1.0) for a, b, v in rows],
    "a constant 5.0": lambda rows: [(a, b, 5.0) for a, b, v in rows],
    "three values": lambda rows: [(a, b, (0.5, 2.0, 7.5)[i % 3]) for i, (a, b, v) in enumerate(rows)],
    "three categories 1, 2, 3": lambda rows: [(a, b, 1.0 + i % 3) for i, (a, b, v) in enumerate(rows)],
}
SIGNAL = {
    "the counts themselves": lambda rows: rows,
    "a shallow library (5 % of the reads)": _thinned,
    "CPM of a shallow library": lambda rows: [(a, b, v * 0.37) for a, b, v in _thinned(rows)],
    "counts in 1-kb bins": _binned,
    "peaks painted with their signal": _painted,
    "fold enrichment": lambda rows: [(a, b, (v + 1) / 3.7) for a, b, v in rows],
}


@pytest.mark.parametrize("what", list(NOT_SIGNAL) + list(SIGNAL))
@pytest.mark.parametrize("mark", ["H3K4me3", "H3K9me3"])
def test_tracks_that_are_not_signal_are_recognised_from_the_track(tmp_path, what, mark):
    source = next(t for t in example_data("E003")["tracks"] if mark in t.name)
    change = {**NOT_SIGNAL, **SIGNAL}[what]
    profile = Track.open(rewrite(source, tmp_path / "t.bw", change), mark).profile
    assert profile.not_signal() == (what in NOT_SIGNAL), (what, profile.distinct_values, profile.few_values)


@pytest.mark.parametrize("what", ["a 0/1 peak mask", "a constant 5.0", "three values"])
@pytest.mark.slow
def test_a_track_that_is_not_signal_is_said_with_how_to_make_signal(cli, tracks, example, tmp_path, what):
    k27 = next(t for t in tracks if "H3K27me3" in t)
    odd = rewrite(k27, tmp_path / "E003-H3K27me3.bw", NOT_SIGNAL[what])
    args = [*(t for t in tracks if t != k27), odd]
    out = tmp_path / "p.tsv"
    code, stderr = predict(cli, args, example["gtf"], out, "-q")
    assert code == 0, stderr
    line = next(w for w in stderr.splitlines() if "distinct value" in w)
    assert odd in line and "bamCoverage" in line and "callpeak -B" in line and "distinct value" in header(out)
    assert_refused_under_strict(cli, args, example["gtf"], tmp_path, "distinct value")
    code, stderr = predict(cli, tracks, example["gtf"], tmp_path / "control.tsv")
    assert code == 0 and "distinct value" not in stderr


@pytest.mark.slow
def test_a_pair_whose_tracks_are_of_different_kinds_is_said(cli, example, tmp_path):
    """compare of E003 against E123 whose H3K4me3 is summed in 1-kb bins (a coarse count matrix):
    the change would be the pipelines'; said, and refused by --strict. Each sample's own tracks, or
    E123's H3K4me3 as peak calls painted with their values (a kind that depth alone can give), are
    not said."""
    own = {cell: {next(m for m in CORE_MARKS if m in p.name): str(p) for p in example_data(cell)["tracks"]}
           for cell in ("E003", "E123")}  # fmt: skip
    coarse = rewrite(own["E123"]["H3K4me3"], tmp_path / "E123-H3K4me3-1kb.bw", _binned)
    painted = rewrite(own["E123"]["H3K4me3"], tmp_path / "E123-H3K4me3-peaks.bw", _painted)
    for name, track in (("own", own["E123"]["H3K4me3"]), ("painted", painted), ("coarse", coarse)):
        sheet = tmp_path / f"{name}.csv"
        e123 = {**own["E123"], "H3K4me3": track}
        rows = [f"E003,{m},{p}\n" for m, p in own["E003"].items()] + [
            f"E123,{m},{p}\n" for m, p in e123.items()
        ]
        sheet.write_text("sample,mark,bigwig\n" + "".join(rows))
        args = ["compare", "--samplesheet", sheet, "--gtf", example["gtf"], "--pair", "E003:E123", "-q"]
        code, _, stderr = cli(*args, "-o", tmp_path / name)
        said = "E003 and E123 have tracks of different kinds (H3K4me3 "
        assert code == 0 and (said in stderr) == (name == "coarse"), stderr
        if name == "coarse":
            assert "against coarse): their change would be the pipelines'" in stderr
            code, _, stderr = cli(*args, "-o", tmp_path / "strict", "--strict")
            assert code == 2 and said in stderr and not (tmp_path / "strict").exists()
