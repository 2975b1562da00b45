"""``chromepredict models``: the pretrained models, one tab-separated line each."""

from __future__ import annotations

from chromepredict import DEFAULT_MODEL
from chromepredict.card import genome_builds
from chromepredict.errors import UserError
from chromepredict.zoo import available

COLUMNS = [
    "name",
    "target",
    "cell_types",
    "marks",
    "genome",
    "training_genes",
    "cross_validated",
    "description",
]


def listing() -> str:
    cards = available()
    if not cards:
        raise UserError("no pretrained models are installed; reinstall chromepredict")
    lines = ["\t".join(COLUMNS)]
    for name, card in cards.items():
        scores = card["metrics"].get("cross_validated", {})
        metric = "AUC" if card["target"] == "class" else "Spearman"
        cv = ", ".join(f"{k} {metric} {v:.3f}" for k, v in scores.items())
        default = " (default)" if name == DEFAULT_MODEL else ""
        fields = [
            name, card["target"], ",".join(card.get("cell_types", [])), ",".join(card["inputs"]["marks"]),
            ",".join(genome_builds(card)), str(len(card["training_data"]["gene_ids"])), cv, card.get("description", "") + default,
        ]  # fmt: skip
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"
