"""Trained MRF models: the file format and numpy inference (float and exact integer paths).

A model file is HDF5 (see the README, "Model files"): the resolved sequence and its sha256, the
feature map (SVD basis, input standardisation), output scaling, float network weights, the
integer network (int8 weights, int32 biases, fractional bits = shift amounts) the FPGA runs,
training metrics and provenance. An integrity hash over every dataset is checked on load.
Optionally (models from ``retrain`` since magnitude support) a ``magnitude/`` group holds the
same for magnitude-only data: a magnitude feature map and networks trained on Rician-noisy
magnitude fingerprints. Files without it load; magnitude input then asks for a new ``retrain``.
Inference needs numpy only: torch and brevitas are for training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import __version__
from .atomic import atomic_write
from .errors import ModelError, ModelMismatchError, MrfreconError
from .features import FeatureMap, MagnitudeFeatureMap, Representation
from .limits import check_hdf5_layout, check_regular_file
from .method import NETWORK_METHODS, Method
from .parameters import NetworkParameters
from .quantized import IntegerLayer, IntegerMLP
from .sequence import Sequence, sequence_from_dict

FORMAT_NAME = "mrfrecon-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class OutputScaling:
    """Targets are ``(ln T - ln lo) / (ln hi - ln lo)`` for T1 and T2 (ms), in [0, 1]."""

    t1_range_ms: tuple[float, float]
    t2_range_ms: tuple[float, float]

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

    ``activation`` (one of :data:`ACTIVATIONS`) after every layer but the last: ``relu``, or
    ``silu`` (``x * sigmoid(x)``, smooth; the bSSFP float networks, :mod:`mrfrecon.training.kinds`).
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"float network activation {self.activation!r}: one of "
                             f"{', '.join(ACTIVATIONS)}")

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, np.float32)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w.T + b
            if i < len(self.weights) - 1:
                h = ACTIVATIONS[self.activation](h)
        return h


def _relu(h: np.ndarray) -> np.ndarray:
    return np.maximum(h, 0, out=h)


def _silu(h: np.ndarray) -> np.ndarray:
    # x * sigmoid(x) as x * (1 + tanh(x / 2)) / 2: no overflow for large |x|
    return h * (0.5 + 0.5 * np.tanh(0.5 * h))


ACTIVATIONS = {"relu": _relu, "silu": _silu}


@dataclass(frozen=True)
class Estimates:
    """A network's estimates, each ``(n,)``: T1, T2 in ms; off-resonance in Hz (or None)."""

    t1_ms: np.ndarray
    t2_ms: np.ndarray
    df_hz: np.ndarray | None = None


@dataclass(frozen=True)
class MagnitudePath:
    """The networks for magnitude-only data: feature map, float and integer networks."""

    features: MagnitudeFeatureMap
    float_net: FloatMLPWeights
    int_net: IntegerMLP


