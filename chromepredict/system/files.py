"""Safe output: a file is delivered whole or not at all, an output folder holds exactly one run's
files, and nothing the user owns is replaced.

- Regular files are written beside the target and renamed over it; stdout (``-``), pipes and
  devices get the bytes streamed in once the writer has finished; symlinks are followed, never
  replaced. An existing file is replaced only if it is empty or an earlier output of the same
  kind (:class:`OutputKind`: its first line or zip members), and never if a run folder's
  manifest lists it (a trained model's ``model.onnx``, an exported example's files).
- A folder is written aside (``.NAME.part``, locked while a run writes it) and swapped in whole.
  It replaces an existing folder only if that folder was written by an earlier run of the same
  command and holds nothing but the files that run listed in its ``chromepredict-run.json``.
  A second run writing the same folder at the same time is refused; a ``.part`` folder left by
  a killed run (it holds the run's marker, or the manifest of this command and only the files it
  lists) is cleared by the next one; any other ``.NAME.part`` or ``.NAME.old`` is refused, never
  removed.
- No output may be an input of the same run, lie over one, or share its path with another output
  (:func:`check_outputs`).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import itertools
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chromepredict import __version__
from chromepredict.system.errors import UserError

MARKER = "chromepredict-run.json"
#: In a ``.NAME.part`` folder while a run writes it (a folder without it, or a manifest, is not ours).
_PART_MARKER = ".chromepredict-part"
# links to an open file descriptor: write through them even to a regular file (`-o /dev/stdout > log`)
_FD_LINK = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/[^/]+/fd/\d+")
#: Outputs staged inside :func:`delivered_together`, delivered when it ends:
#: (tmp, kind, dest, name, earlier).
_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("chromepredict_batch", default=None)


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
    if mode is not None:
        owner = _run_folder_of(dest)
        if owner is not None:
            raise UserError(
                f"{name}: is a file of the output of chromepredict {owner[1]} in {owner[0]}, which this run "
                "will not replace; choose another output path"
            )
    _check_parent(name, dest)
    if not os.access(dest.parent, os.W_OK):
        raise UserError(f"{name}: folder {dest.parent} is not writable; choose another output path")
    return "replace", dest


def _check_parent(name: str, path: Path) -> None:
    """The folder an output goes into must exist and be a folder (a file there is named as one)."""
    parent = path.parent
    if parent.is_dir():
        return
    if parent.exists():
        raise UserError(f"{name}: {parent} is a file, not a folder; choose another output path")
    raise UserError(f"{name}: folder {parent} does not exist; create it or choose another path")


def _name_max(folder: Path) -> int:
    """The longest file name, in bytes, the file system of ``folder`` takes (255 where unknown)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def beside(output: str | Path, suffix: str) -> Path:
    """A file written beside an output: the same name with ``suffix`` (``p.tsv`` and ``p.tsv.gz`` →
    ``p.json``, ``p.bed``)."""
    return Path(str(output).removesuffix(".gz")).with_suffix(suffix)


def sidecar_path(path: str | Path) -> Path | None:
    """The JSON sidecar beside a table (``p.tsv`` → ``p.json``); None for stdout, a pipe or a device."""
    return None if str(path) == "-" or is_stream(path) else beside(path, ".json")


def write_sidecar(path: str | Path, how: dict) -> None:
    """``how`` a table was made, as JSON (its ``chromepredict`` key first: what tells an earlier
    sidecar, :data:`SIDECAR`), whole or not at all."""
    with atomic_path(path, SIDECAR) as tmp:
        tmp.write_text(json.dumps(how, indent=2, ensure_ascii=False) + "\n")


def is_stream(target: str | Path) -> bool:
    """Whether ``-o target`` streams (stdout, a pipe, a device) rather than writing a file."""
    return _output_target(target)[0] != "replace"


def _run_folder_of(dest: Path) -> tuple[Path, str] | None:
    """The run folder (and its command) whose manifest lists ``dest``, if any (any depth above)."""
    for folder in dest.parents:
        manifest = _manifest(folder)
        if manifest is not None:
            relative = dest.relative_to(folder).as_posix()
            if relative == MARKER or relative in manifest.get("files", []):
                return folder, _run_kind(manifest) or "another command"
    return None


