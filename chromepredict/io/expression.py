"""Expression tables → per-gene values and high/low labels by the median rule.

Reads the common quantifier outputs (RSEM ``genes.results``/``isoforms.results``, salmon
``quant.sf``/``quant.genes.sf``, kallisto ``abundance.tsv``, featureCounts) and plain tables,
chooses the expression column from the table's format (never a length column), sums
transcript-level tables per gene and merges duplicate ids. Every choice is recorded as a one-line
note in :attr:`Expression.notes` for the CLI to print.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chromepredict.io.ids import normalise_gene_id, normalise_gene_ids
from chromepredict.system.errors import UserError, require_file
from chromepredict.system.formats import read_text, table_problem

#: Generic tables: the id column is the first of these (case-insensitive), else the first column.
ID_COLUMNS = ("gene_id", "geneid", "gene", "id", "ensembl_gene_id", "ensembl_id", "name", "target_id")
#: Generic tables: the gene-name column is the first of these that is not the id column.
NAME_COLUMNS = (
    "gene_name",
    "gene_symbol",
    "symbol",
    "external_gene_name",
    "hgnc_symbol",
    "genename",
    "genesymbol",
    "name",
    "gene",
)
#: Numeric columns that are never expression (compared lower-case without punctuation).
_NOT_EXPRESSION = {
    "length",
    "effectivelength",
    "efflength",
    "efflen",
    "genelength",
    "transcriptlength",
    "start",
    "end",
    "chr",
    "chrom",
    "chromosome",
    "strand",
    "position",
    "pos",
    "width",
    "size",
    "gc",
    "gccontent",
    "isopct",
    "exons",
    "exoncount",
}
#: Column-name words that mark an expression unit, with their preference (lower is better).
_UNIT_RANK = {
    "tpm": 0,
    "fpkm": 1,
    "rpkm": 2,
    "cpm": 3,
    "rpm": 4,
    "counts": 4,
    "count": 4,
    "expectedcount": 4,
    "estcounts": 4,
    "numreads": 4,
    "reads": 4,
    "expression": 4,
    "expr": 4,
    "value": 4,
}
_ENSEMBL_GENE = re.compile(r"^ENS[A-Z]*G\d+$")
_ENSEMBL_ANY = re.compile(r"^ENS[A-Z]*\d+$")
#: Transcript ids: Ensembl (ENST, ENSMUST, …), RefSeq (NM_, NR_, XM_, XR_), FlyBase.
_TRANSCRIPT = re.compile(r"^(ENS[A-Z]*T\d+|[NX][MR]_\d+(\.\d+)?|FBtr\d+)$")
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9._@-]*$")
_MAX_BAD_FRACTION = 0.01


def _ensembl_prefix(ids) -> str | None:
    """The Ensembl gene-id prefix most ids share (``ENSG`` human, ``ENSMUSG`` mouse…), if most do."""
    prefixes = pd.Series(list(ids), dtype=str).str.extract(r"^(ENS[A-Z]*G)\d{6}", expand=False)
    common = prefixes.value_counts()
    return str(common.index[0]) if len(common) and common.iloc[0] > len(prefixes) / 2 else None


@dataclass
class Matched:
    """Expression values aligned with a GTF's genes (NaN where a gene has no value)."""

    values: pd.Series  # aligned with the genes table's index; float, NaN where unmatched
    by: str  # "gene_id" or "gene_name"
    n_matched: int
    n_unmatched: int
    median: float  # the expression table's median (over all its genes, not just the matched ones)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a match that is probably wrong

    @property
    def labels(self) -> pd.Series:
        """1.0 = high (value above the table's median), 0.0 = low, NaN = unmatched."""
        return (self.values > self.median).astype(float).where(self.values.notna())

    @property
    def levels(self) -> pd.Series:
        """log2(1 + value), NaN where unmatched."""
        return np.log2(1.0 + self.values)


