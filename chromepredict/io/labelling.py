"""Labels for a feature set: an expression table read for a GTF, matched to the genes, turned into
high/low labels by its median rule (or taken as they are from a 0/1 column) and levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from chromepredict.io.expression import Expression, Matched, looks_logged
from chromepredict.io.features import FeatureSet, Provenance
from chromepredict.io.ids import normalise_gene_ids
from chromepredict.system.errors import UserError


def read_expression_for(path: str, column: str | None, gtf: str | None):
    """An expression table; a transcript-level one is summed per gene with the GTF's transcripts."""
    from chromepredict.io.annotation import transcript_gene_map
    from chromepredict.io.expression import read_expression

    return read_expression(path, column, (lambda: transcript_gene_map(gtf)) if gtf else None)


#: A table this share or more of whose genes the GTF gives another type than the run's (the lncRNAs
#: and pseudogenes of a GENCODE-wide quantification) has its high/low median moved by them.
OTHER_TYPES_SHARE = 0.1


def median_caveat(expression: Expression, provenance: Provenance, matched: Matched) -> str | None:
    """A warning when the table's median rule (high/low labels) runs over many genes the GTF gives
    another type than the run's (``provenance``: of the genes read; ``matched``: the table on them)."""
    if expression.is_labels or provenance.gene_type is None or not provenance.other_types:
        return None
    other = expression.values.index.isin(normalise_gene_ids(pd.Series(provenance.other_types, dtype=str)))
    if other.mean() < OTHER_TYPES_SHARE:
        return None
    own = float(expression.values[~other].median())
    scored = matched.values.dropna()
    changed = int(((scored > expression.median) != (scored > own)).sum())
    kind = provenance.gene_type
    return (
        f"{expression.source}: {int(other.sum()):,} of its {len(other):,} genes are not {kind} in the GTF: "
        f"its high/low median ({expression.median:.3g}) is taken over them too, {own:.3g} over its {kind} "
        f"genes alone, which would label {changed} of the {len(scored):,} genes scored otherwise; give a "
        f"table of {kind} genes only"
    )


def with_expression(data: FeatureSet, expression) -> FeatureSet:
    """The genes with a value in ``expression`` (an :class:`~chromepredict.io.expression.Expression`),
    labelled high/low by its median rule (or its 0/1 labels) and with their level log2(1 + value)."""
    matched = expression.match(data.genes)
    known = matched.values.notna().to_numpy()
    if not known.any():
        raise UserError(
            f"{expression.source}: no gene of the input matches the table by gene id or name (e.g. "
            f"{', '.join(data.genes['gene_id'].head(2))} in the GTF; "
            f"{', '.join(expression.values.index[:2].astype(str))} in the table); "
            "use an expression table of the same annotation"
        )
    labelled = data.subset(known)
    labelled.labels = matched.labels[known].to_numpy(np.int8)
    labelled.levels = None if expression.is_labels else matched.levels[known].to_numpy(np.float64)
    labelled.provenance.labels_from = expression.describe()
    labelled.provenance.units = expression.column
    labelled.provenance.log_scale = looks_logged(expression)
    labelled.provenance.notes.extend(expression.notes + matched.notes)
    labelled.provenance.warnings.extend(matched.warnings)
    caveat = median_caveat(expression, data.provenance, matched)
    labelled.provenance.median_caveats = [caveat] if caveat else []
    if matched.n_unmatched:
        labelled.provenance.notes.append(
            f"{matched.n_unmatched} genes have no value in {expression.source} and are left out"
        )
    return labelled
