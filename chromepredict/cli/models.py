"""``chromepredict models``: the pretrained models, as a table."""

from __future__ import annotations

from chromepredict.cli.app import command, show_table
from chromepredict.cli.options import TsvFlag
from chromepredict.cli.rules import FREE
from chromepredict.system.errors import UserError

RULES = {"tsv": FREE}


@command(RULES, short_help="List the pretrained models and their cross-validated scores.")
def models(tsv: TsvFlag = False) -> None:
    """List the pretrained models: name, target, cell types, marks, genome builds, training genes,
    cross-validated score (a table on a terminal, tab-separated when piped or with --tsv)."""
    from chromepredict import DEFAULT_MODEL, api

    table = api.pretrained_models()
    if table.empty:
        raise UserError("no pretrained models are installed; reinstall chromepredict")
    table["description"] = [
        d + (" (default)" if n == DEFAULT_MODEL else "")
        for n, d in zip(table["name"], table["description"], strict=True)
    ]
    show_table(table, tsv)