@dataclass(frozen=True)
class OutputKind:
    """A kind of single-file output, told by its first line (text, also gzipped), the members of its
    zip or a key of its JSON object, so that a re-run replaces an earlier output of its kind and
    nothing else."""

    what: str
    first_line: str = ""  # a regular expression the first line matches
    zip_members: frozenset[str] = frozenset()
    json_key: str = ""

    def written_before(self, path: Path) -> bool:
        """Whether ``path`` holds an earlier output of this kind."""
        if self.json_key:
            try:
                if path.stat().st_size > 10_000_000:
                    return False
                data = json.loads(path.read_text())
            except (OSError, ValueError, RecursionError):
                return False
            return isinstance(data, dict) and self.json_key in data
        if self.zip_members:
            import zipfile

            try:
                with zipfile.ZipFile(path) as archive:
                    return self.zip_members <= set(archive.namelist())
            except (OSError, zipfile.BadZipFile):
                return False
        from chromepredict.system.formats import first_bytes

        line = first_bytes(path).split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
        return re.fullmatch(self.first_line, line) is not None


#: An earlier JSON sidecar of how a table was made (:func:`write_sidecar`).
SIDECAR = OutputKind("JSON sidecar", json_key="chromepredict")


def _check_replace(tmp: Path, kind: str, dest: Path, name: str, earlier: OutputKind | None) -> None:
    """Refuse to replace an existing file unless it is empty or an earlier output of the same kind
    (``earlier``; without one, the same format, compression and first word as the new file)."""
    if kind != "replace" or not dest.is_file() or dest.stat().st_size == 0:
        return
    from chromepredict.system.formats import signature

    if earlier is not None and earlier.written_before(dest):
        return
    if earlier is None and signature(dest) == signature(tmp):
        return
    _refuse_replace(dest, name, earlier.what if earlier is not None else "output of this kind")


def _refuse_replace(dest: Path, name: str, what: str) -> typing.NoReturn:
    from chromepredict.system.formats import NAMES, sniff

    raise UserError(
        f"{name}: exists and is not an earlier chromepredict {what} (it is {NAMES[sniff(dest)]}); "
        "nothing was written: remove it or choose another output path"
    )


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_outputs(
    inputs: Iterable[str | Path | None],
    files: Iterable[tuple] = (),
    folders: Iterable[tuple[str, str | Path | None]] = (),
) -> None:
    """Refuse, before anything is read, outputs that would destroy an input or each other.

    ``files`` are (option, path) or (option, path, :class:`OutputKind`) — with a kind, an existing
    file that is not an earlier output of that kind is refused here, before anything is read —
    and ``folders`` (option, path) pairs (``None`` or ``-`` are skipped). An output
    file may not be an input; an output folder may not be, hold or lie inside an input; no two
    outputs may share a path (nor a file lie inside an output folder). An input file that cannot
    be read is refused here too, before a long run meets it.
    """
    sources = {_real(p): os.fspath(p) for p in inputs if p is not None and os.fspath(p) != "-"}
    for given in sources.values():
        _check_readable(given)
    outputs: list[tuple[str, str, Path, bool]] = []
    kinds: list[tuple[Path, str, OutputKind]] = []
    for option, path, *earlier in files:
        if path is None or os.fspath(path) == "-":
            continue
        kind, dest = _output_target(path)
        if kind == "replace":
            outputs.append((option, os.fspath(path), dest, False))
            if earlier:
                kinds.append((dest, f"{option} {os.fspath(path)}", earlier[0]))
    outputs.extend((o, os.fspath(p), _real(p), True) for o, p in folders if p is not None)
    for option, name, dest, is_folder in outputs:
        for source, given in sources.items():
            if dest == source or (is_folder and (_inside(source, dest) or _inside(dest, source))):
                what = "holds" if is_folder and dest != source and _inside(source, dest) else "is"
                raise UserError(
                    f"{option} {name}: {what} {given}, an input of this run; write the output elsewhere"
                )
    for i, (option, name, dest, is_folder) in enumerate(outputs):
        for other, other_name, other_dest, other_folder in outputs[i + 1 :]:
            if (
                dest == other_dest
                or (is_folder and _inside(other_dest, dest))
                or (other_folder and _inside(dest, other_dest))
            ):
                raise UserError(
                    f"{option} {name} and {other} {other_name} overlap; give them different paths"
                )
    for dest, name, previous in kinds:  # before anything is read, not after the run's work
        if dest.is_file() and dest.stat().st_size and not previous.written_before(dest):
            _refuse_replace(dest, name, previous.what)


