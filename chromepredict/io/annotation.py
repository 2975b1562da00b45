"""GTF → one TSS per gene (pyranges), gene-type filter, transcript → gene ids, chromosome-name harmonisation."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.assembly import build_from_file_name, build_from_gtf_header
from chromepredict.io.ids import normalise_gene_id, normalise_gene_ids
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.formats import TO_GTF, not_a, open_text, sniff

#: A GTF of at least this many genes, all on one strand, is warned: any annotation has genes on both
#: (a TSS list whose strands were lost or set to + reads half the windows backwards).
ONE_STRAND_GENES = 100
#: Columns of the gene table every command passes around (tss is the 1-based GTF coordinate).
GENE_COLUMNS = ["gene_id", "gene_name", "chrom", "tss", "strand"]

#: Unplaced/decoy sequences without ``_`` or ``.`` in their name: ``chrUn``, ``chrEBV``, ``hs37d5`` and
#: bare GenBank scaffold accessions (``GL000220``, ``KI270706``, ``JH584299``).
_SCAFFOLD = re.compile(r"^(?:un|ebv|hs37d5|[a-z]{2}\d{6})", re.IGNORECASE)


def _records(path: Path, features: Iterable[str]) -> Iterator[tuple[int, str, str]]:
    """Stream ``(line number, feature, line)`` for the GTF records whose feature is in ``features``,
    checking the file.

    Only the first three columns of each line are split, so a full GENCODE GTF (2.5 M lines,
    mostly exons) streams in seconds (docs/benchmarks.md). Fails, with the fix, on a missing,
    binary, empty or non-GTF file.
    """
    require_file(path, "GTF file", "check the --gtf path")
    kind = sniff(path)
    if kind not in ("gtf", "text", "empty"):
        raise UserError(
            not_a(path, "a GTF", TO_GTF, "give a GTF such as GENCODE's gencode.vNN.annotation.gtf.gz")
        )
    wanted = frozenset(features)
    seen_record = False
    handle, _ = open_text(path, "GTF", "give a GTF such as GENCODE's gencode.vNN.annotation.gtf.gz")
    try:
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.split("\t", 3)
                if not seen_record and len(line.rstrip("\n").split("\t")) != 9:
                    raise UserError(
                        f"{path}: not a GTF file (first record does not have 9 tab-separated "
                        "columns); give a GTF such as GENCODE's gencode.vNN.annotation.gtf.gz"
                    )
                seen_record = True
                feature = fields[2] if len(fields) > 2 else ""
                if feature in wanted:
                    yield number, feature, line
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read as GTF text ({exc}); give a plain or gzipped GTF") from None
    if not seen_record:
        raise UserError(f"{path}: GTF has no records; give a GTF with gene or transcript lines")


#: Why a gene/transcript record is skipped (counted, then warned in these words).
_SKIPPED = {
    "strand": "strand other than + or − (no TSS to place)",
    "start > end": "start after end",
    "start 0": "no chromosome or start 0 (GTF is 1-based)",
    "gene_id": "no gene_id, or an empty one (records of different genes would be merged)",
}


def _checked(path: Path, number: int, line: str, skipped: dict[str, int]) -> bool:
    """Whether a gene/transcript record can be used: 9 columns, whole-number coordinates (else a
    UserError naming the line), strand + or −, 1 ≤ start ≤ end and a chromosome (else counted in
    ``skipped``)."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 9:
        raise UserError(
            f"{path}, line {number}: {len(fields)} tab-separated columns, not 9; fix or remove that line"
        )
    for column, name in ((3, "start"), (4, "end")):
        if not fields[column].strip().isdigit():
            raise UserError(
                f"{path}, line {number}: {name} (column {column + 1}) is {fields[column]!r}, not a whole number; "
                "fix or remove that line"
            )
    reason = (
        "strand" if fields[6] not in ("+", "-")
        else "start > end" if int(fields[3]) > int(fields[4])
        else "start 0" if int(fields[3]) < 1 or not fields[0].strip()
        else None
    )  # fmt: skip
    if reason is not None:
        skipped[reason] += 1
    return reason is None


