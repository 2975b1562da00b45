"""Canonical histone-mark names and order, and recognising marks from file names."""

from __future__ import annotations

import re
from pathlib import Path

from chromepredict.errors import UserError

#: The five core marks in the order of the published DeepChrome CSVs (the model's input order).
CORE_MARKS: tuple[str, ...] = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")

_MARK_PATTERN = re.compile(r"h3k(\d+)me(\d)", re.IGNORECASE)
_CANONICAL = {m.lower(): m for m in CORE_MARKS}


def canonical_mark(name: str) -> str | None:
    """Return the canonical spelling of a core mark name (case-insensitive), or None."""
    return _CANONICAL.get(name.strip().lower())


def mark_from_filename(path: str | Path) -> str | None:
    """Recognise the one core mark named in a file name, e.g. ``E003-H3K4me3.fc.signal.bigwig``."""
    found = {canonical_mark(m.group(0)) for m in _MARK_PATTERN.finditer(Path(path).name)}
    found.discard(None)
    if len(found) == 1:
        return found.pop()
    return None


def assign_marks(files: list[str], explicit: list[str]) -> dict[str, str]:
    """Map each core mark to one file, from file names and ``MARK=PATH`` pairs.

    Raises UserError for a file whose mark cannot be recognised, two files for one mark, or a
    missing core mark, each with the fix.
    """
    assigned: dict[str, str] = {}

    def add(mark: str, path: str) -> None:
        if mark in assigned and assigned[mark] != path:
            raise UserError(f"two files for mark {mark}: {assigned[mark]} and {path}; give one file per mark")
        assigned[mark] = path

    for pair in explicit:
        name, sep, path = pair.partition("=")
        mark = canonical_mark(name)
        if not sep or not path:
            raise UserError(f"--mark {pair!r} is not MARK=PATH; write e.g. --mark H3K4me3=sample.bw")
        if mark is None:
            raise UserError(
                f"--mark {pair!r}: {name!r} is not a core mark; use one of {', '.join(CORE_MARKS)}"
            )
        add(mark, path)
    explicit_paths = set(assigned.values())
    for path in files:
        if path in explicit_paths:
            continue
        mark = mark_from_filename(path)
        if mark is None:
            raise UserError(
                f"{path}: cannot tell which mark this file holds from its name; "
                f"rename it to contain one of {', '.join(CORE_MARKS)} or pass --mark MARK={path}"
            )
        add(mark, path)
    missing = [m for m in CORE_MARKS if m not in assigned]
    if missing:
        raise UserError(
            f"no bigWig for {', '.join(missing)}; all five core marks are needed "
            f"({', '.join(CORE_MARKS)}): add the file(s) or pass --mark MARK=PATH"
        )
    return {m: assigned[m] for m in CORE_MARKS}
