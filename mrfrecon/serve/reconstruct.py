"""The one adapter between ``serve`` and the maps pipeline (reader, reconstruction, writers).

Everything ``serve`` needs from :mod:`mrfrecon.io`, :mod:`mrfrecon.recon` and
:mod:`mrfrecon.model` goes through this module, so a change of that API is fixed here only.
The derived series get deterministic UIDs (source SeriesInstanceUID + model file hash + map
name), so reconstructing the same series again after a crash produces the same instances and
the PACS replaces rather than duplicates them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrfrecon.serve.spool import fsync_dir
from mrfrecon.serve.uids import derived_uid

#: Output name stem: not derived from any tag (no PHI in the spool's file names).
STEM = "maps"


def load_model_file(path: Path) -> tuple[Any, str]:
    """A model file and its sha256 (hex)."""
    from mrfrecon.model import load_model
    from mrfrecon.recon.pipeline import file_sha256

    return load_model(path), file_sha256(path)


@dataclass(frozen=True)
class DerivedSeries:
    """One derived series ready to send: map name, SeriesInstanceUID, files in order."""

    name: str
    series_uid: str
    files: tuple[Path, ...]


def reconstruct_series(
    input_dir: Path,
    model: Any,
    model_sha256: str,
    output_dir: Path,
    *,
    source_series_uid: str,
    method: str = "quantized",
    threads: int = 1,
    maps: tuple[str, ...] = ("T1map", "T2map", "M0map"),
    parametric_map: bool = False,
) -> list[DerivedSeries]:
    """Reconstruct a spooled DICOM series into derived DICOM map series.

    Parameters
    ----------
    input_dir
        Folder of the series' instances.
    model, model_sha256
        A loaded :class:`mrfrecon.model.MrfModel` and the sha256 of its file.
    output_dir
        Created complete or not at all: the work happens in ``<output_dir>.tmp`` which is
        renamed at the end.
    source_series_uid
        The source SeriesInstanceUID (with ``model_sha256`` it determines the derived UIDs).
    method, threads
        Reconstruction method (``quantized``, ``float``, ``matching``) and worker threads.
    maps
        Which derived series to keep (names as in :data:`mrfrecon.serve.config.MAP_NAMES`).
    parametric_map
        Also keep a DICOM Parametric Map (float32, ms) of each of those maps.

    Returns
    -------
    list of DerivedSeries
        In the order of ``maps`` (Parametric Maps after the classic series).
    """
    from mrfrecon.io import check_timepoints, read_acquisition, write_maps
    from mrfrecon.method import Method
    from mrfrecon.recon import ReconOptions, reconstruct

    work = output_dir.with_name(output_dir.name + ".tmp")
    if work.exists():
        shutil.rmtree(work)
    acq = read_acquisition(input_dir)
    check_timepoints(acq, model.n_timepoints)
    options = ReconOptions(method=Method(method), n_threads=threads)  # checked by the config
    recon = reconstruct(acq.data, model, options=options,
                        magnitude_only=acq.kind == "magnitude")
    sidecar = {"EstimationAlgorithm": recon.method.description,
               "EstimationMethod": str(recon.method),
               "InputRepresentation": str(recon.representation),
               "ModelSha256": model_sha256, "SequenceSha256": model.sequence_sha256}
    written = write_maps(recon.maps, acq, work / "all", units="ms", dicom=True, sidecar=sidecar,
                         stem=STEM, parametric_map=parametric_map, layout="flat")
    series: list[DerivedSeries] = []
    for name in maps:
        if name in written.dicom_series:
            series.append(_relabel(written.dicom_series[name], work / name,
                                   source_series_uid, model_sha256, name))
    if parametric_map:
        for name in maps:
            if name in written.parametric_maps:
                series.append(_relabel([written.parametric_maps[name]], work / f"{name}_pmap",
                                       source_series_uid, model_sha256, f"{name}_pmap"))
    shutil.rmtree(work / "all")
    fsync_dir(work)
    os.rename(work, output_dir)
    fsync_dir(output_dir.parent)
    return [DerivedSeries(s.name, s.series_uid,
                          tuple(output_dir / p.parent.name / p.name for p in s.files))
            for s in series]


def read_output(output_dir: Path) -> list[DerivedSeries]:
    """The derived series of a finished :func:`reconstruct_series` (after a restart)."""
    import pydicom

    series = []
    for folder in sorted(p for p in output_dir.iterdir() if p.is_dir()):
        files = tuple(sorted(folder.glob("*.dcm")))
        if files:
            uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
            series.append(DerivedSeries(folder.name, uid, files))
    return series


def _relabel(files: list[Path], folder: Path, source_series_uid: str, model_sha256: str,
             name: str) -> DerivedSeries:
    """Copy ``files`` into ``folder`` with SeriesInstanceUID / SOPInstanceUID derived from the
    source series, the model and the map name (and the instance number)."""
    import pydicom

    folder.mkdir(parents=True)
    series_uid = derived_uid(source_series_uid, model_sha256, name)
    written = []
    for k, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = derived_uid(series_uid, str(k + 1))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = folder / f"{ds.SOPInstanceUID}.dcm"
        with open(target, "wb") as fh:
            ds.save_as(fh, enforce_file_format=True)
            fh.flush()
            os.fsync(fh.fileno())
        written.append(target)
    fsync_dir(folder)
    return DerivedSeries(name, series_uid, tuple(written))


__all__ = ["STEM", "DerivedSeries", "load_model_file", "read_output", "reconstruct_series"]
