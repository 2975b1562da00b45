"""The compatibility gate and the input door: marks, windows, strands, assemblies, build mismatches."""

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pyBigWig
import pytest
from conftest import DATA

from chromepredict.io.assembly import KNOWN_SIZES


def body(path):
    return pd.read_csv(path, sep="\t", comment="#")


def about(path):
    """How a predictions table was made: its JSON sidecar."""
    return json.loads(Path(path).with_suffix(".json").read_text())


def test_subset_of_marks_is_scored_and_said(cli, trained_model, tracks, example, tmp_path):
    three = [t for t in tracks if any(m in t for m in ("H3K4me3", "H3K36me3", "H3K27me3"))]
    out = tmp_path / "p.tsv"
    code, _, stderr = cli("predict", *three, "--gtf", example["gtf"], "--model", trained_model, "-o", out)
    assert code == 0, stderr
    assert "warning: scoring from 3 of 5 marks (H3K27me3, H3K36me3, H3K4me3; no H3K4me1, H3K9me3)" in stderr
    assert "for this subset: test" in stderr  # the card's held-out score for exactly this subset
    assert (
        about(out)["marks_used"] == ["H3K27me3", "H3K36me3", "H3K4me3"]
        and len(about(out)["model_marks"]) == 5
    )
    assert len(body(out)) == 369


def test_extra_mark_is_ignored_with_a_note(cli, trained_model, tracks, example, tmp_path):
    extra = tmp_path / "K562_H3K27ac.bw"
    shutil.copy(tracks[0], extra)
    code, _, stderr = cli(
        "predict", *tracks, extra, "--gtf", example["gtf"], "--model", trained_model, "-o", tmp_path / "p.tsv"
    )
    assert code == 0, stderr
    assert "does not use H3K27ac: ignored" in stderr and "rename" not in stderr


def test_model_without_subsets_needs_every_mark(cli, tracks, example, tmp_path):
    model = tmp_path / "published"
    code, _, stderr = cli(
        "train",
        "--csv-dir",
        DATA / "toy",
        "-o",
        model,
        "--architecture",
        "deepchrome-2016",
        "--max-epochs",
        "1",
    )
    assert code == 0, stderr
    code, _, stderr = cli(
        "evaluate",
        "--model",
        model,
        *tracks[:4],
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "-o",
        tmp_path / "ev",
    )
    assert code == 2 and "missing H3K9me3" in stderr and "chromepredict train" in stderr


def test_csv_needs_strands_for_a_five_to_three_model(cli, trained_model, example, tmp_path):
    csv = DATA / "roadmap_E003" / "valid.csv.gz"
    code, _, stderr = cli("evaluate", "--model", trained_model, "--csv", csv, "-o", tmp_path / "a")
    assert code == 2 and "no strand" in stderr and "--gtf" in stderr
    code, stdout, stderr = cli(
        "evaluate", "--model", trained_model, "--csv", csv, "--gtf", example["gtf"], "-o", tmp_path / "b"
    )
    assert code == 0, stderr
    assert "ROC AUC" in stdout


@pytest.mark.slow
def test_csv_and_tracks_agree_once_oriented(cli, trained_model, tracks, example, tmp_path):
    """The same genes from the published CSV (genomic order, strands from the GTF) and from the
    bigWigs: the CSV's AUC is within 0.015 of the tracks' (before the gate, it was 0.05 lower)."""

    csv = tmp_path / "valid.csv"
    csv.write_bytes(gzip.decompress((DATA / "roadmap_E003" / "valid.csv.gz").read_bytes()))
    code, _, stderr = cli(
        "evaluate", "--model", trained_model, "--csv", csv, "--gtf", example["gtf"], "-o", tmp_path / "csv"
    )
    assert code == 0, stderr
    code, _, stderr = cli(
        "evaluate",
        "--model",
        trained_model,
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "-o",
        tmp_path / "bw",
    )
    assert code == 0, stderr
    by_csv = pd.read_csv(tmp_path / "csv" / "predictions.tsv", sep="\t").set_index("gene_id")
    by_tracks = pd.read_csv(tmp_path / "bw" / "predictions.tsv", sep="\t").set_index("gene_id")
    shared = by_csv.index.intersection(by_tracks.index)
    assert len(shared) >= 180
    by_csv, by_tracks = by_csv.loc[shared], by_tracks.loc[shared]
    from sklearn.metrics import roc_auc_score

    auc_csv = roc_auc_score(by_csv["label"], by_csv["p_high"])
    auc_tracks = roc_auc_score(by_tracks["label"], by_tracks["p_high"])
    assert abs(auc_csv - auc_tracks) <= 0.015, (auc_csv, auc_tracks)
    assert json.loads((tmp_path / "csv" / "metrics.json").read_text())["all_genes"]["n_genes"] == 186


def test_grch38_genes_on_hg19_tracks_are_named_on_stderr(cli, tracks, trained_model, tmp_path):
    out = tmp_path / "p.tsv"
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", DATA / "gencode_human.gtf.gz", "--model", trained_model, "-o", out
    )
    assert code == 0, stderr
    assert "the GTF says hg38 but the tracks are hg19" in stderr
    assert "of genes have no signal in any track" in stderr
    assert any("the GTF says hg38" in warning for warning in about(out)["warnings"])
    assert about(out)["tracks"]["assembly"] == "hg19"


