"""Reading MRF acquisitions (NIfTI, DICOM) and writing quantitative maps.

Public API::

    read_acquisition(path, *, phase=None, series_uid=None, series=None) -> Acquisition
    list_acquisitions(path) -> list[AcquisitionEntry]
    check_timepoints(acq, n_expected) -> None
    write_maps(maps, reference, output_dir, *, units="s", dicom=None, overwrite=False,
               sidecar=None, stem=None, parametric_map=False, layout=None, patient_id=None,
               patient_name=None) -> MapFiles  (a list of the files, plus per-map paths)
    atomic_write(path, content, *, overwrite=False) -> Path
"""

from mrfrecon.atomic import atomic_write, check_outputs_free
from mrfrecon.io.acquisition import (
    Acquisition,
    DicomReference,
    SourceImage,
    check_timepoints,
)
from mrfrecon.io.geometry import PlaneGeometry
from mrfrecon.io.load import AcquisitionEntry, list_acquisitions, read_acquisition
from mrfrecon.io.maps import MapFiles, MapSet, write_maps

__all__ = [
    "Acquisition",
    "AcquisitionEntry",
    "DicomReference",
    "MapFiles",
    "MapSet",
    "PlaneGeometry",
    "SourceImage",
    "atomic_write",
    "check_outputs_free",
    "check_timepoints",
    "list_acquisitions",
    "read_acquisition",
    "write_maps",
]
