"""Pretrained models shipped in the package (``chromepredict/pretrained/<NAME>/model.onnx``) and
resolving ``--model NAME|PATH``."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from chromepredict.errors import UserError
from chromepredict.onnx_io import LoadedModel, card_path, load_model


def pretrained_dir() -> Path:
    return Path(str(files("chromepredict") / "pretrained"))


def available() -> dict[str, dict]:
    """Name → card of every pretrained model."""
    folder = pretrained_dir()
    if not folder.is_dir():
        return {}
    return {
        path.parent.name: json.loads(card_path(path).read_text())
        for path in sorted(folder.glob("*/model.onnx"))
        if card_path(path).is_file()
    }


def open_model(spec: str, threads: int = 0) -> LoadedModel:
    """A pretrained name, a .onnx file or a folder from ``chromepredict train``."""
    path = Path(spec)
    if path.exists():
        return load_model(path, threads)
    names = available()
    if spec in names:
        return load_model(pretrained_dir() / spec / "model.onnx", threads)
    looks_like_path = path.suffix == ".onnx" or "/" in spec
    if looks_like_path:
        raise UserError(
            f"{spec}: model file not found; give a pretrained name ({', '.join(names) or 'none'}) or an existing .onnx"
        )
    raise UserError(
        f"unknown model {spec!r}; available: {', '.join(names) or 'none'} (see chromepredict models), or give a .onnx path"
    )
