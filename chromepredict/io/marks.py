"""Canonical histone-mark names and order, and recognising marks from file and folder names.

Recognised: histone lysine modifications written like ``H3K27ac`` (any histone H1/H2A/H2B/H3/H4,
any position, modifications ``me1``–``me3``, ``ac``, ``ub1``, ``cr``, ``bu``, ``pr``, ``hib``,
``bhb``, ``la``, ``ma``, ``su``, ``glu``, ``fo``, ``bz``), the variants ``H2A.Z`` and ``H3.3``, and
chromatin accessibility (``DNase``, ``ATAC``). Inputs/controls (``input``, ``IgG``) and ChIP of
non-histone proteins (``CTCF``, ``POLR2A``) are not marks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from chromepredict.system.errors import UserError

#: The five core marks in the order of the published DeepChrome CSVs (the model's input order).
CORE_MARKS: tuple[str, ...] = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")

#: Examples of recognised names, for error messages.
EXAMPLES = "H3K4me3, H3K27ac, H4K20me1, H2BK120ub1, H2A.Z, H3.3, DNase, ATAC"

_HISTONE = (
    r"(?P<histone>h(?P<core>1|2a|2b|3|4)k(?P<position>[1-9]\d{0,2})"
    r"(?P<mod>me[123]|ac|ub1?|cr|bu|pr|hib|bhb|la|ma|su|glu|fo|bz))"
)
_VARIANT = r"(?P<h2az>h2a\.?z(?:\.[12])?|h2afz)|(?P<h33>h3\.3|h3f3a)"
_ACCESS = r"(?P<dnase>(?:dnase(?:[-_ ]?(?:i|1))?|dhs)(?:[-_ ]?seq)?)|(?P<atac>atac(?:[-_ ]?seq)?)"
_TOKEN = rf"(?i:{_HISTONE}|{_VARIANT}|{_ACCESS})"

#: Where a name token starts: at the start, after a non-letter, or at a lower→upper case change
#: (``HsmmH3k4me1`` in UCSC's ENCODE file names).
_START = r"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))"
#: Where it ends: at the end, before a non-alphanumeric, a digit after a letter (``ATAC2``), or at a
#: lower→upper case change (``H3k27acStdSig``, ``H3k4me1StdSig``, ``DnaseK562``); never inside a
#: longer word or number (``H3K27me3ac``, ``H3K27ME3AC``, ``H3K4me31``, ``Atacama``).
_END = r"(?:(?![A-Za-z0-9])|(?<=[A-Za-z])(?=[0-9])|(?:(?<=[a-z])|(?<=[a-z][0-9]))(?=[A-Z]))"
#: A histone mark does not end before another modified site either (``H3K9acS10ph``, ``H3K4me3K27me3``).
_END_HISTONE = _END + r"(?![KRST][0-9])"

_IN_NAME = re.compile(rf"{_START}(?:(?i:{_HISTONE}){_END_HISTONE}|(?i:{_VARIANT}|{_ACCESS}){_END})")
_WHOLE = re.compile(_TOKEN)

#: Tracks that users pass by mistake: ChIP inputs/controls and non-histone ChIP targets.
_NOT_A_MARK = re.compile(
    _START + r"(?i:input|control|ctrl|igg|wce|ctcf|polr2a|pol2|polii|rnapii|ep300|rad21)" + _END
)
_CORE_INDEX = {m: i for i, m in enumerate(CORE_MARKS)}
#: Folders above a file searched for a mark name (``data/H3K27ac/rep1/fc.bw``), nearest first.
_FOLDER_LEVELS = 3


def _canonical(match: re.Match[str]) -> str:
    if match["histone"]:
        mod = match["mod"].lower()
        return f"H{match['core'].upper()}K{match['position']}{'ub1' if mod == 'ub' else mod}"
    if match["h2az"]:
        return "H2A.Z"
    if match["h33"]:
        return "H3.3"
    return "DNase" if match["dnase"] else "ATAC"


def canonical_mark(name: str) -> str | None:
    """The canonical spelling of a mark name (case-insensitive), or None if it names no mark.

    ``h3k27AC`` → ``H3K27ac``, ``H2AK119ub`` → ``H2AK119ub1``, ``H2AZ``/``H2A.Z.1`` → ``H2A.Z``,
    ``DNase-seq``/``DNaseI``/``DHS`` → ``DNase``, ``ATAC-seq`` → ``ATAC``; ``input``, ``IgG``,
    ``CTCF`` and ``H3K27me3ac`` → None.
    """
    match = _WHOLE.fullmatch(str(name).strip())
    return _canonical(match) if match else None


def marks_in(text: str) -> set[str]:
    """Canonical marks named anywhere in ``text`` as whole tokens (see ``_START``/``_END``)."""
    return {_canonical(m) for m in _IN_NAME.finditer(text)}


def _marks_named(path: str | Path) -> set[str]:
    """The marks named by a file's name, or else by its nearest parent folder that names any."""
    path = Path(path)
    found = marks_in(path.name)
    if found or _NOT_A_MARK.search(path.name):  # an input/IgG track inside a mark's folder is no mark
        return found
    folders = [part for part in reversed(path.parent.parts) if part not in (path.anchor, ".", "..")]
    for folder in folders[:_FOLDER_LEVELS]:
        found = marks_in(folder)
        if found:
            return found
    return set()


def mark_from_filename(path: str | Path) -> str | None:
    """The one mark named by a file: ``E003-H3K4me3.fc.signal.bigwig`` → ``H3K4me3``.

    The file name is searched first; if it names no mark, its parent folders from the nearest up
    (at most three: ``data/H3K27ac/rep1/fc.bw`` → ``H3K27ac``). Two different marks at that level
    (``H3K4me3_vs_H3K4me1.bw``) are ambiguous: None. A file named as an input/control or
    non-histone ChIP (``input.bw``, ``IgG.bw``) never takes its folder's mark.
    """
    found = _marks_named(path)
    return next(iter(found)) if len(found) == 1 else None


