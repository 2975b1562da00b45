import gzip
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from chromepredict.datasets import (
    attach_labels,
    find_cell_types,
    read_csv_dir,
    read_deepchrome_csv,
    read_expression,
    split_by_chromosome,
    write_deepchrome_csv,
)
from chromepredict.errors import UserError
from chromepredict.marks import CORE_MARKS


def test_read_toy_csv():
    data = read_deepchrome_csv(DATA / "toy" / "train.csv")
    assert data.features.shape == (10, 5, 100)
    assert data.marks == CORE_MARKS
    assert data.genes["gene_id"][0] == "ENSG00000000003"
    # first row of the file: 000003,1,0,1,0,2,0,1 (H3K27me3..H3K9me3, label)
    np.testing.assert_array_equal(data.features[0, :, 0], [0, 1, 0, 2, 0])
    assert data.labels[0] == 1
    assert data.spec.orientation == "genomic"


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


def test_expression_labels_follow_the_median_rule(example):
    expr = read_expression(example["expression"])
    assert expr.median == pytest.approx(3.33)
    labels = expr.labels
    assert labels["ENSG00000000003"] == 1  # TSPAN6, rpkm 43.985
    assert labels["ENSG00000000005"] == 0  # TNMD, rpkm 1.642
    assert "high" in expr.summary()


def test_expression_ids_with_versions_and_csv(tmp_path):
    path = tmp_path / "tpm.csv"
    path.write_text("name,tpm,other\nENSG1.4,5,x\nENSG2.1,1,y\nENSG3,3,z\n")
    expr = read_expression(path)
    assert list(expr.labels.sort_index()) == [1, 0, 0]
    assert expr.median == 3


@pytest.mark.parametrize("content", ["gene_id\tname\nA\tB\n", "gene_id\trpkm\nA\t1\nB\tNA\n"])
def test_bad_expression(tmp_path, content):
    path = tmp_path / "e.tsv"
    path.write_text(content)
    with pytest.raises(UserError):
        read_expression(path)


def test_attach_labels_matches_published_labels(example, tracks):
    from chromepredict.annotation import read_tss
    from chromepredict.marks import assign_marks
    from chromepredict.signal import extract

    data, _ = extract(read_tss(example["gtf"], None), assign_marks(tracks, []))
    labelled, missing = attach_labels(data, read_expression(example["expression"]))
    assert missing == 0
    published = read_deepchrome_csv(DATA / "roadmap_E003" / "valid.csv.gz")
    ours = pd.Series(labelled.labels, index=labelled.genes["gene_id"])
    assert (ours.loc[published.genes["gene_id"]].to_numpy() == published.labels).all()


def test_split_by_chromosome_is_reproducible_and_disjoint():
    genes = pd.DataFrame({"chrom": np.repeat([f"chr{i}" for i in range(1, 21)], 50)})
    a = split_by_chromosome(genes, seed=1)
    b = split_by_chromosome(genes, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    chroms = {k: set(genes["chrom"].iloc[v]) for k, v in a.items()}
    assert not (chroms["train"] & chroms["valid"]) and not (chroms["valid"] & chroms["test"])
    assert sum(len(v) for v in a.values()) == len(genes)
    assert len(a["train"]) > len(a["valid"]) > 0 and len(a["test"]) > 0
