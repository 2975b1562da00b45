"""``chromepredict extract``: the feature matrix [genes, marks, bins] of any set of tracks."""

from __future__ import annotations

from chromepredict.io.features import FEATURES_NPZ, FEATURES_TSV, WindowSpec
from chromepredict.io.sources import TrackInputs
from chromepredict.system.files import SIDECAR, check_outputs, delivered_together, sidecar_path
from chromepredict.system.report import Report


def run(report: Report, inputs: TrackInputs, spec: WindowSpec, output: str, tsv: str | None) -> None:
    """Write ``output`` (.npz) and, with ``tsv``, a long table."""
    sidecar = sidecar_path(tsv) if tsv is not None else None
    check_outputs(
        inputs.paths,
        files=[
            ("-o", output, FEATURES_NPZ),
            ("--tsv", tsv, FEATURES_TSV),
            ("its JSON sidecar", sidecar, SIDECAR),
        ],
    )
    data = inputs.read(spec, report=report)
    report.provenance(data.provenance)
    with delivered_together():  # the .npz and the TSV, or neither
        data.save_npz(output)
        if tsv is not None:
            data.write_tsv(tsv)
    n, m, b = data.features.shape
    report.info(f"wrote {output} ({n} genes × {m} marks × {b} bins, orientation {data.spec.orientation})")