def test_quiet_never_hides_warnings(cli, tracks, trained_model, tmp_path):
    for args in (("-q", "predict"), ("predict", "-q")):
        code, _, stderr = cli(
            *args,
            *tracks,
            "--gtf",
            DATA / "gencode_human.gtf.gz",
            "--model",
            trained_model,
            "-o",
            tmp_path / "p.tsv",
        )
        assert code == 0
        assert "warning: the GTF says hg38" in stderr
        assert "genes from" not in stderr  # status lines are hidden


def test_tss_beyond_a_chromosome_end_is_left_out(cli, tracks, trained_model, example, tmp_path):
    gtf = tmp_path / "genes.gtf"
    lines = gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True)
    beyond = KNOWN_SIZES["hg19"]["chr1"] + 5000
    lines.append(
        f'chr1\tHAVANA\tgene\t{beyond}\t{beyond + 2000}\t.\t+\t.\tgene_id "ENSG00000999999.1"; '
        'gene_type "protein_coding"; gene_name "FAR";\n'
    )
    gtf.write_text("".join(lines))
    out = tmp_path / "p.tsv"
    code, _, stderr = cli("predict", *tracks, "--gtf", gtf, "--model", trained_model, "-o", out)
    assert code == 0, stderr
    assert "1 genes have a TSS beyond the end of their chromosome" in stderr and "ENSG00000999999" in stderr
    assert "ENSG00000999999" not in set(body(out)["gene_id"])


def test_tracks_of_two_builds_are_named(cli, tracks, trained_model, example, tmp_path):
    odd = tmp_path / "H3K9me3.bw"
    bw = pyBigWig.open(str(odd), "w")
    sizes = KNOWN_SIZES["hg38"]
    bw.addHeader(list(sizes.items()))
    bw.addEntries(["chr1"], [1_000_000], ends=[1_000_100], values=[1.0])
    bw.close()
    others = [t for t in tracks if "H3K9me3" not in t]
    code, _, stderr = cli(
        "predict", *others, odd, "--gtf", example["gtf"], "--model", trained_model, "-o", tmp_path / "p.tsv"
    )
    assert code == 0, stderr
    assert "tracks disagree on chromosome sizes" in stderr and "H3K9me3.bw: hg38" in stderr


def test_tracks_unlike_the_training_data_are_named(cli, tracks, trained_model, example, tmp_path):
    """A peak-signal track (constant blocks over peaks, nothing elsewhere) for a model trained on counts."""
    peaks = tmp_path / "H3K4me3.bw"
    source = pyBigWig.open(next(t for t in tracks if "H3K4me3" in t))
    bw = pyBigWig.open(str(peaks), "w")
    bw.addHeader(list(source.chroms().items()))
    for chrom in source.chroms():
        intervals = source.intervals(chrom) or []
        blocks, start = [], None
        for lo, hi, value in intervals:  # merge strong bins into peaks painted with one value
            if value >= 20:
                start = lo if start is None or lo > blocks[-1][1] + 300 else start
                if blocks and blocks[-1][0] == start:
                    blocks[-1] = (start, hi)
                else:
                    blocks.append((start, hi))
        for lo, hi in blocks:
            bw.addEntries([chrom], [lo], ends=[hi], values=[7.5])
    bw.close()
    others = [t for t in tracks if "H3K4me3" not in t]
    code, _, stderr = cli(
        "predict", *others, peaks, "--gtf", example["gtf"], "--model", trained_model, "-o", tmp_path / "p.tsv"
    )
    assert code == 0, stderr
    warning = next(line for line in stderr.splitlines() if "unlike model" in line)
    assert "H3K4me3: a peak-signal track (trained on counts)" in warning and "chromepredict train" in warning


@pytest.mark.slow
def test_window_and_build_of_the_card_are_checked(cli, tracks, example, tmp_path):
    """A model trained on TSS ± 2.5 kb refuses CSV windows of ± 5 kb; a card of another build
    (hg38) warns on hg19 tracks; a split on two chromosomes is recorded as the random split it was."""
    import json

    gtf = tmp_path / "two_chroms.gtf"
    lines = gzip.decompress(example["gtf"].read_bytes()).decode().splitlines(keepends=True)
    gtf.write_text("".join(line for line in lines if line.split("\t")[0] in ("chr19", "chr1")))
    model = tmp_path / "m"
    code, _, stderr = cli(
        "train", *tracks, "--gtf", gtf, "--expression", example["expression"], "-o", model,
        "--flank", 2500, "--genome-build", "hg38", "--max-epochs", 1, "--members", 1,
    )  # fmt: skip
    assert code == 0, stderr
    card = json.loads((model / "model.card.json").read_text())
    assert card["inputs"]["flank"] == 2500 and card["inputs"]["n_bins"] == 50
    assert (
        card["training_data"]["split"].startswith("random genes")
        and "only 2 chromosome(s)" in card["training_data"]["split"]
    )
    code, _, stderr = cli(
        "evaluate", "--model", model, "--csv", DATA / "roadmap_E003" / "valid.csv.gz", "--gtf", example["gtf"],
        "-o", tmp_path / "ev",
    )  # fmt: skip
    assert code == 2 and "windows of TSS ± 5000 bp in 100 bp bins (100 bins)" in stderr
    assert "trained on TSS ± 2500 bp" in stderr and not (tmp_path / "ev").exists()
    code, _, stderr = cli(
        "predict", *tracks, "--gtf", example["gtf"], "--model", model, "-o", tmp_path / "p.tsv"
    )
    assert code == 0, stderr
    assert "warning: tracks are hg19 but model m was trained on hg38 tracks" in stderr