def _gene_records(path: Path) -> tuple[list[str], list[str], list[str]]:
    """The GTF's ``gene`` lines and the ``transcript`` lines of genes without one (all of them in a
    GTF without gene lines), notes, and warnings for the records skipped (strand other than + or −,
    start after end, no gene_id).

    Filtering before pyranges parses the attributes keeps a full GENCODE GTF (2.5 M lines) to
    seconds instead of a minute and gigabytes (docs/benchmarks.md).
    """
    genes: list[str] = []
    with_gene: set[str] = set()  # gene ids of the gene lines
    transcripts: dict[str, list[str]] = {}  # gene id → transcript lines, for genes without a gene line
    no_id: list[str] = []
    skipped = dict.fromkeys(_SKIPPED, 0)
    for number, feature, line in _records(path, ("gene", "transcript")):
        gene_id = _gene_id(line)
        if feature == "transcript" and gene_id in with_gene:
            continue  # placed by its gene line
        if not _checked(path, number, line, skipped):
            continue
        if not gene_id:
            no_id.append(line)
        elif feature == "gene":
            genes.append(line)
            with_gene.add(gene_id)
        else:
            transcripts.setdefault(gene_id, []).append(line)
    if no_id and not genes and not transcripts:
        raise UserError(f"{path}: GTF records have no gene_id attribute; give a GENCODE/Ensembl GTF")
    skipped["gene_id"] = len(no_id)
    if not genes and not transcripts:
        fix = (
            "each needs a strand + or − and start ≤ end" if any(skipped.values()) else "give a GTF with them"
        )
        raise UserError(f"{path}: GTF has neither gene nor transcript records that can be used; {fix}")
    warnings = [
        f"{path}: {n} gene/transcript records skipped: {_SKIPPED[reason]}"
        for reason, n in skipped.items()
        if n
    ]
    orphans = {g: lines for g, lines in transcripts.items() if g not in with_gene}
    notes = []
    if genes and orphans:
        examples = ", ".join(list(orphans)[:3]) + (", …" if len(orphans) > 3 else "")
        notes.append(
            f"{path}: {len(orphans)} genes have transcript records but no gene record (e.g. {examples}): "
            "placed from their transcripts"
        )
    return genes + [line for lines in orphans.values() for line in lines], notes, warnings


def _gene_id(line: str) -> str:
    """The gene_id of a GTF line ('' when it has none); the common layout (attributes starting with
    ``gene_id "…"``) without a regular expression, which would add a second to a full GENCODE GTF."""
    attributes = line[line.rfind("\t") + 1 :]
    if attributes.startswith('gene_id "'):
        end = attributes.find('"', 9)
        if end > 9:
            return attributes[9:end]
    found = _ATTRIBUTES["gene_id"].search(attributes.rstrip("\n"))
    return found.group(1) if found else ""


def _bare(chrom: str) -> str:
    return chrom[3:] if chrom.lower().startswith("chr") else chrom


def is_primary_chrom(chrom: str) -> bool:
    """Whether a sequence name is an assembled chromosome rather than an alt, patch or unplaced contig.

    ``chr1``/``1``/``chrX``/``chrM``/``MT`` (any species' numbering) and RefSeq ``NC_`` accessions
    are primary; names with ``_`` (``chr6_ssto_hap7``, ``chr1_KI270706v1_random``,
    ``chr19_KI270938v1_alt``, ``chrUn_gl000220``), versioned scaffold accessions (``GL000220.1``),
    ``chrUn``, ``chrEBV`` and decoys are not.
    """
    chrom = str(chrom)
    if chrom.startswith("NC_"):
        return True
    if "_" in chrom or "." in chrom:
        return False
    return _SCAFFOLD.match(_bare(chrom)) is None


def _sex_chrom(chrom: str) -> str:
    bare = _bare(str(chrom)).upper()
    return bare if bare in ("X", "Y") else ""


def _natural(chrom: str) -> str:
    """Sort key: chr2 before chr10."""
    return re.sub(r"\d+", lambda m: m.group().zfill(12), str(chrom))


