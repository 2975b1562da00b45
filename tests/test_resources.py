"""Resources, signals and options through the real CLI: -p bounded by the usable cores, too few
open files named as such, pools that never hang a failed run, an output folder held for the whole
run, option values checked before any file is read, options that do nothing said, and the warnings
of every command kept in what it writes."""

import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd
import pytest

CLI = [sys.executable, "-m", "chromepredict"]


def run(*args, **kwargs):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, **kwargs)


def one_error_line(result, code=2):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[-1]


def test_threads_are_capped_at_the_usable_cores(cli, tracks, example, tmp_path):
    usable = len(os.sched_getaffinity(0))
    code, _, err = cli(
        "predict", *tracks, "--gtf", example["gtf"], "-p", 100_000, "-o", tmp_path / "many.tsv"
    )
    assert code == 0, err
    assert f"-p 100000: this run may use {usable} core" in err
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "-p", 1, "-o", tmp_path / "one.tsv")
    assert code == 0 and "this run may use" not in err  # the control: nothing to say
    read = lambda name: pd.read_csv(tmp_path / name, sep="\t", comment="#")  # noqa: E731
    pd.testing.assert_frame_equal(read("many.tsv"), read("one.tsv"))


@pytest.mark.parametrize("limit", [16, 24])
def test_too_few_open_files_is_one_line_naming_the_limit(tracks, example, tmp_path, limit):
    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    result = run("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / "p.tsv", preexec_fn=low)
    line = one_error_line(result, code=1)
    assert f"ulimit -n {limit}" in line and "damaged" not in line
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.slow
def test_a_low_soft_limit_of_open_files_is_raised_not_refused(tracks, example, tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 256:
        pytest.skip("the hard limit of open files is too low to raise the soft one")

    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (20, hard))

    result = run(
        "predict", *tracks, "--gtf", example["gtf"], "-p", 2, "-o", tmp_path / "p.tsv", preexec_fn=low
    )
    assert result.returncode == 0, result.stderr


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the workers' state in /proc")
def test_a_failing_pool_kills_its_workers_at_once():
    """A run that fails while its workers are busy neither waits for them nor leaves them behind."""
    from chromepredict.system.workers import process_pool

    started = time.monotonic()
    with pytest.raises(RuntimeError), process_pool(2) as pool:
        futures = [pool.submit(_sleep, 30) for _ in range(2)]
        time.sleep(1)  # both workers busy
        processes = list(pool._processes.values())
        manager = pool._executor_manager_thread
        raise RuntimeError("the run fails")
    assert time.monotonic() - started < 10  # not the 30 s of the workers' tasks
    assert all(f.cancelled() or isinstance(f.exception(timeout=5), BrokenProcessPool) for f in futures)
    # the pool's thread has ended: Python's exit hook cannot race it on its closing wake-up pipe
    assert not manager.is_alive()
    deadline = time.monotonic() + 5
    while not all(_exited(p.pid) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_exited(p.pid) for p in processes)


def _exited(pid: int) -> bool:
    """The process is gone or a zombie. (Not ``Process.is_alive``: the pool's own thread reaps its
    workers too, and whichever thread loses that race sees a dead worker as alive.)"""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_a_second_run_to_the_same_folder_is_refused_at_once(tracks, example, tmp_path):
    """The folder is held from the first run's start: a second run writing it is refused at once,
    not allowed to replace the first run's model when both finish."""
    out = tmp_path / "model"
    args = ["train", *tracks, "--gtf", example["gtf"], "--expression", example["expression"], "-o", out,
            "--max-epochs", 3, "--members", 1, "-q"]  # fmt: skip
    first = subprocess.Popen([*CLI, *map(str, args)], stderr=subprocess.PIPE, text=True)
    part = tmp_path / ".model.part"
    for _ in range(300):
        if part.exists() or first.poll() is not None:
            break
        time.sleep(0.05)
    second = run(*args)
    assert first.wait(120) == 0, first.stderr.read()
    line = one_error_line(second)
    assert "another chromepredict run is writing this folder now" in line
    manifest = json.loads((out / "chromepredict-run.json").read_text())
    assert manifest["run"] == "train" and "model.onnx" in manifest["files"]


@pytest.mark.parametrize("output", [".", "..", "{here}"])
def test_the_current_folder_is_never_an_output_folder(cli, tracks, example, tmp_path, monkeypatch, output):
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    monkeypatch.chdir(here)
    code, _, err = cli("compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3",
                       "-o", output.format(here=here))  # fmt: skip
    assert code == 2 and "current folder" in err and "give a new folder name" in err
    assert (here / "notes.txt").read_text() == "mine" and sorted(p.name for p in here.iterdir()) == [
        "notes.txt"
    ]
    code, _, err = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3", "-o", "results", "-q"
    )
    assert code == 0, err  # the control: a new folder inside the current one


