"""The Python API: the functions and objects ``import chromepredict as cp`` offers (see
:data:`chromepredict.__all__` and docs/api.md). The command line is built on them."""

from chromepredict.api.analysis import compare, evaluate, evaluate_pairs, knockout, plot_comparison
from chromepredict.api.explanations import explain
from chromepredict.api.models import Model, load_model, pretrained_models
from chromepredict.api.reporting import reporting_to
from chromepredict.api.samples import Sample, read_sample, read_samplesheet
from chromepredict.api.training import TrainedModel, train
from chromepredict.io.datasets import example_data
from chromepredict.io.features import WindowSpec
from chromepredict.results.evaluation import Evaluation
from chromepredict.results.explanation import Explanation
from chromepredict.system.errors import ChromepredictWarning, UserError

__all__ = [
    "ChromepredictWarning",
    "Evaluation",
    "Explanation",
    "Model",
    "Sample",
    "TrainedModel",
    "UserError",
    "WindowSpec",
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
    "reporting_to",
    "train",
]
