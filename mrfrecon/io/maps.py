"""Writing quantitative maps: NIfTI (BIDS derivative names + JSON sidecars) and DICOM series."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np

from mrfrecon import __version__
from mrfrecon.atomic import atomic_write, check_outputs_free
from mrfrecon.errors import MrfreconError, OutputExistsError
from mrfrecon.io.acquisition import Acquisition
from mrfrecon.io.bids import (
    MRF_REFERENCE,
    dataset_description,
    json_bytes,
    parse_name,
    sidecar_path,
    source_uris,
    subject_folder,
)
from mrfrecon.mapset import MapSet

if TYPE_CHECKING:
    from mrfrecon.io.dicom_write import DicomMapKind, PatientIdentity

Units = Literal["s", "ms"]
Layout = Literal["bids", "flat"]
LAYOUTS = ("bids", "flat")


@dataclass(frozen=True)
class _MapSpec:
    field: str
    name: str  # BIDS ``[desc-<label>_]<suffix>``: the file name after ``<stem>_``
    description: str
    kind: Literal["time", "m0", "phase", "unitless", "mask", "frequency"]
    dicom_label: str | None = None  # DICOM ImageType value 4 / LUT label; None: no DICOM
    image_type_3: str = "OTHER"  # MR ImageType value 3 (a defined term of the standard)
    quantity: str | None = None  # pydicom ``codes.DCM`` name of the quantity
    sd: bool = False  # the standard deviation of ``quantity``
    datatype: str = "anat"  # BIDS datatype folder (field maps in Hz: ``fmap``)
    with_field: str | None = None  # written only beside this map (a field map's magnitude)


_SPECS = (
    _MapSpec("t1_ms", "T1map", "T1 map", "time", "T1", "T1 MAP", "T1"),
    _MapSpec("t2_ms", "T2map", "T2 map", "time", "T2", "T2 MAP", "T2"),
    _MapSpec("m0", "M0map", "M0 map", "m0", "M0", "DENSITY MAP", "ProtonDensity"),
    _MapSpec("m0", "desc-phase_M0map", "M0 phase", "phase"),
    _MapSpec("t1_sd_ms", "desc-sd_T1map", "T1 SD", "time", "T1_SD", quantity="T1", sd=True),
    _MapSpec("t2_sd_ms", "desc-sd_T2map", "T2 SD", "time", "T2_SD", quantity="T2", sd=True),
    _MapSpec("df_hz", "desc-offres_fieldmap", "off-resonance", "frequency", "OFFRES",
             datatype="fmap"),
    _MapSpec("df_sd_hz", "desc-offressd_fieldmap", "off-resonance SD", "frequency",
             "OFFRES_SD", sd=True, datatype="fmap"),
    # BIDS requires a magnitude image beside every fieldmap (same entities): |M0| of the fit
    _MapSpec("m0", "desc-offres_magnitude", "M0 map (field-map magnitude)", "m0",
             datatype="fmap", with_field="df_hz"),
    _MapSpec("m0", "desc-offressd_magnitude", "M0 map (field-map magnitude)", "m0",
             datatype="fmap", with_field="df_sd_hz"),
    _MapSpec("quality", "desc-quality_M0map", "fit quality", "unitless", "QUALITY"),
    _MapSpec("mask", "desc-fitted_mask", "fitted voxels", "mask"),
)
#: Names of the maps written as DICOM series (``dicom/<stem>_<name>/``), in order.
DICOM_MAP_NAMES = tuple(s.name for s in _SPECS if s.dicom_label is not None)
#: Finest stored step of a DICOM map, in its unit: T1/T2 in whole ms (as vendors ship them),
#: SDs in 0.01 ms (a T2 SD of a few ms must keep its decimals), off-resonance in 0.01 Hz,
#: others scaled to 16 bits.
_RESOLUTION = {"T1": 1.0, "T2": 1.0, "T1_SD": 0.01, "T2_SD": 0.01, "OFFRES": 0.01,
               "OFFRES_SD": 0.01}

Content = bytes | Callable[[BinaryIO], None]


class MapFiles(list[Path]):
    """Every file :func:`write_maps` wrote, in order (a list), and where each map went.

    Attributes
    ----------
    nifti
        Map name (``T1map``, ``desc-sd_T1map``...) -> NIfTI file.
    dicom_series
        Map name -> the files of its classic DICOM series, in slice order.
    parametric_maps
        Map name -> its DICOM Parametric Map file.
    """

    def __init__(self) -> None:
        super().__init__()
        self.nifti: dict[str, Path] = {}
        self.dicom_series: dict[str, list[Path]] = {}
        self.parametric_maps: dict[str, Path] = {}


@dataclass(frozen=True)
class _Output:
    path: Path
    content: Content
    name: str | None = None  # map name
    role: Literal["nifti", "sidecar", "dicom", "pmap"] = "nifti"


def resolve_layout(stem: str, layout: Layout | None) -> Layout:
    """``layout``, or ``bids`` when the stem names a subject (``sub-<label>``), else ``flat``."""
    if layout is None:
        return "bids" if subject_folder(stem) is not None else "flat"
    if layout not in LAYOUTS:
        raise MrfreconError(f"layout must be 'bids' or 'flat', not '{layout}'")
    if layout == "bids" and subject_folder(stem) is None:
        raise MrfreconError(
            f"the bids layout needs a subject: the output name '{stem}' has no 'sub-<label>'"
        )
    return layout


def map_folder(output_dir: str | Path, stem: str, layout: Layout | None = None,
               datatype: str = "anat") -> Path:
    """The folder the NIfTI maps of ``stem`` go to: ``output_dir`` (flat) or
    ``output_dir/sub-<label>/[ses-<label>/]<datatype>`` (bids)."""
    output_dir = Path(output_dir)
    if resolve_layout(stem, layout) == "flat":
        return output_dir
    folder = subject_folder(stem, datatype)
    assert folder is not None  # resolve_layout checked it
    return output_dir / folder


def write_maps(
    maps: MapSet,
    reference: Acquisition,
    output_dir: str | Path,
    *,
    units: Units = "s",
    dicom: bool | None = None,
    overwrite: bool = False,
    sidecar: Mapping[str, Any] | None = None,
    stem: str | None = None,
    parametric_map: bool = False,
    layout: Layout | None = None,
    patient_id: str | None = None,
    patient_name: str | None = None,
) -> MapFiles:
    """Write maps as NIfTI (always) and DICOM (for DICOM inputs, or when asked).

    Parameters
    ----------
    maps
        The maps, each of shape ``reference.spatial_shape``.
    reference
        The acquisition the maps were computed from: geometry, header and DICOM tags.
    output_dir
        Folder for the outputs (created), a BIDS derivative dataset: NIfTI files (names in
        :mod:`mrfrecon.io.bids`) go to the folder of ``layout``, DICOM series to
        ``dicom/<stem>_<name>/<nnnn>.dcm`` (listed in ``.bidsignore``). A
        ``dataset_description.json`` is written (or its ``DatasetLinks`` completed).
    units
        Unit of the NIfTI T1/T2 maps (and their SDs): ``"s"`` (BIDS) or ``"ms"``; the sidecar's
        ``Units`` says which. DICOM maps are always ms (T1/T2 in steps of 1 ms, SDs 0.01 ms).
    dicom
        Also write DICOM. ``None``: only for DICOM inputs. For NIfTI inputs patient/study tags
        are synthesized (UIDs derived from the input path and the patient).
    overwrite
        Replace existing outputs. Without it nothing is written if any output exists.
    sidecar
        Fields for every JSON sidecar (e.g. ``EstimationAlgorithm``, ``ModelSha256``,
        acquisition parameters, ``Sources`` as BIDS URIs); mrfrecon adds ``Units``,
        ``MrfreconVersion``, ``Description``, ``SkullStripped``, ``EstimationReference`` and the
        input files to ``Sources`` (BIDS URIs, linked in ``dataset_description.json``).
    stem
        Output name stem; default ``reference.stem``.
    parametric_map
        Also write each DICOM map as a float32 DICOM Parametric Map,
        ``dicom/<stem>_<name>_pmap.dcm`` (DICOM inputs only: it references the source images).
    layout
        ``"bids"`` (``sub-<label>/[ses-<label>/]anat/``), ``"flat"`` (``output_dir`` itself), or
        ``None``: bids when the stem names a subject.
    patient_id, patient_name
        Patient of the DICOM outputs of a NIfTI input; default: the BIDS subject
        (``sub-<label>``), else the stem. Not for DICOM inputs (they keep their patient).

    Returns
    -------
    MapFiles
        Every file written, in order (``dataset_description.json`` last, if written), with the
        paths of each map's NIfTI file, DICOM series and Parametric Map.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is false (raised before anything is written).
    MrfreconError
        A map's shape differs from the acquisition's, ``units`` or ``layout`` is unknown, or a
        patient is given for a DICOM input.
    """
    if units not in ("s", "ms"):
        raise MrfreconError(f"units must be 's' or 'ms', not '{units}'")
    maps.check_shape(reference.spatial_shape)
    output_dir = Path(output_dir)
    stem = stem or reference.stem
    resolve_layout(stem, layout)  # a bids layout without a subject fails before any work
    write_dicom = reference.source == "dicom" if dicom is None else dicom
    if reference.dicom is not None and (patient_id or patient_name):
        raise MrfreconError(
            f"'{reference.paths[0]}': a DICOM input keeps its own patient; "
            "a patient ID/name applies to NIfTI inputs only"
        )
    uris, links = source_uris(_source_files(reference),
                              _known_links(output_dir / "dataset_description.json"))
    base = dict(sidecar or {})
    outputs: list[_Output] = []
    outputs += _nifti_outputs(maps, reference, output_dir, stem, layout, units, base, uris)
    if write_dicom:
        patient = _patient(reference, stem, patient_id, patient_name)
        outputs += _dicom_outputs(maps, reference, output_dir / "dicom", stem, base, patient)
    if parametric_map:
        outputs += _parametric_map_outputs(maps, reference, output_dir / "dicom", stem)
    check_outputs_free([out.path for out in outputs], overwrite=overwrite)

    written = MapFiles()
    for out in outputs:
        out.path.parent.mkdir(parents=True, exist_ok=True)
        path = atomic_write(out.path, out.content, overwrite=overwrite)
        written.append(path)
        if out.role == "nifti" and out.name:
            written.nifti[out.name] = path
        elif out.role == "dicom" and out.name:
            written.dicom_series.setdefault(out.name, []).append(path)
        elif out.role == "pmap" and out.name:
            written.parametric_maps[out.name] = path
    if write_dicom or parametric_map:
        _add_line(output_dir / ".bidsignore", "/dicom", written)  # "dicom/" is not matched
    _update_description(output_dir / "dataset_description.json", links, written)
    return written


def _source_files(reference: Acquisition) -> list[Path]:
    """The input files (a DICOM series by its folders: hundreds of files say nothing more)."""
    if reference.source == "dicom" and len(reference.paths) > 8:
        return sorted({p.parent for p in reference.paths})
    return list(reference.paths)


def _add_line(path: Path, line: str, written: list[Path]) -> None:
    """Add ``line`` to a small text file unless it is there (another run may have added it)."""
    text = path.read_text() if path.is_file() else ""
    if line in text.splitlines():
        return
    content = (text if not text or text.endswith("\n") else text + "\n") + line + "\n"
    written.append(atomic_write(path, content.encode(), overwrite=True))


def _known_links(path: Path) -> dict[str, str]:
    """``DatasetLinks`` of an existing ``dataset_description.json`` (empty if none)."""
    try:
        links = json.loads(path.read_text()).get("DatasetLinks", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in links.items()} if isinstance(links, dict) else {}


def _update_description(path: Path, links: dict[str, str], written: list[Path]) -> None:
    """Write ``dataset_description.json``, or add the missing ``DatasetLinks`` to it."""
    if path.is_file():
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):  # someone else's broken file: leave it alone
            return
        known = content.get("DatasetLinks", {})
        if not isinstance(known, dict) or all(known.get(k) == v for k, v in links.items()):
            return
        content["DatasetLinks"] = {**known, **links}  # links avoided the names known uses
        written.append(atomic_write(path, json_bytes(content), overwrite=True))
        return
    try:
        written.append(atomic_write(path, json_bytes(dataset_description(links=links))))
    except OutputExistsError:  # written meanwhile by a concurrent run: keep theirs
        pass


def _patient(
    reference: Acquisition, stem: str, patient_id: str | None, patient_name: str | None
) -> PatientIdentity:
    """Patient of the DICOM outputs of a NIfTI input: given, else from the BIDS subject, else
    the stem (never one shared patient for every input)."""
    from mrfrecon.io.dicom_write import PatientIdentity

    entities, _ = parse_name(stem + "_x")
    default = f"sub-{entities['sub']}" if "sub" in entities else stem
    return PatientIdentity(patient_id or default, patient_name or patient_id or default)


def _nifti_values(spec: _MapSpec, values: np.ndarray, units: Units) -> np.ndarray:
    if spec.kind == "time":
        scale = 1e-3 if units == "s" else 1.0
        return (np.asarray(values, dtype=np.float64) * scale).astype(np.float32)
    if spec.kind == "m0":
        return np.abs(values).astype(np.float32)
    if spec.kind == "phase":
        return np.angle(values).astype(np.float32)
    if spec.kind == "mask":
        return np.asarray(values, dtype=bool).astype(np.uint8)
    return np.asarray(values, dtype=np.float32)


def _unit(spec: _MapSpec, units: Units) -> str:
    return {"time": units, "m0": "arbitrary", "phase": "rad", "unitless": "1", "mask": "1",
            "frequency": "Hz"}[spec.kind]


def _sidecar(spec: _MapSpec, base: dict[str, Any], unit: str, uris: list[str]) -> dict[str, Any]:
    content = dict(base)
    sources = list(base.get("Sources", []))
    content.update(
        {
            "Units": unit,
            "Description": spec.description,
            "MrfreconVersion": __version__,
            "Sources": sources + [s for s in uris if s not in sources],
        }
    )
    if spec.kind != "mask":
        content.setdefault("EstimationAlgorithm", "mrfrecon")
        content.setdefault("EstimationReference", MRF_REFERENCE)
    content.setdefault("SkullStripped", False)
    if spec.kind == "mask":
        content.setdefault("Type", "ROI")  # BIDS mask type: not a brain mask, the fitted voxels
        if uris:
            content.setdefault("SpatialReference", uris[0])  # the input's voxel grid
    return content


def _nifti_outputs(
    maps: MapSet,
    reference: Acquisition,
    output_dir: Path,
    stem: str,
    layout: Layout | None,
    units: Units,
    base: dict[str, Any],
    uris: list[str],
) -> list[_Output]:
    from mrfrecon.io.nifti import nifti_map_bytes

    outputs: list[_Output] = []
    for spec in _SPECS:
        values = getattr(maps, spec.field)
        if values is None or (spec.kind == "phase" and not np.iscomplexobj(values)):
            continue
        if spec.with_field is not None and getattr(maps, spec.with_field) is None:
            continue
        path = map_folder(output_dir, stem, layout, spec.datatype) / f"{stem}_{spec.name}.nii.gz"
        unit = _unit(spec, units)
        image = nifti_map_bytes(
            _nifti_values(spec, values, units),
            reference.affine,
            reference.nifti_header,
            description=f"mrfrecon {__version__} {spec.description} [{unit}]",
            intent="none" if spec.kind == "mask" else "estimate",
            intent_name=spec.dicom_label or spec.name[:16],
        )
        try:
            side = json_bytes(_sidecar(spec, base, unit, uris))
        except (TypeError, ValueError) as exc:
            raise MrfreconError(f"sidecar fields are not JSON-serializable: {exc}") from exc
        outputs += [_Output(path, image, spec.name), _Output(sidecar_path(path), side, None,
                                                             "sidecar")]
    return outputs


def _dicom_kind(spec: _MapSpec) -> DicomMapKind:
    """The DICOM coding of a map: unit, ImageType, coded quantity (SD: Derivation = SD)."""
    from pydicom.sr.codedict import codes

    from mrfrecon.io.dicom_write import DicomMapKind

    unit = {"time": codes.UCUM.Millisecond, "m0": codes.UCUM.ArbitraryUnit,
            "unitless": codes.UCUM.NoUnits, "frequency": codes.UCUM.Hertz}[spec.kind]
    assert spec.dicom_label is not None
    return DicomMapKind(
        label=spec.dicom_label,
        description=spec.description,
        unit=unit,
        image_type_3=spec.image_type_3,
        quantity=getattr(codes.DCM, spec.quantity) if spec.quantity else None,
        statistic=codes.SCT.StandardDeviation if spec.sd else None,
        resolution=_RESOLUTION.get(spec.dicom_label),
    )


def _dicom_values(spec: _MapSpec, maps: MapSet) -> np.ndarray | None:
    values = getattr(maps, spec.field)
    if values is None or spec.dicom_label is None:
        return None
    map_values = np.abs(values) if spec.kind == "m0" else np.asarray(values, dtype=float)
    if maps.mask is not None:
        map_values = np.where(maps.mask, map_values, 0.0)
    return map_values


def _dicom_outputs(
    maps: MapSet,
    reference: Acquisition,
    dicom_dir: Path,
    stem: str,
    base: dict[str, Any],
    patient: PatientIdentity,
) -> list[_Output]:
    from mrfrecon.io.dicom_write import derived_series, synthesized_tags
    from mrfrecon.io.geometry import plane_geometry_from_affine

    if reference.dicom is not None:
        geometry = reference.dicom.geometry
        tags = reference.dicom.tags
        sources = reference.dicom.source_images
        base_number = int(tags.get("SeriesNumber") or 0) * 100
        source_description = str(tags.get("SeriesDescription", "MRF"))
    else:
        try:
            geometry = plane_geometry_from_affine(reference.affine, reference.spatial_shape)
        except ValueError as exc:
            raise MrfreconError(f"'{reference.paths[0]}': cannot write DICOM maps: {exc}") from exc
        tags = synthesized_tags([str(p.resolve()) for p in reference.paths], patient)
        sources = ()
        base_number, source_description = 100, stem
    algorithm = str(base.get("EstimationAlgorithm", "MR fingerprinting"))
    outputs: list[_Output] = []
    number = base_number
    for spec in _SPECS:
        map_values = _dicom_values(spec, maps)
        if map_values is None:
            continue
        number += 1
        datasets = derived_series(
            map_values,
            kind=_dicom_kind(spec),
            geometry=geometry,
            tags=tags,
            source_images=sources,
            series_number=number,
            series_description=f"{source_description} {spec.description}",
            derivation=f"{algorithm} ({spec.description}, mrfrecon {__version__})",
        )
        folder = dicom_dir / f"{stem}_{spec.name}"
        for k, ds in enumerate(datasets):
            outputs.append(_Output(folder / f"{k + 1:04d}.dcm", _dicom_bytes(ds), spec.name,
                                   "dicom"))
    return outputs


def _parametric_map_outputs(
    maps: MapSet, reference: Acquisition, dicom_dir: Path, stem: str
) -> list[_Output]:
    from mrfrecon.io.parametric_map import parametric_map

    if reference.dicom is None:
        raise MrfreconError(
            f"'{reference.paths[0]}': a DICOM Parametric Map needs a DICOM input to refer to"
        )
    number = int(reference.dicom.tags.get("SeriesNumber") or 0) * 100 + 50
    source_description = str(reference.dicom.tags.get("SeriesDescription", "MRF"))
    outputs: list[_Output] = []
    for spec in _SPECS:
        map_values = _dicom_values(spec, maps)
        if map_values is None:
            continue
        number += 1
        ds = parametric_map(
            map_values,
            kind=_dicom_kind(spec),
            geometry=reference.dicom.geometry,
            tags=reference.dicom.tags,
            source_images=reference.dicom.source_images,
            series_number=number,
            series_description=f"{source_description} {spec.description} (parametric map)",
        )
        outputs.append(_Output(dicom_dir / f"{stem}_{spec.name}_pmap.dcm", _dicom_bytes(ds),
                               spec.name, "pmap"))
    return outputs


def _dicom_bytes(ds: Any) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