@dataclass(frozen=True)
class GeneTable:
    """One row per gene (``genes``, columns :data:`GENE_COLUMNS`) and what was resolved on the way.

    ``resolved`` counts the genes whose id appeared at several loci, by the rule that decided which
    was kept: ``alt_contig`` (primary chromosome kept over alt/unplaced contigs), ``par`` (chrX kept
    over chrY), ``distant`` (records of one chromosome and strand that do not overlap: the locus
    with the most records) and ``multi_locus`` (several chromosomes or strands: the copy with the
    most records). ``notes`` says the first two in words, ``warnings`` the last two (the kept locus
    may not be the one a table means) and the records skipped as invalid; ``summary`` is the notes
    on one line.
    """

    genes: pd.DataFrame
    resolved: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    gene_type: str | None = None  # the type the genes were filtered on (None: every gene)
    other_types: tuple[str, ...] = ()  # ids (as written) of the GTF's genes of other types

    @property
    def summary(self) -> str:
        """The notes on one line ('' when nothing was resolved)."""
        return "; ".join(self.notes)


def _parse(path: Path, records: list[str]) -> pd.DataFrame:
    """pyranges' GTF reader on the kept records, read from memory."""
    from pyranges.readers import read_gtf_full

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pyranges 0.1 on new pandas
            warnings.simplefilter("ignore", FutureWarning)
            return read_gtf_full(io.StringIO("".join(records)), as_df=True)
    except Exception as exc:  # pyranges raises bare exceptions on malformed attributes
        raise UserError(
            f"{path}: malformed GTF attributes ({' '.join(str(exc).split())}); check the 9th column"
        ) from None


def _examples(rows: pd.DataFrame, n: int = 3) -> str:
    shown = [f"{r.gene_name}: {r.kept} over {r.other}" for r in rows.head(n).itertuples()]
    return "; ".join(shown) + ("; …" if len(rows) > n else "")


_RULES = {
    "alt_contig": "also on alt/unplaced contigs: kept the primary-chromosome copy",
    "par": "on chrX and chrY (pseudo-autosomal): kept the chrX copy",
    "distant": "at distant loci of one chromosome (records that do not overlap): kept the locus with "
    "the most records, never a span across both",
    "multi_locus": "on several chromosomes or strands: kept the copy with the most records",
}
#: Rules whose choice is by the book (an alt contig's copy, the PAR on chrY): notes. The others pick
#: one of several real loci, so the gene's TSS may not be the one its table means: warnings.
_WARNED = ("distant", "multi_locus")


def _loci(spans: pd.DataFrame) -> pd.Series:
    """A locus number per record: records of one gene id, chromosome and strand that overlap (in a
    chain) share a locus; a record that starts past the end of every earlier one starts a new one."""
    order = spans.sort_values(["gene_id", "chrom", "strand", "start"], kind="stable").index
    ordered = spans.loc[order]
    group = (
        ordered[["gene_id", "chrom", "strand"]]
        .ne(ordered[["gene_id", "chrom", "strand"]].shift())
        .any(axis=1)
    )
    group_id = group.cumsum()
    reach = ordered["end"].groupby(group_id.to_numpy()).cummax()
    new = group | (ordered["start"] > reach.shift().fillna(-1))
    return new.cumsum().reindex(spans.index)


