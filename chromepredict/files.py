"""Safe output: a file is delivered whole or not at all, an output folder holds exactly one run's files.

Regular files are written beside the target and renamed over it; stdout (``-``), pipes and devices
get the bytes streamed in once the writer has finished; symlinks are followed, never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from chromepredict import __version__
from chromepredict.errors import UserError

MARKER = "chromepredict-run.json"
# links to an open file descriptor: write through them even to a regular file (`-o /dev/stdout > log`)
_FD_LINK = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/[^/]+/fd/\d+")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _output_target(target: str | Path) -> tuple[str, Path]:
    """Classify ``target`` as ``("stdout" | "stream" | "replace", path)``; raise UserError if unusable."""
    name = os.fspath(target)
    if name == "-":
        return "stdout", Path(name)
    path = Path(name)
    try:
        mode = path.stat().st_mode  # follows symlinks
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as error:
        raise UserError(f"{name}: cannot be checked ({error.strerror}); choose another output path") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UserError(f"{name}: is a folder; give a file name inside it, such as {path / 'output.tsv'}")
    if mode is not None and (not stat.S_ISREG(mode) or _FD_LINK.fullmatch(os.path.abspath(name))):
        if not os.access(path, os.W_OK):
            raise UserError(f"{name}: is not writable; choose another output path")
        return "stream", path
    if mode is None and not path.is_symlink() and name.endswith(("/", os.sep)):
        raise UserError(
            f"{name}: names a folder that does not exist; give a file name such as {path / 'output.tsv'}"
        )
    dest = Path(os.path.realpath(path))  # a link (even a dangling one) leads to the file to replace
    if not dest.parent.is_dir():
        raise UserError(f"{name}: folder {dest.parent} does not exist; create it or choose another path")
    if not os.access(dest.parent, os.W_OK):
        raise UserError(f"{name}: folder {dest.parent} is not writable; choose another output path")
    return "replace", dest


def check_output_file(target: str | Path) -> None:
    """Raise UserError now if ``atomic_path(target)`` could not deliver there; writes nothing."""
    _output_target(target)


def _deliver(source: Path, kind: str, dest: Path, name: str) -> None:
    """Copy the finished file to stdout or stream it into a pipe or device."""
    if kind == "stream":
        try:  # append: a redirected /dev/stdout keeps what the run printed before
            with open(dest, "ab") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out)
        except OSError as error:
            raise UserError(f"{name}: cannot be written ({error.strerror}); choose another output") from None
        return
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, buffer)
        buffer.flush()
    else:  # a text-only stdout, such as a test runner's
        with open(source, encoding="utf-8", errors="replace", newline="") as src:
            shutil.copyfileobj(src, sys.stdout)
        sys.stdout.flush()


#: Outputs staged inside :func:`delivered_together`, delivered when it ends: (tmp, kind, dest, name).
_batch: list[tuple[Path, str, Path, str]] | None = None


def _stage(kind: str, dest: Path, suffix: str) -> Path:
    """A temporary file for an output: beside a file to replace (same file system), else anywhere."""
    if kind == "replace":
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part" + suffix, dir=dest.parent)
        os.close(fd)
        Path(tmp).chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        return Path(tmp)
    tmp = Path(tempfile.mkdtemp()) / f"output{suffix}"
    tmp.touch()
    return tmp


def _finish(tmp: Path, kind: str, dest: Path, name: str) -> None:
    """Deliver a staged output to its target."""
    if kind == "replace":
        os.replace(tmp, dest)
    else:
        _deliver(tmp, kind, dest, name)


def _discard(tmp: Path, kind: str) -> None:
    if kind == "replace":
        tmp.unlink(missing_ok=True)
    else:
        shutil.rmtree(tmp.parent, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write the whole output to; deliver it to ``target`` on success only
    (inside :func:`delivered_together`, when that block ends)."""
    kind, dest = _output_target(target)
    suffix = Path(os.fspath(target)).suffix  # writers such as savefig pick the format from it
    tmp = _stage(kind, dest, suffix)
    try:
        yield tmp
        if _batch is not None:
            _batch.append((tmp, kind, dest, os.fspath(target)))
            return
        _finish(tmp, kind, dest, os.fspath(target))
    except BaseException:
        _discard(tmp, kind)
        raise
    _discard(tmp, kind)


@contextlib.contextmanager
def delivered_together() -> Iterator[None]:
    """The outputs written inside this block reach their targets together when it ends, or none do."""
    global _batch
    outer, _batch = _batch, []
    staged = _batch
    try:
        yield
        _batch = outer
        for tmp, kind, dest, name in staged:
            _finish(tmp, kind, dest, name)
    finally:
        _batch = outer
        for tmp, kind, _, _ in staged:
            _discard(tmp, kind)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` whole or not at all."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def check_output_dir(target: str | Path, marker: str = MARKER) -> None:
    """Raise UserError now if ``atomic_dir(target)`` would refuse the folder; writes nothing."""
    name = os.fspath(target)
    path = Path(os.path.realpath(name))
    if not path.parent.is_dir():
        raise UserError(f"{name}: folder {path.parent} does not exist; create it or choose another path")
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"{name}: folder {path.parent} is not writable; choose another output folder")
    if path.exists() and not path.is_dir():
        raise UserError(f"{name}: exists and is not a folder; choose another output folder")
    if path.is_dir() and any(path.iterdir()) and not (path / marker).is_file():
        raise UserError(
            f"{name}: folder exists and holds files chromepredict did not write; choose a new output folder or empty it"
        )


def _seal(folder: Path, marker: str) -> None:
    """Give the run's files the usual permissions and record them in the marker file."""
    files = []
    for root, dirs, names in os.walk(folder):
        for entry in dirs:
            Path(root, entry).chmod(0o777 & ~_umask())
        for entry in names:
            file = Path(root, entry)
            if not file.is_symlink():
                file.chmod(0o666 & ~_umask())
            files.append(file.relative_to(folder).as_posix())
    run = {"chromepredict_version": __version__, "command": " ".join(sys.argv), "files": sorted(files)}
    (folder / marker).write_text(json.dumps(run, indent=2) + "\n")
    (folder / marker).chmod(0o666 & ~_umask())
    folder.chmod(0o777 & ~_umask())


@contextlib.contextmanager
def atomic_dir(target: str | Path, marker: str = MARKER) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` as a whole.

    An existing ``target`` is replaced only if it is empty or holds ``marker`` (an earlier run's output).
    """
    check_output_dir(target, marker)
    path = Path(os.path.realpath(target))  # a link to a folder stays a link
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        _seal(tmp, marker)
        check_output_dir(target, marker)  # the folder may have changed while the run worked
        if not path.exists():
            os.rename(tmp, path)
            return
        old = tmp.with_suffix(".old")
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
