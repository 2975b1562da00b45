"""Markdown tables of the shipped models' cross-validated scores, read from their cards.

    python benchmarks/cards.py            # per-view table, subset table, level table

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


def per_view(names: dict[str, tuple[str, str]]) -> str:
    """One row per view; one column per (model, cell type) of ``names``."""
    columns = {label: card(model)["metrics"]["per_view"] for label, (model, _) in names.items()}
    views = list(next(iter(columns.values())))
    lines = [row(["view", *names]), row(["---"] * (len(names) + 1))]
    for view in views:
        cells = [f"{columns[label][view][cell]:.3f}" for label, (_, cell) in names.items()]
        lines.append(row([f"`{view}`", *cells]))
    return "\n".join(lines)


def subsets(model: str) -> str:
    """Every subset of the marks, by size then by mean score, against all marks."""
    scores = card(model)["metrics"]["subsets"]
    full = scores["+".join(sorted(CORE))]
    cells = list(full)
    mean = lambda s: sum(s.values()) / len(s)  # noqa: E731
    order = sorted(scores, key=lambda key: (-len(key.split("+")), -mean(scores[key])))
    lines = [row(["marks given", *cells, "vs all five (mean)"]), row(["---"] * (len(cells) + 2))]
    for key in order:
        given = key.split("+")
        name = "all five" if len(given) == 5 else ", ".join(m for m in CORE if m in given)
        if len(given) == 4:
            name = "no " + next(m for m in CORE if m not in given)
        cells_text = [f"{scores[key][c]:.3f}" for c in cells]
        lines.append(row([name, *cells_text, f"{mean(scores[key]) - mean(full):+.3f}"]))
    return "\n".join(lines)


def main() -> None:
    print(
        per_view(
            {
                "E003 model on E003": ("E003", "E003"),
                "E123 model on E123": ("E123", "E123"),
                "default E003-E123 on E003": ("E003-E123", "E003"),
                "default E003-E123 on E123": ("E003-E123", "E123"),
            }
        )
    )
    print()
    print(subsets("E003-E123"))
    print()
    print(
        per_view(
            {
                "E003-level on E003": ("E003-level", "E003"),
                "E123-level on E123": ("E123-level", "E123"),
                "E003-E123-level on E003": ("E003-E123-level", "E003"),
                "E003-E123-level on E123": ("E003-E123-level", "E123"),
            }
        )
    )


if __name__ == "__main__":
    main()