def _one_locus_per_gene(
    spans: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, int], list[str], list[str]]:
    """Span each locus of a gene id (a chromosome, a strand, records that overlap), then keep one
    locus per gene id.

    Preference, in order: a primary chromosome over alt/unplaced contigs; any other chromosome
    over chrY (pseudo-autosomal genes: chrX); the locus with the most records; then chromosome name
    (natural order), strand (+ first) and start, so that the choice never depends on the order of
    the file. Returns the kept loci, the count per rule, notes (alt contigs, PAR) and warnings
    (distant loci, several chromosomes or strands), each with a count and examples.
    """
    spans = spans.assign(_locus=_loci(spans))
    groups = spans.groupby(["gene_id", "chrom", "strand", "_locus"], sort=False).agg(
        gene_name=("gene_name", "first"),
        start=("start", "min"),
        end=("end", "max"),
        records=("start", "size"),
    )
    groups = groups.reset_index()
    chroms = groups["chrom"]
    names = chroms.unique()  # each rule once per chromosome name, not per gene
    groups["_alt"] = ~chroms.map({c: is_primary_chrom(c) for c in names}).astype(bool)
    groups["_y"] = chroms.map({c: _sex_chrom(c) for c in names}) == "Y"
    groups["_fewer"] = -groups["records"]
    groups["_name"] = chroms.map({c: _natural(c) for c in names})
    ranked = groups.sort_values(
        ["gene_id", "_alt", "_y", "_fewer", "_name", "strand", "start"], kind="stable"
    )
    best = ranked.drop_duplicates("gene_id", keep="first")
    runner_up = ranked[ranked.duplicated("gene_id", keep="first")].drop_duplicates("gene_id", keep="first")

    resolved: dict[str, int] = {}
    notes: list[str] = []
    warnings: list[str] = []
    if len(runner_up):
        kept = best.set_index("gene_id").loc[runner_up["gene_id"]]
        other = runner_up.set_index("gene_id")
        same_place = (kept["chrom"] == other["chrom"]) & (kept["strand"] == other["strand"])
        rule = np.where(
            ~kept["_alt"] & other["_alt"],
            "alt_contig",
            np.where(
                (kept["chrom"].map(_sex_chrom) == "X") & other["_y"],
                "par",
                np.where(same_place, "distant", "multi_locus"),
            ),
        )

        def place(rows: pd.DataFrame) -> pd.Series:
            where = np.where(same_place, ":" + rows["start"].map("{:,}".format), " " + rows["strand"])
            return rows["chrom"] + where

        pairs = pd.DataFrame({"gene_name": kept["gene_name"], "kept": place(kept), "other": place(other)})
        for name, text in _RULES.items():
            rows = pairs[rule == name]
            if len(rows):
                resolved[name] = len(rows)
                genes = "gene" if len(rows) == 1 else "genes"
                line = f"{len(rows)} {genes} {text} (e.g. {_examples(rows)})"
                (warnings if name in _WARNED else notes).append(line)
    return best, resolved, notes, warnings


def read_genes(path: str | Path, gene_type: str | None = "protein_coding") -> GeneTable:
    """Read a GTF into one row per gene: gene_id (normalised), gene_name, chrom, tss, strand.

    ``tss`` is 1-based: the start on ``+`` and the end on ``-`` of the span of the gene's records
    on one chromosome and strand. A gene's gene record is used; a gene without one is placed from
    its transcript records (a GTF of transcripts only, or an annotation appended to GENCODE). Gene
    ids are normalised with :func:`chromepredict.io.ids.normalise_gene_id` (Ensembl version and
    ``_PAR_Y`` stripped). A gene id found on several chromosomes or strands
    (UCSC/RefSeq GTFs put symbol-named transcripts on alt contigs; pseudo-autosomal genes sit on
    chrX and chrY) keeps one of them, never a mix; see :func:`_one_locus_per_gene` and
    :attr:`GeneTable.notes`. ``gene_type=None`` keeps every gene; otherwise records are filtered
    on ``gene_type`` (GENCODE) or ``gene_biotype`` (Ensembl), either in one file; records with
    neither are left out with a warning.
    """
    path = Path(path)
    records, placed, skipped = _gene_records(path)
    genes = _parse(path, records)
    if "gene_id" not in genes.columns:
        raise UserError(f"{path}: GTF records have no gene_id attribute; give a GENCODE/Ensembl GTF")
    untyped: list[str] = []
    other_types: tuple[str, ...] = ()
    if gene_type is not None:
        columns = [c for c in ("gene_type", "gene_biotype") if c in genes.columns]
        if not columns:
            raise UserError(
                f"{path}: GTF has no gene_type/gene_biotype attribute to filter on; "
                "pass --all-genes to use every gene"
            )
        types = genes[columns[0]]
        for other in columns[1:]:  # GENCODE and Ensembl records in one file
            types = types.fillna(genes[other])
        counts = types.value_counts()
        if types.isna().any() and types.notna().any():
            n = int(genes.loc[types.isna(), "gene_id"].nunique())
            untyped.append(
                f"{path}: {n} gene{'s' if n != 1 else ''} with neither gene_type nor gene_biotype "
                f"{'are' if n != 1 else 'is'} left out as not {gene_type!r}; pass --all-genes to keep them"
            )
        other_types = tuple(genes.loc[types.notna() & (types != gene_type), "gene_id"].tolist())
        genes = genes[types == gene_type]
        if genes.empty:
            have = ", ".join(f"{t} ({n:,})" for t, n in counts.head(8).items())
            raise UserError(
                f"{path}: no genes of type {gene_type!r}; this GTF has {have}{' …' if len(counts) > 8 else ''}: "
                "pick one with --gene-type, or pass --all-genes"
            )
    gene_id = normalise_gene_ids(genes["gene_id"])
    names = genes["gene_name"] if "gene_name" in genes.columns else gene_id
    spans = pd.DataFrame(
        {
            "gene_id": gene_id.to_numpy(),
            "gene_name": names.fillna(gene_id).astype(str).to_numpy(),
            "chrom": genes["Chromosome"].astype(str).to_numpy(),
            "strand": genes["Strand"].astype(str).to_numpy(),
            "start": genes["Start"].to_numpy() + 1,
            "end": genes["End"].to_numpy(),
        }
    )
    best, resolved, notes, several = _one_locus_per_gene(spans)
    best = best.assign(tss=best["start"].where(best["strand"] != "-", best["end"]))
    table = best[GENE_COLUMNS].sort_values(["chrom", "tss"], kind="stable").reset_index(drop=True)
    warnings = [f"{path}: {w}" for w in several]
    strands = table["strand"].unique()
    if len(table) >= ONE_STRAND_GENES and len(strands) == 1:
        warnings.append(
            f"{path}: all {len(table):,} genes are on the {strands[0]} strand (strands lost?): a gene of the "
            "other strand would have its window read backwards; give the annotation with its strands"
        )
    return GeneTable(table, resolved, placed + notes, skipped + untyped + warnings, gene_type, other_types)


