"""When is a received series a complete MRF acquisition?

Each instance contributes frames to a (slice position, component) stack; a classic MR series
is complete when every stack seen holds the model's ``n_timepoints`` frames, a multi-frame
series when its frame count is a multiple of ``n_timepoints``. A complete series is handed
over after ``settle_s`` quiet seconds (more slices may still come); an incomplete one after
``idle_timeout_s`` (it then fails in the reader with a message saying what is missing).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from mrfrecon.io.dicom_tags import COMPONENT_CODES

#: Header keywords kept per series: model selection and (hashed) log identifiers.
SELECTION_KEYWORDS = ("ProtocolName", "SeriesDescription", "SequenceName", "ImageComments")


@dataclass(frozen=True)
class InstanceInfo:
    """What completeness needs from one instance header."""

    sop_uid: str
    stack: tuple[tuple[float, ...], str]  # (ImagePositionPatient rounded to 0.01 mm, component)
    n_frames: int

    @classmethod
    def from_dataset(cls, ds: pydicom.Dataset) -> InstanceInfo:
        n_frames = int(ds.get("NumberOfFrames", 1) or 1)
        position = tuple(round(float(v), 2) for v in ds.get("ImagePositionPatient", []) or [])
        image_type = list(ds.get("ImageType", []) or [])
        code = str(image_type[2]).upper() if len(image_type) > 2 else ""
        component = COMPONENT_CODES.get(code, "magnitude")
        return cls(str(ds.SOPInstanceUID), (position, component), n_frames)


@dataclass
class SeriesState:
    """Instances received for one series, its selection tags and the time of the last store
    (``time.monotonic()`` s)."""

    series_uid: str
    tags: dict[str, str] = field(default_factory=dict)
    instances: dict[str, InstanceInfo] = field(default_factory=dict)
    last_store: float = field(default_factory=time.monotonic)
    study_uid: str = ""
    patient_id: str = ""

    def add(self, ds: pydicom.Dataset, now: float | None = None) -> None:
        if not self.tags:
            self.tags = {k: str(ds.get(k, "") or "") for k in SELECTION_KEYWORDS}
            self.study_uid = str(ds.get("StudyInstanceUID", "") or "")
            self.patient_id = str(ds.get("PatientID", "") or "")
        info = InstanceInfo.from_dataset(ds)
        self.instances[info.sop_uid] = info
        self.last_store = time.monotonic() if now is None else now

    @property
    def n_frames(self) -> int:
        return sum(i.n_frames for i in self.instances.values())

    def is_complete(self, n_timepoints: int | None) -> bool:
        """Whether the frames received make whole stacks of ``n_timepoints``."""
        if n_timepoints is None or not self.instances:
            return False
        single = Counter(i.stack for i in self.instances.values() if i.n_frames == 1)
        multi = sum(i.n_frames for i in self.instances.values() if i.n_frames > 1)
        if single and any(count != n_timepoints for count in single.values()):
            return False
        return multi % n_timepoints == 0

    def is_ready(self, n_timepoints: int | None, settle_s: float, idle_timeout_s: float,
                 now: float | None = None) -> bool:
        """Complete and quiet for ``settle_s``, or quiet for ``idle_timeout_s`` (s)."""
        quiet = (time.monotonic() if now is None else now) - self.last_store
        if quiet >= idle_timeout_s:
            return True
        return quiet >= settle_s and self.is_complete(n_timepoints)


def read_series_state(series_uid: str, files: list[Path]) -> SeriesState:
    """Rebuild a series' state from its spooled files (after a restart); quiet time starts now."""
    state = SeriesState(series_uid)
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # a file we wrote and fsynced cannot be torn; skip anything odd
            continue
        state.add(ds)
    return state


__all__ = ["SELECTION_KEYWORDS", "InstanceInfo", "SeriesState", "read_series_state"]