def _check_readable(path: str) -> None:
    if not os.path.isfile(path):
        return  # a folder, or missing: the reader names what it needed
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise UserError(
            f"{path}: cannot be read ({error.strerror or error}); make it readable or give another file"
        ) from None


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


_STAGED = itertools.count()


def _staging_names(kind: str, dest: Path, suffix: str) -> Iterator[Path]:
    """Names for an output's temporary file, this process's own (its pid): beside a file to replace
    (same file system), else in a private folder of the system's temporary folder."""
    # a short prefix: the temporary name fits the file-name limit whatever the output's length
    short = dest.name.encode()[:100].decode(errors="ignore")
    for _ in range(10_000):
        n = next(_STAGED)  # never the same name twice in a process, whatever thread asks
        if kind == "replace":
            yield dest.parent / f".{short}.{os.getpid()}-{n}.part{suffix[:20]}"
        else:
            yield Path(tempfile.gettempdir()) / f"chromepredict-{os.getpid()}-{n}" / f"output{suffix}"
    folder = dest.parent if kind == "replace" else tempfile.gettempdir()
    raise UserError(
        f"{folder}: no free name for a temporary file; remove earlier runs' leftovers there (.*.part, chromepredict-*)"
    )


def _create(tmp: Path, kind: str) -> bool:
    """Create ``tmp`` (empty, the usual permissions); False if the name is taken (a dead run's)."""
    try:
        if kind != "replace":
            tmp.parent.mkdir(mode=0o700)  # private, and never through a link planted under the name
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        return False
    return True


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
def atomic_path(target: str | Path, earlier: OutputKind | None = None) -> Iterator[Path]:
    """Yield a temporary path to write the whole output to; deliver it to ``target`` on success only
    (inside :func:`delivered_together`, when that block ends). An existing file is replaced only
    if it is empty or an ``earlier`` output of the same kind."""
    kind, dest = _output_target(target)
    suffix = Path(os.fspath(target)).suffix  # writers such as savefig pick the format from it
    staged: Path | None = None  # named before it is made: a signal at any moment leaves nothing behind
    try:
        for staged in _staging_names(kind, dest, suffix):
            if _create(staged, kind):
                break
        tmp = typing.cast(Path, staged)  # _staging_names raises rather than run out
        yield tmp
        batch = _batch.get()
        if batch is not None:
            batch.append((tmp, kind, dest, os.fspath(target), earlier))
            return
        _check_replace(tmp, kind, dest, os.fspath(target), earlier)
        _finish(tmp, kind, dest, os.fspath(target))
    except BaseException:
        if staged is not None:
            _discard(staged, kind)
        raise
    _discard(tmp, kind)


