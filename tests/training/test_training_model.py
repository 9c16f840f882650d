"""The learning core: brevitas <-> integer path bit for bit, model files, determinism, export."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
import torch

from mrfrecon.errors import ModelError, ModelMismatchError
from mrfrecon.model import load_model
from mrfrecon.sequence import Sequence
from mrfrecon.training.models import QuantMLP, to_integer


@pytest.mark.parametrize("widths", [(16, 16), (8, 12, 6)], ids=["fpga", "three_hidden"])
def test_integer_path_is_bit_exact_with_brevitas(widths):
    torch.manual_seed(0)
    net = QuantMLP(16, widths, n_out=2)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x_train = torch.randn(4096, 16) * 1.5
    for start in range(0, 4096, 128):  # enough steps for the activation statistics to settle
        loss = (net(x_train[start : start + 128]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    int_net = to_integer(net, x_train[:256])
    x = torch.randn(5000, 16) * 3.0  # includes inputs beyond the int8 range: saturation
    x[:16] = torch.tensor(np.linspace(-20, 20, 16, dtype=np.float32))[:, None]
    with torch.no_grad():
        y_brevitas = net(x).numpy().astype(np.float64)
    acc, frac = int_net.forward_int(int_net.quantize_input(x.numpy()))
    np.testing.assert_array_equal(y_brevitas * 2.0**frac, acc.astype(np.float64))
    assert np.any(np.abs(int_net.quantize_input(x.numpy())) == 127)  # saturation exercised


def test_model_round_trip_and_predictions(tiny_model, tiny_model_path, short_fisp):
    again = load_model(tiny_model_path)
    rng = np.random.default_rng(0)
    from mrfrecon.physics import Tissue, simulate_fingerprints

    signals = simulate_fingerprints(
        short_fisp, Tissue.make(rng.uniform(300, 2000, 50), rng.uniform(30, 200, 50))
    )
    for method in ("quantized", "float"):
        a = tiny_model.predict(signals, method)
        b = again.predict(signals, method)
        np.testing.assert_array_equal(a[0], b[0])
    with h5py.File(tiny_model_path) as f:
        assert f["quantized/layer0/weight"].dtype == np.int8
        assert f["quantized/layer0/bias"].dtype == np.int32
        assert f.attrs["sequence_sha256"] == short_fisp.sha256
    assert again.metrics["validation"]["quantized"]["t1"]["mape"] > 0
    # the SVD rank and the rule that chose it travel with the model; the inputs follow it
    svd = again.metrics["svd"]
    assert svd["rank"] == again.features.rank and svd["rule"].startswith("smallest K")
    assert svd["discarded_energy"] <= svd["noise_energy"] or svd["capped"]
    assert again.int_net.widths[0] == again.float_net.widths[0] == 2 * svd["rank"]
    assert isinstance(again.sequence, Sequence)  # parsed once, in load_model
    assert again.sequence.sha256 == again.sequence_sha256 == short_fisp.sha256


def test_model_refuses_mismatched_data(tiny_model):
    with pytest.raises(
        ModelMismatchError, match="data has 399 time points but the model's sequence has 400"
    ):
        tiny_model.predict(np.zeros((3, 399), np.complex64))
    with pytest.raises(ModelMismatchError, match="was trained for"):
        tiny_model.check_signals(np.zeros((1, 400)), sequence_sha256="0" * 64)


def test_corrupted_or_foreign_files_are_refused(tiny_model_path, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(tiny_model_path.read_bytes())
    with h5py.File(bad, "r+") as f:
        w = f["quantized/layer0/weight"][()]
        w[0, 0] = w[0, 0] + 1 if w[0, 0] < 127 else 0
        f["quantized/layer0/weight"][...] = w
    with pytest.raises(ModelError, match="corrupted"):
        load_model(bad)
    with h5py.File(bad, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelError, match="format version 99"):
        load_model(bad)
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(ModelError, match="cannot read model file"):
        load_model(tmp_path / "x.h5")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f["a"] = 1
    with pytest.raises(ModelError, match="not an mrfrecon model"):
        load_model(tmp_path / "y.h5")


def test_qonnx_export_runs_bit_exact(tiny_model, tmp_path):
    qonnx = pytest.importorskip("qonnx.core.onnx_exec")
    from qonnx.core.modelwrapper import ModelWrapper

    from mrfrecon.training.export import export_qonnx

    path = export_qonnx(tiny_model, tmp_path / "net.onnx")
    x = (np.random.default_rng(0).standard_normal((64, tiny_model.features.n_features)) * 2).astype(
        np.float32
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from qonnx.transformation.infer_shapes import InferShapes

        wrapper = ModelWrapper(str(path))
        wrapper.set_tensor_shape("features", list(x.shape))
        wrapper = wrapper.transform(InferShapes())
        out = qonnx.execute_onnx(wrapper, {"features": x})["targets"]
    acc, frac = tiny_model.int_net.forward_int(tiny_model.int_net.quantize_input(x))
    np.testing.assert_allclose(
        out, acc * 2.0**-frac, rtol=0, atol=1e-6 * np.abs(acc * 2.0**-frac).max()
    )
