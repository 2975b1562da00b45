import pytest

from chromepredict.io.marks import (
    CORE_MARKS,
    assign_marks,
    canonical_mark,
    mark_from_filename,
    mark_order,
    name_conflicts,
)
from chromepredict.system.errors import UserError


@pytest.mark.parametrize(
    "name, mark",
    [
        ("H3K4me3", "H3K4me3"),
        ("h3k27ME3", "H3K27me3"),
        (" H3K36me3 ", "H3K36me3"),
        ("H3K27ac", "H3K27ac"),
        ("h3k9ac", "H3K9ac"),
        ("H3K4me2", "H3K4me2"),
        ("H3K79me2", "H3K79me2"),
        ("H4K20me1", "H4K20me1"),
        ("H2BK120ub1", "H2BK120ub1"),
        ("H2AK119ub", "H2AK119ub1"),
        ("h2ak119UB1", "H2AK119ub1"),
        ("H3K9me1", "H3K9me1"),
        ("H4K5ac", "H4K5ac"),
        ("H2BK12ac", "H2BK12ac"),
        ("H3K18cr", "H3K18cr"),
        ("H2A.Z", "H2A.Z"),
        ("H2AZ", "H2A.Z"),
        ("h2a.z.1", "H2A.Z"),
        ("H2AFZ", "H2A.Z"),
        ("H3.3", "H3.3"),
        ("DNase", "DNase"),
        ("dnase-seq", "DNase"),
        ("DNaseI", "DNase"),
        ("DHS", "DNase"),
        ("ATAC", "ATAC"),
        ("atac-seq", "ATAC"),
        # not marks
        ("input", None),
        ("control", None),
        ("IgG", None),
        ("CTCF", None),
        ("POLR2A", None),
        ("H3K4me", None),  # methylation without its degree
        ("H3K27me3ac", None),
        ("H3K27me4", None),
        ("H3K27M", None),  # the oncohistone mutation
        ("H5K4me3", None),
        ("ATACAMA", None),
        ("", None),
    ],
)
def test_canonical_mark(name, mark):
    assert canonical_mark(name) == mark


@pytest.mark.parametrize(
    "name, mark",
    [
        ("E003-H3K4me3.fc.signal.bigwig", "H3K4me3"),
        ("sample_h3k27ME3.bw", "H3K27me3"),
        ("/data/x/H3K4me1.pval.bw", "H3K4me1"),
        ("E003-H3K27ac.bw", "H3K27ac"),
        ("K562_H3K27ac_ENCFF123.bw", "H3K27ac"),
        ("GSM1_h3k9me3_rep2.bw", "H3K9me3"),
        ("H3K27ac2.bw", "H3K27ac"),  # a replicate number after the mark
        ("atac.bw", "ATAC"),
        ("scATAC_pseudobulk.bw", "ATAC"),
        ("liver_ATAC-seq.bw", "ATAC"),
        ("sample1.DNase.bw", "DNase"),
        ("K562_DHS.bw", "DNase"),
        ("sample.H2A.Z.bw", "H2A.Z"),
        ("H2BK120ub1.bw", "H2BK120ub1"),
        ("H3K4me3_H3K4me3.bw", "H3K4me3"),  # the same mark twice is not ambiguous
        # UCSC ENCODE names: tokens separated by case changes only
        ("wgEncodeBroadHistoneK562H3k27acStdSig.bigWig", "H3K27ac"),
        ("wgEncodeBroadHistoneHsmmH3k4me1StdSig.bigWig", "H3K4me1"),
        ("wgEncodeOpenChromDnaseK562SigV2.bigWig", "DNase"),
        # ENCODE-style folders, nearest first
        ("H3K4me3/signal.bw", "H3K4me3"),
        ("data/H3K27ac/rep1/fc.bw", "H3K27ac"),
        ("H3K27ac/rep1/H3K4me1.bw", "H3K4me1"),  # the file name wins over its folder
        ("H3K27ac/H3K4me1/fc.bw", "H3K4me1"),  # the nearest folder wins
        # nothing, or ambiguous
        ("input.bw", None),
        ("E003-Input.pval.signal.bigwig", None),
        ("H3K27ac/input.bw", None),  # a control inside a mark's folder is not that mark
        ("H3K27ac/rep1/IgG.bw", None),
        ("H3K4me3_vs_H3K4me1.bw", None),
        ("H3K27ac_ATAC.bw", None),
        ("H3K4me3_and_ATAC/x.bw", None),
        ("sample.bw", None),
        ("a/b/c/H3K4me3/d/e/f/x.bw", None),  # too far up to be about this file
        # false positives
        ("Atacama.bw", None),
        ("PATACS.bw", None),
        ("hatac.bw", None),
        ("mydhs.bw", None),
        ("H3K4me.bw", None),
        ("H3K4me31.bw", None),
        ("x_H3K27me3ac.bw", None),
        ("H3K27ME3AC.bw", None),
        ("H3K9acS10ph.bw", None),
        ("H3.3K27M.bw", None),
        ("CTCF.bw", None),
    ],
)
def test_mark_from_filename(name, mark):
    assert mark_from_filename(name) == mark


