"""The optional ``train`` extra (torch and onnx): checked up front, in one line, by the commands
that need it (``train``, ``benchmark``, ``explain``); ``predict``, ``evaluate`` and ``compare``
run on onnxruntime alone."""

from __future__ import annotations

from chromepredict.system.errors import UserError

INSTALL = (
    "install torch first (a CPU build is enough: pip install torch --index-url "
    "https://download.pytorch.org/whl/cpu, or conda install -c conda-forge pytorch), then "
    "pip install 'chromepredict[train]'"
)


def require_torch(command: str) -> None:
    """A UserError now when torch or onnx cannot be imported."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise UserError(f"{command} needs torch and onnx: {INSTALL}") from None
