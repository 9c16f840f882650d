"""Trained MRF models: the file format and numpy inference (float and exact integer paths).

A model file is HDF5 (see the README, "Model files"): the resolved sequence and its sha256, the
feature map (SVD basis, input standardisation), output scaling, float network weights, the
integer network (int8 weights, int32 biases, fractional bits = shift amounts) the FPGA runs,
training metrics and provenance. An integrity hash over every dataset is checked on load.
Inference needs numpy only: torch and brevitas are for training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import __version__
from .atomic import atomic_write
from .errors import ModelError, ModelMismatchError
from .features import FeatureMap
from .method import NETWORK_METHODS, Method
from .quantized import IntegerLayer, IntegerMLP
from .sequence import Sequence, sequence_from_dict

FORMAT_NAME = "mrfrecon-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class OutputScaling:
    """Targets are ``(ln T - ln lo) / (ln hi - ln lo)`` for T1 and T2 (ms), in [0, 1]."""

    t1_range_ms: tuple[float, float]
    t2_range_ms: tuple[float, float]

    @property
    def names(self) -> tuple[str, ...]:
        """The network outputs, in order: the one place their number comes from."""
        return ("t1_ms", "t2_ms")

    @property
    def n_outputs(self) -> int:
        return len(self.names)

    def encode(self, t1_ms: np.ndarray, t2_ms: np.ndarray) -> np.ndarray:
        """T1, T2 (ms, ``(n,)``) -> targets ``(n, 2)`` float32."""
        return np.stack(
            [_log_scale(t1_ms, self.t1_range_ms), _log_scale(t2_ms, self.t2_range_ms)], axis=1
        ).astype(np.float32)

    def decode(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets ``(n, 2)`` -> T1, T2 in ms (clipped to the trained range)."""
        y = np.clip(np.asarray(y, np.float64), 0.0, 1.0)
        return _log_unscale(y[:, 0], self.t1_range_ms), _log_unscale(y[:, 1], self.t2_range_ms)


def _log_scale(t: np.ndarray, rng: tuple[float, float]) -> np.ndarray:
    lo, hi = np.log(rng[0]), np.log(rng[1])
    return (np.log(np.asarray(t, np.float64)) - lo) / (hi - lo)


def _log_unscale(y: np.ndarray, rng: tuple[float, float]) -> np.ndarray:
    lo, hi = np.log(rng[0]), np.log(rng[1])
    return np.exp(lo + y * (hi - lo))


