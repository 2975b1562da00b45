"""Worker processes get everything in their tasks: the same results under fork, forkserver and
spawn (Python 3.14 makes forkserver the default on Linux)."""

import subprocess
import sys

import pytest

MARKS = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")


def run_with(method, *args):
    code = (
        f"import multiprocessing as mp; mp.set_start_method({method!r}, force=True); "
        "import sys; from chromepredict.cli import main; sys.argv = ['chromepredict'] + sys.argv[1:]; main()"
    )
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def reference(tracks, example, tmp_path_factory) -> list[str]:
    """The table lines of one sample's predict under fork, the default start method on Linux."""
    out = tmp_path_factory.mktemp("reference") / "ref.tsv"
    result = run_with("fork", "predict", *tracks, "--gtf", example["gtf"], "-p", 2, "-o", out)
    assert result.returncode == 0, result.stderr
    return [line for line in out.read_text().splitlines() if not line.startswith("#")]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_samplesheet_and_parallel_reading_under_every_start_method(
    method, tracks, example, tmp_path, reference
):
    sheet = tmp_path / "s.csv"
    rows = ["sample,mark,bigwig,expression"]
    for sample in ("A", "B", "C"):
        rows += [
            f"{sample},{m},{t},{example['expression'] if sample == 'A' else ''}"
            for m, t in zip(MARKS, tracks, strict=True)
        ]
    sheet.write_text("\n".join(rows) + "\n")
    result = run_with(
        method, "predict", "--samplesheet", sheet, "--gtf", example["gtf"], "-o", tmp_path / "out", "-p", 2
    )
    assert result.returncode == 0, result.stderr
    single = run_with(method, "extract", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "f.npz", "-p", 2)
    assert single.returncode == 0, single.stderr
    for sample in ("A", "B", "C"):
        text = (tmp_path / "out" / sample / "predictions.tsv").read_text().splitlines()
        ours = [line for line in text if not line.startswith("#")]
        columns = len(reference[0].split("\t"))
        assert [line.split("\t")[:columns] for line in ours] == [line.split("\t") for line in reference]
