"""Explanations of a model's calls: class optimisation maps, bin influence, per-gene attributions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chromepredict.api.models import Model
from chromepredict.api.reporting import run_report
from chromepredict.api.samples import Sample
from chromepredict.io.sources import from_csv
from chromepredict.models import gate
from chromepredict.results.explanation import Explanation, MapSettings, find_genes
from chromepredict.results.explanation import explain as _explain
from chromepredict.system.errors import UserError
from chromepredict.system.extras import require_torch


def explain(
    model: Model,
    sample: Sample | None = None,
    *,
    genes: Sequence[str] | None = None,
    class_maps: bool = True,
    csv: str | Path | None = None,
    gtf: str | Path | None = None,
    lam: float = 0.009,
    steps: int = 1000,
    lr: float = 0.1,
    restarts: int = 5,
    seed: int = 0,
    threads: int = 1,
    strict: bool = False,
) -> Explanation:
    """Why ``model`` calls genes high or low (needs torch: ``pip install 'chromepredict[train]'``).

    1. Class optimisation maps (paper §3.3; ``class_maps=False`` skips them): per class, an input
       optimised to make the network sure of it (log-probability − ``lam``·‖X‖², RMSprop ``steps``
       at ``lr``, averaged over ``restarts``), scaled to its max; bins > 0.25 are active.
    2. Bin influence over the genes of ``sample`` (or a DeepChrome ``csv`` with its ``gtf``).
    3. With ``genes`` (ids or names), integrated-gradients attributions of each gene's value.

    Returns an :class:`~chromepredict.results.explanation.Explanation`: tables ``class_maps``,
    ``active_bins``, ``bin_influence``, ``attributions`` (DataFrames), ``plot(name)`` for a figure,
    ``write(folder)`` for what ``chromepredict explain`` writes. torch runs on ``threads`` threads.

    >>> found = cp.explain(model, sample, genes=["LIN28A"], steps=200)   # doctest: +SKIP
    >>> found.active_bins                                                  # doctest: +SKIP
    >>> found.plot("attribution_LIN28A.png")                               # doctest: +SKIP
    """
    from chromepredict.models.training import one_torch_thread

    require_torch("explain")
    report = run_report(strict)
    wanted = list(genes) if genes else []
    if sample is not None and csv is not None:
        raise UserError("give either bigWig tracks with --gtf, or --csv, not both")
    if wanted and sample is None and csv is None:
        raise UserError(
            "--genes and --bigwig need the genes' signal: give bigWig tracks with --gtf, or --csv"
        )
    if not class_maps and sample is None and csv is None:
        raise UserError(
            "--no-class-maps leaves nothing to explain without genes: give tracks with --gtf, or --csv"
        )
    data = None
    if csv is not None:
        data = gate.admit(model.loaded, from_csv(str(csv), str(gtf) if gtf else None), str(csv))
    elif sample is not None:
        data = gate.read(model.loaded, sample.inputs, report)
    if data is not None:
        report.provenance(data.provenance)
    rows = find_genes(data, wanted, report) if wanted and data is not None else {}  # before the optimisation
    maps = MapSettings(lam, steps, lr, restarts, seed) if class_maps else None
    with one_torch_thread(threads):
        return _explain(model.loaded, data, rows, report, maps)
