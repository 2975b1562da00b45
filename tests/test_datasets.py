import gzip
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from chromepredict.io.datasets import (
    find_cell_types,
    read_csv_dir,
    read_deepchrome_csv,
    split_by_chromosome,
)
from chromepredict.io.expression import read_expression
from chromepredict.io.marks import CORE_MARKS
from chromepredict.system.errors import UserError


def test_read_toy_csv():
    data = read_deepchrome_csv(DATA / "toy" / "train.csv")
    assert data.features.shape == (10, 5, 100)
    assert data.marks == CORE_MARKS
    assert data.genes["gene_id"][0] == "ENSG00000000003"
    # first row of the file: 000003,1,0,1,0,2,0,1 (H3K27me3..H3K9me3, label)
    np.testing.assert_array_equal(data.features[0, :, 0], [0, 1, 0, 2, 0])
    assert data.labels[0] == 1
    assert data.spec.orientation == "genomic"


def write_deepchrome_csv(data, path) -> None:
    """The reader's inverse (values rounded to integers), to check that reading loses nothing."""
    n_genes, n_marks, n_bins = data.features.shape
    short = [g.removeprefix("ENSG00000") for g in data.genes["gene_id"]]
    table = pd.DataFrame(
        data.features.transpose(0, 2, 1).reshape(-1, n_marks).round().astype(np.int64),
        columns=list(CORE_MARKS),
    )
    table.insert(0, "BinID", np.tile(np.arange(1, n_bins + 1), n_genes))
    table.insert(0, "GeneID", np.repeat(short, n_bins))
    table["Label"] = np.repeat(data.labels.astype(np.int64), n_bins)
    table.to_csv(path, header=False, index=False)


def test_csv_round_trip(tmp_path):
    data = read_deepchrome_csv(DATA / "roadmap_E003" / "valid.csv.gz")
    write_deepchrome_csv(data, tmp_path / "valid.csv")
    with gzip.open(DATA / "roadmap_E003" / "valid.csv.gz", "rt") as handle:
        assert (tmp_path / "valid.csv").read_text() == handle.read()


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b,c\n", "not a DeepChrome CSV"),
        ("000003,1,0,1,0,2,0,1\n000003,3,0,1,0,2,0,1\n", "BinID 1..2"),
        ("000003,1,0,1,0,2,0,1\n000003,2,0,1,0,2,0,0\n", "Label"),
        ("000003,1,0,1,0,x,0,1\n", "not a DeepChrome CSV"),
        ("", "not a DeepChrome CSV"),
    ],
)
def test_bad_csv(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_deepchrome_csv(path)


def test_remc_folder_layout(tmp_path):
    for eid in ("E003", "E005"):
        folder = tmp_path / eid / "classification"
        folder.mkdir(parents=True)
        for split in ("train", "valid", "test"):
            shutil.copy(DATA / "toy" / f"{split}.csv", folder / f"{split}.csv")
    (tmp_path / "notes").mkdir()
    found = find_cell_types(tmp_path)
    assert list(found) == ["E003", "E005"]
    splits = read_csv_dir(found["E005"])
    assert {k: len(v.genes) for k, v in splits.items()} == {"train": 10, "valid": 10, "test": 9}
    with pytest.raises(UserError, match="no <EID>/classification"):
        find_cell_types(tmp_path / "notes")


def test_labels_match_published_labels(example, tracks):
    from chromepredict.io.features import WindowSpec
    from chromepredict.io.labelling import with_expression
    from chromepredict.io.marks import assign_marks
    from chromepredict.io.sources import from_tracks

    data = from_tracks(assign_marks(tracks, []), example["gtf"], WindowSpec(), gene_type=None)
    labelled = with_expression(data, read_expression(example["expression"]))
    assert len(labelled.genes) == len(data.genes) == 371
    published = read_deepchrome_csv(DATA / "roadmap_E003" / "valid.csv.gz")
    ours = pd.Series(labelled.labels, index=labelled.genes["gene_id"])
    assert (ours.loc[published.genes["gene_id"]].to_numpy() == published.labels).all()


def test_split_by_chromosome_is_reproducible_and_disjoint():
    genes = pd.DataFrame({"chrom": np.repeat([f"chr{i}" for i in range(1, 21)], 50)})
    a, how = split_by_chromosome(genes, seed=1)
    b, _ = split_by_chromosome(genes, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert how.startswith("by whole chromosome")
    chroms = {k: set(genes["chrom"].iloc[v]) for k, v in a.items()}
    assert not (chroms["train"] & chroms["valid"]) and not (chroms["valid"] & chroms["test"])
    assert sum(len(v) for v in a.values()) == len(genes)
    assert len(a["train"]) > len(a["valid"]) > 0 and len(a["test"]) > 0


def test_split_says_when_it_fell_back_to_random_genes():
    genes = pd.DataFrame({"chrom": ["chr1"] * 30 + ["chr2"] * 30})
    parts, how = split_by_chromosome(genes, seed=0)
    assert how.startswith("random genes") and "only 2 chromosome(s)" in how
    assert sorted(np.concatenate(list(parts.values()))) == list(range(60))


def test_csv_profile_is_the_files_own(tmp_path):
    """A CSV carries no track; its windows are what its profile (and scale) come from."""
    data = read_deepchrome_csv(DATA / "toy" / "train.csv")
    values = data.features[:, 3].ravel()  # H3K4me3
    nonzero = np.sort(values[values != 0])
    assert (
        data.profiles["H3K4me3"].scale == nonzero[(len(nonzero) - 1) // 2]
        or data.profiles["H3K4me3"].scale == nonzero[len(nonzero) // 2]
    )
    assert data.profiles["H3K4me3"].kind == "counts" and not data.provenance.strands_known


def _field_counts(path) -> set[int]:
    """Fields per line, split as awk or cut would (no quoting), for every line of a table."""
    with gzip.open(path, "rt") if str(path).endswith(".gz") else open(path) as handle:
        text = handle.read()
    separator = "\t" if "\t" in text.split("\n", 1)[0] else ","
    return {len(line.split(separator)) for line in text.splitlines() if line}


def test_every_bundled_and_exported_table_is_rectangular(cli, tmp_path):
    """Every line of every table shipped or exported has the header's field count: no value spans
    lines (the bundled expression tables once held pandas printouts as gene names)."""
    from chromepredict.io.datasets import example_data

    tables = [p for cell in ("E003", "E123") for p in [example_data(cell)["expression"]]]
    tables += sorted(DATA.glob("**/*.csv")) + sorted(DATA.glob("**/*.csv.gz"))
    assert cli("demo", "--export", tmp_path / "ex")[0] == 0
    exported = sorted((tmp_path / "ex").glob("*.tsv.gz")) + [tmp_path / "ex" / "samples.csv"]
    assert len(exported) == 3
    for path in tables + exported:
        assert len(_field_counts(path)) == 1, path
    names = pd.read_csv(example_data("E003")["expression"], sep="\t")["gene_name"]
    assert not names.str.contains("\n|dtype", regex=True).any()