@contextlib.contextmanager
def delivered_together() -> Iterator[None]:
    """The outputs written inside this block reach their targets together when it ends, or none do
    (inside another such block, with that block's outputs)."""
    if _batch.get() is not None:
        yield
        return
    staged: list = []
    token = _batch.set(staged)
    reset = False
    try:
        yield
        _batch.reset(token)
        reset = True
        for entry in staged:  # every target checked before any is replaced
            _check_replace(*entry)
        for tmp, kind, dest, name, _ in staged:
            _finish(tmp, kind, dest, name)
    finally:
        if not reset:
            _batch.reset(token)
        for tmp, kind, *_ in staged:
            _discard(tmp, kind)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` whole or not at all."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def _manifest(folder: Path) -> dict | None:
    """The run manifest in ``folder``: a regular file of JSON with a list of file names; None
    for anything else (missing, a pipe, damaged, another program's JSON)."""
    path = folder / MARKER
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 50_000_000:
            return None
        manifest = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict):
        return None
    files = manifest.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return manifest


def _run_kind(manifest: dict) -> str | None:
    """The command that wrote a run folder (``train``, ``predict --samplesheet``, ``demo --export``…),
    from its manifest (0.2 manifests record only the command line)."""
    if manifest.get("run"):
        return str(manifest["run"])
    words = str(manifest.get("command", "")).split()[1:]
    name = next((w for w in words if not w.startswith("-")), None)
    for command, flag in (("predict", "--samplesheet"), ("demo", "--export")):
        if name == command and flag in words:
            return f"{command} {flag}"
    return name


def _unlisted(folder: Path, listed: set[str]) -> list[str]:
    """Paths in ``folder`` (any depth) that are neither listed files nor folders holding only them."""
    found = []
    for root, dirs, names in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in names:
            relative = (base / name).as_posix()
            if relative != MARKER and relative not in listed:
                found.append(relative)
        for name in dirs:
            relative = (base / name).as_posix()
            if not any(item.startswith(relative + "/") for item in listed):
                found.append(relative + "/")
    return sorted(found)


def check_output_dir(target: str | Path, run: str) -> None:
    """Raise UserError now if ``atomic_dir(target, run)`` would refuse the folder; writes nothing.

    An existing folder is replaced only if it is empty, or holds the manifest of an earlier run of
    the same command (``run``) and nothing but the files that manifest lists.
    """
    name = os.fspath(target)
    if name == "-":
        raise UserError("-o -: this command writes a folder of files, not to stdout; give -o FOLDER")
    path = _real(name)
    _check_parent(name, path)
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"{name}: folder {path.parent} is not writable; choose another output folder")
    if path.exists() and not path.is_dir():
        raise UserError(f"{name}: exists and is not a folder; choose another output folder")
    here = Path.cwd().resolve()
    if _inside(here, path):
        where = "the current folder" if here == path else f"a folder around the current folder ({here})"
        raise UserError(
            f"-o {name}: is {where}, and a run replaces its output folder whole; give a new folder "
            "name, e.g. -o results"
        )
    longest = len(f".{path.name}.part".encode())
    limit = _name_max(path.parent)
    if longest > limit:
        raise UserError(
            f"{name}: the folder name is {len(path.name.encode())} bytes; its run folder .NAME.part must fit "
            f"the file-name limit of {limit} bytes here: give a name of at most {limit - 6} bytes"
        )
    _check_old(path, name, run)
    if not path.is_dir() or not any(path.iterdir()):
        return
    problem = _not_replaceable(path, run)
    if problem:
        raise UserError(f"{name}: folder {problem}; choose another output folder or empty it")


def _not_replaceable(folder: Path, run: str) -> str | None:
    """Why ``run`` may not replace ``folder`` (None if it may): it must hold the manifest of an
    earlier run of the same command and nothing but the files that manifest lists."""
    manifest = _manifest(folder)
    if manifest is None:
        return "holds files chromepredict did not write"
    kind = _run_kind(manifest)
    if kind != run:
        return f"holds the output of chromepredict {kind or 'another command'}, which {run} will not replace"
    extra = [e for e in _unlisted(folder, set(manifest.get("files", []))) if e != _PART_MARKER]
    if extra:
        shown = ", ".join(extra[:3]) + (", …" if len(extra) > 3 else "")
        return f"holds files that the earlier run did not write ({shown}); move them out"
    return None


def _check_old(path: Path, name: str, run: str) -> None:
    """``.NAME.old`` holds the folder a run is replacing, for the moment of the swap. One left by a
    finished swap is removed by the next run; anything else there is refused, never removed."""
    old = path.parent / f".{path.name}.old"
    if not old.exists() and not old.is_symlink():
        return
    if old.is_symlink() or not old.is_dir() or _manifest(old) is None:
        raise UserError(f"{name}: {old} is in the way and chromepredict did not write it; move it away")
    problem = _not_replaceable(old, run)
    if problem:
        raise UserError(f"{name}: {old} {problem}; move it away, then run again")
    if not path.exists():
        raise UserError(
            f"{name}: {old} holds the earlier output of a run stopped while it replaced {name}; rename it "
            f"back to {path.name} or remove it, then run again"
        )


def _seal(folder: Path, run: str, warnings: list[str]) -> None:
    """Give the run's files the usual permissions and record them, and the run's warnings, in the
    manifest."""
    files = []
    for root, dirs, names in os.walk(folder):
        for entry in dirs:
            Path(root, entry).chmod(0o777 & ~_umask())
        for entry in names:
            if root == str(folder) and entry == _PART_MARKER:
                continue
            file = Path(root, entry)
            if not file.is_symlink():
                file.chmod(0o666 & ~_umask())
            files.append(file.relative_to(folder).as_posix())
    manifest = {
        "chromepredict_version": __version__,
        "run": run,
        "command": " ".join(sys.argv),
        "warnings": list(warnings),
        "files": sorted(files),
    }
    (folder / MARKER).write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / MARKER).chmod(0o666 & ~_umask())
    folder.chmod(0o777 & ~_umask())


@contextlib.contextmanager
def _locked_part(path: Path, name: str, run: str) -> Iterator[Path]:
    """The run's private ``.NAME.part`` folder beside ``path``, locked (flock) while it exists.

    A ``.part`` folder that no live run holds, and that carries the run's marker (or the manifest
    of this command and only the files it lists), was left by a killed run: it is cleared and
    reused. Any other is refused, never removed.
    """
    part = path.parent / f".{path.name}.part"
    # ours until mkdir says it was there: a signal right after mkdir (before any assignment) must
    # still find it marked as this run's (an empty folder is all it can be then)
    created, fd = True, None
    try:  # from the first step: a signal at any moment leaves no .part of this run behind
        try:
            part.mkdir()
        except FileExistsError:
            created = False
        if not created and (part.is_symlink() or not part.is_dir()):
            raise UserError(f"{name}: {part} is in the way and chromepredict did not write it; move it away")
        fd = os.open(part, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held, fd = fd, None  # another run's: never removed by this one
            os.close(held)
            raise UserError(
                f"{name}: another chromepredict run is writing this folder now; wait for it to finish or "
                "choose another output folder"
            ) from None
        if not _same_folder(part, fd):  # renamed and replaced meanwhile
            os.close(fd)
            fd = None
            raise UserError(f"{name}: another chromepredict run is writing this folder now; try again")
        if not created and any(part.iterdir()):  # a killed run's, marked, or sealed by this command
            problem = None if (part / _PART_MARKER).is_file() else _not_replaceable(part, run)
            if problem:
                os.close(fd)
                fd = None  # not this run's to remove
                raise UserError(f"{name}: {part} {problem}; move it away, then run again")
        for entry in list(part.iterdir()):  # a killed run's leftovers
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        (part / _PART_MARKER).touch()  # tells the next run that a killed run left this folder
        yield part
    except BaseException:
        if fd is not None and _same_folder(part, fd):  # still this run's (not renamed into place)
            shutil.rmtree(part, ignore_errors=True)
        elif fd is None and created:  # made (or about to be), never opened: empty, or not there
            with contextlib.suppress(OSError):
                part.rmdir()
        raise
    finally:
        if fd is not None:
            os.close(fd)


def _same_folder(part: Path, fd: int) -> bool:
    """Whether the folder at ``part`` is the one open as ``fd`` (not renamed or replaced since)."""
    try:
        now, held = os.lstat(part), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino) and part.is_dir() and not part.is_symlink()


@contextlib.contextmanager
def atomic_dir(target: str | Path, run: str, warnings: list[str] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` as a whole.

    ``run`` names the command (``train``, ``predict --samplesheet``…); see :func:`check_output_dir`.
    ``warnings`` (the run's :attr:`Report.warnings`, read when the block ends) go into the manifest,
    so that a pipeline reading the folder sees them.
    """
    name = os.fspath(target)
    check_output_dir(target, run)
    path = _real(name)  # through a link: the folder it leads to is replaced, the link stays
    old = path.parent / f".{path.name}.old"
    with _locked_part(path, name, run) as tmp:
        moved = False  # once renamed, the .part path may be the next run's: never removed then
        try:
            yield tmp
            _seal(tmp, run, warnings or [])
            (tmp / _PART_MARKER).unlink()  # the manifest marks the folder as ours from here on
            check_output_dir(target, run)  # the folder may have changed while the run worked
            if old.exists():
                shutil.rmtree(old)
            if not path.exists():
                os.rename(tmp, path)
                moved = True
                return
            os.rename(path, old)
            try:
                os.rename(tmp, path)
                moved = True
            except BaseException:
                os.rename(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        finally:
            if not moved:
                shutil.rmtree(tmp, ignore_errors=True)
