"""Markdown tables of the shipped models' cross-validated scores, read from their cards.

    python -m benchmarks.cards            # per-view table, subset table, level table, difference table

The numbers are what ``scripts/build_pretrained.py`` measured and sealed into each card
(``metrics.per_view`` and ``metrics.subsets``); this script only lays them out for
docs/benchmarks.md, so the document and the shipped models cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

PRETRAINED = Path(__file__).resolve().parents[1] / "chromepredict" / "pretrained"
CORE = ("H3K4me3", "H3K4me1", "H3K36me3", "H3K9me3", "H3K27me3")


def card(name: str) -> dict:
    return json.loads((PRETRAINED / name / "model.card.json").read_text())


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def per_view(models: list[str]) -> str:
    """One row per view; one column per model and cell type it was cross-validated on."""
    scores = {model: card(model)["metrics"]["per_view"] for model in models}
    columns = [(model, cell) for model in models for cell in next(iter(scores[model].values()))]
    lines = [row(["view", *(f"{m} on {c}" for m, c in columns)]), row(["---"] * (len(columns) + 1))]
    for view in scores[models[0]]:
        lines.append(row([f"`{view}`", *(f"{scores[m][view][c]:.3f}" for m, c in columns)]))
    return "\n".join(lines)


def subset_name(given: list[str]) -> str:
    if len(given) == len(CORE):
        return "all five"
    if len(given) == len(CORE) - 1:
        return "no " + next(m for m in CORE if m not in given)
    return ", ".join(m for m in CORE if m in given)


def subsets(model: str) -> str:
    """Every subset of the marks, by size then by mean score, against all marks."""
    scores = card(model)["metrics"]["subsets"]
    full = scores["+".join(sorted(CORE))]
    cells = list(full)

    def mean(of: dict) -> float:
        return sum(of.values()) / len(of)

    order = sorted(scores, key=lambda key: (-len(key.split("+")), -mean(scores[key])))
    lines = [row(["marks given", *cells, "vs all five (mean)"]), row(["---"] * (len(cells) + 2))]
    for key in order:
        values = [f"{scores[key][c]:.3f}" for c in cells]
        lines.append(row([subset_name(key.split("+")), *values, f"{mean(scores[key]) - mean(full):+.3f}"]))
    return "\n".join(lines)


def main() -> None:
    classifiers = ["E003", "E123", "E003-E123"]
    print(
        per_view(classifiers),
        subsets("E003-E123"),
        per_view([f"{m}-level" for m in classifiers]),
        per_view(["E003-E123-difference"]),
        sep="\n\n",
    )


if __name__ == "__main__":
    main()
