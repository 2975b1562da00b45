"""Every output path through the installed command line: files, stdout, pipes, devices, symlinks,
folders; outputs complete or absent; torch missing; truncated inputs; the model-name rule."""

import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

CLI = [sys.executable, "-m", "chromepredict"]  # the installed package, whatever PATH holds


def predict(tracks, example, model, *extra, **kwargs):
    args = [*CLI, "predict", *tracks, "--gtf", str(example["gtf"]), "--model", str(model), *map(str, extra)]
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def rows(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.slow
def test_stdout_by_default_and_with_dash(tracks, example, trained_model):
    for extra in ([], ["-o", "-"]):
        result = predict(tracks, example, trained_model, *extra)
        assert result.returncode == 0, result.stderr
        assert len(rows(result.stdout)) == 370  # header + 369 genes


@pytest.mark.slow
def test_dev_null_stays_a_device(tracks, example, trained_model):
    result = predict(tracks, example, trained_model, "-o", "/dev/null")
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_named_pipe_is_written_through(tracks, example, trained_model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = predict(tracks, example, trained_model, "-o", fifo)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(rows(received[0])) == 370


def test_process_substitution(tracks, example, trained_model, tmp_path):
    quoted = " ".join(f"'{t}'" for t in tracks)
    command = f"'{sys.executable}' -m chromepredict predict {quoted} --gtf '{example['gtf']}' --model '{trained_model}' -o >(gzip > '{tmp_path}/p.tsv.gz')"
    result = subprocess.run(["bash", "-c", command + "; wait"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for _ in range(50):  # the substituted gzip may finish just after bash
        if (tmp_path / "p.tsv.gz").stat().st_size > 1000:
            break
        threading.Event().wait(0.1)
    assert len(rows(gzip.decompress((tmp_path / "p.tsv.gz").read_bytes()).decode())) == 370


def test_symlink_is_followed_not_replaced(tracks, example, trained_model, tmp_path):
    real, link = tmp_path / "real.tsv", tmp_path / "link.tsv"
    real.write_text("# chromepredict 0.2.0\n")  # an earlier predictions table
    link.symlink_to(real)
    result = predict(tracks, example, trained_model, "-o", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and len(rows(real.read_text())) == 370


@pytest.mark.parametrize(
    "target, message", [("existing/", "is a folder"), ("newdir/", "names a folder that does not exist")]
)
def test_folders_are_clear_errors_before_reading(tracks, example, trained_model, tmp_path, target, message):
    (tmp_path / "existing").mkdir()
    result = predict(
        tracks, example, trained_model, "-o", f"{tmp_path}/{target}"
    )  # a Path would drop the "/"
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "newdir").exists()


def test_output_checked_before_any_track_is_read(example, trained_model, tmp_path):
    """A bad -o fails even when every track is missing: nothing was read."""
    result = predict(
        [str(tmp_path / "missing-H3K4me3.bw")], example, trained_model, "-o", tmp_path / "no" / "p.tsv"
    )
    assert result.returncode == 2 and "does not exist" in result.stderr and "bigWig" not in result.stderr


def test_truncated_bigwig_names_the_file(tracks, example, trained_model, tmp_path):
    broken = tmp_path / "E003-H3K4me3.bw"
    data = Path(next(t for t in tracks if "H3K4me3" in t)).read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    others = [t for t in tracks if "H3K4me3" not in t]
    result = predict([*others, broken], example, trained_model, "-o", tmp_path / "p.tsv")
    assert result.returncode == 2 and str(broken) in result.stderr and "truncated or damaged" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "p.tsv").exists()


@pytest.mark.slow
def test_rerun_into_a_folder_leaves_only_this_runs_files(cli, trained_model, tracks, example, tmp_path):
    out = tmp_path / "ev"
    code, _, stderr = cli(
        "evaluate",
        "--model",
        trained_model,
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "-o",
        out,
    )
    assert code == 0, stderr
    marker = (out / "chromepredict-run.json").read_text()
    assert "metrics.json" in marker
    again = ("evaluate", "--model", trained_model, *tracks, "--gtf", example["gtf"], "--expression",
             example["expression"], "-o", out)  # fmt: skip
    (out / "notes.txt").write_text("the user's own file")
    code, _, stderr = cli(*again)
    assert code == 2 and "files that the earlier run did not write (notes.txt)" in stderr
    assert (out / "notes.txt").read_text() == "the user's own file"
    (out / "notes.txt").unlink()
    (out / "roc_curve.png").unlink()  # a file of the run's own may be gone: the rest is replaced
    code, _, stderr = cli(*again)
    assert code == 0, stderr
    assert (out / "metrics.json").is_file() and (out / "roc_curve.png").is_file()


def test_a_foreign_folder_is_never_overwritten(cli, trained_model, tracks, example, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    code, _, stderr = cli(
        "evaluate",
        "--model",
        trained_model,
        *tracks,
        "--gtf",
        example["gtf"],
        "--expression",
        example["expression"],
        "-o",
        out,
    )
    assert code == 2 and "holds files chromepredict did not write" in stderr
    assert (out / "thesis.tex").read_text() == "precious" and len(list(out.iterdir())) == 1


@pytest.mark.parametrize("command", ["train", "benchmark", "explain"])
@pytest.mark.slow
def test_without_torch_one_line_up_front(command, tmp_path):
    code = "import sys; sys.modules['torch'] = None; from chromepredict.cli import main; sys.argv = ['chromepredict'] + sys.argv[1:]; main()"
    args = {"train": ["--csv-dir", "tests/data/toy", "-o", str(tmp_path / "m")],
            "benchmark": ["--csv-dir", "tests/data/toy", "-o", str(tmp_path / "b")],
            "explain": ["--model", "E003", "-o", str(tmp_path / "x")]}[command]  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code, command, *args], capture_output=True, text=True)
    assert result.returncode == 2 and "pip install 'chromepredict[train]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not any(tmp_path.iterdir())


def test_a_pretrained_name_wins_over_a_local_folder(
    cli, trained_model, tracks, example, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(trained_model, tmp_path / "E003")
    code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--model", "E003", "-o", "a.tsv")
    assert code == 0, stderr
    assert "--model E003 is the pretrained model; write ./E003" in stderr
    code, _, stderr = cli("predict", *tracks, "--gtf", example["gtf"], "--model", "./E003", "-o", "b.tsv")
    assert code == 0, stderr

    def model_of(name):
        return json.loads(Path(name).with_suffix(".json").read_text())["model"]["name"]

    assert model_of("a.tsv") == "E003" and model_of("b.tsv") == "model"
    assert (
        pd.read_csv("a.tsv", sep="\t", comment="#")["p_high"]
        .ne(pd.read_csv("b.tsv", sep="\t", comment="#")["p_high"])
        .any()
    )


@pytest.mark.slow
def test_same_values_whatever_the_threads(tracks, example, tmp_path):
    """A prediction depends on the gene's tracks and the model only: -p 1 and -p 2 give identical files."""
    texts = []
    for threads in (1, 2):
        result = predict(tracks, example, "E003-E123", "-p", threads)
        assert result.returncode == 0, result.stderr
        texts.append(result.stdout)
    assert texts[0] == texts[1]


@pytest.mark.slow
@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_sigterm_during_train_leaves_nothing(tmp_path, signame, code):
    """A scheduler's kill (SIGTERM) unwinds like Ctrl-C: no output folder, no hidden leftovers;
    Ctrl-C says so in one line."""
    import signal
    import time

    toy = Path(__file__).parent / "data" / "toy"
    out = tmp_path / "model"
    process = subprocess.Popen(
        [*CLI, "train", "--csv-dir", toy, "-o", out, "--max-epochs", "60", "--members", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not list(tmp_path.glob(".model.part")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert process.poll() is None, "training ended before it could be interrupted"
    process.send_signal(getattr(signal, signame))
    assert process.wait(timeout=60) == code
    assert os.listdir(tmp_path) == []
    if signame == "SIGINT":
        assert process.stderr.read().strip().splitlines()[-1] == "error: interrupted; nothing was written"
