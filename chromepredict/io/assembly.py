"""Genome assemblies: recognise hg19, hg38, mm10 and mm39 from chromosome sizes, and name builds alike."""

from __future__ import annotations

import re

_HUMAN = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
_MOUSE = [f"chr{i}" for i in range(1, 20)] + ["chrX", "chrY"]
#: Sizes of the main chromosomes (UCSC names, in the order above), enough to tell the builds apart.
KNOWN_SIZES: dict[str, dict[str, int]] = {
    build: dict(zip(names, sizes, strict=True))
    for build, names, sizes in (
        ("hg19", _HUMAN, (249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566, 155270560, 59373566)),
        ("hg38", _HUMAN, (248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468, 156040895, 57227415)),
        ("mm10", _MOUSE, (195471971, 182113224, 160039680, 156508116, 151834684, 149736546, 145441459, 129401213, 124595110, 130694993, 122082543, 120129022, 120421639, 124902244, 104043685, 98207768, 94987271, 90702639, 61431566, 171031299, 91744698)),
        ("mm39", _MOUSE, (195154279, 181755017, 159745316, 156860686, 151758149, 149588044, 144995196, 130127694, 124359700, 130530862, 121973369, 120092757, 120883175, 125139656, 104073951, 98008968, 95294699, 90720763, 61420004, 169476592, 91455967)),
    )
}  # fmt: skip

SPECIES = {"hg19": "human", "hg38": "human", "mm10": "mouse", "mm39": "mouse"}
_SYNONYMS = {
    "hg19": "hg19", "grch37": "hg19", "hg38": "hg38", "grch38": "hg38",
    "mm10": "mm10", "grcm38": "mm10", "mm39": "mm39", "grcm39": "mm39",
}  # fmt: skip


#: A build named in text: ``GRCh38``, ``GRCh38.p14``, ``hg19``, ``GRCm39``… (not inside a longer word).
_BUILD_WORD = re.compile(
    r"(?<![A-Za-z0-9])(grch3[78]|hg19|hg38|grcm3[89]|mm10|mm39)(?:\.p\d+)?(?![A-Za-z0-9])", re.I
)
#: NCBI assembly accessions of each build: GCA_/GCF_ prefix, then the versions of that build.
_ACCESSIONS = {
    ("GCA_000001405", range(1, 15)): "hg19", ("GCF_000001405", range(1, 26)): "hg19",
    ("GCA_000001405", range(15, 100)): "hg38", ("GCF_000001405", range(26, 100)): "hg38",
    ("GCA_000001635", range(2, 9)): "mm10", ("GCF_000001635", range(20, 27)): "mm10",
    ("GCA_000001635", range(9, 100)): "mm39", ("GCF_000001635", range(27, 100)): "mm39",
}  # fmt: skip
_ACCESSION = re.compile(r"(GC[AF]_00000(?:1405|1635))\.(\d+)")
_MAPPED_TO = re.compile(r"mapped to\s+(\S+)", re.I)


def canonical_build(name: str | None) -> str | None:
    """``GRCh38`` → ``hg38`` (UCSC name of a known build), case-insensitive, with or without a patch
    (``GRCh38.p14``) or a ``ucsc:`` prefix; an NCBI accession (``GCF_000001405.40``) → its build;
    unknown names → None."""
    if not name:
        return None
    text = name.strip().lower().removeprefix("ucsc:")
    text = re.sub(r"\.p\d+$", "", text)
    if text in _SYNONYMS:
        return _SYNONYMS[text]
    accession = _ACCESSION.fullmatch(name.strip().removeprefix("NCBI_Assembly:"))
    if accession:
        prefix, version = accession.group(1), int(accession.group(2))
        return next(
            (b for (p, versions), b in _ACCESSIONS.items() if p == prefix and version in versions), None
        )
    return None


def builds_named(text: str) -> list[str]:
    """Every known build named in ``text`` (words like GRCh38.p14 or hg19, NCBI accessions), in the
    order they appear."""
    found = [(m.start(), canonical_build(m.group(1))) for m in _BUILD_WORD.finditer(text)]
    found += [(m.start(), canonical_build(m.group(0))) for m in _ACCESSION.finditer(text)]
    return [b for _, b in sorted(found) if b]


def _ucsc(chrom: str) -> str:
    bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "chr" + bare


def recognise(chrom_sizes: dict[str, int]) -> str | None:
    """The known build whose chromosome sizes these are (≥ 2 chromosomes agree, none contradicts)."""
    sizes = {_ucsc(c): n for c, n in chrom_sizes.items()}
    verdict = None
    for build, known in KNOWN_SIZES.items():
        shared = [c for c in known if c in sizes]
        agree = sum(sizes[c] == known[c] for c in shared)
        if agree >= 2 and agree >= len(shared) // 2:
            if verdict is not None:
                return None  # two builds fit: say nothing rather than guess
            verdict = build
    return verdict


def build_from_gtf_header(lines: list[str]) -> str | None:
    """The build a GTF's ``#`` header names, in any of the usual styles: GENCODE's ``##description:
    … (GRCh38) …`` (``mapped to GRCh37`` for its lifted files), Ensembl's and RefSeq's
    ``#!genome-build GRCh38.p14`` / ``#!genome-version`` / ``#!genome-build-accession
    GCA_000001405.29``, UCSC-style names (``hg19``): the first build named (a file's own header
    line comes first), or None."""
    text = "".join(line for line in lines if line.startswith("#"))
    mapped = [canonical_build(m.group(1).strip(".,;()")) for m in _MAPPED_TO.finditer(text)]
    if any(mapped):
        return next(b for b in mapped if b)
    return next(iter(builds_named(text)), None)


def build_from_file_name(name: str) -> str | None:
    """The build a downloaded file's name says (UCSC's ``hg38.ncbiRefSeq.gtf.gz``, Ensembl's
    ``Homo_sapiens.GRCh38.110.gtf.gz``), when it names exactly one."""
    found = set(builds_named(name))
    return found.pop() if len(found) == 1 else None
