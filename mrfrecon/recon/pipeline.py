"""``run_maps``: read an acquisition, reconstruct, summarise, write maps (and a report)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
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
from ..features import Representation
from ..io import Acquisition, check_timepoints, list_acquisitions, read_acquisition, write_maps
from ..io.maps import Layout, Units, map_folder
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
    acquisition: str | None = None  # which images were combined (DICOM series paired), for people

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "acquisition": self.acquisition,
                "outputs": [str(p) for p in self.outputs],
                "summary": self.summary.to_dict(), "metrics": self.metrics,
                "report": None if self.report is None else str(self.report),
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()}}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def acquisition_sidecar(sequence: Any) -> dict[str, Any]:
    """BIDS acquisition fields of an MRF schedule (times in s, angles in degrees).

    MRF varies TR, TE and the flip angle: the BIDS keys hold the first TR's times and the
    largest flip angle, the ``MRF...Range`` keys the ranges.
    """
    tr_s, te_s = np.asarray(sequence.tr_ms) * 1e-3, np.asarray(sequence.te_ms) * 1e-3
    fa = np.asarray(sequence.fa_deg)
    fields: dict[str, Any] = {
        "PulseSequenceType": f"MR fingerprinting ({sequence.kind})",
        "SequenceName": sequence.name,
        "RepetitionTimeExcitation": round(float(tr_s[0]), 6),
        "EchoTime": round(float(te_s[0]), 6),
        "FlipAngle": round(float(fa.max()), 3),
        "MRFNumberOfTimepoints": int(sequence.n_timepoints),
        "MRFRepetitionTimeRange": [round(float(tr_s.min()), 6), round(float(tr_s.max()), 6)],
        "MRFEchoTimeRange": [round(float(te_s.min()), 6), round(float(te_s.max()), 6)],
        "MRFFlipAngleRange": [round(float(fa.min()), 3), round(float(fa.max()), 3)],
    }
    if sequence.inversion is not None:
        fields["InversionTime"] = round(sequence.inversion.ti_ms * 1e-3, 6)
    return fields


def read_mask(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """A mask NIfTI (non-zero = fit) of the acquisition's spatial shape, bool."""
    from ..io.nifti import read_volume  # nibabel only when a mask is given

    return np.nan_to_num(read_volume(path, shape, label="mask")) != 0


