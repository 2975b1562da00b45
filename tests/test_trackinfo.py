"""Track profiles read from the track itself, and assemblies recognised from chromosome sizes."""

import numpy as np
import pyBigWig
import pytest

from chromepredict.io.assembly import KNOWN_SIZES, build_from_gtf_header, canonical_build, recognise
from chromepredict.io.tracks import Track


def track_profile(path):
    return Track.open(path, "H3K4me3").profile


def write(path, chroms, entries):
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(chroms)
    chrom, starts, ends, values = zip(*entries, strict=True)
    bw.addEntries(list(chrom), list(starts), ends=list(ends), values=[float(v) for v in values])
    bw.close()
    return str(path)


HG19 = [("chr1", KNOWN_SIZES["hg19"]["chr1"]), ("chr2", KNOWN_SIZES["hg19"]["chr2"])]


def test_counts_track(tmp_path):
    # 100 bp bins: 60 bins of 1 read, 30 of 2, 10 of 9 → base-weighted median 1, whole numbers
    values = [1] * 60 + [2] * 30 + [9] * 10
    entries = [("chr1", 10_000 + 100 * i, 10_100 + 100 * i, v) for i, v in enumerate(values)]
    profile = track_profile(write(tmp_path / "c.bw", HG19, entries))
    assert profile.kind == "counts" and profile.resolution == 100
    assert profile.scale == 1.0
    assert profile.trimmed_mean == pytest.approx((60 * 1 + 30 * 2) / 90)  # values up to the 90th percentile
    assert profile.assembly == "hg19"
    assert profile.covered_fraction == pytest.approx(
        10_000 / KNOWN_SIZES["hg19"]["chr1"]
    )  # chr2 holds no data


def test_peak_signal_track(tmp_path):
    # constant blocks of varying length, fold enrichment values
    lengths = [220, 480, 1300, 350, 2600, 610, 900, 275, 1750, 430]
    entries, start = [], 50_000
    for i, n in enumerate(lengths):
        entries.append(("chr1", start, start + n, 2.5 + i * 0.73))
        start += n + 20_000
    profile = track_profile(write(tmp_path / "p.bw", HG19, entries))
    assert profile.kind == "peak-signal" and profile.resolution >= 150


def test_coarse_track(tmp_path):
    entries = [("chr1", 10_000 * i, 10_000 * (i + 1), 100 + (i % 7) * 13) for i in range(200)]
    profile = track_profile(write(tmp_path / "k.bw", HG19, entries))
    assert profile.kind == "coarse" and profile.resolution == 10_000


def test_per_base_signal_track(tmp_path):
    rng = np.random.default_rng(0)
    starts = np.cumsum(rng.integers(5, 40, size=2000)) + 1000
    entries = [
        ("chr1", int(a), int(b), round(float(v), 3))
        for a, b, v in zip(starts[:-1], starts[1:], rng.gamma(2, 0.7, 1999), strict=False)
    ]
    profile = track_profile(write(tmp_path / "s.bw", HG19, entries))
    assert profile.kind == "signal" and profile.resolution < 50


def test_scale_follows_the_unit_not_the_regions_read(tmp_path):
    """Ten times the signal, ten times the scale; the profile reads the track, never a gene list."""
    entries = [("chr1", 10_000 + 100 * i, 10_100 + 100 * i, 1 + i % 5) for i in range(300)]
    one = track_profile(write(tmp_path / "a.bw", HG19, entries))
    ten = track_profile(write(tmp_path / "b.bw", HG19, [(c, s, e, 10 * v) for c, s, e, v in entries]))
    assert ten.scale == pytest.approx(10 * one.scale)


@pytest.mark.parametrize("build", sorted(KNOWN_SIZES))
def test_known_builds_are_recognised_in_either_naming(build):
    sizes = KNOWN_SIZES[build]
    assert recognise(dict(list(sizes.items())[:3])) == build
    assert recognise({c.removeprefix("chr"): n for c, n in sizes.items()}) == build  # Ensembl names


def test_unknown_or_contradictory_sizes():
    assert recognise({"chr1": 1000, "chr2": 2000}) is None
    assert recognise({"chr1": KNOWN_SIZES["hg19"]["chr1"]}) is None  # one chromosome is not enough
    mixed = {"chr1": KNOWN_SIZES["hg19"]["chr1"], "chr2": KNOWN_SIZES["hg38"]["chr2"], "chr3": 5}
    assert recognise(mixed) is None


def test_build_names():
    assert canonical_build("GRCh38") == "hg38" and canonical_build("hg19") == "hg19"
    assert canonical_build("GRCm39") == "mm39" and canonical_build("dm6") is None
    header = [
        "##description: evidence-based annotation of the human genome (GRCh38), version 29 (Ensembl 94)\n"
    ]
    assert build_from_gtf_header(header) == "hg38"
    assert build_from_gtf_header(["##provider: GENCODE\n"]) is None


@pytest.mark.parametrize(
    "header, build",
    [
        (["#!genome-build GRCh38.p14\n", "#!genome-version GRCh38\n", "#!genome-date 2013-12\n"], "hg38"),
        (["#!genome-build GRCh37.p13\n", "#!genome-build-accession NCBI:GCA_000001405.14\n"], "hg19"),
        (["#gtf-version 2.2\n", "#!genome-build-accession NCBI_Assembly:GCF_000001405.40\n"], "hg38"),
        (["#!genome-build-accession NCBI_Assembly:GCF_000001405.25\n"], "hg19"),
        (["##description: evidence-based annotation of the mouse genome (GRCm39), version M33 (Ensembl 110)\n"], "mm39"),
        (["#!genome-build GRCm38.p6\n"], "mm10"),
        (["##description: evidence-based annotation of the human genome (GRCh38), version 44 (Ensembl 110), "
          "mapped to GRCh37 with gencode-backmap\n"], "hg19"),
        (["# hg19 refGene from the UCSC table browser\n"], "hg19"),
        (["##provider: GENCODE\n", "##format: gtf\n", "##date: 2023-03-21\n"], None),
        (["##description: genes (GRCh38)\n", "##description: hg19 records\n"], "hg38"),  # the first line wins
        (["#!genome-build GRCh380\n", "# version 2019\n"], None),  # not a build word
    ],
)  # fmt: skip
def test_gtf_headers_name_their_build_in_every_style(header, build):
    assert build_from_gtf_header(header) == build


@pytest.mark.parametrize(
    "name, build",
    [("hg38.ncbiRefSeq.gtf.gz", "hg38"), ("Homo_sapiens.GRCh37.87.gtf.gz", "hg19"), ("mm10.knownGene.gtf", "mm10"),
     ("gencode.v44.annotation.gtf.gz", None), ("hg19ToHg38.over.chain.gtf", None), ("genes.gtf", None)],
)  # fmt: skip
def test_file_names_name_their_build(name, build):
    from chromepredict.io.assembly import build_from_file_name

    assert build_from_file_name(name) == build
