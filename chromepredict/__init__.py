"""chromepredict: predict gene expression (high/low, level, or its change) from histone-mark bigWigs
and explain it (DeepChrome).

    >>> import chromepredict as cp
    >>> model = cp.load_model("E003-E123")                                      # doctest: +SKIP
    >>> sample = cp.read_sample(["E003-H3K4me3.bw", ...], gtf="genes.gtf.gz")   # doctest: +SKIP
    >>> table = model.predict(sample)                                           # doctest: +SKIP

The public names are listed in :data:`__all__` (docs/api.md has a worked example); they are loaded
on first use, so ``import chromepredict`` stays fast and never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.4.0"

#: The pretrained model ``predict`` uses unless ``--model`` names another (see ``chromepredict models``).
DEFAULT_MODEL = "E003-E123"

#: The model ``compare`` uses unless ``--model`` names another: the one that ranked measured changes
#: best in ``benchmarks/compare.py`` (docs/benchmarks.md).
DEFAULT_COMPARE_MODEL = "E003-E123-difference"

__all__ = [
    "ChromepredictWarning",
    "DEFAULT_COMPARE_MODEL",
    "DEFAULT_MODEL",
    "Evaluation",
    "Explanation",
    "Model",
    "Sample",
    "TrainedModel",
    "UserError",
    "WindowSpec",
    "__version__",
    "compare",
    "evaluate",
    "evaluate_pairs",
    "example_data",
    "explain",
    "knockout",
    "load_model",
    "plot_comparison",
    "pretrained_models",
    "read_sample",
    "read_samplesheet",
    "train",
]

if TYPE_CHECKING:  # the names, for type checkers and editors; at run time they load on first use
    from chromepredict.api import (
        ChromepredictWarning,
        Evaluation,
        Explanation,
        Model,
        Sample,
        TrainedModel,
        UserError,
        WindowSpec,
        compare,
        evaluate,
        evaluate_pairs,
        example_data,
        explain,
        knockout,
        load_model,
        plot_comparison,
        pretrained_models,
        read_sample,
        read_samplesheet,
        train,
    )


def __getattr__(name: str):
    if name in __all__:
        value = getattr(importlib.import_module("chromepredict.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'chromepredict' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