@pytest.mark.parametrize("command", ["predict", "compare"])
def test_an_output_under_a_file_says_the_file_is_not_a_folder(cli, tracks, example, tmp_path, command):
    (tmp_path / "notes").write_text("a file")
    extra = ["--knockout", "H3K4me3"] if command == "compare" else []
    code, _, err = cli(command, *tracks, "--gtf", example["gtf"], *extra, "-o", tmp_path / "notes" / "out")
    assert code == 2 and f"{tmp_path / 'notes'} is a file, not a folder" in err


def test_a_long_output_name_fits_the_file_name_limit_or_is_refused_up_front(cli, tracks, example, tmp_path):
    name = "p" * 240 + ".tsv"  # the file fits 255 bytes; its temporary name must too
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "-o", tmp_path / name, "-q")
    assert code == 0, err and (tmp_path / name).is_file()
    folder = "f" * 250  # .NAME.part cannot fit: said before anything is read
    code, _, err = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3", "-o", tmp_path / folder
    )
    assert code == 2 and "file-name limit" in err and "Traceback" not in err
    sidecar = name.replace(".tsv", ".json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [sidecar, name]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--seed", "-5"], "--seed"),
        (["train", "--split-seed", "-1"], "--split-seed"),
        (["train", "--seed", str(2**40)], "--seed"),
        (["explain", "--model", "E003", "--seed", "-2"], "--seed"),
        (["benchmark", "--seed", "-3"], "--seed"),
    ],
)
def test_bad_seeds_are_refused_before_any_file_is_read(tracks, example, tmp_path, args, message):
    expression = [] if args[0] == "explain" else ["--expression", example["expression"]]
    result = run(*args, *tracks, "--gtf", example["gtf"], *expression, "-o", tmp_path / "m")
    line = one_error_line(result)
    assert message in line and "defect" not in line
    assert not list(tmp_path.iterdir())


def test_a_fifo_given_as_a_model_is_named(cli, tracks, example, tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--model", fifo)
    assert code == 2 and "pipe" in err and "not found" not in err


def test_genes_at_without_a_file_is_named(cli, example, tmp_path):
    code, _, err = cli("explain", "--model", "E003", "--csv", "x.csv", "--genes", "@", "-o", tmp_path / "e")
    assert code == 2 and "--genes @ names no file" in err


def test_a_threshold_that_does_nothing_is_said(cli, tracks, example, tmp_path):
    code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--model", "E003-level", "--threshold", 0.7,
                       "-o", tmp_path / "level.tsv")  # fmt: skip
    assert code == 0 and "--threshold 0.7 is for class models" in err and "ignored" in err
    for model, threshold in (("E003-level", None), ("E003", 0.7)):  # controls: not given, or a class model
        given = ["--threshold", threshold] if threshold is not None else []
        code, _, err = cli("predict", *tracks, "--gtf", example["gtf"], "--model", model, *given,
                           "-o", tmp_path / f"{model}.tsv")  # fmt: skip
        assert code == 0 and "is for class models" not in err


