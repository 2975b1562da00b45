"""Extraction on the real Roadmap E003 bigWigs against the published DeepChrome counts."""

from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from conftest import DATA

from chromepredict.io.annotation import read_tss
from chromepredict.io.datasets import read_deepchrome_csv
from chromepredict.io.extraction import EXACT_BINS
from chromepredict.io.features import WindowSpec
from chromepredict.io.marks import CORE_MARKS, assign_marks
from chromepredict.system.errors import UserError


def extract(genes, files, spec=WindowSpec(), threads=1):
    """The tracks read through the one door for a gene table (no GTF file needed)."""
    from chromepredict.io.annotation import GeneTable
    from chromepredict.io.sources import read_tracks
    from chromepredict.io.tracks import Track

    tracks = [Track.open(path, mark) for mark, path in files.items()]
    return read_tracks(tracks, GeneTable(genes.reset_index(drop=True)), "genes.gtf", spec, threads)


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
    data = extract(genes, files, WindowSpec(orientation="genomic"))
    assert len(data.genes) == len(genes) and data.present is None
    ids = isolated(genes, published.genes["gene_id"])
    assert len(ids) > 150
    ours = data.features[data.genes.set_index("gene_id").index.get_indexer(ids)]
    theirs = published.features[published.genes.set_index("gene_id").index.get_indexer(ids)]
    np.testing.assert_array_equal(ours, theirs)


def test_five_to_three_reverses_minus_strand(genes, files):
    genomic = extract(genes, files, WindowSpec(orientation="genomic"))
    oriented = extract(genes, files, WindowSpec(orientation="5to3"))
    minus = (genomic.genes["strand"] == "-").to_numpy()
    assert minus.any() and (~minus).any()
    np.testing.assert_array_equal(oriented.features[~minus], genomic.features[~minus])
    np.testing.assert_array_equal(oriented.features[minus], genomic.features[minus][:, :, ::-1])
    assert oriented.features.dtype == np.float32
    assert oriented.marks == CORE_MARKS


def test_parallel_reading_matches_serial(genes, files):
    serial = extract(genes, files)
    parallel = extract(genes, files, threads=2)
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
    data = extract(genes, edge_tracks, WindowSpec(flank=100, bin_size=50))
    assert list(data.genes["gene_id"]) == ["A", "B", "M"]  # chr7 is in no track: left out, with a warning
    assert any("1 genes on chr7 left out" in w for w in data.provenance.warnings)
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


def one_gene(tss: int, chrom: str = "chr1", strand: str = "+"):
    import pandas as pd

    return pd.DataFrame(
        {"gene_id": ["A"], "gene_name": ["A"], "chrom": [chrom], "tss": [tss], "strand": [strand]}
    )


def test_nan_counts_as_zero_in_both_paths(tmp_path):
    """25 bp of 4.0 then 25 bp of NaN in a 50 bp bin reads 2.0 (NaN counts 0), inside a chromosome and
    across its end alike."""
    path = tmp_path / "H3K4me3.bw"
    write_bigwig(
        path,
        [("chr1", 1000)],
        [
            ("chr1", 0, 25, 4.0),
            ("chr1", 25, 50, float("nan")),
            ("chr1", 950, 975, 4.0),
            ("chr1", 975, 1000, float("nan")),
        ],
    )
    inside = extract(
        one_gene(50), {"H3K4me3": str(path)}, WindowSpec(flank=50, bin_size=50, orientation="genomic")
    )
    np.testing.assert_allclose(inside.features[0, 0], [2.0, 0.0])
    across = extract(
        one_gene(1000), {"H3K4me3": str(path)}, WindowSpec(flank=50, bin_size=50, orientation="genomic")
    )
    np.testing.assert_allclose(across.features[0, 0], [2.0, 0.0])  # [950, 1000) then beyond the end


@pytest.mark.skipif(
    not EXACT_BINS, reason="pybigtools 0.2 has only the base-by-base reader (the whole suite tests it)"
)
def test_base_by_base_path_equals_the_fast_path(genes, files, monkeypatch):
    """The reader used under pybigtools 0.2 (base by base) gives the fast path's values."""
    import chromepredict.io.extraction as signal

    fast = extract(genes.head(60), files)
    monkeypatch.setattr(signal, "EXACT_BINS", False)
    monkeypatch.setattr(signal, "_bases_from_values", _kwargs_for_old_reader(signal._bases_from_values))
    slow = extract(genes.head(60), files)
    np.testing.assert_allclose(slow.features, fast.features, rtol=1e-5, atol=1e-6)


def _kwargs_for_old_reader(read_bases):
    """Under pybigtools 0.3 the base-by-base read takes ``fillna``; emulate 0.2's ``missing`` keyword."""

    def read(track, chrom, lo, width, length):
        class Old:
            def values(self, chrom, a, b, missing=0.0):
                return track.values(chrom, a, b, fillna=missing)

        return read_bases(Old(), chrom, lo, width, length)

    return read


@pytest.mark.parametrize("keep", [1 / 3, 200 / 1e6, 8 / 1e6])
def test_truncated_bigwig_is_one_line_error(tmp_path, genes, files, keep):
    """Cut anywhere, even inside the header, a bigWig is called damaged (not another format)."""
    source = Path(files["H3K4me3"]).read_bytes()
    cut = tmp_path / "H3K4me3.bw"
    cut.write_bytes(source[: max(4, int(len(source) * keep))])
    with pytest.raises(UserError, match="truncated or damaged"):
        extract(genes, {**files, "H3K4me3": str(cut)})