@dataclass(frozen=True)
class FloatMLPWeights:
    """Float network as plain arrays: ``weights[i]`` ``(n_out, n_in)``, ``biases[i]`` ``(n_out,)``.

    ReLU after every layer but the last.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, np.float32)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w.T + b
            if i < len(self.weights) - 1:
                np.maximum(h, 0, out=h)
        return h


@dataclass(frozen=True)
class MrfModel:
    """Everything needed to go from fingerprints to T1/T2 (ms).

    sequence: the resolved sequence the model was trained for (parsed once, in
    :func:`load_model`).
    """

    sequence: Sequence
    features: FeatureMap
    scaling: OutputScaling
    float_net: FloatMLPWeights
    int_net: IntegerMLP
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence_sha256(self) -> str:
        return self.sequence.sha256

    @property
    def n_timepoints(self) -> int:
        return self.features.n_timepoints

    def check_signals(self, signals: np.ndarray, sequence_sha256: str | None = None) -> None:
        """Refuse data whose time points (or sequence) differ from the model's."""
        n = np.shape(signals)[-1]
        if n != self.n_timepoints:
            raise ModelMismatchError(
                f"data has {n} time points but the model's sequence has {self.n_timepoints}"
            )
        if sequence_sha256 is not None and sequence_sha256 != self.sequence_sha256:
            raise ModelMismatchError(
                f"data was acquired with sequence {sequence_sha256[:12]} but the model was "
                f"trained for {self.sequence_sha256[:12]}"
            )

    def predict(
        self,
        signals: np.ndarray,
        method: Method | str = Method.QUANTIZED,
        sequence_sha256: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fingerprints ``(n, n_t)`` complex -> (T1, T2) in ms, each ``(n,)``.

        method: ``quantized`` (integer datapath, bit-exact with the FPGA) or ``float``.
        """
        self.check_signals(signals, sequence_sha256)
        return self.predict_features(self.features(signals), method)

    def predict_features(
        self, x: np.ndarray, method: Method | str = Method.QUANTIZED
    ) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs ``(n, n_features)`` -> (T1, T2) in ms, each ``(n,)``."""
        method = Method(method)
        if method not in NETWORK_METHODS:
            raise ValueError(f"method '{method}' is not a network (expected "
                             f"{', '.join(m.value for m in NETWORK_METHODS)})")
        net = self.int_net if method is Method.QUANTIZED else self.float_net
        return self.scaling.decode(net.forward(x))


# --------------------------------------------------------------------------------------------
# File format


def _datasets(model: MrfModel) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {
        "features/basis": model.features.basis.astype(np.complex64),
        "features/mean": model.features.mean.astype(np.float32),
        "features/std": model.features.std.astype(np.float32),
        "scaling/t1_range_ms": np.asarray(model.scaling.t1_range_ms, np.float64),
        "scaling/t2_range_ms": np.asarray(model.scaling.t2_range_ms, np.float64),
        "quantized/input_frac": np.asarray(model.int_net.input_frac, np.int64),
        "quantized/input_bits": np.asarray(model.int_net.input_bits, np.int64),
    }
    for i, (w, b) in enumerate(zip(model.float_net.weights, model.float_net.biases, strict=True)):
        out[f"float/layer{i}/weight"] = w.astype(np.float32)
        out[f"float/layer{i}/bias"] = b.astype(np.float32)
    for i, layer in enumerate(model.int_net.layers):
        out[f"quantized/layer{i}/weight"] = layer.weight.astype(np.int8)
        out[f"quantized/layer{i}/bias"] = layer.bias.astype(np.int32)
        out[f"quantized/layer{i}/weight_frac"] = np.asarray(layer.weight_frac, np.int64)
        out[f"quantized/layer{i}/out_frac"] = np.asarray(
            -9999 if layer.out_frac is None else layer.out_frac, np.int64
        )
        out[f"quantized/layer{i}/out_bits"] = np.asarray(layer.out_bits, np.int64)
    return out


def _digest(datasets: dict[str, np.ndarray], attrs: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(datasets):
        arr = np.ascontiguousarray(datasets[name])
        h.update(name.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    for name in sorted(attrs):
        h.update(name.encode())
        h.update(attrs[name].encode())
    return h.hexdigest()


def save_model(model: MrfModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` atomically as HDF5 (``--overwrite`` semantics via ``overwrite``)."""
    datasets = _datasets(model)
    attrs = {
        "sequence_json": json.dumps(model.sequence.to_full_dict()),
        "metrics_json": json.dumps(model.metrics),
        "provenance_json": json.dumps(model.provenance),
    }

    def write(fh) -> None:
        with h5py.File(fh, "w") as f:
            for name, arr in datasets.items():
                f.create_dataset(name, data=arr)
            for name, text in attrs.items():
                f.attrs[name] = text
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["mrfrecon_version"] = __version__
            f.attrs["sequence_sha256"] = model.sequence_sha256
            f.attrs["units"] = "T1 and T2 in ms; features unitless"
            f.attrs["content_sha256"] = _digest(datasets, attrs)

    return atomic_write(path, write, overwrite=overwrite)


def load_model(path: str | Path) -> MrfModel:
    """Read and validate a model file (format, version, integrity)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: '{path}'")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT_NAME:
                raise ModelError(f"'{path}' is not an mrfrecon model file")
            version = int(f.attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise ModelError(
                    f"'{path}' has model format version {version}; this mrfrecon reads "
                    f"version {FORMAT_VERSION}"
                )
            datasets: dict[str, np.ndarray] = {}
            f.visititems(
                lambda name, obj: (
                    datasets.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
                )
            )
            attrs = {
                k: str(f.attrs[k]) for k in ("sequence_json", "metrics_json", "provenance_json")
            }
            stored = str(f.attrs.get("content_sha256", ""))
    except OSError as err:
        raise ModelError(f"cannot read model file '{path}': {err}") from None
    except KeyError as err:
        raise ModelError(f"'{path}' is incomplete: missing {err}") from None
    if _digest(datasets, attrs) != stored:
        raise ModelError(f"'{path}' is corrupted: its content does not match its checksum")
    try:
        return _from_datasets(datasets, attrs)
    except (KeyError, ValueError) as err:
        raise ModelError(f"'{path}' is incomplete or malformed: {err}") from None


def _from_datasets(d: dict[str, np.ndarray], attrs: dict[str, str]) -> MrfModel:
    n_float = len({k.split("/")[1] for k in d if k.startswith("float/")})
    n_int = len({k.split("/")[1] for k in d if k.startswith("quantized/layer")})
    float_net = FloatMLPWeights(
        tuple(d[f"float/layer{i}/weight"] for i in range(n_float)),
        tuple(d[f"float/layer{i}/bias"] for i in range(n_float)),
    )
    layers = []
    for i in range(n_int):
        out_frac = int(d[f"quantized/layer{i}/out_frac"])
        layers.append(
            IntegerLayer(
                weight=d[f"quantized/layer{i}/weight"].astype(np.int64),
                bias=d[f"quantized/layer{i}/bias"].astype(np.int64),
                weight_frac=int(d[f"quantized/layer{i}/weight_frac"]),
                out_frac=None if out_frac == -9999 else out_frac,
                out_bits=int(d[f"quantized/layer{i}/out_bits"]),
            )
        )
    int_net = IntegerMLP(
        int(d["quantized/input_frac"]), tuple(layers), int(d["quantized/input_bits"])
    )
    return MrfModel(
        sequence=sequence_from_dict(json.loads(attrs["sequence_json"])),
        features=FeatureMap(d["features/basis"], d["features/mean"], d["features/std"]),
        scaling=OutputScaling(
            tuple(d["scaling/t1_range_ms"].tolist()), tuple(d["scaling/t2_range_ms"].tolist())
        ),
        float_net=float_net,
        int_net=int_net,
        metrics=json.loads(attrs["metrics_json"]),
        provenance=json.loads(attrs["provenance_json"]),
    )
