"""``chromepredict models``: the pretrained models, one tab-separated line each."""

from __future__ import annotations

import pandas as pd

from chromepredict import DEFAULT_MODEL
from chromepredict.models.zoo import available
from chromepredict.system.errors import UserError

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


def listing() -> pd.DataFrame:
    """One row per pretrained model."""
    cards = available()
    if not cards:
        raise UserError("no pretrained models are installed; reinstall chromepredict")
    rows = []
    for name, card in cards.items():
        metric = card.target_kind.metric_name
        cv = ", ".join(f"{k} {metric} {v:.3f}" for k, v in card.metrics.cross_validated.items())
        default = " (default)" if name == DEFAULT_MODEL else ""
        fields = [
            name, card.target, ",".join(card.cell_types), ",".join(card.inputs.marks), ",".join(card.genome_builds),
            str(len(card.training_data.gene_ids)), cv, (card.description or "") + default,
        ]  # fmt: skip
        rows.append(fields)
    return pd.DataFrame(rows, columns=COLUMNS)
