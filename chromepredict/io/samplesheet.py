"""Samplesheets, as nf-core pipelines write them: a CSV with one row per track.

Columns ``sample,mark,bigwig`` and optionally ``expression`` (a table per sample, on any of its
rows). Marks are named explicitly (no file-name guessing; a file whose name names another mark is
warned about when its sample is read, one file under two marks of a sample is refused); relative
paths are relative to the samplesheet's folder. Sample names become folder names, so they are letters, digits, ``.``, ``_``
and ``-`` only.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chromepredict.io.marks import EXAMPLES, canonical_mark, mark_order, same_file
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.formats import read_text, table_problem

REQUIRED = ("sample", "mark", "bigwig")
COLUMNS = (*REQUIRED, "expression")
_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")  # a folder name, not hidden, not . or ..
#: Longest sample name: ``A_vs_B.bedgraph`` of two such names stays within a file name's 255 bytes.
MAX_NAME = 100
#: Names of a samplesheet run's own files and folders, which a sample folder must not take (in any
#: case: macOS and Windows do not tell Logs from logs).
RESERVED = frozenset(
    {
        "summary.tsv",
        "summary_mqc.tsv",
        "p_high.tsv",
        "level.tsv",
        "samples.png",
        "chromepredict-run.json",
        "logs",
    }
)


@dataclass
class Sample:
    """One sample of a samplesheet: its tracks by mark and its expression table, if any."""

    name: str
    tracks: dict[str, str] = field(default_factory=dict)
    expression: str | None = None


def sheet_files(path: str | Path) -> list[str]:
    """The samplesheet and every file it names (for :func:`chromepredict.system.files.check_outputs`)."""
    files = [str(path)]
    for sample in read_samplesheet(path):
        files.extend([*sample.tracks.values(), *([sample.expression] if sample.expression else [])])
    return files


def sheet_gtf(gtf: str | Path | None) -> str:
    """The gene annotation a samplesheet's samples are read with: a samplesheet names none, so it is
    required."""
    if gtf is None:
        raise UserError("--gtf is required with --samplesheet; give the gene annotation (GTF)")
    return str(gtf)


def _longer_than_header(text: str) -> int | None:
    """The line number of the first row with a non-empty field past the header's last (empty
    fields there are a spreadsheet's empty columns), or None."""
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith("#")
    ]
    if len(lines) < 2:
        return None
    header = lines[0][1]
    separator = max(",;\t|", key=header.count)  # the header's own separator
    if not header.count(separator):
        return None  # one column: pandas says what it cannot read
    rows = csv.reader((line for _, line in lines), delimiter=separator)
    width = len(next(rows))
    for (number, _), row in zip(lines[1:], rows, strict=False):
        if any(field.strip() for field in row[width:]):
            return number
    return None


