"""ONNX export, the model card, and loading a model (file, folder or pretrained name) for onnxruntime.

A model is ``NAME.onnx`` with its card ``NAME.card.json`` beside it. The ONNX graph takes
transformed inputs ``features`` [genes, marks, bins] (float32) and returns ``probabilities``
[genes, 2] (low, high); the card says how to build the inputs (marks in order, window, transform
with its statistics) and holds the file's sha256, which is checked before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from chromepredict import __version__
from chromepredict.errors import UserError
from chromepredict.features import FeatureSet, WindowSpec
from chromepredict.files import atomic_path, write_text_atomic
from chromepredict.transform import InputTransform

CARD_FORMAT = 1


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".card.json")


def export_onnx(net, n_marks: int, n_bins: int, path: str | Path) -> None:
    """Export a DeepChrome network (probabilities output, dynamic gene axis) to ONNX, atomically."""
    import torch

    from chromepredict.model import Probabilities

    wrapped = Probabilities(net).eval().cpu()
    example = torch.zeros(2, n_marks, n_bins)
    # The TorchScript exporter: for this static network it gives the same graph as the dynamo
    # exporter (max difference 3e-8), in 0.1 s instead of 10 s and without printing to stdout.
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapped,
            (example,),
            str(tmp),
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "genes"}, "probabilities": {0: "genes"}},
            opset_version=17,
            dynamo=False,
        )


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "chromepredict": __version__}
    for name in ("torch", "onnx", "onnxruntime", "numpy", "scikit-learn"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[name] = md.version(name)
    return versions


def write_card(onnx_path: str | Path, card: dict) -> dict:
    """Complete the card (format, sha256 of the ONNX file, versions, date) and write it beside the model."""
    card = {
        "format_version": CARD_FORMAT,
        **card,
        "onnx_file": Path(onnx_path).name,
        "onnx_sha256": sha256(onnx_path),
        "library_versions": library_versions(),
        "created": date.today().isoformat(),
    }
    write_text_atomic(card_path(onnx_path), json.dumps(card, indent=2) + "\n")
    return card


def base_card(name: str, data: FeatureSet, transform: InputTransform, **extra) -> dict:
    """The input specification every card carries: marks in order, window, transform."""
    return {
        "name": name,
        "inputs": {
            "name": "features",
            "axes": ["genes", "marks", "bins"],
            "marks": list(data.marks),
            "n_bins": data.spec.n_bins,
            "flank": data.spec.flank,
            "bin_size": data.spec.bin_size,
            "orientation": data.spec.orientation,
        },
        "outputs": {"name": "probabilities", "columns": ["low", "high"]},
        "transform": transform.to_dict(),
        **extra,
    }


@dataclass
class LoadedModel:
    """An onnxruntime session with the card that says how to feed it."""

    path: Path
    card: dict
    session: object

    @property
    def name(self) -> str:
        return self.card.get("name", self.path.stem)

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple(self.card["inputs"]["marks"])

    @property
    def spec(self) -> WindowSpec:
        inputs = self.card["inputs"]
        return WindowSpec(inputs["flank"], inputs["bin_size"], inputs["orientation"])

    @property
    def transform(self) -> InputTransform:
        return InputTransform.from_dict(self.card["transform"])

    def inputs(self, data: FeatureSet, source: str = "input") -> np.ndarray:
        """The network's input for ``data``: marks and bins checked, then the card's transform."""
        if data.marks != self.marks or data.spec.n_bins != self.spec.n_bins:
            raise UserError(
                f"{source}: has marks {', '.join(data.marks)} × {data.spec.n_bins} bins but model "
                f"{self.name} expects {', '.join(self.marks)} × {self.spec.n_bins} bins"
            )
        return self.transform.apply(data.features)

    def predict_proba(self, data: FeatureSet, source: str = "input", batch_size: int = 4096) -> np.ndarray:
        """P(high) per gene: :meth:`inputs`, then the ONNX graph, in batches."""
        inputs = self.inputs(data, source)
        out = [
            self.session.run(["probabilities"], {"features": inputs[i : i + batch_size]})[0][:, 1]
            for i in range(0, len(inputs), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def load_model(path: str | Path, threads: int = 0) -> LoadedModel:
    """Open ``path`` (.onnx, or a folder holding model.onnx) after checking its sha256 against its card."""
    import onnxruntime as ort

    path = Path(path)
    if path.is_dir():
        path = path / "model.onnx"
    if not path.is_file():
        raise UserError(
            f"{path}: model file not found; give a pretrained name, a .onnx file or a train output folder"
        )
    card_file = card_path(path)
    if not card_file.is_file():
        raise UserError(
            f"{path}: no model card {card_file.name} beside it; keep the card from chromepredict train with the model"
        )
    try:
        card = json.loads(card_file.read_text())
        expected = card["onnx_sha256"]
        card["inputs"]["marks"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(f"{card_file}: not a chromepredict model card ({exc}); re-export the model") from None
    if sha256(path) != expected:
        raise UserError(
            f"{path}: sha256 differs from its card {card_file.name}; the model file is corrupt or was "
            "replaced: restore it or retrain"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise UserError(f"{path}: onnxruntime cannot load it ({exc}); re-export the model") from None
    return LoadedModel(path, card, session)
