"""What a file is, told from its first bytes, and the tool that turns it into what a command needs.

Used when an input is not what an option expects (a BAM given as a track, a GFF3 as the GTF), so
that the error names what the file is and how to convert it, instead of a parser's complaint.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path
from typing import TextIO

from chromepredict.system.errors import UserError

BIGWIG = (bytes.fromhex("26fc8f88"), bytes.fromhex("888ffc26"))
BIGBED = (bytes.fromhex("ebf28987"), bytes.fromhex("8789f2eb"))

#: What each kind of file is, in words.
NAMES = {
    "bigwig": "a bigWig",
    "bigbed": "a bigBed (intervals such as peaks, not a signal track)",
    "bam": "a BAM file of aligned reads",
    "cram": "a CRAM file of aligned reads",
    "sam": "a SAM file of aligned reads",
    "bedgraph": "a bedGraph (text signal)",
    "wig": "a wiggle (text signal)",
    "bed": "a BED file of intervals",
    "gff3": "a GFF3 annotation",
    "gtf": "a GTF annotation",
    "fasta": "a FASTA sequence file",
    "hdf5": "an HDF5 file",
    "zip": "a zip archive (or .npz)",
    "xlsx": "an Excel workbook",
    "empty": "empty",
    "binary": "a binary file of an unknown format",
    "text": "a text file of an unknown format",
}

#: How to make a bigWig from each kind.
TO_BIGWIG = {
    "bam": "make a bigWig with deepTools: bamCoverage -b FILE.bam -o FILE.bw --binSize 100",
    "cram": "convert it to BAM (samtools view -b) and make a bigWig with deepTools bamCoverage",
    "sam": "convert it to BAM (samtools sort -o FILE.bam) and make a bigWig with deepTools bamCoverage",
    "bedgraph": "convert it with UCSC bedGraphToBigWig FILE.bedGraph chrom.sizes FILE.bw (sorted: sort -k1,1 -k2,2n)",
    "wig": "convert it with UCSC wigToBigWig FILE.wig chrom.sizes FILE.bw",
    "bigbed": "give the signal track instead (e.g. MACS3 fold enrichment, bedGraphToBigWig)",
    "gtf": "it is the gene annotation: give it with --gtf",
    "gff3": "it is a gene annotation: convert it to GTF (gffread FILE.gff3 -T -o FILE.gtf) and give it with --gtf",
}

#: How to make a GTF from each kind.
TO_GTF = {
    "gff3": "convert it with gffread FILE.gff3 -T -o FILE.gtf (or AGAT's agat_convert_sp_gff2gtf.pl)",
    "bed": "a BED has no gene ids or types: give a GTF such as GENCODE's gencode.vNN.annotation.gtf.gz",
    "bigwig": "it is a track: pass it as a bigWig argument; --gtf takes the gene annotation",
    "bam": "it holds reads: --gtf takes the gene annotation (e.g. GENCODE's gencode.vNN.annotation.gtf.gz)",
}


def first_bytes(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(n)
    if head[:2] != b"\x1f\x8b":
        return head
    try:  # gzip or BGZF: the start of the decompressed stream
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, n)
    except zlib.error:
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(n)
        except (OSError, EOFError):
            return b""


def _text_kind(text: str) -> str:
    lines = [line for line in text.splitlines()[:-1] or text.splitlines() if line.strip()]
    if any(line.startswith("##gff-version 3") for line in lines[:5]):
        return "gff3"
    if any(line.startswith(("fixedStep", "variableStep")) for line in lines[:20]):
        return "wig"
    if any(re.match(r"track\b.*type=wiggle", line) for line in lines[:5]):
        return "wig"
    if any(re.match(r"track\b.*type=bedGraph", line) for line in lines[:5]):
        return "bedgraph"
    if lines and lines[0].startswith("@HD"):
        return "sam"
    if lines and lines[0].startswith(">"):
        return "fasta"
    records = [line.split("\t") for line in lines if not line.startswith(("#", "track", "browser"))][:20]
    if not records:
        return "text"
    numeric = re.compile(r"^-?\d+$")
    if all(len(r) == 9 and numeric.match(r[3]) and numeric.match(r[4]) for r in records):
        attributes = records[0][8]
        return "gff3" if "=" in attributes and '"' not in attributes else "gtf"
    if all(len(r) >= 3 and numeric.match(r[1]) and numeric.match(r[2]) for r in records):
        if all(len(r) == 4 for r in records):
            try:
                [float(r[3]) for r in records]
                return "bedgraph"
            except ValueError:
                return "bed"
        return "bed"
    return "text"


def sniff(path: str | Path) -> str:
    """The kind of file at ``path`` (a key of :data:`NAMES`)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw_head = handle.read(4)
        head = first_bytes(path)
    except OSError:
        return "binary"
    if not raw_head:
        return "empty"
    if raw_head in BIGWIG or head[:4] in BIGWIG:  # also a gzip of one
        return "bigwig"
    if raw_head in BIGBED or head[:4] in BIGBED:
        return "bigbed"
    if head.startswith(b"BAM\x01"):
        return "bam"
    if raw_head == b"CRAM":
        return "cram"
    if raw_head == b"\x89HDF":
        return "hdf5"
    if raw_head == b"PK\x03\x04":
        return "xlsx" if _is_workbook(path) else "zip"
    encoding = text_encoding(head)
    if encoding is None:
        return "binary"
    return _text_kind(codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False))


