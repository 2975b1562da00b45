"""chromepredict: predict gene expression (high/low) from histone-mark bigWigs (DeepChrome)."""

__version__ = "0.4.0"

#: The pretrained model ``predict`` uses unless ``--model`` names another (see ``chromepredict models``).
DEFAULT_MODEL = "E003-E123"

#: The model ``compare`` uses unless ``--model`` names another: the one that ranked measured changes
#: best in ``benchmarks/compare.py`` (docs/benchmarks.md).
DEFAULT_COMPARE_MODEL = "E003-E123-difference"