def test_mark_order():
    assert mark_order(["ATAC", "H3K4me3", "H3K27ac", "DNase", "H3K27me3", "H2A.Z", "H3K4me3"]) == (
        "H3K27me3",
        "H3K4me3",
        "ATAC",
        "DNase",
        "H2A.Z",
        "H3K27ac",
    )
    assert mark_order(reversed(CORE_MARKS)) == CORE_MARKS
    assert mark_order([]) == ()


def test_assign_marks_orders_canonically():
    files = [f"s-{m}.bw" for m in reversed(CORE_MARKS)]
    assert list(assign_marks(files, [])) == list(CORE_MARKS)


def test_assign_marks_keeps_extra_marks_after_core_ones():
    files = ["k-ATAC.bw", "k-H3K27ac.bw", "k-H3K4me3.bw", "k-H3K27me3.bw", "DNase/k.bw"]
    assert assign_marks(files, []) == {
        "H3K27me3": "k-H3K27me3.bw",
        "H3K4me3": "k-H3K4me3.bw",
        "ATAC": "k-ATAC.bw",
        "DNase": "DNase/k.bw",
        "H3K27ac": "k-H3K27ac.bw",
    }


def test_assign_marks_no_longer_needs_the_core_marks():
    assert assign_marks(["a-H3K27ac.bw"], []) == {"H3K27ac": "a-H3K27ac.bw"}
    assert assign_marks(["s-H3K4me3.bw", "s-H3K9me3.bw"], []) == {
        "H3K4me3": "s-H3K4me3.bw",
        "H3K9me3": "s-H3K9me3.bw",
    }


def test_explicit_mark_overrides_file_name():
    """--mark names a file's mark whatever its name says (given only there; the file-name check then
    warns); a file also given positionally is one file when its name says that mark or none."""
    files = [f"s-{m}.bw" for m in CORE_MARKS[:4]] + ["mystery.bw", "s-H3K4me3.bw"]
    assigned = assign_marks(
        files, ["h3k9me3=mystery.bw", "ATAC-seq=input-H3K27ac.bw", "h2az=only.bw", "H3K4me3=./s-H3K4me3.bw"]
    )
    assert assigned["H3K9me3"] == "mystery.bw"
    assert assigned["ATAC"] == "input-H3K27ac.bw"
    assert assigned["H2A.Z"] == "only.bw"  # given by --mark only
    assert assigned["H3K4me3"] == "./s-H3K4me3.bw"  # one file, given twice under its own mark
    assert "H3K27ac" not in assigned
    assert list(assigned) == [*CORE_MARKS, "ATAC", "H2A.Z"]


def test_same_file_twice_is_one_file():
    assert assign_marks(["s-H3K4me3.bw", "./s-H3K4me3.bw"], []) == {"H3K4me3": "s-H3K4me3.bw"}


