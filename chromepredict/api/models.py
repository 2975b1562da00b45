"""Models: a pretrained name, a ``.onnx`` file with its card, or a trained model's folder, ready to
score samples on the CPU with onnxruntime (no torch)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chromepredict.api.reporting import run_report
from chromepredict.api.samples import Sample
from chromepredict.io.features import WindowSpec
from chromepredict.io.labelling import read_expression_for
from chromepredict.models.card import ModelCard
from chromepredict.models.onnx_io import LoadedModel
from chromepredict.models.zoo import available, open_model
from chromepredict.results.scoring import Scored, resolve_threshold, score_sample


class Model:
    """A model with its card: what it predicts (``target``: class, level or difference), from which
    ``marks``, in which ``window``. Get one with :func:`load_model`; score samples with
    :meth:`predict`."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def target(self) -> str:
        """``class`` (P(high)), ``level`` (log2(1 + expression)) or ``difference`` (its change)."""
        return self.loaded.target.name

    @property
    def marks(self) -> tuple[str, ...]:
        return self.loaded.marks

    @property
    def window(self) -> WindowSpec:
        return self.loaded.spec

    @property
    def card(self) -> ModelCard:
        """The model's card: inputs, transform, training data, cross-validated scores, integrity."""
        return self.loaded.card

    @property
    def path(self) -> Path:
        return self.loaded.path

    def __repr__(self) -> str:
        window = self.window
        return (
            f"<Model {self.name}: {self.target}, marks {', '.join(self.marks)}, "
            f"TSS ± {window.flank:,} bp in {window.bin_size} bp bins>"
        )

    def score(
        self,
        sample: Sample,
        *,
        threshold: float | None = None,
        expression: str | Path | None = None,
        expression_column: str | None = None,
        strict: bool = False,
    ) -> Scored:
        """:meth:`predict`'s table with everything a report of it needs: how it was made (the JSON
        sidecar ``chromepredict predict`` writes beside it), the warnings, the agreement with the
        expression table, and the tracks' chromosome names (for BED tracks)."""
        report = run_report(strict)
        threshold = resolve_threshold(self.loaded, threshold, report)
        table = expression if expression is not None else sample.expression
        values = read_expression_for(str(table), expression_column, sample.gtf) if table is not None else None
        return score_sample(self.loaded, sample.inputs, report, threshold, values)

    def predict(
        self,
        sample: Sample,
        *,
        threshold: float | None = None,
        expression: str | Path | None = None,
        expression_column: str | None = None,
        strict: bool = False,
    ) -> pd.DataFrame:
        """Score every gene of ``sample``: the same table ``chromepredict predict`` writes — gene_id,
        gene_name, chrom, tss, strand and ``p_high``/``call`` (class models) or ``level`` — with
        ``label``/``measured_level`` when an expression table is given (here or on the sample;
        ``expression_column`` picks its value column when several could be meant).

        Warnings (a build mismatch, tracks unlike the training data, fewer marks…) are issued as
        :class:`ChromepredictWarning` and kept in ``table.attrs["warnings"]`` (``strict=True``: a
        :class:`UserError` instead); ``table.attrs["about"]`` says how the table was made, and
        ``table.attrs["score"]`` holds the AUC or Spearman against the expression table.

        >>> model = cp.load_model("E003-E123")        # doctest: +SKIP
        >>> table = model.predict(sample)             # doctest: +SKIP
        >>> table.sort_values("p_high").tail(3)       # doctest: +SKIP
        """
        scored = self.score(
            sample,
            threshold=threshold,
            expression=expression,
            expression_column=expression_column,
            strict=strict,
        )
        table = scored.table.copy()
        table.attrs.update(warnings=list(scored.warnings), about=scored.about, score=scored.score)
        return table


def load_model(name_or_path: str | Path = "E003-E123", *, threads: int = 1) -> Model:
    """A pretrained model by name (``cp.pretrained_models()`` lists them; default ``E003-E123``),
    a ``.onnx`` file with its ``.card.json``, or a folder from ``chromepredict train``/:func:`train`.
    The model and its card are verified together (an edited card or model is refused).
    ``threads``: onnxruntime's threads (results do not depend on them).

    >>> model = cp.load_model("E003-E123")   # doctest: +SKIP
    >>> model                                 # doctest: +SKIP
    <Model E003-E123: class, marks H3K27me3, H3K36me3, H3K4me1, H3K4me3, H3K9me3, TSS ± 5,000 bp in 100 bp bins>
    """
    return Model(open_model(str(name_or_path), run_report(False), threads))


def pretrained_models() -> pd.DataFrame:
    """The pretrained models shipped with chromepredict: name, target, cell types, marks, builds,
    training genes and cross-validated score (``chromepredict models``)."""
    rows = []
    for name, card in available().items():
        metric = card.target_kind.metric_name
        rows.append(
            {
                "name": name,
                "target": card.target,
                "cell_types": ",".join(card.cell_types),
                "marks": ",".join(card.inputs.marks),
                "genome": ",".join(card.genome_builds),
                "training_genes": len(card.training_data.gene_ids),
                "cross_validated": ", ".join(
                    f"{k} {metric} {v:.3f}" for k, v in card.metrics.cross_validated.items()
                ),
                "description": card.description or "",
            }
        )
    return pd.DataFrame(rows)