@pytest.mark.slow
def test_warnings_are_kept_in_what_each_command_writes(cli, tracks, example, tmp_path):
    """A pipeline reads files, not stderr: evaluate's metrics.json, every run folder's manifest and
    a trained model's card keep the run's warnings; a run without warnings keeps an empty list."""
    three = [t for t in tracks if "H3K4me1" not in t and "H3K9me3" not in t]
    code, _, err = cli("evaluate", "--model", "E003", *three, "--gtf", example["gtf"],
                       "--expression", example["expression"], "-o", tmp_path / "eval")  # fmt: skip
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    manifest = json.loads((tmp_path / "eval" / "chromepredict-run.json").read_text())
    assert any("scoring from 3 of 5 marks" in w for w in metrics["warnings"])
    assert any("used to train model E003" in w for w in metrics["warnings"])
    assert manifest["warnings"] == metrics["warnings"]
    code, _, err = cli(
        "compare", *three, "--gtf", example["gtf"], "--knockout", "H3K4me3", "-o", tmp_path / "ko"
    )
    assert code == 0, err
    manifest = json.loads((tmp_path / "ko" / "chromepredict-run.json").read_text())
    assert any("scoring from 3 of 5 marks" in w for w in manifest["warnings"])
    code, _, err = cli(
        "compare", *tracks, "--gtf", example["gtf"], "--knockout", "H3K4me3", "-o", tmp_path / "ko5"
    )
    assert (
        code == 0 and json.loads((tmp_path / "ko5" / "chromepredict-run.json").read_text())["warnings"] == []
    )


@pytest.mark.slow
def test_a_trained_models_card_keeps_the_warnings_of_its_training(cli, tracks, example, tmp_path):
    import gzip

    gtf = tmp_path / "genes.gtf"
    extra = 'chr5_no_data\tHAVANA\tgene\t1000\t2000\t.\t+\t.\tgene_id "ENSG99"; gene_type "protein_coding"; gene_name "X";\n'
    with gzip.open(example["gtf"], "rt") as handle:
        gtf.write_text(handle.read() + extra)
    code, _, err = cli("train", *tracks, "--gtf", gtf, "--expression", example["expression"],
                       "--max-epochs", 1, "--members", 1, "-o", tmp_path / "m")  # fmt: skip
    assert code == 0, err
    card = json.loads((tmp_path / "m" / "model.card.json").read_text())
    manifest = json.loads((tmp_path / "m" / "chromepredict-run.json").read_text())
    assert card["training_data"]["warnings"] == manifest["warnings"]
    assert any("chr5_no_data" in w for w in manifest["warnings"])


@pytest.mark.slow
def test_samplesheet_summary_has_one_fixed_column_set(cli, tracks, example, tmp_path):
    """Whatever the model and whatever fails, summary.tsv has the same columns in the same order;
    missing values are NA and counts whole numbers."""
    from chromepredict.results.samples import SUMMARY_COLUMNS

    sheet = tmp_path / "s.csv"
    rows = [f"ok,{Path(t).name.split('-')[1].split('.')[0]},{t}" for t in tracks]
    rows.append(f"broken,H3K4me3,{tmp_path / 'missing.bw'}")
    sheet.write_text("sample,mark,bigwig\n" + "\n".join(rows) + "\n")
    headers = []
    for model in ("E003", "E003-level"):
        out = tmp_path / model
        code, _, err = cli(
            "predict", "--samplesheet", sheet, "--gtf", example["gtf"], "--model", model, "-o", out
        )
        assert code == 1, err  # a failed sample
        text = (out / "summary.tsv").read_text()
        headers.append(text.splitlines()[0].split("\t"))
        assert ".0\t" not in text and "\t\t" not in text
        summary = pd.read_csv(out / "summary.tsv", sep="\t").set_index("sample")
        assert summary.loc["ok", "genes"] == 369 and summary.loc["broken", "status"] == "failed"
    assert headers[0] == headers[1] == list(SUMMARY_COLUMNS)
