"""A run's samples side by side: one summary row per sample (the same from ``predict --samplesheet``
and from the Snakemake workflow, which builds it from the predictions' JSON sidecars), as
``summary.tsv`` and as MultiQC custom content."""

from __future__ import annotations

import pandas as pd

from chromepredict.models.targets import Report

#: summary.tsv's columns, in this order in every run, whatever the model (README, "Samplesheets"):
#: a value that does not apply or is missing is NA; counts are whole numbers.
SUMMARY_COLUMNS = (
    "sample", "status", "genes", "high", "low", "auc", "spearman", "score_note", "n_warnings", "warnings", "error",
)  # fmt: skip
_COUNTS = ("genes", "high", "low", "n_warnings")


def summary_row(
    table: pd.DataFrame, report: Report, score: float | None, note: str | None, warnings: list[str]
) -> dict:
    """One sample's summary (without its name): status, genes, calls, the agreement with its
    expression table (or why there is none) and its warnings."""
    row: dict = {"status": "warning" if warnings else "ok", "genes": len(table), **report.counts(table)}
    if score is not None:
        row[report.score_column] = round(score, 4)
    elif note is not None:
        row["score_note"] = note
    row["n_warnings"] = len(warnings)
    row["warnings"] = " | ".join(" ".join(w.split()) for w in warnings) or None
    return row


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """The samples' summary rows in :data:`SUMMARY_COLUMNS` (a failed sample's counts are NA)."""
    table = pd.DataFrame(rows).reindex(columns=list(SUMMARY_COLUMNS))
    for column in _COUNTS:
        table[column] = table[column].astype("Int64")
    return table


def multiqc_table(summary: pd.DataFrame) -> str:
    """MultiQC custom content (``*_mqc.tsv``): the summary as a general-stats-like table, after the
    ``#`` lines MultiQC reads its settings from (the one table whose format asks for them)."""
    header = [
        "# id: 'chromepredict'",
        "# section_name: 'chromepredict'",
        "# description: 'Genes scored per sample by chromepredict (high/low calls, warnings, agreement with RNA-seq).'",
        "# format: 'tsv'",
        "# plot_type: 'table'",
    ]
    columns = ("sample", "status", "genes", "high", "low", "auc", "spearman", "n_warnings")
    table = summary[list(columns)].rename(columns={"n_warnings": "warnings"})
    return "\n".join(header) + "\n" + table.to_csv(sep="\t", index=False, na_rep="NA")
