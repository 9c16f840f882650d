"""Writing quantitative maps: NIfTI (BIDS-like names + JSON sidecars) and DICOM series."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from mrfrecon import __version__
from mrfrecon.atomic import atomic_write, check_outputs_free
from mrfrecon.errors import MrfreconError, OutputExistsError
from mrfrecon.io.acquisition import Acquisition
from mrfrecon.io.bids import dataset_description, json_bytes, sidecar_path
from mrfrecon.mapset import MapSet

Units = Literal["s", "ms"]


@dataclass(frozen=True)
class _MapSpec:
    field: str
    suffix: str  # file name after the stem, without extension
    label: str  # DICOM ImageType value 3 / NIfTI intent name
    description: str
    kind: Literal["time", "m0", "phase", "unitless", "mask", "frequency"]


_SPECS = (
    _MapSpec("t1_ms", "T1map", "T1", "T1 map", "time"),
    _MapSpec("t2_ms", "T2map", "T2", "T2 map", "time"),
    _MapSpec("m0", "M0map", "M0", "M0 map", "m0"),
    _MapSpec("m0", "part-phase_M0map", "M0PHASE", "M0 phase", "phase"),
    _MapSpec("t1_sd_ms", "desc-sd_T1map", "T1", "T1 SD", "time"),
    _MapSpec("t2_sd_ms", "desc-sd_T2map", "T2", "T2 SD", "time"),
    _MapSpec("df_hz", "desc-offres_fieldmap", "OFFRES", "off-resonance map", "frequency"),
    _MapSpec("df_sd_hz", "desc-offressd_fieldmap", "OFFRES", "off-resonance SD", "frequency"),
    _MapSpec("quality", "desc-quality_statmap", "QUALITY", "fit quality", "unitless"),
    _MapSpec("mask", "desc-fitted_mask", "MASK", "fitted voxels", "mask"),
)

Content = bytes | Callable[[BinaryIO], None]


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
) -> list[Path]:
    """Write maps as NIfTI (always) and DICOM (for DICOM inputs, or when asked).

    Parameters
    ----------
    maps
        The maps, each of shape ``reference.spatial_shape``.
    reference
        The acquisition the maps were computed from: geometry, header and DICOM tags.
    output_dir
        Folder for the outputs (created). NIfTI files go to it directly (names in
        :mod:`mrfrecon.io.bids`), DICOM series to ``dicom/<stem>_<suffix>/<nnnn>.dcm``.
        A ``dataset_description.json`` is written if absent.
    units
        Unit of the NIfTI T1/T2 maps (and their SDs): ``"s"`` (BIDS) or ``"ms"``; the sidecar's
        ``Units`` says which. DICOM maps are always integer ms.
    dicom
        Also write DICOM. ``None``: only for DICOM inputs. For NIfTI inputs patient/study tags
        are synthesized (UIDs derived from the input path).
    overwrite
        Replace existing outputs. Without it nothing is written if any output exists.
    sidecar
        Fields for every JSON sidecar (e.g. ``EstimationAlgorithm``, ``ModelHash``,
        ``SequenceHash``, ``Sources``); mrfrecon adds ``Units``, ``MrfreconVersion``,
        ``Description`` and the input files to ``Sources``.
    stem
        Output name stem; default ``reference.stem``.
    parametric_map
        Also write each map (not the mask) as a float32 DICOM Parametric Map,
        ``dicom/<stem>_<suffix>_pmap.dcm`` (DICOM inputs only: it references the source images).

    Returns
    -------
    list of Path
        Every file written, in order (``dataset_description.json`` last, if written).

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is false (raised before anything is written).
    MrfreconError
        A map's shape differs from the acquisition's, or ``units`` is unknown.
    """
    if units not in ("s", "ms"):
        raise MrfreconError(f"units must be 's' or 'ms', not '{units}'")
    maps.check_shape(reference.spatial_shape)
    output_dir = Path(output_dir)
    stem = stem or reference.stem
    write_dicom = reference.source == "dicom" if dicom is None else dicom
    outputs: list[tuple[Path, Content]] = []
    outputs += _nifti_outputs(maps, reference, output_dir, stem, units, dict(sidecar or {}))
    if write_dicom:
        outputs += _dicom_outputs(maps, reference, output_dir / "dicom", stem, dict(sidecar or {}))
    if parametric_map:
        outputs += _parametric_map_outputs(maps, reference, output_dir / "dicom", stem)
    check_outputs_free([path for path, _ in outputs], overwrite=overwrite)

    written = []
    for path, content in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write(path, content, overwrite=overwrite))
    description = output_dir / "dataset_description.json"
    if not description.exists():
        try:
            written.append(atomic_write(description, json_bytes(dataset_description())))
        except OutputExistsError:  # written meanwhile by a concurrent run: keep theirs
            pass
    return written


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


def _sidecar(
    spec: _MapSpec, reference: Acquisition, base: dict[str, Any], unit: str
) -> dict[str, Any]:
    content = dict(base)
    inputs = [str(p) for p in reference.paths]
    if reference.source == "dicom" and len(inputs) > 8:
        inputs = sorted({str(p.parent) for p in reference.paths})
    sources = list(base.get("Sources", []))
    content.update(
        {
            "Units": unit,
            "Description": spec.description,
            "MrfreconVersion": __version__,
            "Sources": sources + [s for s in inputs if s not in sources],
        }
    )
    content.setdefault("EstimationAlgorithm", "mrfrecon")
    return content


def _nifti_outputs(
    maps: MapSet,
    reference: Acquisition,
    output_dir: Path,
    stem: str,
    units: Units,
    base: dict[str, Any],
) -> list[tuple[Path, Content]]:
    from mrfrecon.io.nifti import nifti_map_bytes

    outputs: list[tuple[Path, Content]] = []
    for spec in _SPECS:
        values = getattr(maps, spec.field)
        if values is None or (spec.kind == "phase" and not np.iscomplexobj(values)):
            continue
        path = output_dir / f"{stem}_{spec.suffix}.nii.gz"
        unit = _unit(spec, units)
        image = nifti_map_bytes(
            _nifti_values(spec, values, units),
            reference.affine,
            reference.nifti_header,
            description=f"mrfrecon {__version__} {spec.description} [{unit}]",
            intent="none" if spec.kind == "mask" else "estimate",
            intent_name=spec.label,
        )
        try:
            side = json_bytes(_sidecar(spec, reference, base, unit))
        except (TypeError, ValueError) as exc:
            raise MrfreconError(f"sidecar fields are not JSON-serializable: {exc}") from exc
        outputs += [(path, image), (sidecar_path(path), side)]
    return outputs


def _dicom_outputs(
    maps: MapSet, reference: Acquisition, dicom_dir: Path, stem: str, base: dict[str, Any]
) -> list[tuple[Path, Content]]:
    from mrfrecon.io.dicom_write import DicomMapKind, derived_series, synthesized_tags
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
        tags = synthesized_tags([str(p.resolve()) for p in reference.paths])
        sources = ()
        base_number, source_description = 100, stem
    algorithm = str(base.get("EstimationAlgorithm", "MR fingerprinting"))
    kinds = {
        "time": ("ms", "millisecond", True),
        "m0": ("[arb'U]", "arbitrary unit", False),
        "unitless": ("1", "no units", False),
        "frequency": ("Hz", "Hertz", False),
    }
    outputs: list[tuple[Path, Content]] = []
    number = base_number
    for spec in _SPECS:
        values = getattr(maps, spec.field)
        if values is None or spec.kind not in kinds:
            continue
        number += 1
        code, meaning, integer_unit = kinds[spec.kind]
        kind = DicomMapKind(
            label=spec.label,
            description=spec.description,
            unit_code=code,
            unit_meaning=meaning,
            integer_unit=integer_unit,
            image_type_4="SD" if spec.description.endswith(" SD") else "MAP",
        )
        map_values = np.abs(values) if spec.kind == "m0" else np.asarray(values, dtype=float)
        if maps.mask is not None:
            map_values = np.where(maps.mask, map_values, 0.0)
        datasets = derived_series(
            map_values,
            kind=kind,
            geometry=geometry,
            tags=tags,
            source_images=sources,
            series_number=number,
            series_description=f"{source_description} {spec.description}",
            derivation=f"{algorithm} ({spec.description}, mrfrecon {__version__})",
        )
        folder = dicom_dir / f"{stem}_{spec.suffix}"
        for k, ds in enumerate(datasets):
            outputs.append((folder / f"{k + 1:04d}.dcm", _dicom_bytes(ds)))
    return outputs


def _parametric_map_outputs(
    maps: MapSet, reference: Acquisition, dicom_dir: Path, stem: str
) -> list[tuple[Path, Content]]:
    from mrfrecon.io.parametric_map import parametric_map

    if reference.dicom is None:
        raise MrfreconError(
            f"'{reference.paths[0]}': a DICOM Parametric Map needs a DICOM input to refer to"
        )
    units = {"time": ("ms", "millisecond"), "m0": ("[arb'U]", "arbitrary unit")}
    units["unitless"] = ("1", "no units")
    units["frequency"] = ("Hz", "Hertz")
    number = int(reference.dicom.tags.get("SeriesNumber") or 0) * 100 + 50
    outputs: list[tuple[Path, Content]] = []
    for spec in _SPECS:
        values = getattr(maps, spec.field)
        if values is None or spec.kind not in units:
            continue
        number += 1
        map_values = np.abs(values) if spec.kind == "m0" else np.asarray(values, dtype=float)
        if maps.mask is not None:
            map_values = np.where(maps.mask, map_values, 0.0)
        ds = parametric_map(
            map_values,
            label=spec.label,
            description=spec.description,
            unit_code=units[spec.kind][0],
            unit_meaning=units[spec.kind][1],
            geometry=reference.dicom.geometry,
            tags=reference.dicom.tags,
            source_images=reference.dicom.source_images,
            series_number=number,
        )
        outputs.append((dicom_dir / f"{stem}_{spec.suffix}_pmap.dcm", _dicom_bytes(ds)))
    return outputs


def _dicom_bytes(ds: Any) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
