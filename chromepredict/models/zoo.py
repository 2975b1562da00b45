"""Pretrained models shipped in the package (``chromepredict/pretrained/<NAME>/model.onnx``) and
resolving ``--model NAME|PATH``.

The rule: a bare name of a pretrained model (``E003``) always means that model, even when a local
file or folder has the same name; anything else is a path. To use a local folder named like a
pretrained model, write it as a path (``./E003``).

The package records the sha256 of every shipped model and card
(:data:`chromepredict.models.checksums.CHECKSUMS`, written by ``scripts/build_pretrained.py``):
a pretrained model whose files differ from them (edited or damaged in site-packages) is refused.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from chromepredict.models.card import ModelCard, card_path, read_card, sha256_bytes
from chromepredict.models.checksums import CHECKSUMS
from chromepredict.models.onnx_io import LoadedModel, load_model
from chromepredict.system.errors import UserError
from chromepredict.system.report import Report


def pretrained_dir() -> Path:
    return Path(str(files("chromepredict") / "pretrained"))


def names() -> list[str]:
    """The pretrained models' names."""
    folder = pretrained_dir()
    return sorted(p.parent.name for p in folder.glob("*/model.onnx")) if folder.is_dir() else []


def verify_shipped(name: str) -> Path:
    """The pretrained model's ONNX path after checking both files against the recorded sha256s."""
    path = pretrained_dir() / name / "model.onnx"
    recorded = CHECKSUMS.get(name)
    for file, key in ((path, "onnx"), (card_path(path), "card")):
        if recorded is None or not file.is_file() or sha256_bytes(file.read_bytes()) != recorded[key]:
            raise UserError(
                f"{file}: the pretrained model {name} differs from the one shipped with chromepredict "
                "(edited or damaged); reinstall chromepredict"
            )
    return path


def available() -> dict[str, ModelCard]:
    """Name → card of every pretrained model."""
    return {name: read_card(verify_shipped(name))[0] for name in names()}


def resolve(spec: str) -> tuple[Path, str | None]:
    """(path to open, a note when a local path of the same name was passed over)."""
    known = names()
    if spec in known:
        note = None
        if Path(spec).exists():
            note = f"--model {spec} is the pretrained model; write ./{spec} to use the local {spec}"
        return verify_shipped(spec), note
    path = Path(spec)
    if path.exists():
        return path, None
    if path.suffix == ".onnx" or "/" in spec:
        raise UserError(
            f"{spec}: model file not found; give a pretrained name ({', '.join(known) or 'none'}) or an existing .onnx"
        )
    raise UserError(
        f"unknown model {spec!r}; available: {', '.join(known) or 'none'} (see chromepredict models), or give a .onnx path"
    )


def open_model(spec: str, report: Report, threads: int = 1) -> LoadedModel:
    """A pretrained name, a .onnx file or a folder from ``chromepredict train``; a local path passed
    over for a pretrained name of the same spelling is a warning on ``report``."""
    path, note = resolve(spec)
    model = load_model(path, threads)
    if note:
        report.warn(note)
    return model