def mark_order(marks: Iterable[str]) -> tuple[str, ...]:
    """Marks in canonical order: core marks first in :data:`CORE_MARKS` order, then the others by name."""
    unique = set(marks)
    return tuple(sorted(unique, key=lambda m: (_CORE_INDEX.get(m, len(CORE_MARKS)), m)))


def _unrecognised(path: str) -> UserError:
    found = _marks_named(path)
    fix = f"pass --mark MARK={path}"
    if len(found) > 1:
        return UserError(f"{path}: its name names several marks ({', '.join(mark_order(found))}); {fix}")
    other = _NOT_A_MARK.search(Path(path).name)
    if other:
        return UserError(
            f"{path}: looks like a ChIP input/control or a non-histone ChIP ({other.group(0)}), not a "
            f"histone mark or accessibility track; leave it out, or {fix} if it is one"
        )
    return UserError(
        f"{path}: cannot tell which mark this file holds from its name or folder; "
        f"{fix} or rename it to contain the mark (e.g. {EXAMPLES})"
    )


def same_file(path: str | Path) -> str:
    """A key that is equal for every spelling of one file: relative or absolute, ``./``, ``..``,
    symbolic links (the real path)."""
    return os.path.realpath(path)


def assign_marks(files: list[str], explicit: list[str]) -> dict[str, str]:
    """Map every given bigWig to its mark (mark → path), from ``MARK=PATH`` pairs and file names.

    ``explicit`` (``--mark``) pairs win over file names; each of ``files`` not named there is
    recognised by :func:`mark_from_filename`. Core and other marks alike are kept, in
    :func:`mark_order`; which marks a model needs is checked elsewhere. Raises UserError, with
    the fix, for no files at all, a malformed or unrecognised ``--mark``, a file whose mark
    cannot be told, two files for one mark, or one file (however spelled, see :func:`same_file`)
    given for two marks — also a file given positionally, whose name says one mark, and with
    ``--mark`` as another.
    """
    assigned: dict[str, str] = {}
    owners: dict[str, str] = {}

    def add(mark: str, path: str) -> None:
        key = same_file(path)
        if mark in assigned and same_file(assigned[mark]) != key:
            raise UserError(f"two files for mark {mark}: {assigned[mark]} and {path}; give one file per mark")
        if owners.get(key, mark) != mark:
            raise UserError(f"{path} is given for two marks, {owners[key]} and {mark}; give each file once")
        assigned[mark] = path
        owners[key] = mark

    for pair in explicit:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path:
            raise UserError(f"--mark {pair!r} is not MARK=PATH; write e.g. --mark H3K4me3=sample.bw")
        mark = canonical_mark(name)
        if mark is None:
            raise UserError(
                f"--mark {pair!r}: {name.strip()!r} is not recognised as a mark; write it like {EXAMPLES}"
            )
        add(mark, path)
    for path in files:
        given = owners.get(same_file(path))
        if given is not None:
            named = mark_from_filename(path)
            if named not in (None, given):
                raise UserError(
                    f"{path} is given twice, as {named} (its name) and with --mark {given}={path}; "
                    "give it once, under the mark it holds"
                )
            continue
        mark = mark_from_filename(path)
        if mark is None:
            raise _unrecognised(path)
        add(mark, path)
    if not assigned:
        raise UserError("no bigWig tracks given; pass one bigWig per mark (e.g. E003-H3K4me3.bw ...)")
    return {m: assigned[m] for m in mark_order(assigned)}


#: What a track's file name ends with that says nothing of its sample (extensions, signal kinds).
_TRACK_SUFFIX = re.compile(
    r"(\.(bw|bigwig|bigWig|fc|signal|pval|fe|raw|counts?|cpm|rpkm|bedgraph|bdg|gz))+$", re.I
)


def sample_name(paths: Iterable[str | Path]) -> str | None:
    """The sample a set of tracks is of, from their file names: what every name shares once its mark
    and extensions are taken out (``E003-H3K4me3.fc.signal.bigwig`` and ``E003-H3K27me3.bw`` →
    ``E003``), else their common folder (``K562/H3K4me3.bw`` → ``K562``); None when neither says."""
    files = [Path(p) for p in paths]
    stems = []
    for path in files:
        stem = _TRACK_SUFFIX.sub("", path.name)
        if not _IN_NAME.search(stem):  # the mark is in a folder name: the file's name is no sample's
            stems.append("")
            continue
        stem = _IN_NAME.sub("", stem)
        stems.append(re.sub(r"^[-_. ]+|[-_. ]+$", "", re.sub(r"[-_. ]{2,}", "_", stem)))
    if stems and stems[0] and all(s == stems[0] for s in stems):
        return stems[0]
    folders = {p.resolve().parent.name for p in files}
    if len(folders) == 1:
        folder = folders.pop()
        if folder and not marks_in(folder):
            return folder
    return None


def name_conflicts(files: dict[str, str], how: str) -> list[str]:
    """One warning per file given as a mark (``mark → path``) whose file or folder name names a
    different one; silent when the name names no mark, the same mark, or several. ``how`` says
    how marks were given (``--mark``, ``the samplesheet``), for the fix."""
    warnings = []
    for mark, path in files.items():
        named = mark_from_filename(path)
        if named is not None and named != mark:
            where = "name" if marks_in(Path(path).name) else "folder"
            warnings.append(
                f"{path} is given as {mark} ({how}) but its {where} says {named}: if the file holds "
                f"{named}, give it as {named}; if it holds {mark}, rename it"
            )
    return warnings
