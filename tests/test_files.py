"""Safe output: files are delivered whole or not at all, output folders hold exactly one run's files."""

import io
import json
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from chromepredict.system.errors import UserError
from chromepredict.system.files import (
    MARKER,
    atomic_dir,
    atomic_path,
    check_output_dir,
    check_outputs,
    delivered_together,
    write_text_atomic,
)

RUN = "test-run"  # the command a test's folder is written by

as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_run(folder: Path, files: dict[str, str], run: str = RUN) -> None:
    with atomic_dir(folder, run) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# ---- atomic_path -------------------------------------------------------------------------------


def test_new_file_gets_content_and_usual_permissions(tmp_path):
    target = tmp_path / "out.tsv"
    write_text_atomic(target, "a\tb\n")
    assert target.read_text() == "a\tb\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask()
    assert os.listdir(tmp_path) == ["out.tsv"]


def test_temporary_file_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.suffix == ".png"
    with atomic_path("-") as tmp:
        assert tmp.suffix == ""


def test_existing_file_replaced_and_kept_on_failure(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("gene_id old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "gene_id old\n"
    assert os.listdir(tmp_path) == ["out.tsv"]
    write_text_atomic(target, "gene_id new\n")
    assert target.read_text() == "gene_id new\n"
    assert os.listdir(tmp_path) == ["out.tsv"]


def test_outputs_delivered_together_arrive_together_or_not_at_all(tmp_path):
    """A second output that fails (or is interrupted) keeps the first one from arriving too."""
    table, bed = tmp_path / "out.tsv", tmp_path / "out.bed"
    table.write_text("gene_id old\n")
    with pytest.raises(KeyboardInterrupt), delivered_together():
        write_text_atomic(table, "gene_id new\n")
        assert table.read_text() == "gene_id old\n"  # staged, not yet delivered
        with atomic_path(bed) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert table.read_text() == "gene_id old\n"
    assert sorted(os.listdir(tmp_path)) == ["out.tsv"]
    with delivered_together():
        write_text_atomic(table, "gene_id new\n")
        write_text_atomic(bed, "chr1\t0\t1\n")
    assert (table.read_text(), bed.read_text()) == ("gene_id new\n", "chr1\t0\t1\n")
    assert sorted(os.listdir(tmp_path)) == ["out.bed", "out.tsv"]


def test_keyboard_interrupt_delivers_nothing(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_symlink_to_file_stays_a_link(tmp_path):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.tsv"
    real.write_text("gene_id old\n")
    link = tmp_path / "link.tsv"
    link.symlink_to(real)
    write_text_atomic(link, "gene_id new\n")
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text() == "gene_id new\n"
    assert sorted(os.listdir(tmp_path / "data")) == ["real.tsv"]


def test_dangling_symlink_creates_the_file_it_names(tmp_path):
    link = tmp_path / "link.tsv"
    link.symlink_to(tmp_path / "missing.tsv")
    write_text_atomic(link, "new\n")
    assert link.is_symlink()
    assert (tmp_path / "missing.tsv").read_text() == "new\n"


def test_fifo_gets_the_bytes_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    payload = os.urandom(300_000)  # larger than a pipe buffer
    with atomic_path(fifo) as tmp:
        tmp.write_bytes(payload)
    reader.join(timeout=10)
    assert received == [payload]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fd_link_to_a_pipe_is_written_through():
    read_end, write_end = os.pipe()
    try:
        write_text_atomic(f"/dev/fd/{write_end}", "through the pipe\n")
        os.close(write_end)
        assert os.read(read_end, 100) == b"through the pipe\n"
    finally:
        os.close(read_end)
        with pytest.raises(OSError):
            os.close(write_end)


def test_fd_link_to_a_regular_file_is_not_replaced(tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:  # like `chromepredict -o /dev/stdout > log.txt`
        handle.write("before\n")
        handle.flush()
        inode = os.fstat(handle.fileno()).st_ino
        write_text_atomic(f"/dev/fd/{handle.fileno()}", "output\n")
    assert log.stat().st_ino == inode
    assert log.read_text() == "before\noutput\n"


def test_dev_null_stays_a_character_device(monkeypatch):
    def refuse(src, dst, *args, **kwargs):  # a regression must fail here, not replace the real /dev/null
        raise AssertionError(f"renamed {src} to {dst}")

    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    write_text_atomic("/dev/null", "discarded\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dash_writes_bytes_to_stdout(capsysbinary):
    payload = b"gene\tp\n\xff\x00binary"
    with atomic_path("-") as tmp:
        tmp.write_bytes(payload)
    assert capsysbinary.readouterr().out == payload


def test_dash_writes_text_to_a_stdout_without_buffer(monkeypatch):
    out = io.StringIO()  # like a test runner's stdout: text only
    monkeypatch.setattr(sys, "stdout", out)
    write_text_atomic("-", "gene\tp\nμ\n")
    assert out.getvalue() == "gene\tp\nμ\n"


def test_dash_prints_nothing_on_failure(capsysbinary):
    with pytest.raises(RuntimeError), atomic_path("-") as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert capsysbinary.readouterr().out == b""


def test_existing_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="is a folder; give a file name"):
        check_outputs([], [("-o", tmp_path)])
    with pytest.raises(UserError, match=str(tmp_path)), atomic_path(tmp_path):
        pass
    assert os.listdir(tmp_path) == []


def test_missing_folder_with_trailing_slash_is_refused(tmp_path):
    target = f"{tmp_path}/newdir/"
    with pytest.raises(UserError, match="names a folder that does not exist"):
        check_outputs([], [("-o", target)])
    with pytest.raises(UserError, match="newdir"), atomic_path(target):
        pass
    assert os.listdir(tmp_path) == []


def test_missing_parent_is_refused(tmp_path):
    target = tmp_path / "nope" / "out.tsv"
    with pytest.raises(UserError, match=f"folder {tmp_path / 'nope'} does not exist"):
        check_outputs([], [("-o", target)])
    with pytest.raises(UserError, match="does not exist"):
        write_text_atomic(target, "x")
    assert os.listdir(tmp_path) == []


def test_good_output_files_are_accepted(tmp_path):
    (tmp_path / "old.tsv").write_text("keep\n")
    for target in ("-", "/dev/null", tmp_path / "new.tsv", tmp_path / "old.tsv"):
        check_outputs([], [("-o", target)])
    assert os.listdir(tmp_path) == ["old.tsv"]
    assert (tmp_path / "old.tsv").read_text() == "keep\n"


@as_root
def test_check_output_file_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="not writable"):
            check_outputs([], [("-o", folder / "out.tsv")])
    finally:
        folder.chmod(0o755)


# ---- atomic_dir --------------------------------------------------------------------------------


def test_first_run_creates_the_folder_with_the_marker(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"a.tsv": "a", "plots/b.png": "b"})
    assert listing(out) == {"a.tsv", "plots/b.png", MARKER}
    run = json.loads((out / MARKER).read_text())
    assert run["files"] == ["a.tsv", "plots/b.png"]
    assert run["chromepredict_version"] and isinstance(run["command"], str)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask()
    assert stat.S_IMODE((out / "plots").stat().st_mode) == 0o777 & ~umask()
    assert stat.S_IMODE((out / "a.tsv").stat().st_mode) == 0o666 & ~umask()
    assert os.listdir(tmp_path) == ["run"]


def test_second_run_leaves_exactly_its_own_files(tmp_path):
    out = tmp_path / "run"
    write_run(out, {"a.tsv": "a1", "b.tsv": "b1", "sub/c.tsv": "c1"})
    write_run(out, {"a.tsv": "a2"})
    assert listing(out) == {"a.tsv", MARKER}
    assert (out / "a.tsv").read_text() == "a2"
    assert json.loads((out / MARKER).read_text())["files"] == ["a.tsv"]
    assert os.listdir(tmp_path) == ["run"]


def test_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    write_run(out, {"a.tsv": "a"})
    assert listing(out) == {"a.tsv", MARKER}


def test_symlink_to_a_folder_stays_a_link(tmp_path):
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real)
    write_run(link, {"a.tsv": "a1", "b.tsv": "b1"})
    write_run(link, {"a.tsv": "a2"})
    assert link.is_symlink()
    assert listing(real) == {"a.tsv", MARKER}


def test_foreign_folder_is_refused_and_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(UserError, match="holds files chromepredict did not write"):
        check_output_dir(out, RUN)
    with pytest.raises(UserError, match=str(out)):
        write_run(out, {"a.tsv": "a"})
    assert listing(out) == {"thesis.docx"}
    assert (out / "thesis.docx").read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["mine"]


def test_file_in_place_of_the_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    out.write_text("a file")
    with pytest.raises(UserError, match="exists and is not a folder"):
        write_run(out, {"a.tsv": "a"})
    assert out.read_text() == "a file"


def test_missing_parent_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        check_output_dir(tmp_path / "nope" / "run", RUN)
    assert os.listdir(tmp_path) == []


@as_root
def test_read_only_parent_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="not writable"):
            check_output_dir(folder / "run", RUN)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_run_leaves_the_previous_output(tmp_path, error):
    out = tmp_path / "run"
    write_run(out, {"a.tsv": "a1", "b.tsv": "b1"})
    with pytest.raises(error), atomic_dir(out, RUN) as tmp:
        (tmp / "a.tsv").write_text("half")
        raise error
    assert listing(out) == {"a.tsv", "b.tsv", MARKER}
    assert (out / "a.tsv").read_text() == "a1"
    assert os.listdir(tmp_path) == ["run"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_first_run_leaves_nothing(tmp_path, error):
    with pytest.raises(error), atomic_dir(tmp_path / "run", RUN) as tmp:
        (tmp / "a.tsv").write_text("half")
        raise error
    assert os.listdir(tmp_path) == []


# ---- what a run may replace ---------------------------------------------------------------------


@pytest.mark.parametrize("extra", ["notes.txt", "analysis/figure.png", "sub/deeper/x.tsv", "empty-dir/"])
def test_a_users_file_at_any_depth_stops_a_rerun(tmp_path, extra):
    out = tmp_path / "run"
    write_run(out, {"a.tsv": "a1", "sub/c.tsv": "c1"})
    added = out / extra
    if extra.endswith("/"):
        added.mkdir()
    else:
        added.parent.mkdir(parents=True, exist_ok=True)
        added.write_text("mine")
    with pytest.raises(UserError, match="files that the earlier run did not write"):
        write_run(out, {"a.tsv": "a2"})
    assert added.exists() and (out / "a.tsv").read_text() == "a1"


def test_a_folder_of_another_command_is_never_replaced(tmp_path):
    out = tmp_path / "model"
    write_run(out, {"model.onnx": "weights"}, run="train")
    with pytest.raises(
        UserError, match="output of chromepredict train, which predict --samplesheet will not"
    ):
        write_run(out, {"summary.tsv": "x"}, run="predict --samplesheet")
    assert (out / "model.onnx").read_text() == "weights"


def test_a_0_2_manifest_names_its_command(tmp_path):
    """Folders written by chromepredict 0.2 record only the command line: still told apart."""
    out = tmp_path / "ex"
    out.mkdir()
    (out / "a.bw").write_text("x")
    (out / MARKER).write_text(json.dumps({"command": "chromepredict demo --export ex", "files": ["a.bw"]}))
    with pytest.raises(UserError, match="output of chromepredict demo --export"):
        check_output_dir(out, "predict --samplesheet")
    check_output_dir(out, "demo --export")


def test_a_stale_part_folder_is_cleared_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    stale = tmp_path / ".run.part"
    (stale / "half").mkdir(parents=True)
    (stale / "half" / "a.tsv").write_text("half")
    (stale / ".chromepredict-part").touch()  # the marker a run puts in its .part folder
    write_run(out, {"a.tsv": "a"})
    assert sorted(os.listdir(tmp_path)) == ["run"] and listing(out) == {"a.tsv", MARKER}


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_writes(tmp_path):
    out = tmp_path / "run"
    started, release = threading.Event(), threading.Event()

    def first():
        with atomic_dir(out, RUN) as tmp:
            (tmp / "a.tsv").write_text("first")
            started.set()
            release.wait(10)

    worker = threading.Thread(target=first)
    worker.start()
    started.wait(10)
    try:
        with pytest.raises(UserError, match="another chromepredict run is writing this folder"):
            write_run(out, {"a.tsv": "second"})
    finally:
        release.set()
        worker.join()
    assert (out / "a.tsv").read_text() == "first"


def test_a_part_folder_replaced_before_the_lock_is_left_to_its_new_run(tmp_path, monkeypatch):
    """Between opening ``.run.part`` and locking it, another run may finish (renaming it to the
    output) and a third may create a new one: the lock then holds the old folder, and the new
    run's files must not be cleared as leftovers."""
    import fcntl

    from chromepredict.system import files

    out, part = tmp_path / "run", tmp_path / ".run.part"
    real_flock = fcntl.flock

    def racing_flock(fd, operation):
        part.rename(tmp_path / "finished")
        part.mkdir()
        (part / "third.tsv").write_text("the third run's")
        monkeypatch.setattr(files.fcntl, "flock", real_flock)
        return real_flock(fd, operation)

    monkeypatch.setattr(files.fcntl, "flock", racing_flock)
    with pytest.raises(UserError, match="another chromepredict run is writing this folder"):
        write_run(out, {"a.tsv": "a"})
    assert (part / "third.tsv").read_text() == "the third run's" and not out.exists()


def test_outputs_may_not_destroy_inputs_or_each_other(tmp_path):
    gtf, track = tmp_path / "genes.gtf", tmp_path / "data" / "H3K4me3.bw"
    track.parent.mkdir()
    for path in (gtf, track):
        path.write_text("input")
    with pytest.raises(UserError, match="-o .*genes.gtf: is .*an input of this run"):
        check_outputs([gtf, track], files=[("-o", gtf)])
    with pytest.raises(UserError, match="holds .*H3K4me3.bw, an input"):
        check_outputs([gtf, track], folders=[("-o", tmp_path / "data")])
    with pytest.raises(UserError, match="-o .* and --bed .* overlap"):
        check_outputs([gtf], files=[("-o", tmp_path / "x.bed"), ("--bed", tmp_path / "x.bed")])
    link = tmp_path / "link.bw"
    link.symlink_to(track)
    with pytest.raises(UserError, match="an input of this run"):
        check_outputs([track], files=[("-o", link)])
    check_outputs(
        [gtf, track], files=[("-o", tmp_path / "p.tsv"), ("--bed", tmp_path / "p.bed"), ("-o", "-")]
    )
    assert gtf.read_text() == track.read_text() == "input"


def test_an_old_folder_of_an_interrupted_swap_is_kept_and_named(tmp_path):
    """``.NAME.old`` with a manifest and no NAME: a run stopped mid-swap; the earlier output is
    there and the next run says how to get it back instead of removing it."""
    from chromepredict.system.files import MARKER, check_output_dir

    old = tmp_path / ".res.old"
    old.mkdir()
    (old / MARKER).write_text(json.dumps({"run": "train", "files": []}))
    with pytest.raises(UserError, match="rename it back to res"):
        check_output_dir(tmp_path / "res", "train")
    (tmp_path / "res").mkdir()  # the swap finished: the leftover is the run's own, removed at the swap
    check_output_dir(tmp_path / "res", "train")
    assert old.is_dir()


@pytest.mark.parametrize("leftover", [".res.part", ".res.old"])
@pytest.mark.parametrize("content", ["another command", "an extra file"])
def test_a_leftover_with_a_manifest_is_removed_only_if_this_command_could_replace_it(
    tmp_path, leftover, content
):
    """A copy of a run folder put at ``.NAME.part`` / ``.NAME.old`` (another command's output, or
    one with a file of the user's added) is refused, never removed."""
    write_run(tmp_path / "res", {"a.tsv": "a"}, run=RUN if content == "an extra file" else "train")
    side = tmp_path / leftover
    os.rename(tmp_path / "res", side)
    if content == "an extra file":
        (side / "mine.txt").write_text("mine")
    if leftover == ".res.old":
        (tmp_path / "res").mkdir()  # NAME is there: .old looks like a finished swap's leftover
    before = listing(side)
    with pytest.raises(UserError, match="move it away"):
        write_run(tmp_path / "res", {"a.tsv": "b"})
    assert listing(side) == before


def test_a_finished_run_never_removes_the_next_runs_part_folder(tmp_path, monkeypatch):
    """Once a run has renamed its .part into place, a new run may create and lock a new .part at
    that path: the finished run must not remove it."""
    real_rename = os.rename

    def rename_then_next_run_starts(src, dst):
        real_rename(src, dst)
        if Path(src).name == ".res.part":
            (tmp_path / ".res.part").mkdir()
            (tmp_path / ".res.part" / "b.txt").write_text("the next run's")

    monkeypatch.setattr(os, "rename", rename_then_next_run_starts)
    write_run(tmp_path / "res", {"a.tsv": "a"})
    assert (tmp_path / ".res.part" / "b.txt").read_text() == "the next run's"


@pytest.mark.parametrize(
    "manifest", ['{"run": "test-run", "files": 5}', '{"run": "test-run", "files": [1]}', "fifo"]
)
def test_a_malformed_or_special_manifest_is_not_ours(tmp_path, manifest):
    folder = tmp_path / "res"
    folder.mkdir()
    if manifest == "fifo":
        os.mkfifo(folder / MARKER)  # reading it would block
    else:
        (folder / MARKER).write_text(manifest)
    with pytest.raises(UserError, match="did not write"):
        check_output_dir(folder, RUN)
    existing = folder / "out.tsv"
    existing.write_text("x")
    check_outputs([], [("-o", existing)])  # not listed by a manifest: no hang, no defect


def _interrupted_right_after(monkeypatch, module, name, created):
    """``module.name`` does its work, then Ctrl-C arrives before the caller can note what it made."""
    real = getattr(module, name)

    def then_interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        if created(args):
            if isinstance(result, int):
                os.close(result)
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(module, name, then_interrupted)


def _is_part(args) -> bool:
    return ".part" in os.fspath(args[0])


@pytest.mark.parametrize("target", ["out.tsv", "-"])
def test_a_signal_right_after_a_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch, target):
    """The class of the SIGTERM race: whenever the signal lands, no temporary is left behind (beside
    the output, or in the system's temporary folder for stdout)."""
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(system_tmp))
    monkeypatch.chdir(tmp_path)
    _interrupted_right_after(monkeypatch, os, "open", lambda args: _is_part(args) or "output" in str(args[0]))
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("never")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["system-tmp"] and not list(system_tmp.iterdir())


def test_a_signal_right_after_the_part_folder_is_made_leaves_nothing(tmp_path, monkeypatch):
    _interrupted_right_after(monkeypatch, Path, "mkdir", lambda args: _is_part(args))
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "model", RUN):
        pass
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_get_the_usual_permissions_and_names_that_fit(tmp_path):
    """The staged file is made with the umask's permissions, its name within the file-name limit."""
    target = tmp_path / ("x" * 250 + ".tsv")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and len(tmp.name.encode()) <= 255 and tmp.name.startswith(".")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o666 & ~umask()
        tmp.write_text("a\n")
    assert target.read_text() == "a\n" and [p.name for p in tmp_path.iterdir()] == [target.name]
