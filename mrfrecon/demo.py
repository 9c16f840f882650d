"""The built-in demo: phantom -> retrain (short budget) -> maps -> errors against truth.

:func:`run_demo` does the work and returns a :class:`DemoResult`; it reports progress through a
callback and never prints (``mrfrecon demo`` renders the result). Everything runs on the CPU,
no FPGA needed. Importing this module is light: the heavy libraries load inside
:func:`run_demo`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import OutputExistsError
from .sequence import Sequence, load_sequence, resolve_sequence_path

DEMO_SEQUENCE = "fisp_jiang2015"  # shipped, 1000 TRs, Jiang 2015 style

# The demo's steps, in order; ``progress(step, done, total)`` announces each with (0, 1) and
# forwards the progress of the long ones (retrain: per training stage; maps: voxels).
DEMO_STEPS = ("phantom", "retrain", "maps", "comparison")
DemoProgress = Callable[[str, int, int], None]

# Which inputs ``maps`` takes and how each is handled (shown by the demo, as in the README).
SUPPORTED_INPUTS = {
    "complex": "complex NIfTI; magnitude + phase (DICOM M/P series; NIfTI pair in the API); "
               "real + imaginary DICOM; signed real NIfTI -> complex networks and dictionary",
    "magnitude": "magnitude only (non-negative real NIfTI without phase, DICOM magnitude "
                 "series alone) -> magnitude networks trained on Rician noise, matching "
                 "|x| against |D|",
}


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs.

    seconds: optional wall-clock cap in s on retraining (None: the default epochs, the same
        model on any machine); each input representation (complex, magnitude) gets it.
    size: phantom matrix size (``size x size x 1``).
    noise_sigma: phantom noise SD per channel (real, imaginary), M0 = 1 units.
    """

    seconds: float | None = None
    size: int = 128
    noise_sigma: float = 0.005


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced.

    output: the output folder; model: the retrained model file; report: the HTML QC report.
    metrics: errors against the truth maps inside the fitted mask, per method label
        (:class:`~mrfrecon.method.Method` values ``quantized``, ``float``, ``matching``), then
        ``t1``/``t2``, then the keys of :func:`mrfrecon.metrics.error_metrics`.
    reference_work: the published float and quantised figures, same layout.
    magnitude: the same phantom as magnitude-only data (``|series|``, Rician noise) through the
        magnitude networks: ``{"metrics": {"quantized": {"t1": ..., "t2": ...}}, "inputs":
        SUPPORTED_INPUTS}``.
    summary: the maps' QC summary (medians in ms, noise sigma, warnings).
    retrain: the retraining summary (validation MAPE, stages, timings).
    seconds: wall-clock time of the whole demo (s).
    """

    output: Path
    model: Path
    report: Path | None
    metrics: dict[str, dict[str, dict[str, Any]]]
    reference_work: dict[str, dict[str, dict[str, float]]]
    summary: dict[str, Any]
    retrain: dict[str, Any]
    seconds: float
    magnitude: dict[str, Any] | None = None

    @property
    def warnings(self) -> list[str]:
        return list(self.summary.get("warnings", []))

    def to_dict(self) -> dict[str, Any]:
        """The ``mrfrecon demo --json`` payload."""
        return {"output": str(self.output), "model": str(self.model), "report": str(self.report),
                "metrics": self.metrics, "reference_work": self.reference_work,
                "summary": self.summary, "retrain": self.retrain,
                "magnitude": self.magnitude, "seconds": round(self.seconds, 1)}


def run_demo(
    output_dir: str | Path,
    config: DemoConfig = DemoConfig(),
    *,
    sequence: Sequence | None = None,
    overwrite: bool = False,
    progress: DemoProgress | None = None,
) -> DemoResult:
    """Run the demo into ``output_dir``: ``phantom/``, ``model.h5``, ``maps/``, ``report/``.

    A phantom through ``sequence`` (default: :data:`DEMO_SEQUENCE`), a freshly retrained
    quantised network, its T1/T2/M0 maps with uncertainty, errors against truth for the
    integer network, the float network and dictionary matching, and the report.

    Raises
    ------
    OutputExistsError
        ``output_dir`` holds files and ``overwrite`` is false (checked before any work).
    """
    output = Path(output_dir)
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise OutputExistsError(f"Output exists already: '{output}'")
    import numpy as np

    from .io import read_acquisition
    from .method import Method
    from .metrics import error_metrics
    from .model import save_model
    from .phantom import write_phantom
    from .qc.metrics import REFERENCE_TABLE, read_truth_map
    from .recon import ReconOptions, reconstruct, run_maps
    from .training import RetrainConfig, retrain

    report = progress or (lambda step, done, total: None)
    t0 = time.perf_counter()
    if sequence is None:
        sequence = load_sequence(resolve_sequence_path(DEMO_SEQUENCE))

    report("phantom", 0, 1)
    phantom = write_phantom(sequence, output / "phantom", noise_sigma=config.noise_sigma,
                            size=config.size, overwrite=overwrite)
    report("retrain", 0, 1)
    trained = retrain(sequence, RetrainConfig(seconds=config.seconds),
                      progress=lambda stage, done, total: report("retrain", done, total))
    model_path = save_model(trained.model, output / "model.h5", overwrite=overwrite)
    report("maps", 0, 1)
    maps = run_maps(phantom.series, model_path, output / "maps", truth_t1=phantom.truth_t1,
                    truth_t2=phantom.truth_t2, report_dir=output / "report",
                    overwrite=overwrite,
                    progress=lambda done, total: report("maps", done, total))
    report("comparison", 0, 1)
    acq = read_acquisition(phantom.series)
    truth = {k: read_truth_map(p, acq.spatial_shape)
             for k, p in (("t1", phantom.truth_t1), ("t2", phantom.truth_t2))}
    table: dict[str, dict[str, dict[str, Any]]] = {Method.QUANTIZED.value: maps.metrics or {}}
    for label, method in ((m.value, m) for m in (Method.FLOAT, Method.MATCHING)):
        rec = reconstruct(acq.data, trained.model, mask=maps.recon.maps.mask,
                          options=ReconOptions(method=method, uncertainty=False))
        table[label] = {k: error_metrics(getattr(rec.maps, f"{k}_ms"), truth[k], mask=rec.maps.mask)
                        for k in ("t1", "t2")}
    magnitude = None
    if trained.model.magnitude is not None:  # the phantom as a magnitude-only acquisition
        rec = reconstruct(np.abs(acq.data).astype(np.complex64), trained.model,
                          mask=maps.recon.maps.mask, magnitude_only=True,
                          options=ReconOptions(uncertainty=False))
        magnitude = {"inputs": dict(SUPPORTED_INPUTS), "metrics": {Method.QUANTIZED.value: {
            k: error_metrics(getattr(rec.maps, f"{k}_ms"), truth[k], mask=rec.maps.mask)
            for k in ("t1", "t2")}}}
    report("comparison", 1, 1)
    return DemoResult(output=output, model=model_path, report=maps.report, metrics=table,
                      reference_work=REFERENCE_TABLE, summary=maps.summary.to_dict(),
                      retrain=trained.summary, seconds=time.perf_counter() - t0,
                      magnitude=magnitude)