def _is_workbook(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith("xl/") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


#: Byte-order marks, longest first, and the encodings they announce.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(head: bytes) -> str | None:
    """The encoding of a text whose (decompressed) start is ``head``: the one a byte-order mark
    announces; UTF-16 without one (every other byte NUL, as some Windows tools write); UTF-8 when it
    decodes; else Latin-1 (what spreadsheets on Windows save: any byte is a character). None for
    bytes that are not text (other NULs)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        odd, even = head[1::2], head[0::2]
        if odd and odd.count(0) >= 0.9 * len(odd) and not even.count(0):
            return "utf-16-le"
        if even and even.count(0) >= 0.9 * len(even) and not odd.count(0):
            return "utf-16-be"
        return None
    try:  # incremental: a character cut at the end of the head is not an error
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def open_text(path: str | Path, what: str, fix: str) -> tuple[TextIO, str | None]:
    """``path`` (plain or gzipped) opened as text in its own encoding (:func:`text_encoding`), and
    a note when that is not UTF-8; an Excel workbook or a file that is not text is a UserError
    naming ``what`` it should be and ``fix``."""
    path = Path(path)
    kind = sniff(path)
    if kind in ("xlsx", "zip"):
        raise UserError(
            f"{path}: {NAMES[kind]}, not a {what}; save it as text (TSV or CSV: File → Save As) and give that, or {fix}"
        )
    encoding = text_encoding(first_bytes(path))
    if encoding is None:
        raise UserError(f"{path}: not text ({NAMES[kind]}), not a {what}; {fix}")
    note = (
        None if encoding.startswith("utf-8") else f"{path.name}: read as {encoding.upper()} text (not UTF-8)"
    )
    if is_gzip(path):
        return gzip.open(path, "rt", encoding=encoding, errors="replace", newline=None), note
    return open(path, encoding=encoding, errors="replace", newline=None), note  # noqa: SIM115 (the caller closes it)


def read_text(path: str | Path, what: str, fix: str) -> tuple[str, str | None]:
    """The whole text of ``path`` and the note of :func:`open_text`."""
    handle, note = open_text(path, what, fix)
    with handle:
        return handle.read(), note


def not_a(path: str | Path, wanted: str, advice: dict[str, str], default: str) -> str:
    """The message for a file that is not ``wanted``: what it is and how to convert it."""
    kind = sniff(path)
    if kind in ("bigwig", "bigbed") and is_gzip(path):  # compressed inside already: gzip only hides it
        return f"{path}: not {wanted}; it is a gzip of {NAMES[kind]}: unpack it (gunzip {path}) and give the file"
    gz = " (gzipped)" if is_gzip(path) and kind not in ("bam",) else ""
    return f"{path}: not {wanted}; it is {NAMES[kind]}{gz}: {advice.get(kind, default)}"


def is_gzip(path: str | Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def signature(path: str | Path) -> tuple:
    """What kind of file ``path`` is, finely enough to tell one program's output from another's:
    its kind, whether it is gzip, and its first word (text), first member (zip) or magic bytes."""
    path = Path(path)
    kind = sniff(path)
    with open(path, "rb") as handle:
        raw = handle.read(4)
    if kind in ("zip", "xlsx"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                first = archive.namelist()[:1]
        except (OSError, zipfile.BadZipFile):
            first = []
        return kind, first
    if kind in ("binary", "bigwig", "bigbed", "bam", "cram", "hdf5"):
        return kind, raw
    head = first_bytes(path)
    text = codecs.getincrementaldecoder(text_encoding(head) or "latin-1")(errors="replace").decode(
        head, final=False
    )
    words = next((line.split()[:1] for line in text.splitlines() if line.strip()), [])
    return kind, raw[:2] == b"\x1f\x8b", words[0][:40] if words else ""


def table_problem(exc: Exception) -> str:
    """What a table parser's error means, in words (never the parser's own message)."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        want, line, saw = found.groups()
        return f"line {line} has {saw} columns where the lines before have {want}"
    if "No columns to parse" in str(exc):
        return "it holds no columns"
    return "its lines do not split into the same columns"
