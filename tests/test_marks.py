import pytest

from chromepredict.errors import UserError
from chromepredict.marks import CORE_MARKS, assign_marks, mark_from_filename


@pytest.mark.parametrize(
    "name, mark",
    [
        ("E003-H3K4me3.fc.signal.bigwig", "H3K4me3"),
        ("sample_h3k27ME3.bw", "H3K27me3"),
        ("/data/x/H3K4me1.pval.bw", "H3K4me1"),
        ("E003-H3K27ac.bw", None),
        ("input.bw", None),
        ("H3K4me3_vs_H3K4me1.bw", None),
    ],
)
def test_mark_from_filename(name, mark):
    assert mark_from_filename(name) == mark


def test_assign_marks_orders_canonically():
    files = [f"s-{m}.bw" for m in reversed(CORE_MARKS)]
    assert list(assign_marks(files, [])) == list(CORE_MARKS)


def test_explicit_mark_overrides_file_name():
    files = [f"s-{m}.bw" for m in CORE_MARKS[:4]] + ["mystery.bw"]
    assigned = assign_marks(files, ["h3k9me3=mystery.bw"])
    assert assigned["H3K9me3"] == "mystery.bw"


@pytest.mark.parametrize(
    "files, explicit, message",
    [
        ([f"s-{m}.bw" for m in CORE_MARKS] + ["other-H3K4me3.bw"], [], "two files for mark H3K4me3"),
        ([f"s-{m}.bw" for m in CORE_MARKS] + ["input.bw"], [], "--mark MARK=input.bw"),
        ([f"s-{m}.bw" for m in CORE_MARKS[:4]], [], "no bigWig for H3K9me3"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["H3K27ac=x.bw"], "not a core mark"),
        ([f"s-{m}.bw" for m in CORE_MARKS], ["H3K4me3"], "is not MARK=PATH"),
    ],
)
def test_assign_marks_errors(files, explicit, message):
    with pytest.raises(UserError, match=message):
        assign_marks(files, explicit)