@dataclass(frozen=True)
class MrfModel:
    """Everything needed to go from fingerprints to T1/T2 (ms) [and off-resonance, Hz].

    sequence: the resolved sequence the model was trained for (parsed once, in
    :func:`load_model`).  parameters: the networks' extra outputs (df) and inputs (B1), the
    same for both representations. features, float_net, int_net: the networks of this model's
    representation (``features.representation``, complex for a model as trained);
    magnitude: the magnitude-only networks (``None`` in files from before magnitude support,
    and in the view :meth:`for_representation` returns).
    """

    sequence: Sequence
    features: FeatureMap  # a MagnitudeFeatureMap in the magnitude view
    scaling: OutputScaling
    float_net: FloatMLPWeights
    int_net: IntegerMLP
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    parameters: NetworkParameters = NetworkParameters()
    magnitude: MagnitudePath | None = None

    @property
    def representation(self) -> Representation:
        return Representation(self.features.representation)

    @property
    def representations(self) -> tuple[Representation, ...]:
        """The inputs this model has networks for."""
        extra = (Representation.MAGNITUDE,) if self.magnitude is not None else ()
        return (self.representation, *extra)

    def for_representation(self, representation: Representation | str) -> MrfModel:
        """The model with the networks for ``representation`` (``self`` if it has them already).

        Raises
        ------
        ModelMismatchError
            Magnitude asked of a model file without magnitude networks.
        """
        representation = Representation(representation)
        if representation is self.representation:
            return self
        if representation is Representation.MAGNITUDE and self.magnitude is not None:
            m = self.magnitude
            return replace(self, features=m.features, float_net=m.float_net, int_net=m.int_net,
                           magnitude=None)
        raise ModelMismatchError(
            f"the model has no {representation} networks (it was trained before magnitude-only "
            "input was supported): retrain it to reconstruct magnitude-only data")

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
        self, x: np.ndarray, method: Method | str = Method.QUANTIZED,
        b1: np.ndarray | float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fingerprint features ``(n, 2K)`` -> (T1, T2) in ms, each ``(n,)``."""
        est = self.estimate_features(x, method, b1)
        return est.t1_ms, est.t2_ms

    def estimate_features(
        self, x: np.ndarray, method: Method | str = Method.QUANTIZED,
        b1: np.ndarray | float | None = None,
    ) -> Estimates:
        """Fingerprint features ``(n, 2K)`` [+ B1 scale, ``(n,)``, default 1] -> estimates."""
        method = Method(method)
        if method not in NETWORK_METHODS:
            raise ValueError(f"method '{method}' is not a network (expected "
                             f"{', '.join(m.value for m in NETWORK_METHODS)})")
        net = self.int_net if method is Method.QUANTIZED else self.float_net
        y = net.forward(self.parameters.with_extra(x, b1))
        t1, t2 = self.scaling.decode(y)
        df = self.parameters.decode_df(y) if self.parameters.estimates_df else None
        return Estimates(t1, t2, df)


# --------------------------------------------------------------------------------------------
# File format


def _datasets(model: MrfModel) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {
        "features/basis": model.features.basis.astype(np.complex64),
        **_path_datasets("", model.features, model.float_net, model.int_net),
        "scaling/t1_range_ms": np.asarray(model.scaling.t1_range_ms, np.float64),
        "scaling/t2_range_ms": np.asarray(model.scaling.t2_range_ms, np.float64),
    }
    if model.magnitude is not None:
        m = model.magnitude
        out["magnitude/features/basis"] = m.features.basis.astype(np.float32)
        out |= _path_datasets("magnitude/", m.features, m.float_net, m.int_net)
    return out | model.parameters.to_datasets()


def _path_datasets(prefix: str, features: FeatureMap,
                   float_net: FloatMLPWeights, int_net: IntegerMLP) -> dict[str, np.ndarray]:
    """Standardisation, float and integer networks of one representation under ``prefix``."""
    out: dict[str, np.ndarray] = {
        f"{prefix}features/mean": features.mean.astype(np.float32),
        f"{prefix}features/std": features.std.astype(np.float32),
        f"{prefix}quantized/input_frac": np.asarray(int_net.input_frac, np.int64),
        f"{prefix}quantized/input_bits": np.asarray(int_net.input_bits, np.int64),
    }
    if float_net.activation != "relu":  # files without it (all before silu) hold ReLU networks
        # ASCII codes: the file holds numeric datasets only (mrfrecon.limits)
        out[f"{prefix}float/activation"] = np.frombuffer(float_net.activation.encode(), np.uint8)
    for i, (w, b) in enumerate(zip(float_net.weights, float_net.biases, strict=True)):
        out[f"{prefix}float/layer{i}/weight"] = w.astype(np.float32)
        out[f"{prefix}float/layer{i}/bias"] = b.astype(np.float32)
    for i, layer in enumerate(int_net.layers):
        out[f"{prefix}quantized/layer{i}/weight"] = layer.weight.astype(np.int8)
        out[f"{prefix}quantized/layer{i}/bias"] = layer.bias.astype(np.int32)
        out[f"{prefix}quantized/layer{i}/weight_frac"] = np.asarray(layer.weight_frac, np.int64)
        out[f"{prefix}quantized/layer{i}/out_frac"] = np.asarray(
            -9999 if layer.out_frac is None else layer.out_frac, np.int64
        )
        out[f"{prefix}quantized/layer{i}/out_bits"] = np.asarray(layer.out_bits, np.int64)
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
    if model.representation is not Representation.COMPLEX:
        raise ValueError("save the model itself, not its for_representation() view")
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
            f.attrs["units"] = "T1 and T2 in ms; df_hz in Hz; B1 unitless; features unitless"
            f.attrs["content_sha256"] = _digest(datasets, attrs)

    return atomic_write(path, write, overwrite=overwrite)


def load_model(path: str | Path) -> MrfModel:
    """Read and validate a model file (format, version, integrity)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file not found: '{path}'")
    check_regular_file(path, "model file")
    try:
        with h5py.File(path, "r") as f:
            check_hdf5_layout(f, path, ModelError)
            if f.attrs.get("format") != FORMAT_NAME:
                raise ModelError(f"'{path}' is not an mrfrecon model file")
            try:
                version = int(f.attrs.get("format_version", -1))
            except (TypeError, ValueError, OverflowError):
                version = -1
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
        raise ModelError(f"cannot read model file '{path}': {' '.join(str(err).split())}"
                         ) from None
    except KeyError as err:
        raise ModelError(f"'{path}' is incomplete: missing {err}") from None
    except (TypeError, ValueError, OverflowError, UnicodeError) as err:
        raise ModelError(f"'{path}' is malformed: {' '.join(str(err).split())}") from None
    if _digest(datasets, attrs) != stored:
        raise ModelError(f"'{path}' is corrupted: its content does not match its checksum")
    try:
        model = _from_datasets(datasets, attrs)
        _check_shapes(model)
    except (KeyError, ValueError, TypeError, IndexError, OverflowError, AttributeError,
            RecursionError) as err:
        raise ModelError(f"'{path}' is incomplete or malformed: "
                         f"{' '.join(str(err).split()) or type(err).__name__}") from None
    except MrfreconError as err:
        raise ModelError(f"'{path}': {err}") from None
    return model


