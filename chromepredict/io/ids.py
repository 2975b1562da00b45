"""Gene identifiers: one normal form shared by the GTF reader, expression tables and CSVs."""

from __future__ import annotations

import re

import pandas as pd

#: ``ENSG00000182378.14_PAR_Y`` → ``ENSG00000182378``; ``ENSG00000000003.15`` → ``ENSG00000000003``.
#: Versions are stripped from Ensembl-style ids only: ``RP11-34P13.3`` is a name, not a version.
_ENSEMBL = re.compile(r"^(ENS[A-Z]*\d+)\.\d+")
_PAR_Y = re.compile(r"_PAR_Y$")


def normalise_gene_id(gene_id: str) -> str:
    """A gene id without its Ensembl version and without GENCODE's ``_PAR_Y`` suffix."""
    return _ENSEMBL.sub(r"\1", _PAR_Y.sub("", str(gene_id).strip()))


def normalise_gene_ids(ids: pd.Series) -> pd.Series:
    """:func:`normalise_gene_id` over a column."""
    stripped = ids.astype(str).str.strip().str.replace(_PAR_Y, "", regex=True)
    return stripped.str.replace(_ENSEMBL, r"\1", regex=True)