def read_samplesheet(path: str | Path) -> list[Sample]:
    """The samples of a samplesheet, in the order they first appear; every mistake is a UserError."""
    path = Path(path)
    require_file(path, "samplesheet", "check the --samplesheet path")
    text, _ = read_text(path, "samplesheet", "give a CSV with columns sample,mark,bigwig")
    longer = _longer_than_header(text)
    if longer is not None:
        raise UserError(
            f"{path}, line {longer}: more fields than the header; give each row the header's columns "
            "(sample,mark,bigwig[,expression])"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)  # empty fields past the header's
            table = pd.read_csv(
                io.StringIO(text),
                sep=None,
                engine="python",
                dtype=str,
                keep_default_na=False,
                comment="#",
                index_col=False,  # a separator at the ends of rows is not a first column of row names
            ).fillna("")  # a row shorter than the header: its last fields are empty
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        what = "it is empty" if not text.strip() else table_problem(exc)
        raise UserError(
            f"{path}: cannot read the samplesheet ({what}); give a CSV with columns sample,mark,bigwig"
        ) from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise UserError(
            f"{path}: samplesheet lacks column(s) {', '.join(missing)}; columns are sample,mark,bigwig[,expression]"
        )
    for column in table.columns:  # other columns (a user's metadata) are ignored, a misspelt one is not
        close = difflib.get_close_matches(column, COLUMNS, n=1, cutoff=0.8) if column not in COLUMNS else []
        if close:
            raise UserError(
                f"{path}: column {column!r} looks like {close[0]!r} misspelt; name it {close[0]} (columns are "
                "sample,mark,bigwig[,expression])"
            )
    if table.empty:
        raise UserError(f"{path}: samplesheet has no rows; add one row per sample and mark")
    samples: dict[str, Sample] = {}
    for line, row in enumerate(table.itertuples(index=False), start=2):
        name, given, bigwig = row.sample.strip(), row.mark.strip(), row.bigwig.strip()
        where = f"{path}, line {line}"
        if not _SAFE.match(name) or name.lower() in RESERVED or len(name) > MAX_NAME:
            raise UserError(
                f"{where}: sample {name!r} must be at most {MAX_NAME} letters, digits, '.', '_' or '-', "
                "not start with '.' and not be the name of a run's own file (it names the sample's "
                "output files and folder)"
            )
        mark = canonical_mark(given)
        if mark is None:
            raise UserError(f"{where}: mark {given!r} is not recognised; write it like {EXAMPLES}")
        if not bigwig:
            raise UserError(f"{where}: no bigwig path; give the track of {name} {mark}")
        twin = next((n for n in samples if n != name and n.lower() == name.lower()), None)
        if twin is not None:
            raise UserError(
                f"{where}: samples {twin} and {name} differ only in case; their output folders and files would "
                "be one on macOS and Windows: name them apart"
            )
        sample = samples.setdefault(name, Sample(name))
        if mark in sample.tracks:
            raise UserError(f"{where}: sample {name} has {mark} twice; give one bigWig per sample and mark")
        track = str(_resolve(path, bigwig))
        other = next((m for m, t in sample.tracks.items() if same_file(t) == same_file(track)), None)
        if other is not None:
            raise UserError(
                f"{where}: {bigwig} is given for sample {name} as {mark} and as {other}; "
                "give each mark its own bigWig"
            )
        sample.tracks[mark] = track
        expression = getattr(row, "expression", "").strip() if "expression" in table.columns else ""
        if expression:
            resolved = str(_resolve(path, expression))
            if sample.expression not in (None, resolved):
                raise UserError(f"{where}: sample {name} names two expression tables; give one per sample")
            sample.expression = resolved
    for sample in samples.values():
        sample.tracks = {m: sample.tracks[m] for m in mark_order(sample.tracks)}
    return list(samples.values())


def _resolve(sheet: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else sheet.parent / candidate


def parse_pairs(
    pairs: list[str], reference: str | None, names: list[str], sheet: str
) -> list[tuple[str, str]]:
    """``--pair A:B`` (repeatable) and ``--reference A`` (every other sample against A)."""
    known = set(names)
    out = []
    for pair in pairs:
        first, sep, second = pair.partition(":")
        if not sep or not first or not second or first == second:
            raise UserError(
                f"--pair {pair!r} is not A:B with two different samples; write e.g. --pair E003:E123"
            )
        out.append((first, second))
    if reference is not None:
        out.extend((reference, name) for name in names if name != reference)
        if reference not in known:
            raise UserError(
                f"--reference {reference}: no sample {reference} in {sheet} (it has {', '.join(names)})"
            )
    for first, second in out:
        for name in (first, second):
            if name not in known:
                raise UserError(
                    f"--pair {first}:{second}: no sample {name} in {sheet} (it has {', '.join(names)})"
                )
    if not out:
        raise UserError("give the samples to compare: --pair A:B (repeatable) or --reference A")
    out = list(dict.fromkeys(out))
    named: dict[str, tuple[str, str]] = {}  # a pair's results are named A_vs_B (files, metrics)
    for first, second in out:
        earlier = named.setdefault(f"{first}_vs_{second}", (first, second))
        if earlier != (first, second):
            raise UserError(
                f"--pair {earlier[0]}:{earlier[1]} and {first}:{second} would both be named "
                f"{first}_vs_{second}; rename a sample in {sheet}"
            )
    return out