def _check_shapes(model: MrfModel) -> None:
    """The feature map and the networks of every representation chain: basis ``(n_t, K)``,
    inputs ``n_features + n_extra_inputs``, outputs ``parameters.n_outputs``."""
    paths = [("", model.features, model.float_net, model.int_net)]
    if model.magnitude is not None:
        m = model.magnitude
        paths.append(("magnitude/", m.features, m.float_net, m.int_net))
    for prefix, features, float_net, int_net in paths:
        _check_path_shapes(model, prefix, features, float_net, int_net)


def _check_path_shapes(model: MrfModel, prefix: str, features: FeatureMap,
                       float_net: FloatMLPWeights, int_net: IntegerMLP) -> None:
    basis = features.basis
    if basis.ndim != 2 or basis.shape[0] != model.sequence.n_timepoints:
        raise ValueError(f"{prefix}features/basis has shape {basis.shape}, the sequence has "
                         f"{model.sequence.n_timepoints} time points")
    n_features = features.n_features
    if features.mean.shape != (n_features,) or features.std.shape != (n_features,):
        raise ValueError(f"{prefix}features/mean and features/std do not match the basis")
    n_in = n_features + model.parameters.n_extra_inputs
    n_out = model.parameters.n_outputs
    for label, pairs in ((f"{prefix}float", list(zip(float_net.weights, float_net.biases,
                                                     strict=True))),
                         (f"{prefix}quantized", [(q.weight, q.bias) for q in int_net.layers])):
        width = n_in
        if not pairs:
            raise ValueError(f"the {label} network has no layers")
        for i, (w, b) in enumerate(pairs):
            if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
                raise ValueError(f"{label}/layer{i} has weight {w.shape} and bias {b.shape}, "
                                 f"expected ({b.shape[0] if b.ndim else '?'}, {width})")
            width = w.shape[0]
        if width != n_out:
            raise ValueError(f"the {label} network has {width} outputs, not {n_out} "
                             f"({', '.join(model.parameters.outputs)})")
    # shift amounts and bit widths: small integers, or the integer datapath overflows int64
    fields = [("input_frac", int_net.input_frac, -32, 32),
              ("input_bits", int_net.input_bits, 1, 32)]
    for i, layer in enumerate(int_net.layers):
        fields += [(f"layer{i}/weight_frac", layer.weight_frac, -32, 32),
                   (f"layer{i}/out_bits", layer.out_bits, 1, 32)]
        if layer.out_frac is not None:
            fields.append((f"layer{i}/out_frac", layer.out_frac, -32, 32))
    for name, value, lo, hi in fields:
        if not lo <= value <= hi:
            raise ValueError(f"{prefix}quantized/{name} is {value}, outside [{lo}, {hi}]")
    if not all(np.all(np.isfinite(a)) for a in (basis, features.mean, features.std,
                                                 *float_net.weights, *float_net.biases)):
        raise ValueError(f"non-finite values in the {prefix or 'complex '}feature map or float "
                         "network")
    if np.any(features.std <= 0):
        raise ValueError(f"{prefix}features/std must be > 0")
    for name, (low, high) in (("t1_range_ms", model.scaling.t1_range_ms),
                              ("t2_range_ms", model.scaling.t2_range_ms)):
        if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
            raise ValueError(f"scaling/{name} ({low}, {high}) must be finite with 0 < low < high")