@pytest.mark.parametrize(
    "files, explicit, message",
    [
        ([f"s-{m}.bw" for m in CORE_MARKS] + ["other-H3K4me3.bw"], [], "two files for mark H3K4me3"),
        (["a-H3K27ac.bw", "H3K27ac/b.bw"], [], "two files for mark H3K27ac"),
        ([f"s-{m}.bw" for m in CORE_MARKS] + ["input.bw"], [], "--mark MARK=input.bw"),
        (["s-H3K4me3.bw", "input.bw"], [], "input/control or a non-histone ChIP .input."),
        (["s-H3K4me3.bw", "CTCF.bw"], [], "non-histone ChIP .CTCF."),
        (["sample7.bw"], [], r"cannot tell which mark .*--mark MARK=sample7.bw.*H3K27ac"),
        (["H3K4me3_vs_H3K4me1.bw"], [], r"several marks \(H3K4me1, H3K4me3\); pass --mark MARK="),
        (["Atacama.bw"], [], "--mark MARK=Atacama.bw"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["input=x.bw"], "'input' is not recognised as a mark"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["H3K4me3"], "is not MARK=PATH"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["H3K4me3="], "is not MARK=PATH"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["=x.bw"], "is not MARK=PATH"),
        (["x.bw"], ["H3K4me3=x.bw", "H3K27ac=x.bw"], "x.bw is given for two marks, H3K4me3 and H3K27ac"),
        (
            ["x.bw"],
            ["H3K4me3=x.bw", "H3K27ac=./x.bw"],
            r"\./x.bw is given for two marks, H3K4me3 and H3K27ac",
        ),
        (
            ["s-H3K4me3.bw"],
            ["H3K27me3=s-H3K4me3.bw"],
            "given twice, as H3K4me3 .its name. and with --mark H3K27me3",
        ),
        (
            ["d/../s-H3K4me3.bw"],
            ["H3K9me3=s-H3K4me3.bw"],
            "given twice, as H3K4me3 .its name. and with --mark H3K9me3",
        ),
        ([], [], "no bigWig tracks given"),
    ],
)
def test_assign_marks_errors(files, explicit, message):
    with pytest.raises(UserError, match=message):
        assign_marks(files, explicit)


@pytest.mark.parametrize(
    "paths, name",
    [
        (["a/E003-H3K4me3.fc.signal.bigwig", "a/E003-H3K27me3.bw"], "E003"),
        (["rep1/K562_H3K4me3_rep1.bw", "rep1/K562_H3K27me3_rep1.bw"], "K562_rep1"),
        (["K562/H3K4me3.bw", "K562/H3K27me3.bw"], "K562"),
        (["/data/H3K4me3/signal.bw", "/data/H3K27me3/signal.bw"], None),  # the marks name the folders
        (["x/A-H3K4me3.bw", "y/B-H3K27me3.bw"], None),  # two samples' tracks: no one name
    ],
)
def test_a_sample_is_named_from_its_tracks(paths, name):
    from chromepredict.io.marks import sample_name

    assert sample_name(paths) == name


def test_one_file_under_two_marks_is_refused_however_it_is_spelled(tmp_path, monkeypatch):
    """A symbolic link or an absolute path is the same file as its target or relative spelling."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s-H3K4me3.bw").write_bytes(b"")
    (tmp_path / "link.bw").symlink_to(tmp_path / "s-H3K4me3.bw")
    for explicit in (["H3K27me3=link.bw"], [f"H3K27me3={tmp_path / 's-H3K4me3.bw'}"]):
        with pytest.raises(UserError, match="given twice|given for two marks"):
            assign_marks(["s-H3K4me3.bw"], explicit)
    with pytest.raises(UserError, match="link.bw is given for two marks, H3K27me3 and H3K9me3"):
        assign_marks([], ["H3K27me3=s-H3K4me3.bw", "H3K9me3=link.bw"])
    assert assign_marks(["s-H3K4me3.bw", "link.bw"], ["H3K4me3=link.bw"]) == {"H3K4me3": "link.bw"}


@pytest.mark.parametrize(
    "files, said",
    [
        (
            {"H3K27me3": "E003-H3K4me3.bw"},
            "E003-H3K4me3.bw is given as H3K27me3 (--mark) but its name says H3K4me3",
        ),
        (
            {"H3K4me1": "data/H3K36me3/rep1.bw"},
            "rep1.bw is given as H3K4me1 (--mark) but its folder says H3K36me3",
        ),
        ({"H3K27ac": "k562_H3K4me3.bw"}, "given as H3K27ac (--mark) but its name says H3K4me3"),
        # silent: the name names no mark, the same one, or several
        ({"H3K27me3": "sample7.bw"}, None),
        ({"H3K27me3": "s_h3k27ME3.bw"}, None),
        ({"H3K27me3": "H3K4me3_vs_H3K4me1.bw"}, None),
        ({"H3K27me3": "H3K4me3/input.bw"}, None),
    ],
)
def test_a_file_named_as_another_mark_is_said(files, said):
    found = name_conflicts(files, "--mark")
    if said is None:
        assert found == []
    else:
        assert len(found) == 1 and said in found[0] and "rename it" in found[0]
