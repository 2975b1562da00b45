"""Extraction on the real Roadmap E003 bigWigs against the published DeepChrome counts."""

import numpy as np
import pyBigWig
import pytest
from conftest import DATA

from chromepredict.annotation import read_tss
from chromepredict.datasets import read_deepchrome_csv
from chromepredict.errors import UserError
from chromepredict.features import WindowSpec
from chromepredict.marks import CORE_MARKS, assign_marks
from chromepredict.signal import extract


@pytest.fixture(scope="module")
def genes(example):
    return read_tss(example["gtf"], gene_type=None)


@pytest.fixture(scope="module")
def files(tracks):
    return assign_marks(tracks, [])


def isolated(genes, gene_ids, reach=20_000):
    """Genes with no other TSS within ``reach``: the bigWig (one value per base) can hold their
    published counts exactly; windows of close neighbours overlap with different bin phases."""
    keep = []
    for gene_id in gene_ids:
        row = genes[genes["gene_id"] == gene_id].iloc[0]
        same = genes[(genes["chrom"] == row.chrom) & (genes["gene_id"] != gene_id)]
        if (abs(same["tss"] - row.tss) >= reach).all():
            keep.append(gene_id)
    return keep


@pytest.mark.parametrize("split", ["train", "valid"])
def test_exact_counts_genomic_orientation(genes, files, split):
    published = read_deepchrome_csv(DATA / "roadmap_E003" / f"{split}.csv.gz")
    data, dropped = extract(genes, files, WindowSpec(orientation="genomic"))
    assert len(dropped) == 0
    ids = isolated(genes, published.genes["gene_id"])
    assert len(ids) > 150
    ours = data.features[data.genes.set_index("gene_id").index.get_indexer(ids)]
    theirs = published.features[published.genes.set_index("gene_id").index.get_indexer(ids)]
    np.testing.assert_array_equal(ours, theirs)


def test_five_to_three_reverses_minus_strand(genes, files):
    genomic, _ = extract(genes, files, WindowSpec(orientation="genomic"))
    oriented, _ = extract(genes, files, WindowSpec(orientation="5to3"))
    minus = (genomic.genes["strand"] == "-").to_numpy()
    assert minus.any() and (~minus).any()
    np.testing.assert_array_equal(oriented.features[~minus], genomic.features[~minus])
    np.testing.assert_array_equal(oriented.features[minus], genomic.features[minus][:, :, ::-1])
    assert oriented.features.dtype == np.float32
    assert oriented.marks == CORE_MARKS


def test_parallel_reading_matches_serial(genes, files):
    serial, _ = extract(genes, files)
    parallel, _ = extract(genes, files, threads=2)
    np.testing.assert_array_equal(serial.features, parallel.features)


def write_bigwig(path, chroms, entries):
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(chroms)
    for chrom, start, end, value in entries:
        bw.addEntries([chrom], [start], ends=[end], values=[value])
    bw.close()


@pytest.fixture
def edge_tracks(tmp_path):
    """Five tracks with Ensembl-style names (1, MT), signal touching both ends of chromosome 1."""
    paths = {}
    for i, mark in enumerate(CORE_MARKS):
        path = tmp_path / f"{mark}.bw"
        write_bigwig(
            path,
            [("1", 1000), ("MT", 500)],
            [("1", 0, 50, i + 1.0), ("1", 950, 1000, 4.0), ("MT", 0, 500, 2.0)],
        )
        paths[mark] = str(path)
    return paths


def test_aliases_missing_data_and_edges(edge_tracks):
    import pandas as pd

    genes = pd.DataFrame(
        {
            "gene_id": ["A", "B", "M", "Z"],
            "gene_name": ["A", "B", "M", "Z"],
            "chrom": ["chr1", "chr1", "chrM", "chr7"],
            "tss": [51, 951, 251, 100],
            "strand": ["+", "-", "+", "+"],
        }
    )
    data, dropped = extract(genes, edge_tracks, WindowSpec(flank=100, bin_size=50))
    assert list(dropped["gene_id"]) == ["Z"]  # chr7 is in no track: reported, not fatal
    a, b, m = data.features
    # A: window [-49, 151), bins of 50; signal i+1 on [0, 50): bin 0 holds 1 base, bin 1 49 bases
    np.testing.assert_allclose(a[0], [1 / 50, 49 / 50, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(a[1], [2 / 50, 2 * 49 / 50, 0.0, 0.0], rtol=1e-6)
    # B (minus strand): window [851, 1051) runs off the end; signal 4 on [950, 1000);
    # genomic bins [0, 1 × 4/50, 49 × 4/50, 0], reversed 5′→3′
    np.testing.assert_allclose(b[0], [0.0, 49 * 4 / 50, 4 / 50, 0.0], rtol=1e-6)
    np.testing.assert_allclose(m[0], [2.0, 2.0, 2.0, 2.0])


def test_no_chromosome_in_common(edge_tracks):
    import pandas as pd

    genes = pd.DataFrame(
        {"gene_id": ["Z"], "gene_name": ["Z"], "chrom": ["chr7"], "tss": [100], "strand": ["+"]}
    )
    with pytest.raises(UserError, match="no chromosome in common"):
        extract(genes, edge_tracks, WindowSpec(flank=100, bin_size=50))


def test_not_a_bigwig(tmp_path, genes, files):
    fake = tmp_path / "H3K4me3.bw"
    fake.write_text("track type=bedGraph\nchr1\t0\t10\t1\n")
    with pytest.raises(UserError, match="not a bigWig"):
        extract(genes, {**files, "H3K4me3": str(fake)})
    with pytest.raises(UserError, match="not found"):
        extract(genes, {**files, "H3K4me3": str(tmp_path / "missing.bw")})


@pytest.mark.parametrize(
    "flank, bin_size, orientation", [(5000, 300, "5to3"), (0, 100, "5to3"), (5000, 100, "up")]
)
def test_bad_window_spec(flank, bin_size, orientation):
    with pytest.raises(UserError):
        WindowSpec(flank, bin_size, orientation)