def gtf_build(path: str | Path) -> str | None:
    """The genome build a GTF names: in its ``#`` header (GENCODE, Ensembl, RefSeq styles), else in
    its file name (UCSC's ``hg38.ncbiRefSeq.gtf.gz``, Ensembl's ``Homo_sapiens.GRCh38.110.gtf``)."""
    path = Path(path)
    header = []
    try:
        handle, _ = open_text(path, "GTF", "give a GTF")
        with handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                header.append(line)
    except (OSError, EOFError, UserError):
        return None
    return build_from_gtf_header(header) or build_from_file_name(path.name)


def read_tss(path: str | Path, gene_type: str | None = "protein_coding") -> pd.DataFrame:
    """:func:`read_genes`' gene table alone (one row per gene, columns :data:`GENE_COLUMNS`)."""
    return read_genes(path, gene_type).genes


_ATTRIBUTES = {key: re.compile(rf'(?:^|;)\s*{key}\s+"?([^";]*)"?') for key in ("gene_id", "transcript_id")}


def _transcript_pairs(path: Path, feature: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for _, _, line in _records(path, (feature,)):
        gene = _gene_id(line)
        tx = _ATTRIBUTES["transcript_id"].search(line.rstrip("\n").rsplit("\t", 1)[-1])
        if gene and tx and tx.group(1):
            mapping.setdefault(normalise_gene_id(tx.group(1)), normalise_gene_id(gene))
    return mapping


def transcript_gene_map(path: str | Path) -> dict[str, str]:
    """Normalised transcript id → normalised gene id, from the GTF's ``transcript`` records.

    Ids are normalised like gene ids (:func:`chromepredict.io.ids.normalise_gene_id`: Ensembl
    versions and ``_PAR_Y`` stripped, so ``ENST00000456328.2`` → ``ENST00000456328``). A GTF
    without transcript records falls back to its exon records. Streams the file: a full GENCODE
    GTF never goes through pyranges. A transcript listed under two genes keeps the first.
    """
    path = Path(path)
    mapping = _transcript_pairs(path, "transcript") or _transcript_pairs(path, "exon")
    if not mapping:
        raise UserError(
            f"{path}: GTF has no transcript records with gene_id and transcript_id; "
            "give a GENCODE/Ensembl GTF with transcript lines"
        )
    return mapping


def _aliases(chrom: str) -> list[str]:
    """Spellings of one chromosome across conventions: chr1↔1, chrM↔MT."""
    bare = _bare(chrom)
    names = [chrom, bare, "chr" + bare]
    if bare.upper() in ("M", "MT"):
        names += ["chrM", "MT", "M", "chrMT"]
    return names


def match_chroms(gene_chroms: list[str], track_chroms: set[str]) -> dict[str, str]:
    """Map each annotation chromosome name to the track's spelling; absent ones are left out."""
    matched = {}
    for chrom in gene_chroms:
        hit = next((alias for alias in _aliases(chrom) if alias in track_chroms), None)
        if hit is not None:
            matched[chrom] = hit
    return matched
