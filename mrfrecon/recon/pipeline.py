"""``run_maps``: read an acquisition, reconstruct, summarise, write maps (and a report)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import (
    atomic_folder,
    check_writable_folder,
    refuse_output_inside_inputs,
    staged_to_final,
)
from ..errors import InputFileError, MrfreconError, OutputExistsError
from ..io import Acquisition, check_timepoints, read_acquisition, write_maps
from ..metrics import error_metrics
from ..model import MrfModel, load_model
from ..qc.metrics import MapSummary, read_truth_map, summarize
from .core import ProgressFn, ReconOptions, ReconResult, reconstruct


@dataclass
class MapsResult:
    """What :func:`run_maps` did: outputs, the QC summary, errors against truth, timings (s).

    metrics: ``{"t1": ..., "t2": ...}`` from :func:`~mrfrecon.metrics.error_metrics` (in the
    mask, against the truth maps; ``rmse_over_crb`` from the sqrt(CRB) maps), or ``None``.
    """

    input: str
    outputs: list[Path]
    summary: MapSummary
    metrics: dict[str, Any] | None
    recon: ReconResult
    seconds: dict[str, float] = field(default_factory=dict)
    report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "outputs": [str(p) for p in self.outputs],
                "summary": self.summary.to_dict(), "metrics": self.metrics,
                "report": None if self.report is None else str(self.report),
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()}}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_mask(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """A mask NIfTI (non-zero = fit) of the acquisition's spatial shape, bool."""
    from ..io.nifti import read_volume  # nibabel only when a mask is given

    return np.nan_to_num(read_volume(path, shape, label="mask")) != 0


#: Files of an output folder that several acquisitions share (the first one written is kept).
SHARED_OUTPUTS = ("dataset_description.json",)


def check_signal(acq: Acquisition) -> int:
    """Refuse an acquisition without signal: empty, all zero or nowhere finite.

    Returns the number of voxels holding a non-finite value (for a warning).

    Raises
    ------
    InputFileError
        Naming the input.
    """
    where = acq.paths[0] if len(acq.paths) == 1 else (acq.paths[0].parent if acq.paths else "")
    if acq.data.size == 0:
        raise InputFileError(f"'{where}': the acquisition is empty (shape {acq.data.shape})")
    finite = np.isfinite(acq.data)
    if not np.any(finite & (acq.data != 0)):
        raise InputFileError(f"'{where}': no signal: every value is zero or not finite")
    return int(np.count_nonzero(~finite.all(axis=-1)))


def check_maps(recon: ReconResult, acq: Acquisition) -> None:
    """Refuse results that would be garbage: nothing fitted, or T1/T2 not finite where fitted.

    Raises
    ------
    MrfreconError
        Naming the input; nothing has been written.
    """
    mask = recon.maps.mask
    fitted = np.ones(recon.maps.t1_ms.shape, bool) if mask is None else np.asarray(mask, bool)
    if not np.any(fitted):
        raise InputFileError(f"'{acq.paths[0]}': no voxel holds a signal to fit")
    for name in ("t1_ms", "t2_ms"):
        values = np.asarray(getattr(recon.maps, name))[fitted]
        n_bad = int(np.count_nonzero(~np.isfinite(values)))
        if n_bad:
            raise MrfreconError(
                f"'{acq.paths[0]}': {n_bad} fitted voxels have a non-finite {name[:2].upper()} "
                "(non-finite input values or a broken model); nothing was written")