#: Files of an output folder that several acquisitions share (the first one written is kept).
SHARED_OUTPUTS = ("dataset_description.json", ".bidsignore")


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
    input_path: str | Path | Sequence[str | Path],
    model: MrfModel | str | Path,
    output_dir: str | Path,
    *,
    options: ReconOptions = ReconOptions(),
    mask_path: str | Path | None = None,
    truth_t1: str | Path | None = None,
    truth_t2: str | Path | None = None,
    units: Units = "s",
    dicom: bool | None = None,
    overwrite: bool = False,
    report_dir: str | Path | None = None,
    dictionary_path: str | Path | None = None,
    model_sha256: str | None = None,
    model_file: str | None = None,
    b1_map_path: str | Path | None = None,
    progress: ProgressFn | None = None,
    series: str | int | None = None,
    layout: Layout | None = None,
    parametric_map: bool = False,
    patient_id: str | None = None,
    patient_name: str | None = None,
    before_commit: Callable[[list[Path]], None] | None = None,
) -> MapsResult:
    """Reconstruct one acquisition (NIfTI file or DICOM series/folder) into ``output_dir``.

    The networks (and dictionary) follow the input: complex data (complex, magnitude + phase,
    real + imaginary) use the complex ones, magnitude-only data the magnitude ones.
    Maps are written by :func:`mrfrecon.io.write_maps` (BIDS names, sidecars with
    ``EstimationAlgorithm``, ``InputRepresentation``, ``ModelSha256``, ``SequenceSha256``,
    ``NoiseSigma``); with truth
    maps (ms or s, see :func:`~mrfrecon.qc.metrics.read_truth_map`) MAPE/MPE/RMSE are computed;
    ``report_dir`` gets the HTML report. ``model_file``: the file a loaded ``model`` came from
    (for the sidecars' ``ModelFile``). Nothing is written if an output exists and
    ``overwrite`` is false. ``series`` picks one acquisition of a DICOM input that holds
    several (SeriesNumber or SeriesInstanceUID; :func:`run_maps_each` does them all).
    ``layout``, ``parametric_map``, ``patient_id`` and ``patient_name`` are passed to
    :func:`~mrfrecon.io.write_maps` (``layout`` None: ``bids`` when the input names a subject).
    ``b1_map_path``: a measured B1 map (flip-angle scale, NIfTI or DICOM, any geometry),
    resampled onto the acquisition by world coordinates (:func:`mrfrecon.io.b1map.read_b1_map`);
    the sidecars' ``B1Source`` says whether it was used or B1 was assumed 1.
    The maps appear in ``output_dir`` all together or not at all
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
    model_source = model_file
    if not isinstance(model, MrfModel):
        model_source = str(model)
        model_sha256 = model_sha256 or file_sha256(model)
        model = load_model(model)
    acq = read_acquisition(input_path, series=series)
    check_timepoints(acq, model.n_timepoints)
    model.for_representation(acq.kind)  # an old model and magnitude data: fail before the work
    n_nonfinite = check_signal(acq)
    first = map_folder(output_dir, acq.stem, layout) / f"{acq.stem}_T1map.nii.gz"
    if before_commit is not None:  # refuse a name owned by another input before the work
        before_commit([first])
    for existing in (first, *([] if report_dir is None else [Path(report_dir) / "index.html"])):
        if existing.exists() and not overwrite:
            raise OutputExistsError(f"Output exists already: '{existing}'")
    mask = read_mask(mask_path, acq.spatial_shape) if mask_path is not None else None
    b1 = None
    if b1_map_path is not None:
        from ..io.b1map import read_b1_map

        b1 = read_b1_map(b1_map_path, acq)
    truth = None
    if (truth_t1 is None) != (truth_t2 is None):
        raise InputFileError("give both truth maps (T1 and T2), or neither")
    if truth_t1 is not None and truth_t2 is not None:
        truth = {"t1": read_truth_map(truth_t1, acq.spatial_shape),
                 "t2": read_truth_map(truth_t2, acq.spatial_shape)}
    dictionary = None
    if dictionary_path is not None:
        from ..dictionary import load_dictionary

        dictionary = load_dictionary(dictionary_path)
    t_read = time.perf_counter() - t0
    recon = reconstruct(acq.data, model, options=options, mask=mask, dictionary=dictionary,
                        magnitude_only=acq.kind is Representation.MAGNITUDE, b1=b1,
                        progress=progress)
    summary = summarize(recon)
    summary.warnings.extend(acq.notes)
    if n_nonfinite:
        summary.warnings.append(f"{n_nonfinite} voxels hold non-finite values (NaN/inf) in the "
                                "input")
    metrics = None
    if truth is not None:
        metrics = {name: error_metrics(getattr(recon.maps, f"{name}_ms"), truth[name],
                                       mask=recon.maps.mask,
                                       crb_sd_ms=getattr(recon.maps, f"{name}_sd_ms"))
                   for name in ("t1", "t2")}
    sidecar: dict[str, Any] = {
        "EstimationAlgorithm": recon.method.description,
        "EstimationMethod": recon.method.value,
        "InputRepresentation": str(recon.representation),
        "ModelSha256": model_sha256,
        "SequenceSha256": model.sequence_sha256,
        "NoiseSigma": None if not np.isfinite(recon.noise_sigma) else recon.noise_sigma,
        "NoiseEstimation": recon.noise_method,
        "UncertaintyMethod": "sqrt(Cramer-Rao bound) at the estimate, noise sigma from the data",
        **acquisition_sidecar(model.sequence),
        "B1Source": {"map": f"B1 map '{b1_map_path}' resampled to the acquisition",
                     "assumed 1": "assumed 1 (no B1 map given)",
                     "not used": "not used by the estimator"}[recon.b1_source],
    }
    if recon.maps.df_hz is not None:
        sidecar["OffResonanceMethod"] = ("estimated with T1/T2 (trained range "
                                         f"{_df_range_text(model)} Hz; aliased outside)")
    if model_source is not None:
        sidecar["ModelFile"] = model_source  # not a BIDS source: the fitted model
    if acq.dicom is not None:  # the series combined (e.g. magnitude + phase); Sources holds URIs
        sidecar["SourceSeriesInstanceUIDs"] = list(acq.dicom.series_uids)
    if acq.pairing is not None:
        sidecar["InputSeries"] = acq.pairing
    t_write = time.perf_counter()
    check_maps(recon, acq)
    report = None
    with atomic_folder(output_dir, overwrite=overwrite, keep_existing=SHARED_OUTPUTS) as staging:
        outputs = staged_to_final(
            write_maps(recon.maps, acq, staging, units=units, dicom=dicom, overwrite=overwrite,
                       sidecar=sidecar, layout=layout, parametric_map=parametric_map,
                       patient_id=patient_id, patient_name=patient_name),
            staging, output_dir)
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
    return MapsResult(str(input_path), outputs, summary, metrics, recon, seconds, report,
                      acq.pairing)


def run_maps_each(
    input_path: str | Path | list[Path],
    model: MrfModel | str | Path,
    output_dir: str | Path,
    *,
    series: str | int | None = None,
    on_result: Callable[[MapsResult], None] | None = None,
    **kwargs: Any,
) -> list[MapsResult]:
    """:func:`run_maps` for every acquisition of ``input_path`` (a DICOM folder may hold
    several: two slices acquired separately, a repeat), each under its own output names (see
    :func:`mrfrecon.io.list_acquisitions`), or only the one ``series`` picks.

    ``kwargs`` go to :func:`run_maps` (with several acquisitions, each report goes to a
    subfolder of ``report_dir`` named by its output stem); ``on_result`` is called after each.
    Of several acquisitions, those whose number of time points is not the model's (e.g. a
    localizer exported alongside) are skipped, and said so in the first result's warnings,
    as long as one fits.
    """
    if series is not None:
        return [run_maps(input_path, model, output_dir, series=series, **kwargs)]
    listed = list_acquisitions(input_path)
    several = len(listed) > 1
    skipped: list[str] = []
    loaded = model
    if several and not isinstance(model, MrfModel):  # read and hashed once, not per acquisition
        kwargs.setdefault("model_sha256", file_sha256(model))
        kwargs.setdefault("model_file", str(model))
        loaded = load_model(model)
    if several:
        assert isinstance(loaded, MrfModel)
        fits = [e for e in listed if e.n_timepoints in (None, loaded.n_timepoints)]
        if fits:
            skipped = [f"{e.label}: {e.n_timepoints} time points, the model expects "
                       f"{loaded.n_timepoints}: not reconstructed" for e in listed
                       if e not in fits]
            listed = fits
    results = []
    for entry in listed:
        one = dict(kwargs)
        if several and one.get("report_dir") is not None:
            one["report_dir"] = Path(one["report_dir"]) / str(entry.stem)
        selector = entry.series if several else None
        results.append(run_maps(input_path, loaded, output_dir, series=selector, **one))
        if len(results) == 1:
            results[0].summary.warnings.extend(skipped)
        if on_result is not None:
            on_result(results[-1])
    return results


def _df_range_text(model: MrfModel) -> str:
    """The off-resonance range of the networks (else the sequence's dictionary), Hz."""
    if model.parameters.df_range_hz is not None:
        return "{:.4g} to {:.4g}".format(*model.parameters.df_range_hz)
    return str(model.sequence.df_range_hz)


__all__ = ["MapsResult", "acquisition_sidecar", "check_maps", "check_signal", "file_sha256",
           "read_mask", "run_maps", "run_maps_each"]
