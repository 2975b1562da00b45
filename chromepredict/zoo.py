"""Pretrained models shipped in the package (``chromepredict/pretrained/<NAME>/model.onnx``) and
resolving ``--model NAME|PATH``.

The rule: a bare name of a pretrained model (``E003``) always means that model, even when a local
file or folder has the same name; anything else is a path. To use a local folder named like a
pretrained model, write it as a path (``./E003``).
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from chromepredict.card import card_path
from chromepredict.errors import UserError
from chromepredict.onnx_io import LoadedModel, load_model


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


def resolve(spec: str) -> tuple[Path, str | None]:
    """(path to open, a note when a local path of the same name was passed over)."""
    names = available()
    if spec in names:
        note = None
        if Path(spec).exists():
            note = f"--model {spec} is the pretrained model; write ./{spec} to use the local {spec}"
        return pretrained_dir() / spec / "model.onnx", note
    path = Path(spec)
    if path.exists():
        return path, None
    if path.suffix == ".onnx" or "/" in spec:
        raise UserError(
            f"{spec}: model file not found; give a pretrained name ({', '.join(names) or 'none'}) or an existing .onnx"
        )
    raise UserError(
        f"unknown model {spec!r}; available: {', '.join(names) or 'none'} (see chromepredict models), or give a .onnx path"
    )


def open_model(spec: str, threads: int = 1) -> tuple[LoadedModel, str | None]:
    """A pretrained name, a .onnx file or a folder from ``chromepredict train``, and :func:`resolve`'s note."""
    path, note = resolve(spec)
    return load_model(path, threads), note