def run_maps(
    input_path: str | Path,
    model: MrfModel | str | Path,
    output_dir: str | Path,
    *,
    options: ReconOptions = ReconOptions(),
    mask_path: str | Path | None = None,
    truth_t1: str | Path | None = None,
    truth_t2: str | Path | None = None,
    units: str = "s",
    dicom: bool | None = None,
    overwrite: bool = False,
    report_dir: str | Path | None = None,
    dictionary_path: str | Path | None = None,
    model_sha256: str | None = None,
    progress: ProgressFn | None = None,
    before_commit: Callable[[list[Path]], None] | None = None,
) -> MapsResult:
    """Reconstruct one acquisition (NIfTI file or DICOM series/folder) into ``output_dir``.

    Maps are written by :func:`mrfrecon.io.write_maps` (BIDS names, sidecars with
    ``EstimationAlgorithm``, ``ModelSha256``, ``SequenceSha256``, ``NoiseSigma``); with truth
    maps (ms or s, see :func:`~mrfrecon.qc.metrics.read_truth_map`) MAPE/MPE/RMSE are computed;
    ``report_dir`` gets the HTML report. Nothing is written if an output exists and
    ``overwrite`` is false. The maps appear in ``output_dir`` all together or not at all
    (:func:`~mrfrecon.atomic.atomic_folder`); ``before_commit`` is called with their final
    paths (shared files such as ``dataset_description.json`` left out) before they are moved
    in (and with the first path before the work starts), and may raise to refuse them.
    """
    t0 = time.perf_counter()
    output_dir = Path(output_dir)
    inputs = [input_path] if isinstance(input_path, str | Path) else list(input_path)
    for folder in (output_dir, *([] if report_dir is None else [Path(report_dir)])):
        refuse_output_inside_inputs(folder, inputs)
        check_writable_folder(folder)
    model_source = None
    if not isinstance(model, MrfModel):
        model_source = str(model)
        model_sha256 = model_sha256 or file_sha256(model)
        model = load_model(model)
    acq = read_acquisition(input_path)
    check_timepoints(acq, model.n_timepoints)
    n_nonfinite = check_signal(acq)
    first = output_dir / f"{acq.stem}_T1map.nii.gz"
    if before_commit is not None:  # refuse a name owned by another input before the work
        before_commit([first])
    for existing in (first, *([] if report_dir is None else [Path(report_dir) / "index.html"])):
        if existing.exists() and not overwrite:
            raise OutputExistsError(f"Output exists already: '{existing}'")
    mask = read_mask(mask_path, acq.spatial_shape) if mask_path is not None else None
    truth = None
    if (truth_t1 is None) != (truth_t2 is None):
        raise InputFileError("give both truth maps (T1 and T2), or neither")
    if truth_t1 is not None:
        truth = {"t1": read_truth_map(truth_t1, acq.spatial_shape),
                 "t2": read_truth_map(truth_t2, acq.spatial_shape)}
    dictionary = None
    if dictionary_path is not None:
        from ..dictionary import load_dictionary

        dictionary = load_dictionary(dictionary_path)
    t_read = time.perf_counter() - t0
    recon = reconstruct(acq.data, model, options=options, mask=mask, dictionary=dictionary,
                        magnitude_only=acq.components == ("magnitude",), progress=progress)
    summary = summarize(recon)
    if n_nonfinite:
        summary.warnings.append(f"{n_nonfinite} voxels hold non-finite values (NaN/inf) in the "
                                "input")
    if acq.components == ("magnitude",):
        summary.warnings.append("magnitude-only input: no phase, the fit and the noise "
                                   "estimate are approximate")
    metrics = None
    if truth is not None:
        metrics = {name: error_metrics(getattr(recon.maps, f"{name}_ms"), truth[name],
                                       mask=recon.maps.mask,
                                       crb_sd_ms=getattr(recon.maps, f"{name}_sd_ms"))
                   for name in ("t1", "t2")}
    sidecar = {
        "EstimationAlgorithm": recon.method.description,
        "EstimationMethod": recon.method.value,
        "ModelSha256": model_sha256,
        "SequenceSha256": model.sequence_sha256,
        "NoiseSigma": None if not np.isfinite(recon.noise_sigma) else recon.noise_sigma,
        "NoiseEstimation": recon.noise_method,
        "UncertaintyMethod": "sqrt(Cramer-Rao bound) at the estimate, noise sigma from the data",
    }
    if model_source is not None:
        sidecar["Sources"] = [model_source]
    t_write = time.perf_counter()
    check_maps(recon, acq)
    report = None
    with atomic_folder(output_dir, overwrite=overwrite, keep_existing=SHARED_OUTPUTS) as staging:
        outputs = staged_to_final(
            write_maps(recon.maps, acq, staging, units=units, dicom=dicom, overwrite=overwrite,
                       sidecar=sidecar), staging, output_dir)
        if before_commit is not None:
            before_commit([p for p in outputs if p.name not in SHARED_OUTPUTS])
        if report_dir is not None:  # staged too: a failing report keeps the maps out as well
            from ..qc.report import write_report

            report_dir = Path(report_dir)
            with atomic_folder(report_dir, overwrite=overwrite) as report_staging:
                written = write_report(report_staging, recon.maps, summary, metrics=metrics,
                                       truth=truth, title=f"mrfrecon maps: {acq.stem}",
                                       overwrite=overwrite)
            report = staged_to_final(written, report_staging, report_dir)[-1]
    seconds = {"read": t_read, **{f"recon_{k}": v for k, v in recon.seconds.items()},
               "write": time.perf_counter() - t_write}
    seconds["total"] = time.perf_counter() - t0
    return MapsResult(str(input_path), outputs, summary, metrics, recon, seconds, report)


__all__ = ["MapsResult", "check_maps", "check_signal", "file_sha256", "read_mask", "run_maps"]
