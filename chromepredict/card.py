"""The model card: a versioned JSON schema beside ``model.onnx``, checked on load and sealed with it.

Everything that changes a prediction lives in the card (marks in order, window, orientation,
transform and its statistics, target, which mark subsets the network accepts) or in the ONNX file.
``integrity`` is the sha256 of the ONNX bytes followed by the card's canonical JSON without that
field, so editing either file (a transform statistic, a mark order, a weight) is detected.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from datetime import date
from pathlib import Path

from chromepredict import __version__
from chromepredict.errors import UserError

CARD_FORMAT = 2
TARGETS = ("class", "level")
#: key → type of the fields every card must hold.
REQUIRED = {
    "format_version": int,
    "name": str,
    "target": str,
    "inputs": dict,
    "transform": dict,
    "outputs": dict,
    "onnx_file": str,
    "onnx_sha256": str,
    "integrity": str,
}
REQUIRED_INPUTS = {
    "marks": list,
    "flank": int,
    "bin_size": int,
    "n_bins": int,
    "orientation": str,
    "mark_subsets": bool,
}


def genome_builds(card: dict) -> list[str]:
    """The builds whose tracks a model takes without a build warning: ``genome_builds`` (the
    pretrained models, trained on hg19 tracks, list hg38 too: their windows are TSS-relative) or
    the single ``genome_build`` that ``train`` records; empty when unknown."""
    return [b for b in card.get("genome_builds") or [card.get("genome_build")] if b]


def card_path(onnx_path: str | Path) -> Path:
    return Path(onnx_path).with_suffix(".card.json")


def sha256_bytes(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _canonical(card: dict) -> bytes:
    body = {k: v for k, v in card.items() if k != "integrity"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def integrity(onnx_bytes: bytes, card: dict) -> str:
    """sha256 over the model bytes and the card (without its ``integrity`` field)."""
    return sha256_bytes(onnx_bytes, _canonical(card))


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "chromepredict": __version__}
    for name in ("torch", "onnx", "onnxruntime", "numpy", "scikit-learn"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[name] = md.version(name)
    return versions


def seal(card: dict, onnx_path: str | Path) -> dict:
    """The card completed with format, file name, sha256s, versions and date (not yet written)."""
    data = Path(onnx_path).read_bytes()
    card = {
        "format_version": CARD_FORMAT,
        **card,
        "onnx_file": Path(onnx_path).name,
        "onnx_sha256": sha256_bytes(data),
        "library_versions": library_versions(),
        "created": date.today().isoformat(),
    }
    card["integrity"] = integrity(data, card)
    return card


def validate(card: object, where: Path) -> dict:
    """Check a card's version and schema; a UserError names the file and the fix."""
    if not isinstance(card, dict):
        raise UserError(f"{where}: not a chromepredict model card (not a JSON object); re-export the model")
    version = card.get("format_version")
    if version != CARD_FORMAT:
        raise UserError(
            f"{where}: model card format_version {version!r} is not supported (this chromepredict "
            f"{__version__} reads format {CARD_FORMAT}); retrain the model with this version"
        )
    for fields, scope in ((REQUIRED, card), (REQUIRED_INPUTS, card.get("inputs", {}))):
        for key, kind in fields.items():
            if not isinstance(scope.get(key), kind):
                raise UserError(f"{where}: model card lacks a valid {key!r}; re-export the model")
    if card["target"] not in TARGETS:
        raise UserError(f"{where}: model card target {card['target']!r} is not one of {', '.join(TARGETS)}")
    return card


def read_card(onnx_path: Path) -> tuple[dict, bytes]:
    """Read and verify the card beside ``onnx_path``: schema, version, then model+card integrity."""
    where = card_path(onnx_path)
    if not where.is_file():
        raise UserError(
            f"{onnx_path}: no model card {where.name} beside it; keep the card from chromepredict train with the model"
        )
    try:
        card = json.loads(where.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: not a chromepredict model card ({exc}); re-export the model") from None
    validate(card, where)
    data = onnx_path.read_bytes()
    if sha256_bytes(data) != card["onnx_sha256"]:
        raise UserError(
            f"{onnx_path}: sha256 differs from its card {where.name}; the model file is corrupt or was "
            "replaced: restore it or retrain"
        )
    if integrity(data, card) != card["integrity"]:
        raise UserError(
            f"{where}: the card was changed after the model was made (integrity check failed); restore "
            "the card or retrain"
        )
    return card, data