@dataclass
class Expression:
    """Expression values per gene, where they came from, and the median that splits high from low."""

    values: pd.Series  # float, indexed by normalised gene id (one entry per gene)
    names: pd.Series | None  # gene name per id, when the table has a name column
    median: float
    source: str
    column: str
    table_format: str
    notes: list[str] = field(default_factory=list)
    #: the column holds 0/1 labels (1 = high), not expression: taken as they are, no median rule
    is_labels: bool = False
    warnings: list[str] = field(default_factory=list)  # the table is probably not what it should be

    @property
    def labels(self) -> pd.Series:
        """1 = high (value above the median over all genes of the table, or a 1 in a 0/1 column), 0 = low."""
        return (self.values > self.median).astype(np.int8)

    def describe(self) -> str:
        """One line: file, format, column, gene count, median, and how many genes are high and low."""
        n_high = int(self.labels.sum())
        n = len(self.values)
        rule = "0/1 labels (1 = high)" if self.is_labels else f"median {_fmt(self.median)}"
        return (
            f"{Path(self.source).name}: {self.table_format}, column {self.column}; {n:,} genes, "
            f"{rule}, {n_high:,} high / {n - n_high:,} low"
        )

    def match(self, genes: pd.DataFrame) -> Matched:
        """Values for the GTF's ``genes`` (columns gene_id, gene_name): by gene id, else by gene name.

        Names are used only when fewer than half of the genes match by id, the table has gene names
        (or its ids look like gene symbols) and more genes match by name. Names that occur more than
        once (in the table, or among the GTF's matched names) are ambiguous and stay unmatched.
        """
        gtf_ids = normalise_gene_ids(genes["gene_id"])
        by_id = pd.Series(gtf_ids.map(self.values).to_numpy(float), index=genes.index)
        n_id = int(by_id.notna().sum())
        keys = self._name_keys()
        if keys is not None and n_id < len(genes) / 2:
            gtf_names = genes["gene_name"].fillna("").astype(str).str.strip().str.upper()
            counts = keys.value_counts()
            ambiguous_in_table = set(counts.index[counts > 1])
            unique = keys[~keys.isin(ambiguous_in_table)]
            value_of = pd.Series(self.values.reindex(unique.index).to_numpy(float), index=unique.to_numpy())
            in_table = gtf_names.isin(ambiguous_in_table) & gtf_names.ne("")
            in_gtf = gtf_names.duplicated(keep=False) & gtf_names.isin(value_of.index) & ~in_table
            by_name = pd.Series(gtf_names.map(value_of).to_numpy(float), index=genes.index)
            by_name[in_table | in_gtf] = np.nan
            n_name = int(by_name.notna().sum())
            if n_name > n_id:
                name = Path(self.source).name
                notes = [
                    f"gene ids of {name} do not match the GTF's; matched {n_name:,} genes by gene name instead"
                ]
                if in_table.any():
                    notes.append(
                        f"{int(in_table.sum()):,} genes left unmatched: their names occur more than once in {name}"
                    )
                if in_gtf.any():
                    notes.append(
                        f"{int(in_gtf.sum()):,} genes left unmatched: their names occur more than once in the GTF"
                    )
                warnings = []
                species = _ensembl_prefix(self.values.index), _ensembl_prefix(gtf_ids)
                if None not in species and species[0] != species[1]:
                    warnings.append(
                        f"gene ids of {name} are {species[0]}… and the GTF's {species[1]}…: another species? "
                        f"{n_name:,} genes were matched by name, which may pair different genes; give a "
                        "table of the GTF's species"
                    )
                return Matched(
                    by_name, "gene_name", n_name, len(genes) - n_name, self.median, notes,
                    [*self.warnings, *warnings],
                )  # fmt: skip
        notes = []
        if n_id < len(genes) / 2:
            notes.append(
                f"only {n_id:,} of {len(genes):,} genes have a value in {Path(self.source).name}; "
                "check that the table and the GTF use the same gene ids"
            )
        return Matched(by_id, "gene_id", n_id, len(genes) - n_id, self.median, notes, list(self.warnings))

    def _name_keys(self) -> pd.Series | None:
        """Upper-case gene names indexed by gene id, for matching by name; None if the table has none."""
        if self.names is not None and len(self.names):
            return self.names.astype(str).str.strip().str.upper()
        ids = self.values.index.to_series()
        symbol = ids.str.match(_SYMBOL) & ~ids.str.match(_ENSEMBL_ANY) & ~ids.str.match(_TRANSCRIPT)
        if len(ids) and symbol.mean() > 0.5:
            return ids[symbol].str.upper()
        return None


