"""scripts/views.py on a tiny hand-made data set: properties checked against pyBigWig reads of the source.

The data imitate the shared Roadmap tracks: read counts per 100-bp bin phased on each gene's TSS,
empty bins absent, signal only in TSS ± 10 kb; two genes' windows overlap (the later one wins,
leaving pieces of bins as in the real files) and one window runs off a chromosome start.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from scripts import views

pyBigWig = pytest.importorskip("pyBigWig")

SIZES = {"chrA": 100_000, "chrB": 50_000, "chrM": 16_571}
GENES = [("chrA", 20_001, "+"), ("chrA", 33_050, "-"), ("chrB", 9_000, "+")]  # (chrom, 1-based TSS, strand)
FLANK = 10_000


def covered(chrom: str) -> list[tuple[int, int]]:
    """TSS ± 10 kb of the genes on a chromosome, merged (computed here, independently of views.py)."""
    spans = sorted((max(t - FLANK, 0), min(t + FLANK, SIZES[c])) for c, t, _ in GENES if c == chrom)
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [tuple(m) for m in merged]


def make_data(root: Path) -> Path:
    rng = np.random.default_rng(7)
    gtf = root / "genes.gtf"
    gtf.write_text(
        "".join(
            f"{c}\ttest\tgene\t{t if s == '+' else t - 5000}\t{t + 5000 if s == '+' else t}\t.\t{s}\t.\t"
            f'gene_id "G{i}"; gene_name "G{i}"; gene_type "protein_coding";\n'
            for i, (c, t, s) in enumerate(GENES)
        )
    )
    (root / "E000").mkdir()
    for k, mark in enumerate(views.MARKS):
        bw = pyBigWig.open(str(root / "E000" / f"{mark}.bw"), "w")
        bw.addHeader(list(SIZES.items()))
        for chrom in SIZES:
            genes = [(t, s) for c, t, s in GENES if c == chrom]
            if not genes:
                continue
            per_base = np.zeros(SIZES[chrom])
            edges = set()
            for t, _ in genes:
                starts = t - FLANK + 100 * np.arange(200)
                counts = rng.poisson(0.8, 200) + (np.abs(starts - t) < 1000) * rng.poisson(5 + 10 * k, 200)
                for a, n in zip(starts.tolist(), counts.tolist()):
                    if a + 100 > 0:
                        per_base[max(a, 0) : a + 100] = n
                        edges.update((max(a, 0), a + 100))
            cuts = sorted(edges)
            s, e = np.array(cuts[:-1]), np.array(cuts[1:])
            v = per_base[s]
            bw.addEntries(
                [chrom] * int((v > 0).sum()),
                s[v > 0].tolist(),
                ends=e[v > 0].tolist(),
                values=v[v > 0].tolist(),
            )
        bw.close()
    return root


def intervals(path: Path, chrom: str) -> np.ndarray:
    with pyBigWig.open(str(path)) as bw:
        return np.array(bw.intervals(chrom) or [], dtype=float).reshape(-1, 3)


def base_values(path: Path, chrom: str) -> np.ndarray:
    with pyBigWig.open(str(path)) as bw:
        return np.nan_to_num(np.array(bw.values(chrom, 0, SIZES[chrom])))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_data(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("views")
    results = views.build_views(root, out, views=["counts100", "cpm", "subsample10", "bin10kb"], log=None)
    assert {status for status, _ in results.values()} == {"built"}
    return root, out


def test_counts100_is_the_source(built):
    root, out = built
    paths = views.load_view(out, "E000", "counts100")
    assert list(paths) == list(views.MARKS)
    for mark, path in paths.items():
        for chrom in SIZES:
            assert np.array_equal(base_values(path, chrom), base_values(root / "E000" / f"{mark}.bw", chrom))


def test_cpm_is_counts_times_a_constant(built):
    root, out = built
    for mark, path in views.load_view(out, "E000", "cpm").items():
        source = np.concatenate([base_values(root / "E000" / f"{mark}.bw", c) for c in SIZES])
        scaled = np.concatenate([base_values(path, c) for c in SIZES])
        assert np.array_equal(source > 0, scaled > 0)
        ratio = scaled[source > 0] / source[source > 0]
        np.testing.assert_allclose(ratio, 1e6 / (source.sum() / 100), rtol=1e-6)


def test_bin10kb_sums_the_source_in_genome_aligned_bins(built):
    root, out = built
    lam_view = views.load_view(out, "E000", "bin10kb")
    meta = (out / "E000" / "bin10kb" / "view.json").read_text()
    for mark, path in lam_view.items():
        source = {c: base_values(root / "E000" / f"{mark}.bw", c) for c in SIZES}
        known = {c: np.zeros(SIZES[c], bool) for c in SIZES}
        for c in SIZES:
            for lo, hi in covered(c):
                known[c][lo:hi] = True
        # λ = −ln(fraction of empty covered bases), the documented background rule
        empty = sum(((source[c] == 0) & known[c]).sum() for c in SIZES) / sum(known[c].sum() for c in SIZES)
        lam = -math.log(empty)
        assert f'"{mark}": {round(lam, 6)}' in meta
        for chrom in SIZES:
            got = intervals(path, chrom)
            expected = []
            for start in range(0, SIZES[chrom], 10_000):
                end = min(start + 10_000, SIZES[chrom])
                if known[chrom][start:end].any():
                    part = known[chrom][start:end]
                    expected.append(
                        (start, end, source[chrom][start:end].sum() / 100 + lam * (~part).sum() / 100)
                    )
            expected = np.array(expected).reshape(-1, 3)
            assert np.array_equal(got[:, :2], expected[:, :2]), chrom
            np.testing.assert_allclose(got[:, 2], expected[:, 2], rtol=1e-5)


def test_subsample_thins_the_counts(built):
    root, out = built
    for mark, path in views.load_view(out, "E000", "subsample10").items():
        source = np.concatenate([base_values(root / "E000" / f"{mark}.bw", c) for c in SIZES])
        thinned = np.concatenate([base_values(path, c) for c in SIZES])
        assert np.all(thinned <= source)
        assert np.array_equal(thinned, np.round(thinned))
        reads, kept = source.sum() / 100, thinned.sum() / 100
        assert abs(kept - 0.1 * reads) < 5 * math.sqrt(reads * 0.1 * 0.9) + 1


def test_rebuild_is_deterministic_and_idempotent(built, tmp_path):
    root, out = built
    again = views.build_views(root, tmp_path, views=["subsample10"], log=None)
    assert again["E000", "subsample10"][0] == "built"
    for mark in views.MARKS:
        a, b = out / "E000" / "subsample10" / f"{mark}.bw", tmp_path / "E000" / "subsample10" / f"{mark}.bw"
        assert a.read_bytes() == b.read_bytes()
    stamp = b.stat().st_mtime_ns
    assert (
        views.build_views(root, tmp_path, views=["subsample10"], log=None)["E000", "subsample10"][0]
        == "up to date"
    )
    assert b.stat().st_mtime_ns == stamp
    assert (
        views.build_views(root, tmp_path, views=["subsample10"], seed=1, log=None)["E000", "subsample10"][0]
        == "built"
    )
    assert b.read_bytes() != a.read_bytes()
    assert views.list_views(tmp_path) == {"E000": ["subsample10"]}


def test_load_view_of_a_missing_view_says_so(built):
    _, out = built
    with pytest.raises(FileNotFoundError, match="view.json"):
        views.load_view(out, "E000", "bin1kb")


def test_peak_signal_is_constant_in_peaks_and_absent_elsewhere(built, tmp_path):
    pytest.importorskip("MACS3")
    if not (Path(sys.executable).parent / "macs3").is_file():
        pytest.skip("macs3 executable not installed in this environment")
    root, _ = built
    views.build_views(root, tmp_path, views=["peaks-fe"], marks=("H3K4me3",), log=None)
    path = views.load_view(tmp_path, "E000", "peaks-fe")["H3K4me3"]
    peaks = [line.split("\t") for line in (path.parent / "H3K4me3.narrowPeak").read_text().splitlines()]
    assert peaks, "the enriched TSSs give peaks"
    for chrom in SIZES:
        painted = base_values(path, chrom)
        inside = np.zeros(SIZES[chrom], bool)
        for p in (p for p in peaks if p[0] == chrom):
            start, end, signal = int(p[1]), int(p[2]), float(p[6])
            inside[start:end] = True
            np.testing.assert_allclose(painted[start:end], signal, rtol=1e-5)
            assert signal > 1
        assert not painted[~inside].any()
    near_tss = [
        any(p[0] == c and int(p[1]) - 1000 <= t <= int(p[2]) + 1000 for p in peaks) for c, t, _ in GENES
    ]
    assert all(near_tss)
