"""GTF → one TSS per gene (pyranges), gene-type filter, chromosome-name harmonisation."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from chromepredict.errors import UserError

#: Columns of the gene table every command passes around (tss is the 1-based GTF coordinate).
GENE_COLUMNS = ["gene_id", "gene_name", "chrom", "tss", "strand"]


def _gene_records(path: Path) -> list[str]:
    """The GTF's ``gene`` lines (its ``transcript`` lines if it has none), checked on the way.

    Filtering before pyranges parses the attributes keeps a full GENCODE GTF (2.5 M lines) to
    seconds instead of a minute and gigabytes (docs/benchmarks.md). Fails, with the fix, on a
    missing, binary, empty or non-GTF file.
    """
    if not path.is_file():
        raise UserError(f"{path}: GTF file not found; check the --gtf path")
    opener = gzip.open if path.suffix == ".gz" else open
    genes: list[str] = []
    transcripts: list[str] = []
    seen_record = False
    try:
        with opener(path, "rt") as handle:
            for line in handle:
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
                if feature == "gene":
                    genes.append(line)
                elif feature == "transcript" and not genes:
                    transcripts.append(line)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read as GTF text ({exc}); give a plain or gzipped GTF") from None
    if not seen_record:
        raise UserError(f"{path}: GTF has no records; give a GTF with gene or transcript lines")
    if not genes and not transcripts:
        raise UserError(f"{path}: GTF has neither gene nor transcript records")
    return genes or transcripts


def read_tss(path: str | Path, gene_type: str | None = "protein_coding") -> pd.DataFrame:
    """Read a GTF and return one row per gene: gene_id (version stripped), gene_name, chrom, tss, strand.

    ``tss`` is 1-based: the gene start on ``+`` and the gene end on ``-``. Gene records are used;
    a GTF without any falls back to transcripts, spanning each gene's transcripts.
    ``gene_type=None`` keeps every gene; otherwise genes are filtered on ``gene_type`` (GENCODE)
    or ``gene_biotype`` (Ensembl).
    """
    import pyranges as pr

    path = Path(path)
    records = _gene_records(path)
    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))  # pyranges 0.1 on new pandas
            subset = Path(tmp) / "records.gtf"
            subset.write_text("".join(records))
            genes = pr.read_gtf(str(subset), as_df=True)
    except Exception as exc:  # pyranges raises bare exceptions on malformed attributes
        raise UserError(f"{path}: malformed GTF ({exc}); check the attribute column (9th)") from None
    if "gene_id" not in genes.columns:
        raise UserError(f"{path}: GTF records have no gene_id attribute; give a GENCODE/Ensembl GTF")
    if gene_type is not None:
        type_col = next((c for c in ("gene_type", "gene_biotype") if c in genes.columns), None)
        if type_col is None:
            raise UserError(
                f"{path}: GTF has no gene_type/gene_biotype attribute to filter on; "
                "pass --all-genes to use every gene"
            )
        genes = genes[genes[type_col] == gene_type]
        if genes.empty:
            raise UserError(
                f"{path}: no genes of type {gene_type!r}; pick another --gene-type or pass --all-genes"
            )
    gene_id = genes["gene_id"].astype(str).str.replace(r"\.\d+$", "", regex=True)
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
    spans = spans.groupby("gene_id", sort=False).agg(
        gene_name=("gene_name", "first"),
        chrom=("chrom", "first"),
        strand=("strand", "first"),
        start=("start", "min"),
        end=("end", "max"),
    )
    spans["tss"] = spans["start"].where(spans["strand"] != "-", spans["end"])
    table = spans.reset_index()[GENE_COLUMNS]
    return table.sort_values(["chrom", "tss"], kind="stable").reset_index(drop=True)


def _aliases(chrom: str) -> list[str]:
    """Spellings of one chromosome across conventions: chr1↔1, chrM↔MT."""
    bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
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