#: Tables of fewer values say too little about their units to compare them.
UNITS_MIN_GENES = 100
#: A table of this many genes or more with none below 1 (in its unit) was filtered to expressed
#: genes: in every cell type many genes are silent (below 1 TPM, FPKM or RPKM).
FILTERED_ROWS = 1000
#: Typical values (medians of the values above 0) this many times apart are not one unit.
UNITS_FOLD = 10.0


@dataclass(frozen=True)
class Units:
    """What an expression table's values look like, from the values alone: ``counts`` (whole
    numbers, some large: raw read counts), ``log`` (at most ~30, mostly not whole: log2(TPM + 1) and
    the like) or ``linear`` (anything else: TPM, FPKM, RPKM, CPM, expected counts)."""

    kind: str
    median: float  # of the values above 0
    total: float

    def describe(self) -> str:
        if self.kind == "counts":
            return f"whole numbers summing to {self.total:.3g} (raw read counts?)"
        if self.kind == "log":
            return f"values on a log scale (median {self.median:.3g}, none above 30)"
        return f"values with median {self.median:.3g} (normalised: TPM, FPKM, RPKM?)"


def units_of(values: pd.Series) -> Units | None:
    """The :class:`Units` of an expression table's values (None for fewer than
    :data:`UNITS_MIN_GENES` values, or none above 0)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    positive = v[v > 0]
    if len(v) < UNITS_MIN_GENES or not len(positive):
        return None
    whole = float(np.mean(positive == np.round(positive)))
    if whole >= 0.99 and positive.max() > 100:
        kind = "counts"
    elif positive.max() <= 30 and whole < 0.5:
        kind = "log"
    else:
        kind = "linear"
    return Units(kind, float(np.median(positive)), float(v.sum()))


def looks_logged(expression: Expression) -> str | None:
    """What to say when a table's values look log-transformed already: levels are log2(1 + value)
    of a linear unit, so they would be logged twice (high/low labels are not changed by a log)."""
    units = None if expression.is_labels else units_of(expression.values)
    if units is None or units.kind != "log":
        return None
    return (
        f"{expression.source} holds {units.describe()}: expression levels are log2(1 + value) of a linear "
        "unit, so these would be logged twice; give the values before the log (TPM, FPKM, RPKM)"
    )


def units_mismatch(first: Expression, second: Expression, pooled: bool = False) -> str | None:
    """Why two samples' tables are probably not in one unit (raw counts against TPM, log against
    linear, or typical values :data:`UNITS_FOLD` times apart), or None: a measured change between
    them would shift every gene (``pooled``: one model of both samples' levels would learn two scales)."""
    if first.is_labels or second.is_labels:
        return None
    a, b = units_of(first.values), units_of(second.values)
    if a is None or b is None:
        return None
    names = Path(first.source).name, Path(second.source).name
    fix = "give both samples' tables in one unit (e.g. TPM from one quantifier)"
    what, harm = (
        ("one model of their levels", "learn two scales")
        if pooled
        else ("the change between them", "shift every gene")
    )
    if a.kind != b.kind:
        return f"{names[0]} holds {a.describe()} and {names[1]} {b.describe()}: {what} mixes units; {fix}"
    fold = max(a.median, b.median) / min(a.median, b.median)
    if a.kind != "log" and fold > UNITS_FOLD:
        return (
            f"the typical values of {names[0]} ({a.median:.3g}) and {names[1]} ({b.median:.3g}) are {fold:.0f}-fold "
            f"apart: different units or normalisations? {what[0].upper()}{what[1:]} would {harm}; {fix}"
        )
    return None


@dataclass
class _Layout:
    """What a table holds: its format and which columns to use."""

    table_format: str
    id_col: str
    value_col: str
    why: str
    name_col: str | None = None
    gene_col: str | None = None  # RSEM isoforms.results: the gene of each transcript
    length_col: str | None = None  # featureCounts: convert the counts to TPM with this


def read_expression(
    path: str | Path,
    column: str | None = None,
    transcript_to_gene: Callable[[], Mapping[str, str]] | None = None,
) -> Expression:
    """Read an expression table (RSEM, salmon, kallisto, featureCounts or a plain TSV/CSV).

    ``column`` (the CLI's ``--expression-column``) names the value column and overrides the
    choice made from the table's format. ``transcript_to_gene`` (called only for a transcript-level
    table: transcript id → gene id, e.g. from the GTF's transcript records) lets it be summed per gene. The median is
    taken over every row of the (gene-level) table, as in the paper; duplicate ids are then
    merged by their mean.
    """
    path = Path(path)
    require_file(path, "expression table", "check the --expression path")
    table, notes = _read_table(path)
    warnings: list[str] = []
    layout = _layout(table, path, column)
    notes.insert(0, f"{layout.table_format}: using column {layout.value_col} ({layout.why})")
    if _is_not_expression(layout.value_col):
        notes.append(f"column {layout.value_col} looks like a length or coordinate, not expression")

    ids = table[layout.id_col].astype(str).str.strip()
    values = _numbers(table[layout.value_col])
    n_rows = len(table)
    bad = values.isna()
    if bad.any():
        if bad.sum() >= _MAX_BAD_FRACTION * n_rows:
            raise UserError(
                f"{path}: column {layout.value_col!r} has {int(bad.sum()):,} of {n_rows:,} values missing "
                "or non-numeric; fix or remove those rows, or choose another column with --expression-column NAME"
            )
        notes.append(f"dropped {int(bad.sum()):,} rows with a missing or non-numeric {layout.value_col}")
    no_id = ids.eq("") & ~bad
    if no_id.any():
        notes.append(f"dropped {int(no_id.sum()):,} rows without a gene id")
    keep = (~bad & ~no_id).to_numpy()
    table, ids, values = table[keep], ids[keep], values[keep]
    if not len(values):
        raise UserError(f"{path}: no rows with a gene id and a value; give a table with one row per gene")
    if (values < 0).any():
        raise UserError(
            f"{path}: column {layout.value_col!r} has {int((values < 0).sum()):,} negative values; "
            "give unlogged expression (TPM, FPKM, RPKM or counts) or choose another column with --expression-column NAME"
        )
    if layout.length_col is not None:
        values = _counts_to_tpm(values, _numbers(table[layout.length_col]), layout, path)
        notes.append(
            f"converted the counts of {layout.value_col} to TPM with the {layout.length_col} column "
            "(reads per kilobase, scaled to sum 1e6)"
        )

    names = table[layout.name_col].astype(str).str.strip() if layout.name_col else None
    genes_of = _gene_ids(table[layout.gene_col]) if layout.gene_col else None
    map_source = f"its {layout.gene_col} column" if layout.gene_col else ""
    if genes_of is None and ids.str.contains("|", regex=False).mean() > 0.5:
        ids, genes_of, names = _split_fasta_headers(ids, names, notes)
        map_source = "the gene ids in its transcript names" if genes_of is not None else ""
    norm = normalise_gene_ids(ids)

    if genes_of is None:
        genes_of, map_source = _transcript_genes(norm, transcript_to_gene, layout, path)
    if genes_of is not None:
        values, names = _sum_per_gene(norm, genes_of, values, names, layout, map_source, notes)
        median = float(values.median())
    else:
        values = pd.Series(values.to_numpy(float), index=pd.Index(norm.to_numpy(), name="gene_id"))
        # the paper's rule: the median over every gene (row) of the table
        median = float(values.median())
        values = _merge_duplicates(values, ids, notes, warnings, path)
        if names is not None:
            names = pd.Series(names.to_numpy(), index=norm.to_numpy())
            names = names[_has_text(names)].groupby(level=0, sort=False).first()
    if names is not None:
        names.index.name = "gene_id"
        names.name = "gene_name"
        names = names.reindex(values.index).dropna()
    values.name = layout.value_col
    is_labels = bool(len(values) > 1 and values.isin([0.0, 1.0]).all() and values.nunique() == 2)
    if is_labels:
        median = 0.5  # a 1 is high, a 0 low
        notes.append(f"column {layout.value_col} holds only 0 and 1: read as high/low labels (1 = high)")
    elif len(values) >= FILTERED_ROWS and (values >= 1).all():
        warnings.append(
            f"{path}: none of its {len(values):,} genes is below 1 {layout.value_col} (filtered to expressed "
            f"genes?): its high/low median ({_fmt(median)}) and any change measured against it leave out "
            "the silent genes; give the table before filtering"
        )
    return Expression(
        values=values,
        names=names,
        median=median,
        source=str(path),
        column=layout.value_col,
        table_format=layout.table_format,
        notes=notes,
        is_labels=is_labels,
        warnings=warnings,
    )


# -- reading ---------------------------------------------------------------------------------------


def _read_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The table as strings (``#`` comment lines skipped, separator sniffed, optional gzip)."""
    notes: list[str] = []
    try:
        text, encoding = read_text(path, "expression table", "give a TSV or CSV of gene ids and values")
    except (OSError, EOFError) as exc:
        raise UserError(
            f"{path}: cannot read the expression table ({_one_line(exc)}); give a TSV or CSV file"
        ) from None
    if encoding:
        notes.append(encoding)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise UserError(
            f"{path}: the expression table is empty; give a TSV or CSV with a header and one row per gene"
        )
    header = lines[0]
    sep = "\t" if "\t" in header else ";" if ";" in header else "," if "," in header else r"\s+"
    if sep == ";":  # a spreadsheet's CSV where the comma is the decimal mark: 1,5 is 1.5
        # and a point groups thousands (Excel's #.##0 in such a locale): 5.827 is 5827, 4.398,5 is 4398.5
        # — only when every number with a point is such a grouping (12.25 or 0.5 says points are decimal)
        pointed = re.compile(r"(?<=[;\t])-?(\d+(?:\.\d+)+)(?:,\d+)?(?=[;\t]|$)")
        grouped = re.compile(r"(?<=[;\t])(-?[1-9]\d{0,2}(?:\.\d{3})+)(?=(?:,\d+)?(?:[;\t]|$))")
        decimal = re.compile(r"(?<=[;\t])(-?\d+),(\d+)(?=[;\t]|$)")
        points = [found.group(1) for line in lines[1:] for found in pointed.finditer(line)]
        grouping = bool(points) and all(re.fullmatch(r"[1-9]\d{0,2}(?:\.\d{3})+", p) for p in points)
        body = (
            [grouped.sub(lambda found: found.group(1).replace(".", ""), line) for line in lines[1:]]
            if grouping
            else lines[1:]
        )
        if any(decimal.search(line) for line in body):
            thousands = body != lines[1:]
            lines = [lines[0], *(decimal.sub(r"\1.\2", line) for line in body)]
            notes.append(
                "separator ';' with decimal commas (1,5 read as 1.5"
                + (", and points grouping thousands: 1.234 read as 1234)" if thousands else ")")
            )
    fields = (
        next(csv.reader([header], delimiter=sep)) if len(sep) == 1 else header.split()
    )  # the header's own fields
    headerless = len(fields) >= 2 and all(_is_number(f) for f in fields[1:])
    if headerless and len(fields) > 2:
        raise UserError(f"{path}: the expression table has no header line; add one naming the columns")
    try:
        table = pd.read_csv(
            io.StringIO("\n".join(lines)),
            sep=sep,
            engine="c" if len(sep) == 1 else "python",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
            header=None if headerless else 0,
            names=["gene_id", "value"] if headerless else None,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UserError(
            f"{path}: cannot read the expression table ({table_problem(exc)}); give a TSV or CSV with a header"
        ) from None
    if headerless:
        notes.append("no header line: read the columns as gene id and value")
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise UserError(f"{path}: the expression table has a header but no rows; give one row per gene")
    if table.shape[1] < 2:
        raise UserError(
            f"{path}: the expression table has one column; give a gene id column and a value column (TSV or CSV)"
        )
    return table, notes


def _layout(table: pd.DataFrame, path: Path, column: str | None) -> _Layout:
    """Recognise the table's format and choose its id, value (and name) columns."""
    cols = list(table.columns)
    keys = [_key(c) for c in cols]
    col = {k: c for k, c in reversed(list(zip(keys, cols)))}  # first column for each key
    chosen = _resolve_column(cols, column, path) if column is not None else None
    given = "given with --expression-column"

    def known(fmt: str, id_key: str, default: str, others: str, **kw) -> _Layout:
        if chosen is not None:
            return _Layout(fmt, col[id_key], chosen, given, **kw)
        return _Layout(fmt, col[id_key], col[default], f"{col[default]}, not {others}", **kw)

    rsem = {"geneid", "length", "effectivelength", "expectedcount", "tpm"}
    if rsem <= set(keys) and keys[0] == "geneid":
        return known("RSEM genes.results", "geneid", "tpm", "length or expected_count")
    if rsem <= set(keys) and keys[0] == "transcriptid":
        return known(
            "RSEM isoforms.results", "transcriptid", "tpm", "length or expected_count", gene_col=col["geneid"]
        )
    if {"name", "length", "effectivelength", "tpm", "numreads"} <= set(keys):
        fmt = "salmon quant.genes.sf" if path.name.lower().startswith("quant.genes") else "salmon quant.sf"
        return known(fmt, "name", "tpm", "Length or NumReads")
    if {"targetid", "length", "efflength", "estcounts", "tpm"} <= set(keys):
        return known("kallisto abundance.tsv", "targetid", "tpm", "length or est_counts")
    if keys[:6] == ["geneid", "chr", "start", "end", "strand", "length"]:
        samples = cols[6:]
        if chosen is not None:
            length_col = cols[5] if chosen in samples else None
            return _Layout("featureCounts", cols[0], chosen, given, length_col=length_col)
        if not samples:
            raise UserError(
                f"{path}: featureCounts table without a count column; give the table with its sample column"
            )
        if len(samples) > 1:
            raise UserError(
                f"{path}: featureCounts table with {len(samples)} sample columns ({', '.join(samples)}); "
                "choose one with --expression-column NAME"
            )
        return _Layout("featureCounts", cols[0], samples[0], "its only sample column", length_col=cols[5])

    lower: dict[str, str] = {}
    for c in cols:
        lower.setdefault(c.lower(), c)
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), cols[0])
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower and lower[c] != id_col), None)
    if name_col is not None and _numbers(table[name_col]).notna().mean() > 0.5:
        name_col = None  # numbers are not gene names
    if chosen is not None:
        if chosen == id_col:
            raise UserError(
                f"{path}: column {chosen!r} holds the gene ids; give the value column to --expression-column"
            )
        fmt = "two-column table" if len(cols) == 2 else "table"
        return _Layout(fmt, id_col, chosen, given, name_col=name_col if name_col != chosen else None)
    if len(cols) == 2 and not _is_not_expression(cols[1]) and _numbers(table[cols[1]]).notna().mean() > 0.5:
        return _Layout("two-column table", cols[0], cols[1], "the only value column")

    others = [c for c in cols if c not in (id_col, name_col)]
    parsed = {c: _numbers(table[c]).notna().mean() for c in others}
    lengths = [c for c in others if _is_not_expression(c) and parsed[c] > 0.5]
    candidates = [
        c
        for c in others
        if not _is_not_expression(c) and (parsed[c] > 0.5 or (_unit_rank(c) is not None and parsed[c] > 0))
    ]
    if not candidates:
        skipped = f" (only {', '.join(lengths)}, which are not expression)" if lengths else ""
        commas = [c for c in others if table[c].str.fullmatch(r"-?\d+,\d+").mean() > 0.5]
        if commas:
            raise UserError(
                f"{path}: column {commas[0]} holds numbers with a comma ({table[commas[0]].iloc[0]}): a decimal "
                "comma or a thousands separator cannot be told apart here; save the table with decimal points "
                "(or as a ';'-separated CSV, whose commas are decimal marks)"
            )
        raise UserError(
            f"{path}: no numeric expression column{skipped}; give a gene id column and a value column "
            "(e.g. TPM), or name the column with --expression-column NAME"
        )
    ranks = {c: rank for c in candidates if (rank := _unit_rank(c)) is not None}
    ranked = list(ranks)
    if ranked:
        best = min(ranks.values())
        top = [c for c in ranked if ranks[c] == best]
        if len(top) == 1:
            passed = [c for c in ranked if c != top[0]]
            why = "named like an expression unit" + (
                f"; preferred over {', '.join(passed)}" if passed else ""
            )
            return _Layout("table", id_col, top[0], why, name_col=name_col)
        candidates = top
    if len(candidates) == 1:
        return _Layout("table", id_col, candidates[0], "the only numeric column", name_col=name_col)
    raise UserError(
        f"{path}: several columns could hold the expression ({', '.join(candidates)}); "
        "choose one with --expression-column NAME"
    )