def _nets_from(d: dict[str, np.ndarray], prefix: str) -> tuple[FloatMLPWeights, IntegerMLP]:
    """The float and integer networks stored under ``prefix`` (see :func:`_path_datasets`)."""
    n_float = len({k[len(prefix):].split("/")[1] for k in d
                   if k.startswith(f"{prefix}float/layer")})
    activation = np.asarray(d.get(f"{prefix}float/activation", np.frombuffer(b"relu", np.uint8)))
    n_int = len({k[len(prefix):].split("/")[1] for k in d
                 if k.startswith(f"{prefix}quantized/layer")})
    float_net = FloatMLPWeights(
        tuple(d[f"{prefix}float/layer{i}/weight"] for i in range(n_float)),
        tuple(d[f"{prefix}float/layer{i}/bias"] for i in range(n_float)),
        activation.astype(np.uint8).tobytes().decode("ascii", "replace"),
    )
    layers = []
    for i in range(n_int):
        q = f"{prefix}quantized/layer{i}/"
        out_frac = int(d[f"{q}out_frac"])
        layers.append(
            IntegerLayer(
                weight=d[f"{q}weight"].astype(np.int64),
                bias=d[f"{q}bias"].astype(np.int64),
                weight_frac=int(d[f"{q}weight_frac"]),
                out_frac=None if out_frac == -9999 else out_frac,
                out_bits=int(d[f"{q}out_bits"]),
            )
        )
    int_net = IntegerMLP(int(d[f"{prefix}quantized/input_frac"]), tuple(layers),
                         int(d[f"{prefix}quantized/input_bits"]))
    return float_net, int_net


def _from_datasets(d: dict[str, np.ndarray], attrs: dict[str, str]) -> MrfModel:
    float_net, int_net = _nets_from(d, "")
    magnitude = None
    if "magnitude/features/basis" in d:
        mag_float, mag_int = _nets_from(d, "magnitude/")
        mag_features = MagnitudeFeatureMap(d["magnitude/features/basis"],
                                           d["magnitude/features/mean"],
                                           d["magnitude/features/std"])
        magnitude = MagnitudePath(mag_features, mag_float, mag_int)
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
        parameters=NetworkParameters.from_datasets(d),
        magnitude=magnitude,
    )
