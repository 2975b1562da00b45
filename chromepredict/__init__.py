"""chromepredict: predict gene expression (high/low) from histone-mark bigWigs (DeepChrome)."""

__version__ = "0.2.0"