def _resolve_column(cols: list[str], column: str, path: Path) -> str:
    if column in cols:
        return column
    folded = [c for c in cols if c.lower() == column.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    raise UserError(f"{path}: no column {column!r}; the columns are {', '.join(cols)}")


# -- values ----------------------------------------------------------------------------------------


def _counts_to_tpm(counts: pd.Series, lengths: pd.Series, layout: _Layout, path: Path) -> pd.Series:
    """featureCounts counts → TPM: reads per kilobase of the Length column, scaled to sum 1e6."""
    if lengths.isna().any() or (lengths <= 0).any():
        raise UserError(
            f"{path}: the {layout.length_col} column has missing or non-positive lengths; "
            "give featureCounts' table unchanged"
        )
    per_kb = counts / (lengths / 1000.0)
    if per_kb.sum() <= 0:
        raise UserError(f"{path}: all counts in {layout.value_col} are zero; give the sample's counts")
    return per_kb / per_kb.sum() * 1e6


def _split_fasta_headers(
    ids: pd.Series, names: pd.Series | None, notes: list[str]
) -> tuple[pd.Series, pd.Series | None, pd.Series | None]:
    """GENCODE FASTA headers ``ENST…|ENSG…|…|…|tx-name|gene-name|…`` → transcript id, gene id, name."""
    parts = ids.str.split("|", regex=False)
    notes.append("ids are '|'-separated FASTA headers; used their first field as the id")
    transcripts = parts.str[0].str.strip()
    genes = parts.str[1].fillna("").str.strip()
    if not (
        normalise_gene_ids(transcripts).str.match(_TRANSCRIPT).mean() > 0.5
        and normalise_gene_ids(genes).str.match(_ENSEMBL_GENE).mean() > 0.5
    ):
        return transcripts, None, names
    if names is None and parts.str.len().min() >= 6:
        names = parts.str[5].fillna("").str.strip()
    return transcripts, normalise_gene_ids(genes), names


def _transcript_genes(
    ids: pd.Series, transcript_to_gene: Callable[[], Mapping[str, str]] | None, layout: _Layout, path: Path
) -> tuple[pd.Series | None, str]:
    """The gene of each id when the table is transcript-level (kallisto's always is; otherwise ids
    shaped like transcript ids tell), else None."""
    if layout.table_format != "kallisto abundance.tsv" and ids.str.match(_TRANSCRIPT).mean() <= 0.5:
        return None, ""
    example = ids.iloc[0]
    if transcript_to_gene is None:
        raise UserError(
            f"{path}: {_the(layout.table_format)} is transcript-level (ids such as {example}); "
            "give the GTF's transcript records (transcript_id → gene_id) to sum transcripts per gene, "
            "or a gene-level table such as salmon's quant.genes.sf"
        )
    mapping = {normalise_gene_id(t): normalise_gene_id(g) for t, g in transcript_to_gene().items()}
    covered = ids.isin(mapping.keys()).mean()
    if covered <= 0.5:
        raise UserError(
            f"{path}: only {covered:.0%} of the transcript ids (such as {example}) are in the GTF's "
            "transcript records; give the GTF used for quantification, or a gene-level table"
        )
    return ids.map(mapping), "the GTF's transcript records"


def _sum_per_gene(
    transcripts: pd.Series,
    genes_of: pd.Series,
    values: pd.Series,
    names: pd.Series | None,
    layout: _Layout,
    map_source: str,
    notes: list[str],
) -> tuple[pd.Series, pd.Series | None]:
    """Sum a transcript-level table per gene (TPM, FPKM and counts are all additive)."""
    genes_of = pd.Series(genes_of.to_numpy(), index=transcripts.index)
    known = genes_of.notna() & genes_of.astype(str).ne("")
    unmapped = int((~known).sum())
    gene_index = pd.Index(genes_of[known].to_numpy(), name="gene_id")
    summed = pd.Series(values[known].to_numpy(float), index=gene_index).groupby(level=0, sort=False).sum()
    note = (
        f"summed {layout.value_col} of {int(known.sum()):,} transcripts into {len(summed):,} genes "
        f"(transcript → gene from {map_source})"
    )
    if unmapped:
        note += f"; {unmapped:,} transcripts without a gene dropped"
    notes.append(note)
    if names is not None:
        per_gene = pd.Series(names[known].to_numpy(), index=gene_index)
        names = per_gene[_has_text(per_gene)].groupby(level=0, sort=False).first()
    return summed, names


#: Repeated rows of one id whose values differ more than 2-fold (log2(1 + value) apart by more than
#: 1), for more than this share of the table's ids, are warned: two tables stacked, or several rows
#: per gene (probes), whose mean may be no sample's value. Identical repeats are only noted.
CONFLICTING_SHARE = 0.1


def _merge_duplicates(
    values: pd.Series, raw_ids: pd.Series, notes: list[str], warnings: list[str], path: Path
) -> pd.Series:
    """One value per normalised id: duplicates (repeats, versions, _PAR_Y copies) merged by their mean."""
    dup = values.index.duplicated(keep=False)
    if not dup.any():
        return values
    groups = pd.Series(raw_ids.to_numpy()[dup], index=values.index[dup]).groupby(level=0).nunique()
    kinds = []
    if (groups == 1).any():
        kinds.append("repeated rows")
    if (groups > 1).any():
        kinds.append("versions or _PAR_Y copies")
    notes.append(f"{len(groups):,} duplicate gene ids ({'; '.join(kinds)}) merged by their mean")
    repeated = pd.Series(
        np.log2(1.0 + values.to_numpy(float)), index=raw_ids.to_numpy()
    )  # by the id as written: a version's or _PAR_Y copy's own value is no conflict
    by_id = repeated[repeated.index.duplicated(keep=False)].groupby(level=0)
    spread = by_id.max() - by_id.min()
    conflicting = int((spread > 1).sum())
    n_ids = values.index.nunique()
    if conflicting > CONFLICTING_SHARE * n_ids:
        warnings.append(
            f"{path}: {conflicting:,} of {n_ids:,} gene ids occur in several rows with values more than "
            "2-fold apart, merged by their mean: two samples' tables stacked, or several rows per gene? "
            "give one row per gene"
        )
    return values.groupby(level=0, sort=False).mean()


# -- helpers ---------------------------------------------------------------------------------------


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers of a string column; NaN for empty, non-numeric and non-finite values."""
    values = pd.to_numeric(column.astype(str).str.strip(), errors="coerce").astype(float)
    return values.where(np.isfinite(values))


def _gene_ids(column: pd.Series) -> pd.Series:
    """A gene-id column, normalised."""
    return normalise_gene_ids(column.astype(str).str.strip())


def _has_text(names: pd.Series) -> pd.Series:
    """Whether each name is a name (not empty, NA or a dash)."""
    return ~names.astype(str).str.strip().str.upper().isin(["", "NA", "NAN", "N/A", "NONE", "-", "."])


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _is_not_expression(name: str) -> bool:
    key = _key(name)
    return key in _NOT_EXPRESSION or key.endswith("length")


def _unit_rank(name: str) -> int | None:
    words = [w for w in re.split(r"[^a-z0-9]+", str(name).lower()) if w] + [_key(name)]
    ranks = [_UNIT_RANK[w] for w in words if w in _UNIT_RANK]
    return min(ranks) if ranks else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _the(table_format: str) -> str:
    return "the table" if table_format.endswith("table") else f"the {table_format} table"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
